// Scalar math functions and their derivatives (halo_<f>, halo_<f>_grad).
#include "internal.h"

using namespace halo::stdlib;

extern "C" {

// ---- exponentials and logarithms ----
double halo_exp(double x) { return std::exp(x); }
void halo_exp_grad(double, double r, double* d) { *d = r; }
double halo_log(double x) { return std::log(x); }
void halo_log_grad(double x, double, double* d) { *d = 1.0 / x; }
double halo_log1p(double x) { return std::log1p(x); }
void halo_log1p_grad(double x, double, double* d) { *d = 1.0 / (1.0 + x); }
double halo_expm1(double x) { return std::expm1(x); }
void halo_expm1_grad(double x, double, double* d) { *d = std::exp(x); }
double halo_exp2(double x) { return std::exp2(x); }
void halo_exp2_grad(double, double r, double* d) { *d = r * kLogTwo; }
double halo_log2(double x) { return std::log2(x); }
void halo_log2_grad(double x, double, double* d) { *d = 1.0 / (x * kLogTwo); }
double halo_log10(double x) { return std::log10(x); }
void halo_log10_grad(double x, double, double* d) { *d = 1.0 / (x * kLogTen); }

// ---- powers ----
double halo_sqrt(double x) { return std::sqrt(x); }
void halo_sqrt_grad(double, double r, double* d) { *d = 0.5 / r; }
double halo_cbrt(double x) { return std::cbrt(x); }
void halo_cbrt_grad(double, double r, double* d) { *d = 1.0 / (3.0 * r * r); }
double halo_square(double x) { return x * x; }
void halo_square_grad(double x, double, double* d) { *d = 2.0 * x; }
double halo_inv(double x) { return 1.0 / x; }
void halo_inv_grad(double, double r, double* d) { *d = -r * r; }
double halo_inv_sqrt(double x) { return 1.0 / std::sqrt(x); }
void halo_inv_sqrt_grad(double x, double r, double* d) { *d = -0.5 * r / x; }
double halo_inv_square(double x) { return 1.0 / (x * x); }
void halo_inv_square_grad(double x, double r, double* d) { *d = -2.0 * r / x; }
double halo_fabs(double x) { return std::fabs(x); }
void halo_fabs_grad(double x, double, double* d) { *d = x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : (x == 0.0 ? 0.0 : x); }
double halo_abs(double x) { return std::fabs(x); }
void halo_abs_grad(double x, double r, double* d) { halo_fabs_grad(x, r, d); }

double halo_pow(double x, double y) { return std::pow(x, y); }
void halo_pow_grad(double x, double y, double r, double* dx, double* dy) {
  *dx = y == 0.0 ? 0.0 : y * std::pow(x, y - 1.0);
  *dy = x == 0.0 ? 0.0 : r * std::log(x);
}
double halo_hypot(double x, double y) { return std::hypot(x, y); }
void halo_hypot_grad(double x, double y, double r, double* dx, double* dy) {
  *dx = x / r;
  *dy = y / r;
}
double halo_fma(double x, double y, double z) { return std::fma(x, y, z); }
void halo_fma_grad(double x, double y, double, double, double* dx, double* dy, double* dz) {
  *dx = y;
  *dy = x;
  *dz = 1.0;
}

// ---- gamma family ----
double halo_lgamma(double x) { return log_gamma(x); }
void halo_lgamma_grad(double x, double, double* d) { *d = digamma(x); }
double halo_digamma(double x) { return digamma(x); }
void halo_digamma_grad(double x, double, double* d) { *d = trigamma(x); }
double halo_trigamma(double x) { return trigamma(x); }
void halo_trigamma_grad(double x, double, double* d) { *d = tetragamma(x); }
double halo_tgamma(double x) { return gamma_function(x); }
void halo_tgamma_grad(double x, double r, double* d) { *d = r * digamma(x); }

double halo_lbeta(double a, double b) { return lbeta(a, b); }
void halo_lbeta_grad(double a, double b, double, double* da, double* db) {
  *da = -digamma_diff(a, b);
  *db = -digamma_diff(b, a);
}
double halo_lchoose(double n, double k) { return lchoose(n, k); }
void halo_lchoose_grad(double n, double k, double, double* dn, double* dk) {
  *dn = digamma_diff(n - k + 1.0, k);          // psi(n + 1) - psi(n - k + 1)
  *dk = digamma_diff(k + 1.0, n - 2.0 * k);     // psi(n - k + 1) - psi(k + 1)
}
double halo_binomial_coefficient_log(double n, double k) { return lchoose(n, k); }
void halo_binomial_coefficient_log_grad(double n, double k, double r, double* dn, double* dk) {
  halo_lchoose_grad(n, k, r, dn, dk);
}
double halo_log_falling_factorial(double x, double n) { return log_gamma(x + 1.0) - log_gamma(x - n + 1.0); }
void halo_log_falling_factorial_grad(double x, double n, double, double* dx, double* dn) {
  *dx = digamma_diff(x - n + 1.0, n);
  *dn = digamma(x - n + 1.0);
}
double halo_log_rising_factorial(double x, double n) { return log_gamma(x + n) - log_gamma(x); }
void halo_log_rising_factorial_grad(double x, double n, double, double* dx, double* dn) {
  *dx = digamma_diff(x, n);
  *dn = digamma(x + n);
}
double halo_falling_factorial(double x, int64_t n) {
  if (n < 0) return kNaN;
  return std::exp(log_gamma(x + 1.0) - log_gamma(x - static_cast<double>(n) + 1.0));
}
void halo_falling_factorial_grad(double x, int64_t n, double r, double* dx) {
  *dx = r * digamma_diff(x - static_cast<double>(n) + 1.0, static_cast<double>(n));
}
double halo_rising_factorial(double x, int64_t n) {
  if (n < 0) return kNaN;
  return std::exp(log_gamma(x + static_cast<double>(n)) - log_gamma(x));
}
void halo_rising_factorial_grad(double x, int64_t n, double r, double* dx) {
  *dx = r * digamma_diff(x, static_cast<double>(n));
}
// log Gamma_k(x) = k(k-1)/4 log(pi) + sum_{j=1}^k log_gamma(x + (1 - j)/2).
double halo_lmgamma(int64_t k, double x) {
  double r = 0.25 * static_cast<double>(k) * static_cast<double>(k - 1) * kLogPi;
  for (int64_t j = 1; j <= k; ++j) r += log_gamma(x + 0.5 * static_cast<double>(1 - j));
  return r;
}
void halo_lmgamma_grad(int64_t k, double x, double, double* dx) {
  double r = 0.0;
  for (int64_t j = 1; j <= k; ++j) r += digamma(x + 0.5 * static_cast<double>(1 - j));
  *dx = r;
}

double halo_gamma_p(double a, double x) { return std::exp(inc_gamma(a, x).log_p); }
void halo_gamma_p_grad(double a, double x, double r, double* da, double* dx) {
  IncGamma g = inc_gamma(a, x);
  *da = r * g.dlog_p_da;
  *dx = std::exp((a - 1.0) * std::log(x) - x - log_gamma(a));  // the Gamma(a, 1) density
}
double halo_gamma_q(double a, double x) { return std::exp(inc_gamma(a, x).log_q); }
void halo_gamma_q_grad(double a, double x, double r, double* da, double* dx) {
  IncGamma g = inc_gamma(a, x);
  *da = r * g.dlog_q_da;
  *dx = -std::exp((a - 1.0) * std::log(x) - x - log_gamma(a));
}
double halo_inc_beta(double a, double b, double x) { return std::exp(inc_beta(a, b, x, 1.0 - x).log_i); }
void halo_inc_beta_grad(double a, double b, double x, double r, double* da, double* db, double* dx) {
  IncBeta g = inc_beta(a, b, x, 1.0 - x);
  *da = r * g.dlog_i_da;
  *db = r * g.dlog_i_db;
  // The density itself: finite at the ends where I = 0 or 1.
  *dx = std::exp((a - 1.0) * std::log(x) + (b - 1.0) * std::log1p(-x) - lbeta(a, b));
}

// ---- error function and normal cdf ----
double halo_erf(double x) { return std::erf(x); }
void halo_erf_grad(double x, double, double* d) { *d = kTwoOverSqrtPi * std::exp(-x * x); }
double halo_erfc(double x) { return std::erfc(x); }
void halo_erfc_grad(double x, double, double* d) { *d = -kTwoOverSqrtPi * std::exp(-x * x); }
double halo_inv_erfc(double x) { return erfc_inv(x); }
void halo_inv_erfc_grad(double, double r, double* d) { *d = -0.5 * kSqrtPi * std::exp(r * r); }
double halo_Phi(double x) { return 0.5 * std::erfc(-x * kInvSqrtTwo); }
void halo_Phi_grad(double x, double, double* d) { *d = kInvSqrtTwoPi * std::exp(-0.5 * x * x); }
// Bowling, Khasawneh, Kaewkuekool & Cho (2009), "A logistic approximation to the cumulative
// normal distribution", J. Industrial Engineering and Management 2(1): Stan's constants.
double halo_Phi_approx(double x) { return inv_logit(0.07056 * x * x * x + 1.5976 * x); }
void halo_Phi_approx_grad(double x, double r, double* d) {
  // r (1 - r) with 1 - r = inv_logit(-t) computed without cancellation.
  double t = 0.07056 * x * x * x + 1.5976 * x;
  *d = r * inv_logit(-t) * (3.0 * 0.07056 * x * x + 1.5976);
}
double halo_inv_Phi(double p) { return inv_Phi(p); }
void halo_inv_Phi_grad(double, double r, double* d) { *d = kSqrtTwoPi * std::exp(0.5 * r * r); }

// ---- logistic family ----
double halo_logit(double x) { return std::log(x) - std::log1p(-x); }
void halo_logit_grad(double x, double, double* d) { *d = 1.0 / (x * (1.0 - x)); }
HALO_ALWAYS_INLINE double halo_inv_logit(double x) { return inv_logit(x); }
HALO_ALWAYS_INLINE void halo_inv_logit_grad(double x, double, double* d) {
  double e = exp_nonpositive(-std::fabs(x));
  *d = e / ((1.0 + e) * (1.0 + e));
}
HALO_ALWAYS_INLINE double halo_sigmoid(double x) { return inv_logit(x); }
HALO_ALWAYS_INLINE void halo_sigmoid_grad(double x, double r, double* d) { halo_inv_logit_grad(x, r, d); }
HALO_ALWAYS_INLINE double halo_log_inv_logit(double x) { return -log1p_exp(-x); }
HALO_ALWAYS_INLINE void halo_log_inv_logit_grad(double x, double, double* d) { *d = inv_logit(-x); }
HALO_ALWAYS_INLINE double halo_log1m_inv_logit(double x) { return -log1p_exp(x); }
HALO_ALWAYS_INLINE void halo_log1m_inv_logit_grad(double x, double, double* d) { *d = -inv_logit(x); }
double halo_log1m(double x) { return std::log1p(-x); }
void halo_log1m_grad(double x, double, double* d) { *d = -1.0 / (1.0 - x); }
HALO_ALWAYS_INLINE double halo_log1p_exp(double x) { return log1p_exp(x); }
HALO_ALWAYS_INLINE void halo_log1p_exp_grad(double x, double, double* d) { *d = inv_logit(x); }
HALO_ALWAYS_INLINE double halo_softplus(double x) { return log1p_exp(x); }
HALO_ALWAYS_INLINE void halo_softplus_grad(double x, double, double* d) { *d = inv_logit(x); }
double halo_log1m_exp(double x) { return log1m_exp(x); }
void halo_log1m_exp_grad(double x, double, double* d) { *d = -1.0 / std::expm1(-x); }
double halo_inv_cloglog(double x) { return -std::expm1(-std::exp(x)); }
void halo_inv_cloglog_grad(double x, double, double* d) { *d = std::exp(x - std::exp(x)); }

HALO_ALWAYS_INLINE double halo_log_sum_exp(double x, double y) { return log_sum_exp(x, y); }
HALO_ALWAYS_INLINE void halo_log_sum_exp_grad(double x, double y, double, double* dx, double* dy) { log_sum_exp_weights(x, y, dx, dy); }
double halo_log_diff_exp(double x, double y) {
  if (x < y) return kNaN;
  if (y == -kInf) return x;
  return x + log1m_exp(y - x);
}
void halo_log_diff_exp_grad(double x, double y, double, double* dx, double* dy) {
  // d/dx = e^x / (e^x - e^y) = -1 / expm1(y - x); d/dy = -e^y / (e^x - e^y) = -1 / expm1(x - y).
  if (y == -kInf) {
    *dx = 1.0;
    *dy = 0.0;
    return;
  }
  *dx = -1.0 / std::expm1(y - x);
  *dy = -1.0 / std::expm1(x - y);
}
double halo_log_inv_logit_diff(double x, double y) {
  if (x < y) return kNaN;
  return x - log1p_exp(x) + log1m_exp(y - x) - log1p_exp(y);
}
void halo_log_inv_logit_diff_grad(double x, double y, double, double* dx, double* dy) {
  *dx = -inv_logit(x) - 1.0 / std::expm1(y - x);
  *dy = -inv_logit(y) - 1.0 / std::expm1(x - y);
}
// log_mix(theta, lp1, lp2) = log_sum_exp(log(theta) + lp1, log1m(theta) + lp2), branch-free
// like log_sum_exp, so that the derivative (weights w1 and w2) shares its exp.
HALO_ALWAYS_INLINE double halo_log_mix(double theta, double lp1, double lp2) {
  const double r = log_sum_exp(std::log(theta) + lp1, std::log1p(-theta) + lp2);
  return theta >= 0.0 && theta <= 1.0 ? r : kNaN;
}
HALO_ALWAYS_INLINE void halo_log_mix_grad(double theta, double lp1, double lp2, double r, double* dt, double* d1, double* d2) {
  double w1, w2;
  log_sum_exp_weights(std::log(theta) + lp1, std::log1p(-theta) + lp2, &w1, &w2);
  const bool interior = theta > 0.0 && theta < 1.0;
  *d1 = w1;
  *d2 = w2;
  // d/dtheta = e^(lp1 - r) - e^(lp2 - r) = w1 / theta - w2 / (1 - theta) inside (0, 1); at the
  // ends one weight is 0 and the formula with exps is needed (and rare).
  // The reciprocals are loop-invariant where theta is (a mixture's weight): hoisted.
  *dt = interior ? w1 * (1.0 / theta) - w2 * (1.0 / (1.0 - theta)) : std::exp(lp1 - r) - std::exp(lp2 - r);
  if (!(theta >= 0.0 && theta <= 1.0)) *dt = *d1 = *d2 = kNaN;
}
double halo_multiply_log(double x, double y) { return xlogy(x, y); }
void halo_multiply_log_grad(double x, double y, double, double* dx, double* dy) {
  *dx = std::log(y);
  *dy = x == 0.0 ? 0.0 : x / y;
}
double halo_lmultiply(double x, double y) { return xlogy(x, y); }
void halo_lmultiply_grad(double x, double y, double r, double* dx, double* dy) { halo_multiply_log_grad(x, y, r, dx, dy); }

// ---- trigonometric and hyperbolic ----
double halo_sin(double x) { return std::sin(x); }
void halo_sin_grad(double x, double, double* d) { *d = std::cos(x); }
double halo_cos(double x) { return std::cos(x); }
void halo_cos_grad(double x, double, double* d) { *d = -std::sin(x); }
double halo_tan(double x) { return std::tan(x); }
void halo_tan_grad(double, double r, double* d) { *d = 1.0 + r * r; }
double halo_asin(double x) { return std::asin(x); }
void halo_asin_grad(double x, double, double* d) { *d = 1.0 / std::sqrt((1.0 - x) * (1.0 + x)); }
double halo_acos(double x) { return std::acos(x); }
void halo_acos_grad(double x, double, double* d) { *d = -1.0 / std::sqrt((1.0 - x) * (1.0 + x)); }
double halo_atan(double x) { return std::atan(x); }
void halo_atan_grad(double x, double, double* d) { *d = 1.0 / (1.0 + x * x); }
double halo_atan2(double y, double x) { return std::atan2(y, x); }
void halo_atan2_grad(double y, double x, double, double* dy, double* dx) {
  double h = std::hypot(x, y);
  *dy = (x / h) / h;
  *dx = -(y / h) / h;
}
double halo_sinh(double x) { return std::sinh(x); }
void halo_sinh_grad(double x, double, double* d) { *d = std::cosh(x); }
double halo_cosh(double x) { return std::cosh(x); }
void halo_cosh_grad(double x, double, double* d) { *d = std::sinh(x); }
double halo_tanh(double x) { return std::tanh(x); }
void halo_tanh_grad(double, double r, double* d) { *d = (1.0 - r) * (1.0 + r); }
double halo_asinh(double x) { return std::asinh(x); }
void halo_asinh_grad(double x, double, double* d) { *d = 1.0 / std::hypot(x, 1.0); }
double halo_acosh(double x) { return std::acosh(x); }
void halo_acosh_grad(double x, double, double* d) { *d = 1.0 / std::sqrt((x - 1.0) * (x + 1.0)); }
double halo_atanh(double x) { return std::atanh(x); }
void halo_atanh_grad(double x, double, double* d) { *d = 1.0 / ((1.0 - x) * (1.0 + x)); }

// ---- min, max, remainders ----
double halo_fmin(double x, double y) { return std::fmin(x, y); }
void halo_fmin_grad(double x, double y, double, double* dx, double* dy) {
  bool take_x = std::isnan(y) || (!std::isnan(x) && x < y);
  *dx = take_x ? 1.0 : 0.0;
  *dy = take_x ? 0.0 : 1.0;
}
double halo_fmax(double x, double y) { return std::fmax(x, y); }
void halo_fmax_grad(double x, double y, double, double* dx, double* dy) {
  bool take_x = std::isnan(y) || (!std::isnan(x) && x > y);
  *dx = take_x ? 1.0 : 0.0;
  *dy = take_x ? 0.0 : 1.0;
}
double halo_fdim(double x, double y) { return std::fdim(x, y); }
void halo_fdim_grad(double x, double y, double, double* dx, double* dy) {
  bool positive = x > y;
  *dx = positive ? 1.0 : 0.0;
  *dy = positive ? -1.0 : 0.0;
}
double halo_fmod(double x, double y) { return std::fmod(x, y); }
void halo_fmod_grad(double x, double y, double, double* dx, double* dy) {
  *dx = 1.0;
  *dy = -std::trunc(x / y);
}

// ---- Owen's T ----
double halo_owens_t(double h, double a) { return owens_t(h, a); }
void halo_owens_t_grad(double h, double a, double, double* dh, double* da) {
  // dT/dh = -phi(h) erf(a h / sqrt 2) / 2, dT/da = exp(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2)).
  double one_plus_a2 = 1.0 + a * a;
  *dh = -0.5 * kInvSqrtTwoPi * std::exp(-0.5 * h * h) * std::erf(a * h * kInvSqrtTwo);
  *da = std::exp(-0.5 * h * h * one_plus_a2) / (2.0 * kPi * one_plus_a2);
}

// ---- activations ----
double halo_relu(double x) { return x > 0.0 ? x : 0.0; }
void halo_relu_grad(double x, double, double* d) { *d = x > 0.0 ? 1.0 : 0.0; }
double halo_gelu(double x) { return x * 0.5 * std::erfc(-x * kInvSqrtTwo); }
void halo_gelu_grad(double x, double, double* d) {
  *d = 0.5 * std::erfc(-x * kInvSqrtTwo) + x * kInvSqrtTwoPi * std::exp(-0.5 * x * x);
}
double halo_elu(double x) { return x > 0.0 ? x : std::expm1(x); }
void halo_elu_grad(double x, double, double* d) { *d = x > 0.0 ? 1.0 : std::exp(x); }
double halo_leaky_relu(double x) { return x > 0.0 ? x : 0.01 * x; }
void halo_leaky_relu_grad(double x, double, double* d) { *d = x > 0.0 ? 1.0 : 0.01; }

// ---- piecewise constant ----
double halo_floor(double x) { return std::floor(x); }
double halo_ceil(double x) { return std::ceil(x); }
double halo_round(double x) { return std::round(x); }
double halo_trunc(double x) { return std::trunc(x); }
double halo_step(double x) { return x < 0.0 ? 0.0 : 1.0; }
// Their derivatives, 0 almost everywhere (at the jumps too, as Stan's).
void halo_floor_grad(double, double, double* d) { *d = 0.0; }
void halo_ceil_grad(double, double, double* d) { *d = 0.0; }
void halo_round_grad(double, double, double* d) { *d = 0.0; }
void halo_trunc_grad(double, double, double* d) { *d = 0.0; }
void halo_step_grad(double, double, double* d) { *d = 0.0; }
// Truncation toward zero; NaN and values outside int64 give 0 (callers check the range).
int64_t halo_to_int(double x) {
  return x > -9.2233720368547758e18 && x < 9.2233720368547758e18 ? static_cast<int64_t>(x) : 0;
}
int64_t halo_int_step(double x) { return x > 0.0 ? 1 : 0; }
int64_t halo_is_inf(double x) { return std::isinf(x) ? 1 : 0; }
int64_t halo_is_nan(double x) { return std::isnan(x) ? 1 : 0; }
int64_t halo_choose(int64_t n, int64_t k) {
  if (n < 0 || k < 0) return -1;
  if (k > n) return 0;
  if (k > n - k) k = n - k;
  // Multiplicative formula; each partial product is itself a binomial coefficient, so the
  // division is exact.
  int64_t r = 1;
  for (int64_t j = 1; j <= k; ++j) r = r * (n - k + j) / j;
  return r;
}

}  // extern "C"
