#include "nuts/hamiltonian.h"

#include <cmath>
#include <stdexcept>

namespace halo::nuts {

bool evaluate(LogDensity& target, PhasePoint& z, EvaluationFailure* failure) {
  double log_density;
  try {
    log_density = target.log_density_gradient(z.q.data(), z.grad.data());
  } catch (const std::domain_error& e) {
    if (failure) failure->message = e.what();
    z.log_density = -std::numeric_limits<double>::infinity();
    z.grad.setZero();
    return false;
  }
  const char* problem = nullptr;
  int component = -1;
  if (std::isnan(log_density)) {
    problem = "the log density is NaN";
  } else if (std::isinf(log_density)) {
    problem = log_density < 0 ? "the log density is -inf" : "the log density is +inf";
  } else if (!z.grad.allFinite()) {
    for (int i = 0; i < z.grad.size(); ++i) {
      if (!std::isfinite(z.grad[i])) {
        component = i;
        break;
      }
    }
    problem = "the gradient is not finite";
  }
  if (problem) {
    if (failure) {
      failure->message = problem;
      failure->component = component;
    }
    z.log_density = -std::numeric_limits<double>::infinity();
    z.grad.setZero();
    return false;
  }
  z.log_density = log_density;
  if (failure) *failure = EvaluationFailure{};
  return true;
}

double hamiltonian(const Metric& metric, const PhasePoint& z) {
  if (z.log_density == -std::numeric_limits<double>::infinity())
    return std::numeric_limits<double>::infinity();
  return -z.log_density + kinetic_energy(metric, z.p);
}

void leapfrog(LogDensity& target, const Metric& metric, double step_size, PhasePoint& z,
              Eigen::VectorXd& scratch) {
  const double half = 0.5 * step_size;
  z.p += half * z.grad;  // p -= eps/2 dV/dq with V = -log p
  velocity(metric, z.p, scratch);
  z.q += step_size * scratch;
  evaluate(target, z);
  z.p += half * z.grad;
}

}  // namespace halo::nuts
