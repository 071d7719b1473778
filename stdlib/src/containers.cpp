// Container kernels: reductions, normalisers, sorting, and the container distributions.
#include "internal.h"

using namespace halo::stdlib;

namespace {

constexpr int V0 = HALO_VARY(0), V1 = HALO_VARY(1), V2 = HALO_VARY(2);

double max_of(int64_t n, const double* x) {
  double m = -kInf;
  for (int64_t i = 0; i < n; ++i) m = std::fmax(m, x[i]);
  return m;
}

// sum_i exp(x[i] - shift) in four independent chains (so the exps can be vectorised).
double sum_exp(int64_t n, const double* x, double shift) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += std::exp(x[i] - shift);
    s1 += std::exp(x[i + 1] - shift);
    s2 += std::exp(x[i + 2] - shift);
    s3 += std::exp(x[i + 3] - shift);
  }
  for (; i < n; ++i) s0 += std::exp(x[i] - shift);
  return (s0 + s2) + (s1 + s3);
}

double log_sum_exp_n(int64_t n, const double* x) {
  const double m = max_of(n, x);
  if (!std::isfinite(m)) return m;  // empty or all -inf: -inf; any +inf: +inf; NaN stays
  for (int64_t i = 0; i < n; ++i)
    if (std::isnan(x[i])) return kNaN;
  return m + std::log(sum_exp(n, x, m));
}

// Few terms (an HMM's states, a mixture's components; kSmallLse is a guess at where the
// general loop's vectorised exps win): the largest term is exp(0) = 1, so
// m + log1p(sum of the others) needs one exp fewer, and the inline kernels avoid libm calls.
// Returns false (and leaves *lse alone) when the general path must decide: n out of range,
// a NaN, or an infinite maximum.
constexpr int64_t kSmallLse = 8;

HALO_ALWAYS_INLINE inline bool small_lse_terms(int64_t n, const double* x, double* e, double* m_out, double* s_out) {
  if (n == 2) {  // two states or components: straight-line code
    const double a = x[0], b = x[1];
    if (std::isnan(a) || std::isnan(b)) return false;
    const bool first = a >= b;
    const double m = first ? a : b;
    if (!std::isfinite(m)) return false;
    const double t = exp_nonpositive(first ? b - a : a - b);
    e[0] = first ? 1.0 : t;
    e[1] = first ? t : 1.0;
    *m_out = m;
    *s_out = t;
    return true;
  }
  if (n < 1 || n > kSmallLse) return false;
  int64_t im = 0;
  double m = x[0];
  bool nan = std::isnan(x[0]);
  for (int64_t i = 1; i < n; ++i) {
    nan |= std::isnan(x[i]);
    if (x[i] > m) {
      m = x[i];
      im = i;
    }
  }
  if (nan || !std::isfinite(m)) return false;
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    e[i] = i == im ? 1.0 : exp_nonpositive(x[i] - m);
    s += i == im ? 0.0 : e[i];
  }
  *m_out = m;
  *s_out = s;
  return true;
}

HALO_ALWAYS_INLINE inline double log1p_nonnegative(double s) { return s <= 1.0 ? log1p_unit(s) : std::log1p(s); }

bool is_simplex(int64_t K, const double* theta) {
  double s = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    if (!(theta[k] >= 0.0)) return false;
    s += theta[k];
  }
  return K > 0 && std::fabs(s - 1.0) <= HALO_CONSTRAINT_TOLERANCE;
}

// NaN-aware orders: ascending puts NaN last, descending puts NaN first.
inline bool less_nan_last(double a, double b) { return std::isnan(b) ? !std::isnan(a) : a < b; }
inline bool greater_nan_first(double a, double b) { return std::isnan(a) ? !std::isnan(b) : (!std::isnan(b) && a > b); }

// The LKJ normalising constant (Lewandowski, Kurowicka & Joe 2009, theorem 5; Stan's
// do_lkj_constant, general branch) and its derivative in eta.
double lkj_constant(double eta, int64_t K, double* d_eta) {
  const double km1 = static_cast<double>(K - 1);
  double c = km1 * log_gamma(eta + 0.5 * km1);
  double d = 0.0;  // sum_k psi(eta + (K-1)/2) - psi(eta + (K-1-k)/2)
  for (int64_t k = 1; k <= K - 1; ++k) {
    const double a = eta + 0.5 * (km1 - static_cast<double>(k));
    c -= 0.5 * static_cast<double>(k) * kLogPi + log_gamma(a);
    d += digamma_diff(a, 0.5 * static_cast<double>(k));
  }
  *d_eta = d;
  return c;
}

}  // namespace

extern "C" {

// ---- reductions and normalisers ----
// Two terms (an HMM's two states) go through the scalar log_sum_exp, whose table-driven
// log1p(e^-d) has the lowest latency on the forward algorithm's recursion (hmm_example's
// density 6.0 -> 4.2 us with libm's exp and log1p, -> 2.3 us with the table).
HALO_ALWAYS_INLINE double halo_log_sum_exp_vec(int64_t n, const double* x) {
  if (n == 2) return log_sum_exp(x[0], x[1]);
  double e[kSmallLse], m, s;
  if (small_lse_terms(n, x, e, &m, &s)) return m + log1p_nonnegative(s);
  return log_sum_exp_n(n, x);
}

// d lse / d x_i = exp(x_i - lse) = e_i / (1 + s) with the forward pass's terms.
HALO_ALWAYS_INLINE void halo_log_sum_exp_vec_rev(int64_t n, const double* x, double result, double adj, double* x_adj) {
  if (n == 2) {
    double w0, w1;
    log_sum_exp_weights(x[0], x[1], &w0, &w1);
    x_adj[0] += adj * w0;
    x_adj[1] += adj * w1;
    return;
  }
  double e[kSmallLse], m, s;
  if (small_lse_terms(n, x, e, &m, &s)) {
    const double w = adj / (1.0 + s);
    for (int64_t i = 0; i < n; ++i) x_adj[i] += w * e[i];
    return;
  }
  for (int64_t i = 0; i < n; ++i) x_adj[i] += adj * std::exp(x[i] - result);
}

void halo_softmax(int64_t n, const double* x, double* out) {
  const double lse = log_sum_exp_n(n, x);
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(x[i] - lse);
}

void halo_softmax_rev(int64_t n, const double* out, const double* out_adj, double* x_adj) {
  const double s = dot(n, out, out_adj);
  for (int64_t i = 0; i < n; ++i) x_adj[i] += out[i] * (out_adj[i] - s);
}

void halo_log_softmax(int64_t n, const double* x, double* out) {
  const double lse = log_sum_exp_n(n, x);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] - lse;
}

void halo_log_softmax_rev(int64_t n, const double* out, const double* out_adj, double* x_adj) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += out_adj[i];
  for (int64_t i = 0; i < n; ++i) x_adj[i] += out_adj[i] - std::exp(out[i]) * s;
}

double halo_dot_product(int64_t n, const double* x, const double* y) { return dot(n, x, y); }

void halo_dot_product_rev(int64_t n, const double* x, const double* y, double adj, double* x_adj, double* y_adj) {
  if (x_adj) axpy(n, adj, y, x_adj);
  if (y_adj) axpy(n, adj, x, y_adj);
}

// Stan's convention: the variance (and sd) of a single element is 0, with no dependence on it;
// of no elements, undefined (NaN here, an error in Stan).
double halo_variance(int64_t n, const double* x) {
  if (n == 1) return 0.0;
  if (n < 2) return kNaN;
  double mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += square(x[i] - mean);
  return ss / static_cast<double>(n - 1);
}

void halo_variance_rev(int64_t n, const double* x, double, double adj, double* x_adj) {
  if (n < 2) return;
  double mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  const double f = 2.0 * adj / static_cast<double>(n - 1);
  for (int64_t i = 0; i < n; ++i) x_adj[i] += f * (x[i] - mean);
}

double halo_sd(int64_t n, const double* x) { return std::sqrt(halo_variance(n, x)); }

void halo_sd_rev(int64_t n, const double* x, double result, double adj, double* x_adj) {
  if (n < 2) return;
  halo_variance_rev(n, x, result * result, 0.5 * adj / result, x_adj);
}

void halo_cumulative_sum(int64_t n, const double* x, double* out) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) out[i] = s += x[i];
}

void halo_cumulative_sum_rev(int64_t n, const double* out_adj, double* x_adj) {
  double s = 0.0;
  for (int64_t i = n - 1; i >= 0; --i) x_adj[i] += s += out_adj[i];
}

void halo_sort_asc(int64_t n, const double* x, double* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i];
  std::sort(out, out + n, less_nan_last);
}

void halo_sort_desc(int64_t n, const double* x, double* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i];
  std::sort(out, out + n, greater_nan_first);
}

void halo_sort_indices_asc(int64_t n, const double* x, int64_t* idx) {
  for (int64_t i = 0; i < n; ++i) idx[i] = i + 1;
  std::sort(idx, idx + n, [x](int64_t a, int64_t b) {
    double xa = x[a - 1], xb = x[b - 1];
    return less_nan_last(xa, xb) || (!less_nan_last(xb, xa) && a < b);
  });
}

void halo_sort_indices_desc(int64_t n, const double* x, int64_t* idx) {
  for (int64_t i = 0; i < n; ++i) idx[i] = i + 1;
  std::sort(idx, idx + n, [x](int64_t a, int64_t b) {
    double xa = x[a - 1], xb = x[b - 1];
    return greater_nan_first(xa, xb) || (!greater_nan_first(xb, xa) && a < b);
  });
}

void halo_sort_rev(int64_t n, const int64_t* idx, const double* out_adj, double* x_adj) {
  for (int64_t i = 0; i < n; ++i) x_adj[idx[i] - 1] += out_adj[i];
}

// ---- log_mix with a weight vector ----
double halo_log_mix_vec(int64_t K, const double* theta, const double* lambda) {
  double m = -kInf;
  for (int64_t k = 0; k < K; ++k) {
    if (!(theta[k] >= 0.0)) return kNaN;
    m = std::fmax(m, std::log(theta[k]) + lambda[k]);
  }
  if (!std::isfinite(m)) return m;
  double s = 0.0;
  for (int64_t k = 0; k < K; ++k) s += theta[k] * std::exp(lambda[k] - m);
  return m + std::log(s);
}

void halo_log_mix_vec_rev(int64_t K, const double* theta, const double* lambda, double result, double adj,
                          double* theta_adj, double* lambda_adj) {
  for (int64_t k = 0; k < K; ++k) {
    const double e = std::exp(lambda[k] - result);
    if (theta_adj) theta_adj[k] += adj * e;
    if (lambda_adj) lambda_adj[k] += adj * theta[k] * e;
  }
}

// ---- categorical ----
double halo_categorical_logit_lpmf(int64_t y, int64_t K, const double* beta, int flags) {
  const double lse = log_sum_exp_n(K, beta);
  if (std::isnan(lse)) return kNaN;
  if (y < 1 || y > K) return -kInf;
  if (!include(flags, V1)) return 0.0;
  return beta[y - 1] - lse;
}

void halo_categorical_logit_lpmf_rev(int64_t y, int64_t K, const double* beta, int, double adj, double* beta_adj) {
  if (y < 1 || y > K) return;
  const double lse = log_sum_exp_n(K, beta);
  for (int64_t k = 0; k < K; ++k) beta_adj[k] -= adj * std::exp(beta[k] - lse);
  beta_adj[y - 1] += adj;
}

double halo_categorical_lpmf(int64_t y, int64_t K, const double* theta, int flags) {
  if (!is_simplex(K, theta)) return kNaN;
  if (y < 1 || y > K) return -kInf;
  if (!include(flags, V1)) return 0.0;
  return std::log(theta[y - 1]);
}

void halo_categorical_lpmf_rev(int64_t y, int64_t K, const double* theta, int, double adj, double* theta_adj) {
  if (y < 1 || y > K) return;
  theta_adj[y - 1] += adj / theta[y - 1];
}

// ---- dirichlet ----
double halo_dirichlet_lpdf(int64_t K, const double* theta, const double* alpha, int flags) {
  double alpha_sum = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    if (!(alpha[k] > 0.0 && alpha[k] < kInf)) return kNaN;
    alpha_sum += alpha[k];
  }
  if (!is_simplex(K, theta)) return kNaN;
  double lp = 0.0;
  if (include(flags, V1)) {
    lp += log_gamma(alpha_sum);
    for (int64_t k = 0; k < K; ++k) lp -= log_gamma(alpha[k]);
  }
  if (include(flags, V0 | V1))
    for (int64_t k = 0; k < K; ++k) lp += xlogy(alpha[k] - 1.0, theta[k]);
  return lp;
}

void halo_dirichlet_lpdf_rev(int64_t K, const double* theta, const double* alpha, int, double adj,
                             double* theta_adj, double* alpha_adj) {
  double alpha_sum = 0.0;
  for (int64_t k = 0; k < K; ++k) alpha_sum += alpha[k];
  for (int64_t k = 0; k < K; ++k) {
    if (theta_adj) theta_adj[k] += adj * (alpha[k] - 1.0) / theta[k];
    // psi(sum alpha) - psi(alpha_k)
    if (alpha_adj) alpha_adj[k] += adj * (digamma_diff(alpha[k], alpha_sum - alpha[k]) + std::log(theta[k]));
  }
}

// ---- multivariate normal ----
double halo_multi_normal_cholesky_lpdf(int64_t K, const double* y, const double* mu, const double* L, int flags,
                                       double* work) {
  double log_diag = 0.0;
  for (int64_t i = 0; i < K; ++i) {
    if (!(L[i + i * K] > 0.0)) return kNaN;
    log_diag += std::log(L[i + i * K]);
  }
  double lp = 0.0;
  if (include(flags, 0)) lp -= kHalfLogTwoPi * static_cast<double>(K);
  if (include(flags, V2)) lp -= log_diag;
  if (include(flags, V0 | V1 | V2)) {
    double* z = work;
    for (int64_t i = 0; i < K; ++i) z[i] = y[i] - mu[i];
    halo_mdivide_left_tri_low(K, 1, L, z, z);
    lp -= 0.5 * dot(K, z, z);
  }
  return lp;
}

void halo_multi_normal_cholesky_lpdf_rev(int64_t K, const double* y, const double* mu, const double* L, int,
                                         double adj, double* y_adj, double* mu_adj, double* L_adj, double* work) {
  // z = L^-1 (y - mu), w = L^-T z: d/dy = -w, d/dmu = w, d/dL = tril(w z^T) - diag(1 / L_ii).
  double* z = work;
  double* w = work + K;
  for (int64_t i = 0; i < K; ++i) z[i] = y[i] - mu[i];
  halo_mdivide_left_tri_low(K, 1, L, z, z);
  for (int64_t i = 0; i < K; ++i) w[i] = z[i];
  for (int64_t j = K - 1; j >= 0; --j)
    w[j] = (w[j] - dot(K - j - 1, L + (j + 1) + j * K, w + j + 1)) / L[j + j * K];
  if (y_adj) axpy(K, -adj, w, y_adj);
  if (mu_adj) axpy(K, adj, w, mu_adj);
  if (L_adj)
    for (int64_t j = 0; j < K; ++j) {
      axpy(K - j, adj * z[j], w + j, L_adj + j + j * K);
      L_adj[j + j * K] -= adj / L[j + j * K];
    }
}

double halo_multi_normal_lpdf(int64_t K, const double* y, const double* mu, const double* Sigma, int flags,
                              double* work) {
  double* L = work;
  if (halo_cholesky_decompose(K, Sigma, L) != 0) return kNaN;
  double log_diag = 0.0;
  for (int64_t i = 0; i < K; ++i) log_diag += std::log(L[i + i * K]);
  double lp = 0.0;
  if (include(flags, 0)) lp -= kHalfLogTwoPi * static_cast<double>(K);
  if (include(flags, V2)) lp -= log_diag;  // -0.5 log det Sigma
  if (include(flags, V0 | V1 | V2)) {
    double* z = work + K * K;
    for (int64_t i = 0; i < K; ++i) z[i] = y[i] - mu[i];
    halo_mdivide_left_tri_low(K, 1, L, z, z);
    lp -= 0.5 * dot(K, z, z);
  }
  return lp;
}

void halo_multi_normal_lpdf_rev(int64_t K, const double* y, const double* mu, const double* Sigma, int, double adj,
                                double* y_adj, double* mu_adj, double* Sigma_adj, double* work) {
  // w = Sigma^-1 (y - mu); d/dSigma (symmetric) = (w w^T - Sigma^-1) / 2, put on the lower
  // triangle with off-diagonal entries doubled (the input is read through its lower triangle).
  double* L = work;
  double* inv = work + K * K;
  double* z = work + 2 * K * K;
  double* w = z + K;
  if (halo_cholesky_decompose(K, Sigma, L) != 0) {
    for (int64_t i = 0; i < K; ++i) {
      if (y_adj) y_adj[i] += kNaN;
      if (mu_adj) mu_adj[i] += kNaN;
    }
    if (Sigma_adj)
      for (int64_t i = 0; i < K * K; ++i) Sigma_adj[i] += kNaN;
    return;
  }
  for (int64_t i = 0; i < K; ++i) z[i] = y[i] - mu[i];
  halo_mdivide_left_tri_low(K, 1, L, z, z);
  for (int64_t i = 0; i < K; ++i) w[i] = z[i];
  for (int64_t j = K - 1; j >= 0; --j)
    w[j] = (w[j] - dot(K - j - 1, L + (j + 1) + j * K, w + j + 1)) / L[j + j * K];
  if (y_adj) axpy(K, -adj, w, y_adj);
  if (mu_adj) axpy(K, adj, w, mu_adj);
  if (Sigma_adj) {
    for (int64_t i = 0; i < K * K; ++i) inv[i] = 0.0;
    for (int64_t c = 0; c < K; ++c) inv[c + c * K] = 1.0;
    halo_mdivide_left_tri_low(K, K, L, inv, inv);
    for (int64_t c = 0; c < K; ++c)  // inv := L^-T L^-1 = Sigma^-1, column by column
      for (int64_t j = K - 1; j >= 0; --j)
        inv[j + c * K] = (inv[j + c * K] - dot(K - j - 1, L + (j + 1) + j * K, inv + (j + 1) + c * K)) / L[j + j * K];
    for (int64_t j = 0; j < K; ++j)
      for (int64_t i = j; i < K; ++i)
        Sigma_adj[i + j * K] += adj * (i == j ? 0.5 : 1.0) * (w[i] * w[j] - inv[i + j * K]);
  }
}

// ---- LKJ ----
double halo_lkj_corr_cholesky_lpdf(int64_t K, const double* L, double eta, int flags) {
  if (!(eta > 0.0 && eta < kInf)) return kNaN;
  if (K == 0) return 0.0;
  double lp = 0.0;
  if (include(flags, V1)) {
    double unused;
    lp += lkj_constant(eta, K, &unused);
  }
  if (include(flags, V0 | V1))
    for (int64_t i = 1; i < K; ++i)
      lp += (static_cast<double>(K - i - 1) + 2.0 * eta - 2.0) * std::log(L[i + i * K]);
  return lp;
}

void halo_lkj_corr_cholesky_lpdf_rev(int64_t K, const double* L, double eta, int, double adj, double* L_adj,
                                     double* eta_adj) {
  if (K == 0) return;
  double d_eta;
  lkj_constant(eta, K, &d_eta);
  for (int64_t i = 1; i < K; ++i) {
    const double l = L[i + i * K];
    if (L_adj) L_adj[i + i * K] += adj * (static_cast<double>(K - i - 1) + 2.0 * eta - 2.0) / l;
    d_eta += 2.0 * std::log(l);
  }
  if (eta_adj) *eta_adj += adj * d_eta;
}

// ---- normal mixture ----
double halo_normal_mixture_lpdf(double y, int64_t K, const double* logits, const double* mu, const double* sigma,
                                int64_t stride, int flags) {
  // log sum_k softmax(w)_k N(y | mu_k, sigma_k)
  //   = -0.5 log(2 pi) + LSE_k(w_k - LSE(w) - log sigma_k - z_k^2 / 2).
  double wmax = -kInf;
  for (int64_t k = 0; k < K; ++k) {
    if (!(sigma[k * stride] > 0.0 && sigma[k * stride] < kInf)) return kNaN;
    wmax = std::fmax(wmax, logits[k * stride]);
  }
  double wsum = 0.0, tmax = -kInf;
  for (int64_t k = 0; k < K; ++k) {
    wsum += std::exp(logits[k * stride] - wmax);
    const double z = (y - mu[k * stride]) / sigma[k * stride];
    tmax = std::fmax(tmax, logits[k * stride] - std::log(sigma[k * stride]) - 0.5 * z * z);
  }
  double tsum = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    const double z = (y - mu[k * stride]) / sigma[k * stride];
    tsum += std::exp(logits[k * stride] - std::log(sigma[k * stride]) - 0.5 * z * z - tmax);
  }
  double lp = tmax + std::log(tsum) - (wmax + std::log(wsum));
  if (include(flags, 0)) lp -= kHalfLogTwoPi;
  return (K > 0 && std::isfinite(wmax)) ? lp : kNaN;
}

void halo_normal_mixture_lpdf_rev(double y, int64_t K, const double* logits, const double* mu, const double* sigma,
                                  int64_t stride, int, double adj, double* y_adj, double* logits_adj,
                                  double* mu_adj, double* sigma_adj) {
  // Responsibilities r_k = posterior weights; d/dw = r - softmax(w), d/dmu_k = r_k z_k / sigma_k,
  // d/dsigma_k = r_k (z_k^2 - 1) / sigma_k, d/dy = -sum_k r_k z_k / sigma_k.
  double wmax = -kInf, tmax = -kInf;
  for (int64_t k = 0; k < K; ++k) {
    wmax = std::fmax(wmax, logits[k * stride]);
    const double z = (y - mu[k * stride]) / sigma[k * stride];
    tmax = std::fmax(tmax, logits[k * stride] - std::log(sigma[k * stride]) - 0.5 * z * z);
  }
  double wsum = 0.0, tsum = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    wsum += std::exp(logits[k * stride] - wmax);
    const double z = (y - mu[k * stride]) / sigma[k * stride];
    tsum += std::exp(logits[k * stride] - std::log(sigma[k * stride]) - 0.5 * z * z - tmax);
  }
  const double log_wsum = wmax + std::log(wsum), log_tsum = tmax + std::log(tsum);
  double gy = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    const double s = sigma[k * stride];
    const double z = (y - mu[k * stride]) / s;
    const double r = std::exp(logits[k * stride] - std::log(s) - 0.5 * z * z - log_tsum);
    const double p = std::exp(logits[k * stride] - log_wsum);
    if (logits_adj) logits_adj[k * stride] += adj * (r - p);
    if (mu_adj) mu_adj[k * stride] += adj * r * z / s;
    if (sigma_adj) sigma_adj[k * stride] += adj * r * (z * z - 1.0) / s;
    gy -= r * z / s;
  }
  if (y_adj) *y_adj += adj * gy;
}

}  // extern "C"
