// Cumulative distribution functions with partials: _cdf, _lcdf and _lccdf of each family come
// from one function that computes log F and log(1 - F) with the partials of both logs, each in
// the form that is accurate on its side (so the log forms stay finite far in the tails).
#include "internal.h"

using namespace halo::stdlib;

namespace {

template <int N>
struct Parts {
  double log_f = 0.0, log_s = 0.0;
  double g_f[N] = {};  // d log F / d arg
  double g_s[N] = {};  // d log(1 - F) / d arg
};

enum class Which { Cdf, Lcdf, Lccdf };

template <int N>
inline double emit(const Parts<N>& p, Which w, double* d) {
  if (w == Which::Lcdf) {
    for (int i = 0; i < N; ++i) d[i] = p.g_f[i];
    return p.log_f;
  }
  if (w == Which::Lccdf) {
    for (int i = 0; i < N; ++i) d[i] = p.g_s[i];
    return p.log_s;
  }
  const double f = std::exp(p.log_f);
  for (int i = 0; i < N; ++i) d[i] = p.log_f == -kInf ? 0.0 : f * p.g_f[i];
  return f;
}

template <int N>
inline Parts<N> invalid() {
  Parts<N> p;
  p.log_f = p.log_s = kNaN;
  for (int i = 0; i < N; ++i) p.g_f[i] = p.g_s[i] = kNaN;
  return p;
}
// F = 0 (below the support) or F = 1 (above): constant, zero partials.
template <int N>
inline Parts<N> below() {
  Parts<N> p;
  p.log_f = -kInf;
  return p;
}
template <int N>
inline Parts<N> above() {
  Parts<N> p;
  p.log_s = -kInf;
  return p;
}

inline bool positive_finite(double x) { return x > 0.0 && x < kInf; }
inline bool is_finite(double x) { return std::isfinite(x); }

// x / expm1(x), 1 at 0 (the derivative factor of log(1 - exp(-x)) = log1m_exp(-x)).
inline double x_over_expm1(double x) { return x == 0.0 ? 1.0 : x / std::expm1(x); }

// Fills the larger side from the smaller one, which the caller computed accurately in logs:
// log(1 - p) = log1m_exp(log p), d log(1 - p) = -d log p / expm1(-log p). `small_is_f` says
// which side the caller filled.
template <int N>
inline void complement_side(Parts<N>& p, bool small_is_f) {
  const double log_small = small_is_f ? p.log_f : p.log_s;
  const double* g_small = small_is_f ? p.g_f : p.g_s;
  double* g_big = small_is_f ? p.g_s : p.g_f;
  const double factor = -1.0 / std::expm1(-log_small);
  (small_is_f ? p.log_s : p.log_f) = log1m_exp(log_small);
  for (int i = 0; i < N; ++i) g_big[i] = g_small[i] * factor;
}

// A location-scale family given the standardised z and the partials of log F and log S in z.
template <int N>
inline void location_scale(Parts<N>& p, double z, double sigma, double gf_z, double gs_z) {
  const double inv_sigma = 1.0 / sigma;
  p.g_f[0] = gf_z * inv_sigma;
  p.g_f[1] = -gf_z * inv_sigma;
  p.g_f[2] = -gf_z * z * inv_sigma;
  p.g_s[0] = gs_z * inv_sigma;
  p.g_s[1] = -gs_z * inv_sigma;
  p.g_s[2] = -gs_z * z * inv_sigma;
}

// Families whose survival function is S = exp(-L), L >= 0 (so log S = -L and
// log F = log1m_exp(-L)); dL_over_L[i] = (dL/d arg_i) / L.
template <int N>
inline Parts<N> from_cumulative_hazard(double L, const double* dL_over_L) {
  Parts<N> p;
  p.log_s = -L;
  p.log_f = log1m_exp(-L);
  const double r = x_over_expm1(L);
  for (int i = 0; i < N; ++i) {
    p.g_s[i] = -dL_over_L[i] * L;
    p.g_f[i] = dL_over_L[i] * r;
  }
  return p;
}

// ---- families ----
Parts<3> normal_parts(double y, double mu, double sigma) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(sigma)) return invalid<3>();
  if (y == -kInf) return below<3>();
  if (y == kInf) return above<3>();
  Parts<3> p;
  const double z = (y - mu) / sigma;
  // The smaller side from log Phi(-|z|); the other as its complement.
  const bool lower = z < 0.0;
  double g;
  const double log_small = log_Phi(lower ? z : -z, &g);
  location_scale(p, z, sigma, lower ? g : 0.0, lower ? 0.0 : -g);
  (lower ? p.log_f : p.log_s) = log_small;
  complement_side(p, lower);
  return p;
}

Parts<1> std_normal_parts(double y) {
  if (std::isnan(y)) return invalid<1>();
  if (y == -kInf) return below<1>();
  if (y == kInf) return above<1>();
  Parts<1> p;
  const bool lower = y < 0.0;
  double g;
  const double log_small = log_Phi(lower ? y : -y, &g);
  if (lower) {
    p.log_f = log_small;
    p.g_f[0] = g;
  } else {
    p.log_s = log_small;
    p.g_s[0] = -g;
  }
  complement_side(p, lower);
  return p;
}

Parts<3> lognormal_parts(double y, double mu, double sigma) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(sigma)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y == kInf) return above<3>();
  Parts<3> p = normal_parts(std::log(y), mu, sigma);
  p.g_f[0] /= y;
  p.g_s[0] /= y;
  return p;
}

Parts<3> cauchy_parts(double y, double mu, double sigma) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(sigma)) return invalid<3>();
  if (y == -kInf) return below<3>();
  if (y == kInf) return above<3>();
  Parts<3> p;
  const double z = (y - mu) / sigma;
  // The smaller side is atan2(1, |z|) / pi (= 1/2 - atan(|z|)/pi without cancellation);
  // d/dz of its log is 1 / ((1 + z^2) atan2(1, |z|)), written without overflowing z^2.
  const bool lower = z < 0.0;
  const double a = std::atan2(1.0, std::fabs(z));
  const double g = 1.0 / (a * (1.0 + z * z));
  const double g_far = 1.0 / (a * z * (z + 1.0 / z));
  const double g_small = std::fabs(z) > 1e100 ? g_far : g;
  location_scale(p, z, sigma, lower ? g_small : 0.0, lower ? 0.0 : -g_small);
  (lower ? p.log_f : p.log_s) = std::log(a) - kLogPi;
  complement_side(p, lower);
  return p;
}

Parts<4> student_t_parts(double y, double nu, double mu, double sigma) {
  if (std::isnan(y) || !positive_finite(nu) || !is_finite(mu) || !positive_finite(sigma)) return invalid<4>();
  if (y == -kInf) return below<4>();
  if (y == kInf) return above<4>();
  const double t = (y - mu) / sigma;
  const double t2 = t * t, nu_t2 = nu + t2;
  // The far tail T = P(T > |t|) = I_x(nu/2, 1/2) / 2 with x = nu / (nu + t^2).
  const double x = nu / nu_t2, xc = t2 / nu_t2;
  const IncBeta b = inc_beta(0.5 * nu, 0.5, x, xc);
  const double dx_dnu = xc / nu_t2;
  const double log_tail = b.log_i - kLogTwo;
  const double g_tail_nu = 0.5 * b.dlog_i_da + b.dlog_i_dx * dx_dnu;
  // The near side 1 - T from the tail (accurate when T is tiny).
  const double log_near = log1m_exp(log_tail);
  const double g_near_nu = -g_tail_nu / std::expm1(-log_tail);
  // t-partials from the density itself (finite at t = 0, where x = 1).
  const double log_density = log_gamma(0.5 * nu + 0.5) - log_gamma(0.5 * nu) - 0.5 * std::log(nu * kPi) -
                             (0.5 * nu + 0.5) * std::log1p(t2 / nu);
  Parts<4> p;
  const bool lower = t < 0.0;
  p.log_f = lower ? log_tail : log_near;
  p.log_s = lower ? log_near : log_tail;
  const double gf_nu = lower ? g_tail_nu : g_near_nu;
  const double gs_nu = lower ? g_near_nu : g_tail_nu;
  const double gf_t = std::exp(log_density - p.log_f), gs_t = -std::exp(log_density - p.log_s);
  const double inv_sigma = 1.0 / sigma;
  p.g_f[0] = gf_t * inv_sigma;
  p.g_f[1] = t == 0.0 ? 0.0 : gf_nu;
  p.g_f[2] = -gf_t * inv_sigma;
  p.g_f[3] = -gf_t * t * inv_sigma;
  p.g_s[0] = gs_t * inv_sigma;
  p.g_s[1] = t == 0.0 ? 0.0 : gs_nu;
  p.g_s[2] = -gs_t * inv_sigma;
  p.g_s[3] = -gs_t * t * inv_sigma;
  return p;
}

Parts<2> exponential_parts(double y, double beta) {
  if (std::isnan(y) || !positive_finite(beta)) return invalid<2>();
  if (y <= 0.0) return below<2>();
  if (y == kInf) return above<2>();
  const double L = beta * y;
  const double dl[2] = {1.0 / y, 1.0 / beta};
  return from_cumulative_hazard<2>(L, dl);
}

// F = P(a, x(args)) or Q(a, x(args)) of the incomplete gamma; da/dx given per argument.
template <int N>
inline Parts<N> from_inc_gamma(double a, double x, bool upper, const double* da, const double* dx) {
  const IncGamma g = inc_gamma(a, x);
  Parts<N> p;
  p.log_f = upper ? g.log_q : g.log_p;
  p.log_s = upper ? g.log_p : g.log_q;
  const double f_a = upper ? g.dlog_q_da : g.dlog_p_da, f_x = upper ? g.dlog_q_dx : g.dlog_p_dx;
  const double s_a = upper ? g.dlog_p_da : g.dlog_q_da, s_x = upper ? g.dlog_p_dx : g.dlog_q_dx;
  for (int i = 0; i < N; ++i) {
    p.g_f[i] = (da[i] == 0.0 ? 0.0 : f_a * da[i]) + (dx[i] == 0.0 ? 0.0 : f_x * dx[i]);
    p.g_s[i] = (da[i] == 0.0 ? 0.0 : s_a * da[i]) + (dx[i] == 0.0 ? 0.0 : s_x * dx[i]);
  }
  return p;
}

Parts<3> gamma_parts(double y, double alpha, double beta) {
  if (std::isnan(y) || !positive_finite(alpha) || !positive_finite(beta)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y == kInf) return above<3>();
  const double da[3] = {0.0, 1.0, 0.0}, dx[3] = {beta, 0.0, y};
  return from_inc_gamma<3>(alpha, beta * y, false, da, dx);
}

Parts<3> inv_gamma_parts(double y, double alpha, double beta) {
  if (std::isnan(y) || !positive_finite(alpha) || !positive_finite(beta)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y == kInf) return above<3>();
  const double x = beta / y;
  const double da[3] = {0.0, 1.0, 0.0}, dx[3] = {-x / y, 0.0, 1.0 / y};
  return from_inc_gamma<3>(alpha, x, true, da, dx);
}

Parts<2> chi_square_parts(double y, double nu) {
  if (std::isnan(y) || !positive_finite(nu)) return invalid<2>();
  if (y <= 0.0) return below<2>();
  if (y == kInf) return above<2>();
  const double da[2] = {0.0, 0.5}, dx[2] = {0.5, 0.0};
  return from_inc_gamma<2>(0.5 * nu, 0.5 * y, false, da, dx);
}

Parts<2> inv_chi_square_parts(double y, double nu) {
  if (std::isnan(y) || !positive_finite(nu)) return invalid<2>();
  if (y <= 0.0) return below<2>();
  if (y == kInf) return above<2>();
  const double x = 0.5 / y;
  const double da[2] = {0.0, 0.5}, dx[2] = {-x / y, 0.0};
  return from_inc_gamma<2>(0.5 * nu, x, true, da, dx);
}

Parts<3> scaled_inv_chi_square_parts(double y, double nu, double s) {
  if (std::isnan(y) || !positive_finite(nu) || !positive_finite(s)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y == kInf) return above<3>();
  const double x = 0.5 * nu * s * s / y;
  const double da[3] = {0.0, 0.5, 0.0}, dx[3] = {-x / y, x / nu, 2.0 * x / s};
  return from_inc_gamma<3>(0.5 * nu, x, true, da, dx);
}

// F = I_x(a, b); the caller maps the partials in (a, b, x) to its arguments.
struct BetaSides {
  Parts<3> p;  // partials w.r.t. (x, a, b)
};
inline Parts<3> beta_core(double x, double xc, double a, double b) {
  const IncBeta g = inc_beta(a, b, x, xc);
  Parts<3> p;
  p.log_f = g.log_i;
  p.log_s = g.log_ic;
  p.g_f[0] = g.dlog_i_dx;
  p.g_f[1] = g.dlog_i_da;
  p.g_f[2] = g.dlog_i_db;
  p.g_s[0] = g.dlog_ic_dx;
  p.g_s[1] = g.dlog_ic_da;
  p.g_s[2] = g.dlog_ic_db;
  return p;
}

Parts<3> beta_parts(double y, double a, double b) {
  if (std::isnan(y) || !positive_finite(a) || !positive_finite(b)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y >= 1.0) return above<3>();
  return beta_core(y, 1.0 - y, a, b);
}

Parts<3> beta_proportion_parts(double y, double mu, double kappa) {
  if (std::isnan(y) || !(mu > 0.0 && mu < 1.0) || !positive_finite(kappa)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y >= 1.0) return above<3>();
  Parts<3> c = beta_core(y, 1.0 - y, mu * kappa, (1.0 - mu) * kappa);
  Parts<3> p;
  p.log_f = c.log_f;
  p.log_s = c.log_s;
  p.g_f[0] = c.g_f[0];
  p.g_f[1] = kappa * (c.g_f[1] - c.g_f[2]);
  p.g_f[2] = mu * c.g_f[1] + (1.0 - mu) * c.g_f[2];
  p.g_s[0] = c.g_s[0];
  p.g_s[1] = kappa * (c.g_s[1] - c.g_s[2]);
  p.g_s[2] = mu * c.g_s[1] + (1.0 - mu) * c.g_s[2];
  return p;
}

Parts<3> uniform_parts(double y, double alpha, double beta) {
  if (std::isnan(y) || !is_finite(alpha) || !is_finite(beta) || !(beta > alpha)) return invalid<3>();
  if (y <= alpha) return below<3>();
  if (y >= beta) return above<3>();
  Parts<3> p;
  // F = (y - alpha) / w and S = (beta - y) / w, each from its own difference.
  const double w = beta - alpha, lo = y - alpha, hi = beta - y;
  const double f = lo / w, s = hi / w;
  p.log_f = f < 0.5 ? std::log(f) : std::log1p(-s);
  p.log_s = s < 0.5 ? std::log(s) : std::log1p(-f);
  p.g_f[0] = 1.0 / lo;
  p.g_f[1] = -hi / (lo * w);
  p.g_f[2] = -1.0 / w;
  p.g_s[0] = -1.0 / hi;
  p.g_s[1] = 1.0 / w;
  p.g_s[2] = lo / (hi * w);
  return p;
}

Parts<3> double_exponential_parts(double y, double mu, double sigma) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(sigma)) return invalid<3>();
  if (y == -kInf) return below<3>();
  if (y == kInf) return above<3>();
  Parts<3> p;
  const double z = (y - mu) / sigma;
  const double h = 0.5 * std::exp(-std::fabs(z));  // the smaller of F and S
  const double big_log = std::log1p(-h), big_g = h / (1.0 - h);
  double gf, gs;
  if (z < 0.0) {
    p.log_f = std::log(h);
    gf = 1.0;
    p.log_s = big_log;
    gs = -big_g;
  } else {
    p.log_s = std::log(h);
    gs = -1.0;
    p.log_f = big_log;
    gf = big_g;
  }
  location_scale(p, z, sigma, gf, gs);
  return p;
}

Parts<3> logistic_parts(double y, double mu, double sigma) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(sigma)) return invalid<3>();
  if (y == -kInf) return below<3>();
  if (y == kInf) return above<3>();
  Parts<3> p;
  const double z = (y - mu) / sigma;
  p.log_f = -log1p_exp(-z);
  p.log_s = -log1p_exp(z);
  location_scale(p, z, sigma, inv_logit(-z), -inv_logit(z));
  return p;
}

Parts<3> weibull_parts(double y, double alpha, double sigma) {
  if (std::isnan(y) || !positive_finite(alpha) || !positive_finite(sigma)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y == kInf) return above<3>();
  const double L = std::pow(y / sigma, alpha);
  const double dl[3] = {alpha / y, std::log(y / sigma), -alpha / sigma};
  return from_cumulative_hazard<3>(L, dl);
}

Parts<3> frechet_parts(double y, double alpha, double sigma) {
  if (std::isnan(y) || !positive_finite(alpha) || !positive_finite(sigma)) return invalid<3>();
  if (y <= 0.0) return below<3>();
  if (y == kInf) return above<3>();
  // F = exp(-p), p = (sigma / y)^alpha: F and S swap the roles of from_cumulative_hazard.
  const double L = std::pow(sigma / y, alpha);
  const double dl[3] = {-alpha / y, std::log(sigma / y), alpha / sigma};
  Parts<3> h = from_cumulative_hazard<3>(L, dl);
  Parts<3> p;
  p.log_f = h.log_s;
  p.log_s = h.log_f;
  for (int i = 0; i < 3; ++i) {
    p.g_f[i] = h.g_s[i];
    p.g_s[i] = h.g_f[i];
  }
  return p;
}

Parts<3> gumbel_parts(double y, double mu, double beta) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(beta)) return invalid<3>();
  if (y == -kInf) return below<3>();
  if (y == kInf) return above<3>();
  Parts<3> p;
  const double z = (y - mu) / beta;
  const double q = std::exp(-z);  // F = exp(-q)
  p.log_f = -q;
  p.log_s = log1m_exp(-q);
  location_scale(p, z, beta, q, -x_over_expm1(q));
  return p;
}

Parts<3> pareto_parts(double y, double y_min, double alpha) {
  if (std::isnan(y) || !positive_finite(y_min) || !positive_finite(alpha)) return invalid<3>();
  if (y <= y_min) return below<3>();
  if (y == kInf) return above<3>();
  const double log_ratio = std::log(y / y_min);
  const double L = alpha * log_ratio;  // S = (y_min / y)^alpha = exp(-L)
  const double dl[3] = {1.0 / (y * log_ratio), -1.0 / (y_min * log_ratio), 1.0 / alpha};
  return from_cumulative_hazard<3>(L, dl);
}

Parts<4> pareto_type_2_parts(double y, double mu, double lambda, double alpha) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(lambda) || !positive_finite(alpha)) return invalid<4>();
  if (y <= mu) return below<4>();
  if (y == kInf) return above<4>();
  const double l1p = std::log1p((y - mu) / lambda);
  const double L = alpha * l1p;
  const double inv_shifted = 1.0 / (lambda + y - mu);
  const double dl[4] = {inv_shifted / l1p, -inv_shifted / l1p, -(y - mu) / lambda * inv_shifted / l1p, 1.0 / alpha};
  return from_cumulative_hazard<4>(L, dl);
}

Parts<2> rayleigh_parts(double y, double sigma) {
  if (std::isnan(y) || !positive_finite(sigma)) return invalid<2>();
  if (y <= 0.0) return below<2>();
  if (y == kInf) return above<2>();
  const double t = y / sigma;
  const double L = 0.5 * t * t;
  const double dl[2] = {2.0 / y, -2.0 / sigma};
  return from_cumulative_hazard<2>(L, dl);
}

Parts<4> skew_normal_parts(double y, double xi, double omega, double alpha) {
  if (std::isnan(y) || !is_finite(xi) || !positive_finite(omega) || !is_finite(alpha)) return invalid<4>();
  if (y == -kInf) return below<4>();
  if (y == kInf) return above<4>();
  const double z = (y - xi) / omega;
  const double t = 2.0 * owens_t(z, alpha);
  const double f = 0.5 * std::erfc(-z * kInvSqrtTwo) - t;
  const double s = 0.5 * std::erfc(z * kInvSqrtTwo) + t;
  // dF/dz = 2 phi(z) Phi(alpha z); dF/dalpha = -exp(-z^2 (1 + alpha^2) / 2) / (pi (1 + alpha^2)).
  double dlog_phi;
  const double df_dz = 2.0 * std::exp(-0.5 * z * z - kHalfLogTwoPi + log_Phi(alpha * z, &dlog_phi));
  const double one_a2 = 1.0 + alpha * alpha;
  const double df_da = -std::exp(-0.5 * z * z * one_a2) / (kPi * one_a2);
  Parts<4> p;
  p.log_f = std::log(f);
  p.log_s = std::log(s);
  const double inv_omega = 1.0 / omega;
  const double dz[3] = {inv_omega, -inv_omega, -z * inv_omega};
  for (int i = 0; i < 3; ++i) {
    p.g_f[i] = df_dz * dz[i] / f;
    p.g_s[i] = -df_dz * dz[i] / s;
  }
  p.g_f[3] = df_da / f;
  p.g_s[3] = -df_da / s;
  return p;
}

Parts<4> exp_mod_normal_parts(double y, double mu, double sigma, double lambda) {
  if (std::isnan(y) || !is_finite(mu) || !positive_finite(sigma) || !positive_finite(lambda)) return invalid<4>();
  if (y == -kInf) return below<4>();
  if (y == kInf) return above<4>();
  // F = Phi(u) - A, A = exp(-lambda (y - mu) + (lambda sigma)^2 / 2) Phi(u - lambda sigma).
  const double u = (y - mu) / sigma, v = lambda * sigma;
  double g1, g2;
  const double log_phi_u = log_Phi(u, &g1);
  const double log_a = -lambda * (y - mu) + 0.5 * v * v + log_Phi(u - v, &g2);
  const double a = std::exp(log_a);
  const double f = std::exp(log_phi_u) - a;
  double g3;
  const double s = std::exp(log_Phi(-u, &g3)) + a;
  const double phi_u = kInvSqrtTwoPi * std::exp(-0.5 * u * u);
  const double df[4] = {lambda * a, -lambda * a, lambda * phi_u - lambda * v * a,
                        a * ((y - mu) - lambda * sigma * sigma) + sigma * phi_u};
  Parts<4> p;
  p.log_f = std::log(f);
  p.log_s = std::log(s);
  for (int i = 0; i < 4; ++i) {
    p.g_f[i] = df[i] / f;
    p.g_s[i] = -df[i] / s;
  }
  return p;
}

// ---- discrete: F(n) = P(N <= n) ----
Parts<1> bernoulli_parts(int64_t n, double theta) {
  if (!(theta >= 0.0 && theta <= 1.0)) return invalid<1>();
  if (n < 0) return below<1>();
  if (n >= 1) return above<1>();
  Parts<1> p;
  p.log_f = std::log1p(-theta);
  p.log_s = std::log(theta);
  p.g_f[0] = -1.0 / (1.0 - theta);
  p.g_s[0] = 1.0 / theta;
  return p;
}

Parts<1> binomial_parts(int64_t n, int64_t N, double theta) {
  if (N < 0 || !(theta >= 0.0 && theta <= 1.0)) return invalid<1>();
  if (n < 0) return below<1>();
  if (n >= N) return above<1>();
  // P(X <= n) = I_{1-theta}(N - n, n + 1).
  const IncBeta g = inc_beta(static_cast<double>(N - n), static_cast<double>(n + 1), 1.0 - theta, theta);
  Parts<1> p;
  p.log_f = g.log_i;
  p.log_s = g.log_ic;
  p.g_f[0] = -g.dlog_i_dx;
  p.g_s[0] = -g.dlog_ic_dx;
  return p;
}

Parts<1> poisson_parts(int64_t n, double lambda) {
  if (!(lambda >= 0.0)) return invalid<1>();
  if (n < 0) return below<1>();
  if (lambda == kInf) return below<1>();
  // P(X <= n) = Q(n + 1, lambda).
  const double da[1] = {0.0}, dx[1] = {1.0};
  return from_inc_gamma<1>(static_cast<double>(n) + 1.0, lambda, true, da, dx);
}

Parts<2> neg_binomial_2_parts(int64_t n, double mu, double phi) {
  if (!(mu >= 0.0 && mu < kInf) || !positive_finite(phi)) return invalid<2>();
  if (n < 0) return below<2>();
  // P(X <= n) = I_x(phi, n + 1) with x = phi / (mu + phi).
  const double sum = mu + phi;
  const IncBeta g = inc_beta(phi, static_cast<double>(n) + 1.0, phi / sum, mu / sum);
  const double dx_dmu = -phi / (sum * sum), dx_dphi = mu / (sum * sum);
  Parts<2> p;
  p.log_f = g.log_i;
  p.log_s = g.log_ic;
  p.g_f[0] = g.dlog_i_dx * dx_dmu;
  p.g_f[1] = g.dlog_i_da + g.dlog_i_dx * dx_dphi;
  p.g_s[0] = g.dlog_ic_dx * dx_dmu;
  p.g_s[1] = g.dlog_ic_da + g.dlog_ic_dx * dx_dphi;
  return p;
}

// neg_binomial(alpha, beta) is neg_binomial_2(mu = alpha / beta, phi = alpha): P(X <= n) =
// I_x(alpha, n + 1) with x = beta / (1 + beta).
Parts<2> neg_binomial_parts(int64_t n, double alpha, double beta) {
  if (!positive_finite(alpha) || !positive_finite(beta)) return invalid<2>();
  if (n < 0) return below<2>();
  const IncBeta g = inc_beta(alpha, static_cast<double>(n) + 1.0, beta / (1.0 + beta), 1.0 / (1.0 + beta));
  const double dx_dbeta = 1.0 / ((1.0 + beta) * (1.0 + beta));
  Parts<2> p;
  p.log_f = g.log_i;
  p.log_s = g.log_ic;
  p.g_f[0] = g.dlog_i_da;
  p.g_f[1] = g.dlog_i_dx * dx_dbeta;
  p.g_s[0] = g.dlog_ic_da;
  p.g_s[1] = g.dlog_ic_dx * dx_dbeta;
  return p;
}

// beta_binomial: both sides summed from the mass function in log-sum-exp form (O(N); Stan uses
// a 3F2 hypergeometric function, this is exact up to rounding for the N of count data).
Parts<2> beta_binomial_parts(int64_t n, int64_t N, double a, double b) {
  if (N < 0 || !positive_finite(a) || !positive_finite(b)) return invalid<2>();
  if (n < 0) return below<2>();
  if (n >= N) return above<2>();
  auto side = [&](int64_t from, int64_t to, double& log_sum, double* grad) {
    double m = -kInf;
    for (int64_t k = from; k <= to; ++k) {
      double d[2];
      m = std::fmax(m, halo_beta_binomial_lpmf(k, N, a, b, 0, d));
    }
    double total = 0.0, g0 = 0.0, g1 = 0.0;
    for (int64_t k = from; k <= to; ++k) {
      double d[2];
      const double w = std::exp(halo_beta_binomial_lpmf(k, N, a, b, 0, d) - m);
      total += w;
      g0 += w * d[0];
      g1 += w * d[1];
    }
    log_sum = m + std::log(total);
    grad[0] = g0 / total;
    grad[1] = g1 / total;
  };
  // Both sides' masses; the larger side (near 1, whose partials cancel) is then filled from
  // the smaller one.
  Parts<2> p;
  side(0, n, p.log_f, p.g_f);
  side(n + 1, N, p.log_s, p.g_s);
  complement_side(p, p.log_f < p.log_s);
  return p;
}

}  // namespace

#define HALO_DEFINE_CDFS(dist, PARAMS, ARGS)                                                             \
  double halo_##dist##_cdf PARAMS { return emit(dist##_parts ARGS, Which::Cdf, d); }     \
  double halo_##dist##_lcdf PARAMS { return emit(dist##_parts ARGS, Which::Lcdf, d); }   \
  double halo_##dist##_lccdf PARAMS { return emit(dist##_parts ARGS, Which::Lccdf, d); }

extern "C" {
HALO_DEFINE_CDFS(normal, (double y, double mu, double sigma, int, double* d), (y, mu, sigma))
HALO_DEFINE_CDFS(std_normal, (double y, int, double* d), (y))
HALO_DEFINE_CDFS(lognormal, (double y, double mu, double sigma, int, double* d), (y, mu, sigma))
HALO_DEFINE_CDFS(cauchy, (double y, double mu, double sigma, int, double* d), (y, mu, sigma))
HALO_DEFINE_CDFS(student_t, (double y, double nu, double mu, double sigma, int, double* d), (y, nu, mu, sigma))
HALO_DEFINE_CDFS(exponential, (double y, double beta, int, double* d), (y, beta))
HALO_DEFINE_CDFS(gamma, (double y, double alpha, double beta, int, double* d), (y, alpha, beta))
HALO_DEFINE_CDFS(inv_gamma, (double y, double alpha, double beta, int, double* d), (y, alpha, beta))
HALO_DEFINE_CDFS(beta, (double y, double a, double b, int, double* d), (y, a, b))
HALO_DEFINE_CDFS(beta_proportion, (double y, double mu, double kappa, int, double* d), (y, mu, kappa))
HALO_DEFINE_CDFS(uniform, (double y, double alpha, double beta, int, double* d), (y, alpha, beta))
HALO_DEFINE_CDFS(double_exponential, (double y, double mu, double sigma, int, double* d), (y, mu, sigma))
HALO_DEFINE_CDFS(logistic, (double y, double mu, double sigma, int, double* d), (y, mu, sigma))
HALO_DEFINE_CDFS(weibull, (double y, double alpha, double sigma, int, double* d), (y, alpha, sigma))
HALO_DEFINE_CDFS(frechet, (double y, double alpha, double sigma, int, double* d), (y, alpha, sigma))
HALO_DEFINE_CDFS(chi_square, (double y, double nu, int, double* d), (y, nu))
HALO_DEFINE_CDFS(inv_chi_square, (double y, double nu, int, double* d), (y, nu))
HALO_DEFINE_CDFS(scaled_inv_chi_square, (double y, double nu, double s, int, double* d), (y, nu, s))
HALO_DEFINE_CDFS(skew_normal, (double y, double xi, double omega, double alpha, int, double* d), (y, xi, omega, alpha))
HALO_DEFINE_CDFS(exp_mod_normal, (double y, double mu, double sigma, double lambda, int, double* d),
                 (y, mu, sigma, lambda))
HALO_DEFINE_CDFS(gumbel, (double y, double mu, double beta, int, double* d), (y, mu, beta))
HALO_DEFINE_CDFS(pareto, (double y, double y_min, double alpha, int, double* d), (y, y_min, alpha))
HALO_DEFINE_CDFS(pareto_type_2, (double y, double mu, double lambda, double alpha, int, double* d),
                 (y, mu, lambda, alpha))
HALO_DEFINE_CDFS(rayleigh, (double y, double sigma, int, double* d), (y, sigma))
HALO_DEFINE_CDFS(bernoulli, (int64_t n, double theta, int, double* d), (n, theta))
HALO_DEFINE_CDFS(binomial, (int64_t n, int64_t N, double theta, int, double* d), (n, N, theta))
HALO_DEFINE_CDFS(poisson, (int64_t n, double lambda, int, double* d), (n, lambda))
HALO_DEFINE_CDFS(neg_binomial_2, (int64_t n, double mu, double phi, int, double* d), (n, mu, phi))
HALO_DEFINE_CDFS(neg_binomial, (int64_t n, double alpha, double beta, int, double* d), (n, alpha, beta))
HALO_DEFINE_CDFS(beta_binomial, (int64_t n, int64_t N, double a, double b, int, double* d), (n, N, a, b))

// discrete_range: no real arguments (d is not written).
double halo_discrete_range_cdf(int64_t y, int64_t lower, int64_t upper, int, double*) {
  if (lower > upper) return kNaN;
  if (y < lower) return 0.0;
  if (y >= upper) return 1.0;
  return static_cast<double>(y - lower + 1) / static_cast<double>(upper - lower + 1);
}
double halo_discrete_range_lcdf(int64_t y, int64_t lower, int64_t upper, int, double*) {
  if (lower > upper) return kNaN;
  if (y < lower) return -kInf;
  if (y >= upper) return 0.0;
  return std::log(static_cast<double>(y - lower + 1)) - std::log(static_cast<double>(upper - lower + 1));
}
double halo_discrete_range_lccdf(int64_t y, int64_t lower, int64_t upper, int, double*) {
  if (lower > upper) return kNaN;
  if (y < lower) return 0.0;
  if (y >= upper) return -kInf;
  return std::log(static_cast<double>(upper - y)) - std::log(static_cast<double>(upper - lower + 1));
}
}  // extern "C"
