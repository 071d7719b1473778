// Targets with known moments and Monte Carlo error estimates for the NUTS tests.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "nuts/log_density.h"

namespace halo::nuts::test {

// N(mean, cov) in any dimension. Not reentrant (it keeps a buffer): one per chain.
class GaussianTarget final : public LogDensity {
 public:
  GaussianTarget(Eigen::VectorXd mean, const Eigen::MatrixXd& cov)
      : LogDensity(static_cast<int>(mean.size())), mean_(std::move(mean)),
        precision_(cov.inverse()), diff_(mean_.size()) {}
  double log_density_gradient(const double* q, double* grad) override {
    Eigen::Map<const Eigen::VectorXd> x(q, dim);
    Eigen::Map<Eigen::VectorXd> g(grad, dim);
    diff_ = x - mean_;
    g.noalias() = -(precision_ * diff_);
    return 0.5 * diff_.dot(g);
  }
 private:
  Eigen::VectorXd mean_;
  Eigen::MatrixXd precision_;
  Eigen::VectorXd diff_;
};

// Independent standard-normal draws for N(mean, diag(sd^2)).
inline GaussianTarget diagonal_gaussian(const Eigen::VectorXd& mean, const Eigen::VectorXd& sd) {
  return GaussianTarget(mean, sd.array().square().matrix().asDiagonal());
}

// Mean, and Monte Carlo summaries over chains of scalar draws.
struct ChainsSummary {
  double mean = 0;
  double ess = 0;
  double mcse = 0;  // of the mean
};

// Effective sample size of m chains (Geyer's initial monotone sequence over the combined
// autocorrelation, as Stan's ess without splitting or rank normalisation; Gelman et al., BDA3
// section 11.5). Direct autocovariances: fine for the test's 1000-draw chains.
inline double effective_sample_size(const std::vector<std::vector<double>>& chains) {
  const std::size_t m = chains.size();
  const std::size_t n = chains[0].size();
  std::vector<double> means(m), vars(m);
  for (std::size_t c = 0; c < m; ++c) {
    double s = 0;
    for (double x : chains[c]) s += x;
    means[c] = s / n;
    double v = 0;
    for (double x : chains[c]) v += (x - means[c]) * (x - means[c]);
    vars[c] = v / (n - 1);
  }
  double w = 0, grand = 0;
  for (std::size_t c = 0; c < m; ++c) {
    w += vars[c] / m;
    grand += means[c] / m;
  }
  double b_over_n = 0;
  if (m > 1) {
    for (std::size_t c = 0; c < m; ++c) b_over_n += (means[c] - grand) * (means[c] - grand);
    b_over_n /= (m - 1);
  }
  const double var_plus = (n - 1.0) / n * w + b_over_n;
  auto rho = [&](std::size_t lag) {
    double acov = 0;
    for (std::size_t c = 0; c < m; ++c) {
      double s = 0;
      for (std::size_t i = 0; i + lag < n; ++i)
        s += (chains[c][i] - means[c]) * (chains[c][i + lag] - means[c]);
      acov += s / n / m;
    }
    return 1.0 - (w * (n - 1.0) / n - acov) / var_plus;
  };
  // Sum pairs Gamma_k = rho_2k + rho_2k+1 while positive, forced monotone.
  double tau = -1.0;
  double previous_pair = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; 2 * k + 1 < n; ++k) {
    double pair = rho(2 * k) + rho(2 * k + 1);
    if (!(pair > 0)) break;
    pair = std::min(pair, previous_pair);
    previous_pair = pair;
    tau += 2.0 * pair;
  }
  const double total = static_cast<double>(m * n);
  return std::min(total / tau, total * std::log10(total));
}

inline ChainsSummary summarise(const std::vector<std::vector<double>>& chains) {
  ChainsSummary s;
  double sum = 0, sum_sq = 0;
  std::size_t count = 0;
  for (const auto& chain : chains)
    for (double x : chain) {
      sum += x;
      sum_sq += x * x;
      ++count;
    }
  s.mean = sum / count;
  const double var = (sum_sq - count * s.mean * s.mean) / (count - 1);
  s.ess = effective_sample_size(chains);
  s.mcse = std::sqrt(var / s.ess);
  return s;
}

// chains[c][i] -> f(chains[c][i]) elementwise.
template <class F>
std::vector<std::vector<double>> transform(const std::vector<std::vector<double>>& chains, F f) {
  std::vector<std::vector<double>> out = chains;
  for (auto& chain : out)
    for (double& x : chain) x = f(x);
  return out;
}

}  // namespace halo::nuts::test
