// Log densities of one element with partials. Term groups follow Stan's
// include_summand<propto, ...> (Stan Math prim/prob/<dist>_lpdf.hpp), so that HALO_PROPTO drops
// exactly what Stan drops. Terms are written as plain ifs on `flags`; partials are always those
// of the full density; invalid parameters and out-of-support variates are patched in at the end
// (selects, so that loops over calls still vectorise after inlining).
#include "internal.h"

using namespace halo::stdlib;

namespace {

constexpr int V0 = HALO_VARY(0), V1 = HALO_VARY(1), V2 = HALO_VARY(2), V3 = HALO_VARY(3);

// NaN (value and partials) for invalid parameters; -inf with zero partials outside the support.
template <int N>
inline double finish(bool valid, bool in_support, double lp, double* d) {
  for (int i = 0; i < N; ++i) d[i] = valid ? (in_support ? d[i] : 0.0) : kNaN;
  return valid ? (in_support ? lp : -kInf) : kNaN;
}

inline bool positive_finite(double x) { return x > 0.0 && x < kInf; }
inline bool is_finite(double x) { return std::isfinite(x); }

}  // namespace

extern "C" {

HALO_ALWAYS_INLINE double halo_normal_lpdf(double y, double mu, double sigma, int flags, double* d) {
  const double inv_sigma = 1.0 / sigma;
  const double z = (y - mu) * inv_sigma;
  double lp = 0.0;
  if (include(flags, 0)) lp -= kHalfLogTwoPi;
  if (include(flags, V2)) lp -= std::log(sigma);
  if (include(flags, V0 | V1 | V2)) lp -= 0.5 * z * z;
  d[0] = -z * inv_sigma;
  d[1] = z * inv_sigma;
  d[2] = (z * z - 1.0) * inv_sigma;
  return finish<3>(!std::isnan(y) && is_finite(mu) && positive_finite(sigma), is_finite(y), lp, d);
}

HALO_ALWAYS_INLINE double halo_std_normal_lpdf(double y, int flags, double* d) {
  double lp = 0.0;
  if (include(flags, 0)) lp -= kHalfLogTwoPi;
  if (include(flags, V0)) lp -= 0.5 * y * y;
  d[0] = -y;
  return finish<1>(!std::isnan(y), is_finite(y), lp, d);
}

HALO_ALWAYS_INLINE double halo_lognormal_lpdf(double y, double mu, double sigma, int flags, double* d) {
  const double inv_sigma = 1.0 / sigma;
  const double log_y = std::log(y);
  const double z = (log_y - mu) * inv_sigma;
  double lp = 0.0;
  if (include(flags, 0)) lp -= kHalfLogTwoPi;
  if (include(flags, V2)) lp -= std::log(sigma);
  if (include(flags, V0)) lp -= log_y;
  if (include(flags, V0 | V1 | V2)) lp -= 0.5 * z * z;
  d[0] = -(z * inv_sigma + 1.0) / y;
  d[1] = z * inv_sigma;
  d[2] = (z * z - 1.0) * inv_sigma;
  return finish<3>(!std::isnan(y) && is_finite(mu) && positive_finite(sigma), y > 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_cauchy_lpdf(double y, double mu, double sigma, int flags, double* d) {
  const double inv_sigma = 1.0 / sigma;
  const double z = (y - mu) * inv_sigma;
  // Far in the tails (|z| > 1e8) in terms of w = 1/z^2, where z^2 would overflow.
  const bool far = std::fabs(z) > 1e8;
  const double w = 1.0 / (z * z);
  const double log1p_z2 = far ? 2.0 * std::log(std::fabs(z)) + std::log1p(w) : std::log1p(z * z);
  double lp = 0.0;
  if (include(flags, 0)) lp -= kLogPi;
  if (include(flags, V2)) lp -= std::log(sigma);
  if (include(flags, V0 | V1 | V2)) lp -= log1p_z2;
  d[0] = -2.0 / (z + 1.0 / z) * inv_sigma;  // -2z / (1 + z^2)
  if (z == 0.0) d[0] = 0.0;
  d[1] = -d[0];
  d[2] = (far ? (1.0 - w) / (1.0 + w) : (z * z - 1.0) / (1.0 + z * z)) * inv_sigma;
  return finish<3>(!std::isnan(y) && is_finite(mu) && positive_finite(sigma), is_finite(y), lp, d);
}

HALO_ALWAYS_INLINE double halo_student_t_lpdf(double y, double nu, double mu, double sigma, int flags, double* d) {
  const double inv_sigma = 1.0 / sigma;
  const double z = (y - mu) * inv_sigma;
  const double r = z * z / nu;
  // log1p(z^2 / nu) and r / (1 + r), also where z^2 overflows.
  const bool far = std::fabs(z) > 1e100;
  const double log1p_r =
      far ? 2.0 * std::log(std::fabs(z)) - std::log(nu) + std::log1p(nu / (z * z)) : std::log1p(r);
  const double r_share = far ? 1.0 / (1.0 + nu / (z * z)) : r / (1.0 + r);
  const double half_nu = 0.5 * nu;
  double lp = 0.0;
  if (include(flags, 0)) lp -= kLogSqrtPi;
  if (include(flags, V1)) lp += log_gamma(half_nu + 0.5) - log_gamma(half_nu) - 0.5 * std::log(nu);
  if (include(flags, V3)) lp -= std::log(sigma);
  if (include(flags, V0 | V1 | V2 | V3)) lp -= (half_nu + 0.5) * log1p_r;
  d[0] = z == 0.0 ? 0.0 : -(nu + 1.0) / (nu / z + z) * inv_sigma;  // -(nu + 1) z / (nu + z^2)
  d[1] = 0.5 * digamma_diff(half_nu, 0.5) - 0.5 / nu - 0.5 * log1p_r + 0.5 * (nu + 1.0) * r_share / nu;
  d[2] = -d[0];
  d[3] = (-1.0 + (nu + 1.0) * r_share) * inv_sigma;
  return finish<4>(!std::isnan(y) && positive_finite(nu) && is_finite(mu) && positive_finite(sigma), is_finite(y), lp,
                   d);
}

HALO_ALWAYS_INLINE double halo_exponential_lpdf(double y, double beta, int flags, double* d) {
  double lp = 0.0;
  if (include(flags, V1)) lp += std::log(beta);
  if (include(flags, V0 | V1)) lp -= beta * y;
  d[0] = -beta;
  d[1] = 1.0 / beta - y;
  return finish<2>(!std::isnan(y) && positive_finite(beta), y >= 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_gamma_lpdf(double y, double alpha, double beta, int flags, double* d) {
  const double log_y = std::log(y), log_beta = std::log(beta);
  double lp = 0.0;
  if (include(flags, V1)) lp -= log_gamma(alpha);
  if (include(flags, V1 | V2)) lp += alpha * log_beta;
  if (include(flags, V0 | V1)) lp += xlogy(alpha - 1.0, y);
  if (include(flags, V0 | V2)) lp -= beta * y;
  d[0] = (alpha - 1.0) / y - beta;
  d[1] = log_beta - digamma(alpha) + log_y;
  d[2] = alpha / beta - y;
  return finish<3>(!std::isnan(y) && positive_finite(alpha) && positive_finite(beta), y >= 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_inv_gamma_lpdf(double y, double alpha, double beta, int flags, double* d) {
  const double log_y = std::log(y), log_beta = std::log(beta), inv_y = 1.0 / y;
  double lp = 0.0;
  if (include(flags, V1)) lp -= log_gamma(alpha);
  if (include(flags, V1 | V2)) lp += alpha * log_beta;
  if (include(flags, V0 | V1)) lp -= (alpha + 1.0) * log_y;
  if (include(flags, V0 | V2)) lp -= beta * inv_y;
  d[0] = -(alpha + 1.0) * inv_y + beta * inv_y * inv_y;
  d[1] = log_beta - digamma(alpha) - log_y;
  d[2] = alpha / beta - inv_y;
  return finish<3>(!std::isnan(y) && positive_finite(alpha) && positive_finite(beta), y > 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_beta_lpdf(double y, double a, double b, int flags, double* d) {
  const double log_y = std::log(y), log1m_y = std::log1p(-y);
  double lp = 0.0;
  const bool inc_a = include(flags, V1), inc_b = include(flags, V2);
  if (inc_a && inc_b) {
    lp -= lbeta(a, b);  // both Gamma terms and Gamma(a + b): the accurate combined form
  } else {
    if (include(flags, V1 | V2)) lp += log_gamma(a + b);
    if (inc_a) lp -= log_gamma(a);
    if (inc_b) lp -= log_gamma(b);
  }
  if (include(flags, V0 | V1)) lp += xlogy(a - 1.0, y);
  if (include(flags, V0 | V2)) lp += b == 1.0 ? 0.0 : (b - 1.0) * log1m_y;
  d[0] = (a - 1.0) / y - (b - 1.0) / (1.0 - y);
  d[1] = log_y + digamma_diff(a, b);
  d[2] = log1m_y + digamma_diff(b, a);
  return finish<3>(!std::isnan(y) && positive_finite(a) && positive_finite(b), y >= 0.0 && y <= 1.0, lp, d);
}

HALO_ALWAYS_INLINE double halo_beta_proportion_lpdf(double y, double mu, double kappa, int flags, double* d) {
  const double a = mu * kappa, b = kappa - a;
  const double log_y = std::log(y), log1m_y = std::log1p(-y);
  double lp = 0.0;
  if (include(flags, V2)) lp += log_gamma(kappa);
  if (include(flags, V1 | V2)) lp -= log_gamma(a) + log_gamma(b);
  if (include(flags, V0 | V1 | V2)) lp += xlogy(a - 1.0, y) + (b == 1.0 ? 0.0 : (b - 1.0) * log1m_y);
  const double psi_a = digamma(a), psi_b = digamma(b);
  d[0] = (a - 1.0) / y - (b - 1.0) / (1.0 - y);
  d[1] = kappa * (psi_b - psi_a + log_y - log1m_y);
  d[2] = digamma(kappa) - mu * psi_a - (1.0 - mu) * psi_b + mu * log_y + (1.0 - mu) * log1m_y;
  return finish<3>(!std::isnan(y) && mu > 0.0 && mu < 1.0 && positive_finite(kappa), y >= 0.0 && y <= 1.0, lp, d);
}

HALO_ALWAYS_INLINE double halo_uniform_lpdf(double y, double alpha, double beta, int flags, double* d) {
  const double inv_width = 1.0 / (beta - alpha);
  double lp = 0.0;
  if (include(flags, V1 | V2)) lp -= std::log(beta - alpha);
  d[0] = 0.0;
  d[1] = inv_width;
  d[2] = -inv_width;
  return finish<3>(!std::isnan(y) && is_finite(alpha) && is_finite(beta) && beta > alpha, y >= alpha && y <= beta, lp, d);
}

HALO_ALWAYS_INLINE double halo_double_exponential_lpdf(double y, double mu, double sigma, int flags, double* d) {
  const double inv_sigma = 1.0 / sigma;
  const double diff = y - mu;
  const double sign = diff > 0.0 ? 1.0 : diff < 0.0 ? -1.0 : 0.0;
  double lp = 0.0;
  if (include(flags, 0)) lp -= kLogTwo;
  if (include(flags, V2)) lp -= std::log(sigma);
  if (include(flags, V0 | V1 | V2)) lp -= std::fabs(diff) * inv_sigma;
  d[0] = -sign * inv_sigma;
  d[1] = sign * inv_sigma;
  d[2] = -inv_sigma + std::fabs(diff) * inv_sigma * inv_sigma;
  return finish<3>(!std::isnan(y) && is_finite(mu) && positive_finite(sigma), is_finite(y), lp, d);
}

HALO_ALWAYS_INLINE double halo_logistic_lpdf(double y, double mu, double sigma, int flags, double* d) {
  const double inv_sigma = 1.0 / sigma;
  const double z = (y - mu) * inv_sigma;
  double lp = 0.0;
  if (include(flags, V0 | V1 | V2)) lp -= z + 2.0 * log1p_exp(-z);
  if (include(flags, V2)) lp -= std::log(sigma);
  const double g = 2.0 * inv_logit(-z) - 1.0;  // d lp / dz
  d[0] = g * inv_sigma;
  d[1] = -g * inv_sigma;
  d[2] = -(g * z + 1.0) * inv_sigma;
  return finish<3>(!std::isnan(y) && is_finite(mu) && positive_finite(sigma), is_finite(y), lp, d);
}

HALO_ALWAYS_INLINE double halo_weibull_lpdf(double y, double alpha, double sigma, int flags, double* d) {
  const double log_y = std::log(y), log_sigma = std::log(sigma);
  const double p = std::pow(y / sigma, alpha);
  double lp = 0.0;
  if (include(flags, V1)) lp += std::log(alpha);
  if (include(flags, V0 | V1)) lp += xlogy(alpha - 1.0, y);
  if (include(flags, V1 | V2)) lp -= alpha * log_sigma;
  if (include(flags, V0 | V1 | V2)) lp -= p;
  d[0] = ((alpha - 1.0) - alpha * p) / y;
  d[1] = 1.0 / alpha + (1.0 - p) * (log_y - log_sigma);
  d[2] = alpha * (p - 1.0) / sigma;
  return finish<3>(!std::isnan(y) && positive_finite(alpha) && positive_finite(sigma), y >= 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_frechet_lpdf(double y, double alpha, double sigma, int flags, double* d) {
  const double log_y = std::log(y), log_sigma = std::log(sigma);
  const double p = std::pow(sigma / y, alpha);
  double lp = 0.0;
  if (include(flags, V1)) lp += std::log(alpha);
  if (include(flags, V0 | V1)) lp -= (alpha + 1.0) * log_y;
  if (include(flags, V1 | V2)) lp += alpha * log_sigma;
  if (include(flags, V0 | V1 | V2)) lp -= p;
  d[0] = (alpha * p - (alpha + 1.0)) / y;
  d[1] = 1.0 / alpha + (1.0 - p) * (log_sigma - log_y);
  d[2] = alpha * (1.0 - p) / sigma;
  return finish<3>(!std::isnan(y) && positive_finite(alpha) && positive_finite(sigma), y > 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_chi_square_lpdf(double y, double nu, int flags, double* d) {
  const double half_nu = 0.5 * nu;
  double lp = 0.0;
  if (include(flags, V1)) lp -= half_nu * kLogTwo + log_gamma(half_nu);
  if (include(flags, V0 | V1)) lp += xlogy(half_nu - 1.0, y);
  if (include(flags, V0)) lp -= 0.5 * y;
  d[0] = (half_nu - 1.0) / y - 0.5;
  d[1] = 0.5 * (std::log(y) - kLogTwo - digamma(half_nu));
  return finish<2>(!std::isnan(y) && positive_finite(nu), y >= 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_inv_chi_square_lpdf(double y, double nu, int flags, double* d) {
  const double half_nu = 0.5 * nu, log_y = std::log(y), inv_y = 1.0 / y;
  double lp = 0.0;
  if (include(flags, V1)) lp -= half_nu * kLogTwo + log_gamma(half_nu);
  if (include(flags, V0 | V1)) lp -= (half_nu + 1.0) * log_y;
  if (include(flags, V0)) lp -= 0.5 * inv_y;
  d[0] = -(half_nu + 1.0) * inv_y + 0.5 * inv_y * inv_y;
  d[1] = -0.5 * (log_y + kLogTwo + digamma(half_nu));
  return finish<2>(!std::isnan(y) && positive_finite(nu), y > 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_scaled_inv_chi_square_lpdf(double y, double nu, double s, int flags, double* d) {
  const double half_nu = 0.5 * nu, log_y = std::log(y), inv_y = 1.0 / y, log_s = std::log(s);
  const double log_half_nu = std::log(half_nu);
  double lp = 0.0;
  if (include(flags, V1)) lp += half_nu * log_half_nu - log_gamma(half_nu);
  if (include(flags, V1 | V2)) lp += nu * log_s;
  if (include(flags, V0 | V1)) lp -= (half_nu + 1.0) * log_y;
  if (include(flags, V0 | V1 | V2)) lp -= half_nu * s * s * inv_y;
  d[0] = -(half_nu + 1.0) * inv_y + half_nu * s * s * inv_y * inv_y;
  d[1] = 0.5 * (log_half_nu + 1.0 - digamma(half_nu)) + log_s - 0.5 * log_y - 0.5 * s * s * inv_y;
  d[2] = nu / s - nu * s * inv_y;
  return finish<3>(!std::isnan(y) && positive_finite(nu) && positive_finite(s), y > 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_skew_normal_lpdf(double y, double xi, double omega, double alpha, int flags, double* d) {
  const double inv_omega = 1.0 / omega;
  const double z = (y - xi) * inv_omega;
  double dl;  // d log erfc(t) / dt at t = -alpha z / sqrt 2
  const double log_erfc_t = log_erfc(-alpha * z * kInvSqrtTwo, &dl);
  double lp = 0.0;
  if (include(flags, 0)) lp -= kHalfLogTwoPi;
  if (include(flags, V2)) lp -= std::log(omega);
  if (include(flags, V0 | V1 | V2)) lp -= 0.5 * z * z;
  if (include(flags, V0 | V1 | V2 | V3)) lp += log_erfc_t;
  d[0] = (-z - dl * alpha * kInvSqrtTwo) * inv_omega;
  d[1] = -d[0];
  d[2] = (-1.0 + z * z + dl * alpha * z * kInvSqrtTwo) * inv_omega;
  d[3] = -dl * z * kInvSqrtTwo;
  return finish<4>(!std::isnan(y) && is_finite(xi) && positive_finite(omega) && is_finite(alpha), is_finite(y), lp, d);
}

HALO_ALWAYS_INLINE double halo_exp_mod_normal_lpdf(double y, double mu, double sigma, double lambda, int flags, double* d) {
  const double lambda_sigma2 = lambda * sigma * sigma;
  const double scale = 1.0 / (sigma * kSqrtTwo);
  double dl;  // d log erfc(t) / dt
  const double log_erfc_t = log_erfc((mu + lambda_sigma2 - y) * scale, &dl);
  double lp = 0.0;
  if (include(flags, 0)) lp -= kLogTwo;
  if (include(flags, V3)) lp += std::log(lambda);
  if (include(flags, V0 | V1 | V2 | V3)) lp += lambda * (mu + 0.5 * lambda_sigma2 - y) + log_erfc_t;
  d[0] = -lambda - dl * scale;
  d[1] = lambda + dl * scale;
  d[2] = lambda * lambda * sigma + dl * (-(mu - y) / (sigma * sigma) + lambda) * kInvSqrtTwo;
  d[3] = 1.0 / lambda + mu + lambda_sigma2 - y + dl * sigma * kInvSqrtTwo;
  return finish<4>(!std::isnan(y) && is_finite(mu) && positive_finite(sigma) && positive_finite(lambda), is_finite(y), lp,
                   d);
}

HALO_ALWAYS_INLINE double halo_gumbel_lpdf(double y, double mu, double beta, int flags, double* d) {
  const double inv_beta = 1.0 / beta;
  const double z = (y - mu) * inv_beta;
  const double e = std::exp(-z);
  double lp = 0.0;
  if (include(flags, V2)) lp -= std::log(beta);
  if (include(flags, V0 | V1 | V2)) lp -= z + e;
  d[0] = (e - 1.0) * inv_beta;
  d[1] = -d[0];
  d[2] = (-1.0 + z - z * e) * inv_beta;
  return finish<3>(!std::isnan(y) && is_finite(mu) && positive_finite(beta), is_finite(y), lp, d);
}

HALO_ALWAYS_INLINE double halo_pareto_lpdf(double y, double y_min, double alpha, int flags, double* d) {
  const double log_y = std::log(y), log_y_min = std::log(y_min);
  double lp = 0.0;
  if (include(flags, V2)) lp += std::log(alpha);
  if (include(flags, V1 | V2)) lp += alpha * log_y_min;
  if (include(flags, V0 | V2)) lp -= (alpha + 1.0) * log_y;
  d[0] = -(alpha + 1.0) / y;
  d[1] = alpha / y_min;
  d[2] = 1.0 / alpha + log_y_min - log_y;
  return finish<3>(!std::isnan(y) && positive_finite(y_min) && positive_finite(alpha), y >= y_min && y < kInf, lp, d);
}

// Stan groups the last term with (y, lambda, alpha) only; it depends on mu too, so mu is
// included here (otherwise propto with only mu varying would drop a term that varies).
HALO_ALWAYS_INLINE double halo_pareto_type_2_lpdf(double y, double mu, double lambda, double alpha, int flags, double* d) {
  const double log1p_t = std::log1p((y - mu) / lambda);
  const double inv_shifted = 1.0 / (lambda + y - mu);
  double lp = 0.0;
  if (include(flags, V3)) lp += std::log(alpha);
  if (include(flags, V2)) lp -= std::log(lambda);
  if (include(flags, V0 | V1 | V2 | V3)) lp -= (alpha + 1.0) * log1p_t;
  d[0] = -(alpha + 1.0) * inv_shifted;
  d[1] = -d[0];
  d[2] = -1.0 / lambda + (alpha + 1.0) * (y - mu) / lambda * inv_shifted;
  d[3] = 1.0 / alpha - log1p_t;
  return finish<4>(!std::isnan(y) && is_finite(mu) && positive_finite(lambda) && positive_finite(alpha),
                   y >= mu && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_rayleigh_lpdf(double y, double sigma, int flags, double* d) {
  const double inv_sigma = 1.0 / sigma;
  const double t = y * inv_sigma;
  double lp = 0.0;
  if (include(flags, V1)) lp -= 2.0 * std::log(sigma);
  if (include(flags, V0)) lp += std::log(y);
  if (include(flags, V0 | V1)) lp -= 0.5 * t * t;
  d[0] = 1.0 / y - t * inv_sigma;
  d[1] = (-2.0 + t * t) * inv_sigma;
  return finish<2>(!std::isnan(y) && positive_finite(sigma), y >= 0.0 && y < kInf, lp, d);
}

HALO_ALWAYS_INLINE double halo_von_mises_lpdf(double y, double mu, double kappa, int flags, double* d) {
  double ratio;  // I1(kappa) / I0(kappa)
  const double log_i0 = log_bessel_i0(kappa, &ratio);
  const double c = std::cos(y - mu), s = std::sin(y - mu);
  double lp = 0.0;
  if (include(flags, 0)) lp -= kLogTwoPi;
  if (include(flags, V2)) lp -= log_i0;
  if (include(flags, V0 | V1 | V2)) lp += kappa * c;
  d[0] = -kappa * s;
  d[1] = kappa * s;
  d[2] = c - ratio;
  return finish<3>(is_finite(y) && is_finite(mu) && kappa >= 0.0 && kappa < kInf, true, lp, d);
}

}  // extern "C"
