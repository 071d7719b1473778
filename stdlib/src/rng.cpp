// Random numbers: xoshiro256++ and the distributions' _rng functions.
#include "internal.h"

using namespace halo::stdlib;

namespace {

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Steele, Lea & Flood (2014), "Fast splittable pseudorandom number generators" (splitmix64).
inline uint64_t splitmix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline double uniform(halo_rng* rng) { return halo_rng_uniform(rng); }
inline double normal(halo_rng* rng) { return halo_rng_normal(rng); }

// log of a Gamma(alpha, 1) draw: Marsaglia & Tsang (2000), "A simple method for generating
// gamma variables", ACM TOMS 26(3), for alpha >= 1; for alpha < 1 the boost
// Gamma(alpha) = Gamma(alpha + 1) U^(1/alpha), kept in logs so tiny alphas do not underflow.
double log_std_gamma(double alpha, halo_rng* rng) {
  double log_boost = 0.0;
  if (alpha < 1.0) {
    log_boost = std::log(uniform(rng)) / alpha;
    alpha += 1.0;
  }
  const double d = alpha - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = normal(rng);
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    double u = uniform(rng);
    double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v)))
      return std::log(d * v) + log_boost;
  }
}

double std_gamma(double alpha, halo_rng* rng) { return std::exp(log_std_gamma(alpha, rng)); }

double beta_draw(double a, double b, halo_rng* rng) {
  // Two log-gamma draws normalised in logs (accurate for small a and b as well).
  double la = log_std_gamma(a, rng), lb = log_std_gamma(b, rng);
  return std::exp(la - log_sum_exp(la, lb));
}

// Poisson: inversion by sequential search for small means, else Hoermann (1993), "The
// transformed rejection method for generating Poisson random variables", Insurance:
// Mathematics and Economics 12 (PTRS).
int64_t poisson_draw(double lambda, halo_rng* rng) {
  if (lambda < 10.0) {
    double p = std::exp(-lambda), f = p, u = uniform(rng);
    int64_t k = 0;
    while (u > f && k < 1000) {
      ++k;
      p *= lambda / static_cast<double>(k);
      f += p;
    }
    return k;
  }
  const double slam = std::sqrt(lambda), loglam = std::log(lambda);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    double u = uniform(rng) - 0.5, v = uniform(rng);
    double us = 0.5 - std::fabs(u);
    double k = std::floor((2.0 * a / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return static_cast<int64_t>(k);
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <= -lambda + k * loglam - log_gamma(k + 1.0))
      return static_cast<int64_t>(k);
  }
}

// Binomial: inversion when N min(p, 1-p) < 10, else Hoermann (1993), "The generation of
// binomial random variates", J. Statist. Comput. Simul. 46 (BTRS), with the exact log ratio of
// probabilities in the final test.
int64_t binomial_draw(int64_t n, double p, halo_rng* rng) {
  const bool flip = p > 0.5;
  const double pp = flip ? 1.0 - p : p, q = 1.0 - pp;
  const double nd = static_cast<double>(n);
  int64_t k;
  if (nd * pp < 10.0) {
    const double s = pp / q, a = (nd + 1.0) * s;
    double r = std::exp(nd * std::log1p(-pp));
    double u = uniform(rng);
    k = 0;
    while (u > r && k < n) {
      u -= r;
      ++k;
      r *= a / static_cast<double>(k) - s;
    }
  } else {
    const double spq = std::sqrt(nd * pp * q);
    const double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * pp, c = nd * pp + 0.5;
    const double vr = 0.92 - 4.2 / b, alpha = (2.83 + 5.1 / b) * spq;
    const double lpq = std::log(pp / q), m = std::floor((nd + 1.0) * pp);
    const double h = log_gamma(m + 1.0) + log_gamma(nd - m + 1.0);
    for (;;) {
      double u = uniform(rng) - 0.5, v = uniform(rng);
      double us = 0.5 - std::fabs(u);
      double kd = std::floor((2.0 * a / us + b) * u + c);
      if (kd < 0.0 || kd > nd) continue;
      if (us >= 0.07 && v <= vr) {
        k = static_cast<int64_t>(kd);
        break;
      }
      v = std::log(v * alpha / (a / (us * us) + b));
      if (v <= h - log_gamma(kd + 1.0) - log_gamma(nd - kd + 1.0) + (kd - m) * lpq) {
        k = static_cast<int64_t>(kd);
        break;
      }
    }
  }
  return flip ? n - k : k;
}

}  // namespace

extern "C" {

// ---- the generator ----
void halo_rng_seed(halo_rng* rng, uint64_t seed, uint64_t stream) {
  uint64_t x = seed, y = stream ^ 0x6a09e667f3bcc909ULL;  // a fixed key (sqrt 2 digits)
  for (int i = 0; i < 4; ++i) rng->s[i] = splitmix64(&x) ^ splitmix64(&y);
  if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0) rng->s[0] = 1;  // the one bad state
}

uint64_t halo_rng_next(halo_rng* rng) {
  uint64_t* s = rng->s;
  const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

void halo_rng_jump(halo_rng* rng) {
  static const uint64_t kJump[] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL, 0xa9582618e03fc9aaULL,
                                   0x39abdc4529b1661cULL};
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (uint64_t word : kJump)
    for (int b = 0; b < 64; ++b) {
      if (word & (1ULL << b)) {
        s0 ^= rng->s[0];
        s1 ^= rng->s[1];
        s2 ^= rng->s[2];
        s3 ^= rng->s[3];
      }
      halo_rng_next(rng);
    }
  rng->s[0] = s0;
  rng->s[1] = s1;
  rng->s[2] = s2;
  rng->s[3] = s3;
}

double halo_rng_uniform(halo_rng* rng) {
  // The top 53 bits, centred in their cell: never 0 or 1.
  return (static_cast<double>(halo_rng_next(rng) >> 11) + 0.5) * 0x1.0p-53;
}

double halo_rng_normal(halo_rng* rng) { return inv_Phi(halo_rng_uniform(rng)); }

// ---- continuous ----
double halo_normal_rng(double mu, double sigma, halo_rng* rng) {
  if (!std::isfinite(mu) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  return mu + sigma * normal(rng);
}
double halo_std_normal_rng(halo_rng* rng) { return normal(rng); }
double halo_lognormal_rng(double mu, double sigma, halo_rng* rng) {
  if (!std::isfinite(mu) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  return std::exp(mu + sigma * normal(rng));
}
double halo_cauchy_rng(double mu, double sigma, halo_rng* rng) {
  if (!std::isfinite(mu) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  return mu + sigma * std::tan(kPi * (uniform(rng) - 0.5));
}
double halo_student_t_rng(double nu, double mu, double sigma, halo_rng* rng) {
  if (!(nu > 0.0 && nu < kInf) || !std::isfinite(mu) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  double z = normal(rng);
  double chi2 = 2.0 * std_gamma(0.5 * nu, rng);
  return mu + sigma * z / std::sqrt(chi2 / nu);
}
double halo_exponential_rng(double beta, halo_rng* rng) {
  if (!(beta > 0.0 && beta < kInf)) return kNaN;
  return -std::log(uniform(rng)) / beta;
}
double halo_gamma_rng(double alpha, double beta, halo_rng* rng) {
  if (!(alpha > 0.0 && alpha < kInf) || !(beta > 0.0 && beta < kInf)) return kNaN;
  return std_gamma(alpha, rng) / beta;
}
double halo_inv_gamma_rng(double alpha, double beta, halo_rng* rng) {
  if (!(alpha > 0.0 && alpha < kInf) || !(beta > 0.0 && beta < kInf)) return kNaN;
  return beta / std_gamma(alpha, rng);
}
double halo_beta_rng(double a, double b, halo_rng* rng) {
  if (!(a > 0.0 && a < kInf) || !(b > 0.0 && b < kInf)) return kNaN;
  return beta_draw(a, b, rng);
}
double halo_beta_proportion_rng(double mu, double kappa, halo_rng* rng) {
  if (!(mu > 0.0 && mu < 1.0) || !(kappa > 0.0 && kappa < kInf)) return kNaN;
  return beta_draw(mu * kappa, (1.0 - mu) * kappa, rng);
}
double halo_uniform_rng(double alpha, double beta, halo_rng* rng) {
  if (!std::isfinite(alpha) || !std::isfinite(beta) || !(beta > alpha)) return kNaN;
  return alpha + (beta - alpha) * uniform(rng);
}
double halo_double_exponential_rng(double mu, double sigma, halo_rng* rng) {
  if (!std::isfinite(mu) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  double u = uniform(rng);
  return mu + sigma * (u < 0.5 ? std::log(2.0 * u) : -std::log(2.0 * (1.0 - u)));
}
double halo_logistic_rng(double mu, double sigma, halo_rng* rng) {
  if (!std::isfinite(mu) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  double u = uniform(rng);
  return mu + sigma * (std::log(u) - std::log1p(-u));
}
double halo_weibull_rng(double alpha, double sigma, halo_rng* rng) {
  if (!(alpha > 0.0 && alpha < kInf) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  return sigma * std::pow(-std::log(uniform(rng)), 1.0 / alpha);
}
double halo_frechet_rng(double alpha, double sigma, halo_rng* rng) {
  if (!(alpha > 0.0 && alpha < kInf) || !(sigma > 0.0 && sigma < kInf)) return kNaN;
  return sigma * std::pow(-std::log(uniform(rng)), -1.0 / alpha);
}
double halo_chi_square_rng(double nu, halo_rng* rng) {
  if (!(nu > 0.0 && nu < kInf)) return kNaN;
  return 2.0 * std_gamma(0.5 * nu, rng);
}
double halo_inv_chi_square_rng(double nu, halo_rng* rng) {
  if (!(nu > 0.0 && nu < kInf)) return kNaN;
  return 0.5 / std_gamma(0.5 * nu, rng);
}
double halo_scaled_inv_chi_square_rng(double nu, double s, halo_rng* rng) {
  if (!(nu > 0.0 && nu < kInf) || !(s > 0.0 && s < kInf)) return kNaN;
  return nu * s * s / (2.0 * std_gamma(0.5 * nu, rng));
}
// Azzalini's representation: delta = alpha / sqrt(1 + alpha^2), u1 = delta |u0| + sqrt(1 -
// delta^2) v, with the sign of u0 folded in.
double halo_skew_normal_rng(double xi, double omega, double alpha, halo_rng* rng) {
  if (!std::isfinite(xi) || !(omega > 0.0 && omega < kInf) || !std::isfinite(alpha)) return kNaN;
  double delta = alpha / std::sqrt(1.0 + alpha * alpha);
  double u0 = normal(rng), v = normal(rng);
  double u1 = delta * u0 + std::sqrt((1.0 - delta) * (1.0 + delta)) * v;
  return xi + omega * (u0 >= 0.0 ? u1 : -u1);
}
double halo_exp_mod_normal_rng(double mu, double sigma, double lambda, halo_rng* rng) {
  if (!std::isfinite(mu) || !(sigma > 0.0 && sigma < kInf) || !(lambda > 0.0 && lambda < kInf)) return kNaN;
  return mu + sigma * normal(rng) - std::log(uniform(rng)) / lambda;
}
double halo_gumbel_rng(double mu, double beta, halo_rng* rng) {
  if (!std::isfinite(mu) || !(beta > 0.0 && beta < kInf)) return kNaN;
  return mu - beta * std::log(-std::log(uniform(rng)));
}
double halo_pareto_rng(double y_min, double alpha, halo_rng* rng) {
  if (!(y_min > 0.0 && y_min < kInf) || !(alpha > 0.0 && alpha < kInf)) return kNaN;
  return y_min * std::exp(-std::log(uniform(rng)) / alpha);
}
double halo_pareto_type_2_rng(double mu, double lambda, double alpha, halo_rng* rng) {
  if (!std::isfinite(mu) || !(lambda > 0.0 && lambda < kInf) || !(alpha > 0.0 && alpha < kInf)) return kNaN;
  return mu + lambda * std::expm1(-std::log(uniform(rng)) / alpha);
}
double halo_rayleigh_rng(double sigma, halo_rng* rng) {
  if (!(sigma > 0.0 && sigma < kInf)) return kNaN;
  return sigma * std::sqrt(-2.0 * std::log(uniform(rng)));
}
// Best & Fisher (1979), "Efficient simulation of the von Mises distribution", Applied
// Statistics 28(2). Returns mu + an angle in [-pi, pi].
double halo_von_mises_rng(double mu, double kappa, halo_rng* rng) {
  if (!std::isfinite(mu) || !(kappa >= 0.0 && kappa < kInf)) return kNaN;
  if (kappa < 1.4e-8) return mu + kPi * (2.0 * uniform(rng) - 1.0);
  const double tau = 1.0 + std::sqrt(1.0 + 4.0 * kappa * kappa);
  const double rho = (tau - std::sqrt(2.0 * tau)) / (2.0 * kappa);
  const double r = (1.0 + rho * rho) / (2.0 * rho);
  double f;
  for (;;) {
    double z = std::cos(kPi * uniform(rng));
    f = (1.0 + r * z) / (r + z);
    double c = kappa * (r - f);
    double u2 = uniform(rng);
    if (c * (2.0 - c) - u2 > 0.0 || std::log(c / u2) + 1.0 - c >= 0.0) break;
  }
  double angle = std::acos(std::fmax(-1.0, std::fmin(1.0, f)));
  return mu + (uniform(rng) > 0.5 ? angle : -angle);
}

// ---- discrete ----
int64_t halo_bernoulli_rng(double theta, halo_rng* rng) {
  if (!(theta >= 0.0 && theta <= 1.0)) return -1;
  return uniform(rng) < theta ? 1 : 0;
}
int64_t halo_bernoulli_logit_rng(double alpha, halo_rng* rng) {
  if (std::isnan(alpha)) return -1;
  return uniform(rng) < inv_logit(alpha) ? 1 : 0;
}
int64_t halo_binomial_rng(int64_t N, double theta, halo_rng* rng) {
  if (N < 0 || !(theta >= 0.0 && theta <= 1.0)) return -1;
  if (N == 0 || theta == 0.0) return 0;
  if (theta == 1.0) return N;
  return binomial_draw(N, theta, rng);
}
int64_t halo_binomial_logit_rng(int64_t N, double alpha, halo_rng* rng) {
  if (std::isnan(alpha)) return -1;
  return halo_binomial_rng(N, inv_logit(alpha), rng);
}
int64_t halo_beta_binomial_rng(int64_t N, double a, double b, halo_rng* rng) {
  if (N < 0 || !(a > 0.0 && a < kInf) || !(b > 0.0 && b < kInf)) return -1;
  return halo_binomial_rng(N, beta_draw(a, b, rng), rng);
}
int64_t halo_discrete_range_rng(int64_t lower, int64_t upper, halo_rng* rng) {
  if (lower > upper) return INT64_MIN;
  // u in (0, 1): the offset floor(u (upper - lower + 1)) is in 0..upper - lower.
  const double count = static_cast<double>(upper - lower) + 1.0;
  const int64_t offset = static_cast<int64_t>(std::floor(uniform(rng) * count));
  return lower + std::min(offset, upper - lower);
}
int64_t halo_poisson_rng(double lambda, halo_rng* rng) {
  // Stan's limit: 2^30 (larger means do not fit its int).
  if (!(lambda >= 0.0 && lambda < 1073741824.0)) return -1;
  if (lambda == 0.0) return 0;
  return poisson_draw(lambda, rng);
}
int64_t halo_poisson_log_rng(double alpha, halo_rng* rng) { return halo_poisson_rng(std::exp(alpha), rng); }
int64_t halo_neg_binomial_rng(double alpha, double beta, halo_rng* rng) {
  if (!(alpha > 0.0 && alpha < kInf) || !(beta > 0.0 && beta < kInf)) return -1;
  return halo_poisson_rng(std_gamma(alpha, rng) / beta, rng);
}
int64_t halo_neg_binomial_2_rng(double mu, double phi, halo_rng* rng) {
  if (!(mu > 0.0 && mu < kInf) || !(phi > 0.0 && phi < kInf)) return -1;
  return halo_poisson_rng(std_gamma(phi, rng) * mu / phi, rng);
}
int64_t halo_neg_binomial_2_log_rng(double eta, double phi, halo_rng* rng) {
  return halo_neg_binomial_2_rng(std::exp(eta), phi, rng);
}

// ---- containers ----
int64_t halo_categorical_rng(int64_t K, const double* theta, halo_rng* rng) {
  double sum = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    if (!(theta[k] >= 0.0)) return -1;
    sum += theta[k];
  }
  if (K < 1 || !(std::fabs(sum - 1.0) <= HALO_CONSTRAINT_TOLERANCE)) return -1;
  double u = uniform(rng) * sum, c = 0.0;
  for (int64_t k = 0; k < K - 1; ++k) {
    c += theta[k];
    if (u < c) return k + 1;
  }
  return K;
}
int64_t halo_categorical_logit_rng(int64_t K, const double* beta, halo_rng* rng) {
  if (K < 1) return -1;
  double m = -kInf;
  for (int64_t k = 0; k < K; ++k) {
    if (std::isnan(beta[k])) return -1;
    m = std::fmax(m, beta[k]);
  }
  double sum = 0.0;
  for (int64_t k = 0; k < K; ++k) sum += std::exp(beta[k] - m);
  double u = uniform(rng) * sum, c = 0.0;
  for (int64_t k = 0; k < K - 1; ++k) {
    c += std::exp(beta[k] - m);
    if (u < c) return k + 1;
  }
  return K;
}
void halo_dirichlet_rng(int64_t K, const double* alpha, double* out, halo_rng* rng) {
  double lse = -kInf;
  bool valid = K > 0;
  for (int64_t k = 0; k < K; ++k) {
    valid = valid && alpha[k] > 0.0 && alpha[k] < kInf;
    out[k] = valid ? log_std_gamma(alpha[k], rng) : kNaN;
    lse = log_sum_exp(lse, out[k]);
  }
  for (int64_t k = 0; k < K; ++k) out[k] = valid ? std::exp(out[k] - lse) : kNaN;
}
void halo_multi_normal_cholesky_rng(int64_t K, const double* mu, const double* L, double* out, halo_rng* rng) {
  for (int64_t i = 0; i < K; ++i) out[i] = mu[i];
  for (int64_t j = 0; j < K; ++j) {
    double z = normal(rng);
    for (int64_t i = j; i < K; ++i) out[i] += L[i + j * K] * z;
  }
}
void halo_multi_normal_rng(int64_t K, const double* mu, const double* Sigma, double* out, double* work,
                           halo_rng* rng) {
  if (halo_cholesky_decompose(K, Sigma, work) != 0) {
    for (int64_t i = 0; i < K; ++i) out[i] = kNaN;
    return;
  }
  halo_multi_normal_cholesky_rng(K, mu, work, out, rng);
}
void halo_lkj_corr_cholesky_rng(int64_t K, double eta, double* L, double* work, halo_rng* rng) {
  if (!(eta > 0.0 && eta < kInf) || K < 1) {
    for (int64_t i = 0; i < K * K; ++i) L[i] = kNaN;
    return;
  }
  // Canonical partial correlations column by column (Stan's lkj_corr_cholesky_rng), then the
  // factor row by row: L(j, i) = cpc * sqrt(1 - sum_{c < i} L(j, c)^2).
  double* acc = work;  // acc[j]: 1 - squared norm of row j so far
  for (int64_t i = 0; i < K * K; ++i) L[i] = 0.0;
  for (int64_t j = 0; j < K; ++j) acc[j] = 1.0;
  double alpha = eta + 0.5 * static_cast<double>(K - 1);
  for (int64_t i = 0; i < K; ++i) {
    L[i + i * K] = std::sqrt(acc[i]);
    alpha -= 0.5;
    for (int64_t j = i + 1; j < K; ++j) {
      double cpc = 2.0 * beta_draw(alpha, alpha, rng) - 1.0;
      L[j + i * K] = cpc * std::sqrt(acc[j]);
      acc[j] *= (1.0 - cpc) * (1.0 + cpc);
    }
  }
}

}  // extern "C"
