// Log probability mass functions of one element with partials (term groups as Stan's
// include_summand; see lpdf.cpp). Integer arguments have no partial slot.
#include "internal.h"

using namespace halo::stdlib;

namespace {

constexpr int V1 = HALO_VARY(1), V2 = HALO_VARY(2), V3 = HALO_VARY(3);

template <int N>
inline double finish(bool valid, bool in_support, double lp, double* d) {
  for (int i = 0; i < N; ++i) d[i] = valid ? (in_support ? d[i] : 0.0) : kNaN;
  return valid ? (in_support ? lp : -kInf) : kNaN;
}

inline bool probability(double p) { return p >= 0.0 && p <= 1.0; }

// log_gamma(n + phi) - log_gamma(phi) for integer n >= 0, without the cancellation of the difference
// when phi is large: log_gamma(n) - lbeta(phi, n).
inline double log_rising(double phi, int64_t n) {
  return n == 0 ? 0.0 : log_gamma(static_cast<double>(n)) - lbeta(phi, static_cast<double>(n));
}

}  // namespace

extern "C" {

HALO_ALWAYS_INLINE double halo_bernoulli_lpmf(int64_t n, double theta, int flags, double* d) {
  double lp = 0.0;
  if (include(flags, V1)) lp += n == 1 ? std::log(theta) : std::log1p(-theta);
  d[0] = n == 1 ? 1.0 / theta : -1.0 / (1.0 - theta);
  return finish<1>(probability(theta), n == 0 || n == 1, lp, d);
}

HALO_ALWAYS_INLINE double halo_bernoulli_logit_lpmf(int64_t n, double alpha, int flags, double* d) {
  const double sign = n == 1 ? 1.0 : -1.0;
  double lp = 0.0;
  if (include(flags, V1)) lp -= log1p_exp(-sign * alpha);
  d[0] = sign * inv_logit(-sign * alpha);
  return finish<1>(!std::isnan(alpha), n == 0 || n == 1, lp, d);
}

HALO_ALWAYS_INLINE double halo_binomial_lpmf(int64_t n, int64_t N, double theta, int flags, double* d) {
  const double nd = static_cast<double>(n), md = static_cast<double>(N - n);
  double lp = 0.0;
  if (include(flags, 0)) lp += lchoose(static_cast<double>(N), nd);
  if (include(flags, V2)) lp += xlogy(nd, theta) + (md == 0.0 ? 0.0 : md * std::log1p(-theta));
  d[0] = (n == 0 ? 0.0 : nd / theta) - (md == 0.0 ? 0.0 : md / (1.0 - theta));
  return finish<1>(N >= 0 && probability(theta), n >= 0 && n <= N, lp, d);
}

HALO_ALWAYS_INLINE double halo_binomial_logit_lpmf(int64_t n, int64_t N, double alpha, int flags, double* d) {
  const double nd = static_cast<double>(n), md = static_cast<double>(N - n);
  double lp = 0.0;
  if (include(flags, 0)) lp += lchoose(static_cast<double>(N), nd);
  if (include(flags, V2))
    lp -= (n == 0 ? 0.0 : nd * log1p_exp(-alpha)) + (md == 0.0 ? 0.0 : md * log1p_exp(alpha));
  d[0] = nd - static_cast<double>(N) * inv_logit(alpha);
  return finish<1>(N >= 0 && !std::isnan(alpha), n >= 0 && n <= N, lp, d);
}

HALO_ALWAYS_INLINE double halo_beta_binomial_lpmf(int64_t n, int64_t N, double a, double b, int flags, double* d) {
  const double nd = static_cast<double>(n), Nd = static_cast<double>(N);
  double lp = 0.0;
  if (include(flags, 0)) lp += lchoose(Nd, nd);
  if (include(flags, V2 | V3)) lp += lbeta(nd + a, Nd - nd + b) - lbeta(a, b);
  const double shift_ab = digamma_diff(a + b, Nd);  // psi(N + a + b) - psi(a + b)
  d[0] = digamma_diff(a, nd) - shift_ab;
  d[1] = digamma_diff(b, Nd - nd) - shift_ab;
  return finish<2>(N >= 0 && a > 0.0 && a < kInf && b > 0.0 && b < kInf, n >= 0 && n <= N, lp, d);
}

// Uniform on the integers lower..upper (Stan's discrete_range); no real arguments, so no partials.
HALO_ALWAYS_INLINE double halo_discrete_range_lpmf(int64_t y, int64_t lower, int64_t upper, int flags, double*) {
  if (lower > upper) return kNaN;
  if (y < lower || y > upper) return -kInf;
  return include(flags, 0) ? -std::log(static_cast<double>(upper - lower + 1)) : 0.0;
}

HALO_ALWAYS_INLINE double halo_poisson_lpmf(int64_t n, double lambda, int flags, double* d) {
  const double nd = static_cast<double>(n);
  double lp = 0.0;
  if (include(flags, 0)) lp -= log_gamma(nd + 1.0);
  if (include(flags, V1)) lp += xlogy(nd, lambda) - lambda;
  d[0] = (n == 0 ? 0.0 : nd / lambda) - 1.0;
  return finish<1>(lambda >= 0.0, n >= 0 && lambda < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_poisson_log_lpmf(int64_t n, double alpha, int flags, double* d) {
  const double nd = static_cast<double>(n), rate = std::exp(alpha);
  double lp = 0.0;
  if (include(flags, 0)) lp -= log_gamma(nd + 1.0);
  if (include(flags, V1)) lp += (n == 0 ? 0.0 : nd * alpha) - rate;
  d[0] = nd - rate;
  return finish<1>(!std::isnan(alpha), n >= 0 && alpha < kInf && !(n > 0 && alpha == -kInf), lp, d);
}

HALO_ALWAYS_INLINE double halo_neg_binomial_lpmf(int64_t n, double alpha, double beta, int flags, double* d) {
  const double nd = static_cast<double>(n);
  const double log1p_beta = std::log1p(beta), log_beta = std::log(beta);
  double lp = 0.0;
  if (include(flags, V1) && n != 0) lp += lchoose(nd + alpha - 1.0, nd);
  if (include(flags, V1 | V2)) lp += alpha * (log_beta - log1p_beta) - nd * log1p_beta;
  d[0] = digamma_diff(alpha, nd) + log_beta - log1p_beta;
  d[1] = alpha / beta - (alpha + nd) / (1.0 + beta);
  return finish<2>(alpha > 0.0 && alpha < kInf && beta > 0.0 && beta < kInf, n >= 0, lp, d);
}

HALO_ALWAYS_INLINE double halo_neg_binomial_2_lpmf(int64_t n, double mu, double phi, int flags, double* d) {
  const double nd = static_cast<double>(n);
  const double log_mu_plus_phi = std::log(mu + phi);
  const double log1p_mu_over_phi = std::log1p(mu / phi);
  double lp = 0.0;
  if (include(flags, 0)) lp -= log_gamma(nd + 1.0);
  const bool inc_phi = include(flags, V2), inc_both = include(flags, V1 | V2), inc_mu = include(flags, V1);
  if (inc_phi && inc_both && inc_mu) {
    // All three groups: phi log phi - (n + phi) log(mu + phi) + n log mu rearranged so that
    // nothing cancels for large phi.
    lp += -phi * log1p_mu_over_phi + (n == 0 ? 0.0 : nd * (std::log(mu) - log_mu_plus_phi)) + log_rising(phi, n);
  } else {
    if (inc_phi) lp += phi * std::log(phi) + log_rising(phi, n);
    if (inc_both) lp -= (nd + phi) * log_mu_plus_phi;
    if (inc_mu) lp += xlogy(nd, mu);
  }
  const double inv_mu_plus_phi = 1.0 / (mu + phi);
  d[0] = (n == 0 ? 0.0 : nd / mu) - (nd + phi) * inv_mu_plus_phi;
  d[1] = -log1p_mu_over_phi + (mu - nd) * inv_mu_plus_phi + digamma_diff(phi, nd);
  return finish<2>(mu >= 0.0 && mu < kInf && phi > 0.0 && phi < kInf, n >= 0, lp, d);
}

HALO_ALWAYS_INLINE double halo_neg_binomial_2_log_lpmf(int64_t n, double eta, double phi, int flags, double* d) {
  const double nd = static_cast<double>(n);
  const double log_phi = std::log(phi);
  const double lse = log_sum_exp(eta, log_phi);  // log(exp(eta) + phi)
  double lp = 0.0;
  if (include(flags, 0)) lp -= log_gamma(nd + 1.0);
  const bool inc_phi = include(flags, V2), inc_both = include(flags, V1 | V2), inc_eta = include(flags, V1);
  if (inc_phi && inc_both && inc_eta) {
    lp += -phi * log1p_exp(eta - log_phi) - (n == 0 ? 0.0 : nd * log1p_exp(log_phi - eta)) + log_rising(phi, n);
  } else {
    if (inc_phi) lp += phi * log_phi + log_rising(phi, n);
    if (inc_both) lp -= (nd + phi) * lse;
    if (inc_eta) lp += n == 0 ? 0.0 : nd * eta;
  }
  const double mu_share = inv_logit(eta - log_phi);  // exp(eta) / (exp(eta) + phi)
  d[0] = nd - (nd + phi) * mu_share;
  const double mu = std::exp(eta);
  d[1] = -log1p_exp(eta - log_phi) + (mu - nd) / (mu + phi) + digamma_diff(phi, nd);
  return finish<2>(!std::isnan(eta) && eta < kInf && phi > 0.0 && phi < kInf, n >= 0, lp, d);
}

}  // extern "C"
