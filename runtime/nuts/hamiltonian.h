// Phase-space points, the Hamiltonian and the velocity-Verlet (leapfrog) integrator.
//
// H(q, p) = -log p(q) + K(p). The integrator is Stan's expl_leapfrog
// (stan/mcmc/hmc/integrators/expl_leapfrog.hpp): half step of momentum, full step of position,
// half step of momentum. It is symplectic and time-reversible: its energy error stays O(eps^2)
// on stable trajectories, and negating p and integrating again retraces the path.
#pragma once
#include <limits>
#include <string>

#include <Eigen/Dense>

#include "nuts/log_density.h"
#include "nuts/metric.h"

namespace halo::nuts {

struct PhasePoint {
  Eigen::VectorXd q;     // position (unconstrained parameters)
  Eigen::VectorXd p;     // momentum
  Eigen::VectorXd grad;  // d/dq log p(q)
  double log_density = -std::numeric_limits<double>::infinity();

  explicit PhasePoint(int dim = 0)
      : q(Eigen::VectorXd::Zero(dim)), p(Eigen::VectorXd::Zero(dim)),
        grad(Eigen::VectorXd::Zero(dim)) {}
};

// Why an evaluation gave no usable density (empty when it did).
struct EvaluationFailure {
  std::string message;  // the model's rejection message, or what was not finite
  int component = -1;   // the first non-finite gradient component, when that was the cause
  bool failed() const { return !message.empty(); }
};

// Evaluates log p and its gradient at z.q. A std::domain_error (halo::DomainError) from the
// target, a non-finite log density or a non-finite gradient component make the point
// impossible: log_density = -inf, gradient zero, and false is returned (with the reason in
// `failure` when given). Other exceptions propagate.
bool evaluate(LogDensity& target, PhasePoint& z, EvaluationFailure* failure = nullptr);

// H = -log p(q) + K(p); +inf at an impossible point.
double hamiltonian(const Metric& metric, const PhasePoint& z);

// One leapfrog step of size `step_size` (negative integrates backwards in time). `scratch`
// holds the velocity (resized as needed; pass the same vector each time to avoid allocation).
void leapfrog(LogDensity& target, const Metric& metric, double step_size, PhasePoint& z,
              Eigen::VectorXd& scratch);

}  // namespace halo::nuts
