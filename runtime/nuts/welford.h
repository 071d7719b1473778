// Streaming variance and covariance (Welford 1962), and Stan's regularisation of the estimate
// into an inverse metric (stan/mcmc/var_adaptation.hpp, covar_adaptation.hpp).
#pragma once
#include <Eigen/Dense>

namespace halo::nuts {

struct WelfordVariance {
  explicit WelfordVariance(int dim = 0)
      : mean(Eigen::VectorXd::Zero(dim)), m2(Eigen::VectorXd::Zero(dim)) {}
  long n = 0;
  Eigen::VectorXd mean;
  Eigen::VectorXd m2;  // sum of squared deviations from the running mean
};
void welford_add(WelfordVariance& w, const Eigen::VectorXd& x);
// Unbiased sample variance m2 / (n - 1); requires n >= 2.
Eigen::VectorXd welford_variance(const WelfordVariance& w);
void welford_reset(WelfordVariance& w);

struct WelfordCovariance {
  explicit WelfordCovariance(int dim = 0)
      : mean(Eigen::VectorXd::Zero(dim)), m2(Eigen::MatrixXd::Zero(dim, dim)) {}
  long n = 0;
  Eigen::VectorXd mean;
  Eigen::MatrixXd m2;  // sum of outer products of deviations
};
void welford_add(WelfordCovariance& w, const Eigen::VectorXd& x);
// Unbiased sample covariance m2 / (n - 1); requires n >= 2.
Eigen::MatrixXd welford_covariance(const WelfordCovariance& w);
void welford_reset(WelfordCovariance& w);

// Shrinks an estimate from n draws towards 1e-3 * I: n/(n+5) * est + 1e-3 * 5/(n+5), from Stan
// (var_adaptation.hpp, covar_adaptation.hpp). Keeps the metric well conditioned for short
// windows.
Eigen::VectorXd regularize_variance(const Eigen::VectorXd& variance, double n);
Eigen::MatrixXd regularize_covariance(const Eigen::MatrixXd& covariance, double n);

}  // namespace halo::nuts
