#include "nuts/metric.h"

#include <stdexcept>

namespace halo::nuts {

const char* metric_kind_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::Unit: return "unit_e";
    case MetricKind::Diag: return "diag_e";
    case MetricKind::Dense: return "dense_e";
  }
  return "?";
}

Metric unit_metric(int dim) {
  Metric m;
  m.kind = MetricKind::Unit;
  m.dim = dim;
  return m;
}

Metric diag_metric(const Eigen::VectorXd& inv_metric) {
  if (!inv_metric.allFinite() || (inv_metric.array() <= 0).any())
    throw std::invalid_argument("the inverse metric's diagonal must be finite and positive");
  Metric m;
  m.kind = MetricKind::Diag;
  m.dim = static_cast<int>(inv_metric.size());
  m.inv_diag = inv_metric;
  return m;
}

Metric dense_metric(const Eigen::MatrixXd& inv_metric) {
  if (inv_metric.rows() != inv_metric.cols())
    throw std::invalid_argument("the inverse metric must be a square matrix");
  if (!inv_metric.allFinite())
    throw std::invalid_argument("the inverse metric must be finite");
  const double scale = inv_metric.cwiseAbs().maxCoeff();
  if (!(inv_metric - inv_metric.transpose()).isZero(1e-12 * (scale > 0 ? scale : 1.0)))
    throw std::invalid_argument("the inverse metric must be symmetric");
  Eigen::LLT<Eigen::MatrixXd> llt(inv_metric);
  if (llt.info() != Eigen::Success)
    throw std::invalid_argument("the inverse metric must be positive definite");
  Metric m;
  m.kind = MetricKind::Dense;
  m.dim = static_cast<int>(inv_metric.rows());
  m.inv_dense = inv_metric;
  m.inv_dense_chol = llt.matrixL();
  return m;
}

Metric identity_metric(MetricKind kind, int dim) {
  switch (kind) {
    case MetricKind::Unit: return unit_metric(dim);
    case MetricKind::Diag: return diag_metric(Eigen::VectorXd::Ones(dim));
    case MetricKind::Dense: return dense_metric(Eigen::MatrixXd::Identity(dim, dim));
  }
  throw std::invalid_argument("unknown metric kind");
}

double kinetic_energy(const Metric& metric, const Eigen::VectorXd& p) {
  switch (metric.kind) {
    case MetricKind::Unit: return 0.5 * p.squaredNorm();
    case MetricKind::Diag: return 0.5 * p.dot(metric.inv_diag.cwiseProduct(p));
    case MetricKind::Dense: return 0.5 * p.dot(metric.inv_dense * p);
  }
  return 0.0;
}

void velocity(const Metric& metric, const Eigen::VectorXd& p, Eigen::VectorXd& out) {
  switch (metric.kind) {
    case MetricKind::Unit: out = p; return;
    case MetricKind::Diag: out = metric.inv_diag.cwiseProduct(p); return;
    case MetricKind::Dense: out.noalias() = metric.inv_dense * p; return;
  }
}

void sample_momentum(const Metric& metric, Rng& rng, Eigen::VectorXd& p) {
  p.resize(metric.dim);
  rng.fill_normal(p.data(), static_cast<std::size_t>(metric.dim));
  switch (metric.kind) {
    case MetricKind::Unit: return;
    case MetricKind::Diag: p.array() /= metric.inv_diag.array().sqrt(); return;
    case MetricKind::Dense:
      // Cov(L'^{-1} u) = (L L')^{-1} = M.
      metric.inv_dense_chol.transpose().triangularView<Eigen::Upper>().solveInPlace(p);
      return;
  }
}

}  // namespace halo::nuts
