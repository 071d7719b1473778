#include "nuts/welford.h"

namespace halo::nuts {

void welford_add(WelfordVariance& w, const Eigen::VectorXd& x) {
  ++w.n;
  const Eigen::VectorXd delta = x - w.mean;
  w.mean += delta / static_cast<double>(w.n);
  w.m2.array() += (x - w.mean).array() * delta.array();
}

Eigen::VectorXd welford_variance(const WelfordVariance& w) {
  return w.m2 / (static_cast<double>(w.n) - 1.0);
}

void welford_reset(WelfordVariance& w) {
  w.n = 0;
  w.mean.setZero();
  w.m2.setZero();
}

void welford_add(WelfordCovariance& w, const Eigen::VectorXd& x) {
  ++w.n;
  const Eigen::VectorXd delta = x - w.mean;
  w.mean += delta / static_cast<double>(w.n);
  w.m2.noalias() += (x - w.mean) * delta.transpose();
}

Eigen::MatrixXd welford_covariance(const WelfordCovariance& w) {
  return w.m2 / (static_cast<double>(w.n) - 1.0);
}

void welford_reset(WelfordCovariance& w) {
  w.n = 0;
  w.mean.setZero();
  w.m2.setZero();
}

Eigen::VectorXd regularize_variance(const Eigen::VectorXd& variance, double n) {
  return (n / (n + 5.0)) * variance +
         1e-3 * (5.0 / (n + 5.0)) * Eigen::VectorXd::Ones(variance.size());
}

Eigen::MatrixXd regularize_covariance(const Eigen::MatrixXd& covariance, double n) {
  return (n / (n + 5.0)) * covariance +
         1e-3 * (5.0 / (n + 5.0)) *
             Eigen::MatrixXd::Identity(covariance.rows(), covariance.cols());
}

}  // namespace halo::nuts
