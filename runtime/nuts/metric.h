// The Euclidean metric of HMC: kinetic energy K(p) = p' M^{-1} p / 2 with momentum p ~ N(0, M).
//
// As in Stan (stan/mcmc/hmc/hamiltonians/{unit,diag,dense}_e_metric.hpp) the stored quantity is
// the inverse metric M^{-1}, which adaptation sets to an estimate of the posterior covariance.
#pragma once
#include <Eigen/Dense>

#include "nuts/rng.h"

namespace halo::nuts {

enum class MetricKind { Unit, Diag, Dense };

const char* metric_kind_name(MetricKind kind);  // "unit_e", "diag_e", "dense_e" (Stan's names)

struct Metric {
  MetricKind kind = MetricKind::Unit;
  int dim = 0;
  Eigen::VectorXd inv_diag;        // Diag: the diagonal of M^{-1}
  Eigen::MatrixXd inv_dense;       // Dense: M^{-1}
  Eigen::MatrixXd inv_dense_chol;  // Dense: lower L with L L' = M^{-1} (for momentum draws)
};

Metric unit_metric(int dim);
// Throws std::invalid_argument unless every entry is finite and positive.
Metric diag_metric(const Eigen::VectorXd& inv_metric);
// Throws std::invalid_argument unless M^{-1} is finite, symmetric and positive definite.
Metric dense_metric(const Eigen::MatrixXd& inv_metric);
// The identity of the given kind and dimension.
Metric identity_metric(MetricKind kind, int dim);

// K(p) = p' M^{-1} p / 2.
double kinetic_energy(const Metric& metric, const Eigen::VectorXd& p);
// dK/dp = M^{-1} p: the velocity dq/dt, Betancourt's "sharp" momentum p#.
void velocity(const Metric& metric, const Eigen::VectorXd& p, Eigen::VectorXd& out);
// p ~ N(0, M): p = u / sqrt(M^{-1}_ii) (diag) or p = L'^{-1} u (dense), u ~ N(0, I).
void sample_momentum(const Metric& metric, Rng& rng, Eigen::VectorXd& p);

}  // namespace halo::nuts
