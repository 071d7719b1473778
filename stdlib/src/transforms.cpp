// Constraining transforms (Stan Reference Manual, chapter "Constraint Transforms"; Stan Math
// prim/constraint/*_constrain.hpp and *_free.hpp), their reverse, and their inverses.
#include "internal.h"

using namespace halo::stdlib;

namespace {

// log(1 - tanh(u)^2) = log sech(u)^2 without underflow for large |u|.
inline double log_sech2(double u) {
  const double a = std::fabs(u);
  return 2.0 * (kLogTwo - a - std::log1p(std::exp(-2.0 * a)));
}

inline int invalid(double* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) u[i] = kNaN;
  return HALO_TRANSFORM_INVALID;
}

inline bool close(double a, double b) { return std::fabs(a - b) <= HALO_CONSTRAINT_TOLERANCE; }

// Canonical partial correlations z from a correlation matrix's Cholesky factor L, whose rows
// are L(i, j) = z(i, j) sqrt(1 - sum_{c<j} L(i, c)^2) (Lewandowski, Kurowicka & Joe 2009;
// Stan's read_corr_L). `pos(i, j)` maps the strict lower entry (i, j) to its index in z.
// Returns false when L is not such a factor (rows of unit norm, positive diagonal).
template <typename Pos>
bool corr_factor_free(int64_t K, const double* L, Pos pos, double* z) {
  for (int64_t i = 0; i < K; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < i; ++j) {
      const double x = L[i + j * K];
      z[pos(i, j)] = x / std::sqrt(1.0 - s);
      s += x * x;
    }
    for (int64_t j = i + 1; j < K; ++j)
      if (L[i + j * K] != 0.0) return false;
    if (!(L[i + i * K] > 0.0) || !close(s + square(L[i + i * K]), 1.0)) return false;
  }
  return true;
}

inline int64_t row_major_pos(int64_t i, int64_t j) { return i * (i - 1) / 2 + j; }

}  // namespace

namespace {
struct ColumnMajorPos {
  int64_t K;
  // Entry (i, j), i > j, of the strict lower triangle in column-major order.
  int64_t operator()(int64_t i, int64_t j) const { return j * (2 * K - j - 1) / 2 + (i - j - 1); }
};

// The factor from z = tanh(u) in column-major order (Stan's read_corr_L).
void corr_matrix_factor(int64_t K, const double* u, double* L) {
  const ColumnMajorPos pos{K};
  for (int64_t i = 0; i < K * K; ++i) L[i] = 0.0;
  for (int64_t i = 0; i < K; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < i; ++j) {
      const double x = std::tanh(u[pos(i, j)]) * std::sqrt(1.0 - s);
      L[i + j * K] = x;
      s += x * x;
    }
    L[i + i * K] = std::sqrt(1.0 - s);
  }
}

}  // namespace

extern "C" {

// ---- lower bound (Reference Manual: "Lower bounded scalar") ----
double halo_lower_constrain(double u, double lb, double* x) {
  if (lb == -kInf) {
    *x = u;
    return 0.0;
  }
  *x = lb + std::exp(u);
  return u;
}
void halo_lower_constrain_rev(double u, double lb, double x_adj, double lj_adj, double* u_adj, double* lb_adj) {
  if (lb == -kInf) {
    *u_adj += x_adj;
    return;
  }
  *u_adj += x_adj * std::exp(u) + lj_adj;
  if (lb_adj) *lb_adj += x_adj;
}
int halo_lower_unconstrain(double x, double lb, double* u) {
  if (lb == -kInf) {
    *u = x;
    return std::isnan(x) ? invalid(u, 1) : HALO_TRANSFORM_OK;
  }
  if (!(x >= lb)) return invalid(u, 1);
  *u = std::log(x - lb);
  return HALO_TRANSFORM_OK;
}

// ---- upper bound ("Upper bounded scalar") ----
double halo_upper_constrain(double u, double ub, double* x) {
  if (ub == kInf) {
    *x = u;
    return 0.0;
  }
  *x = ub - std::exp(u);
  return u;
}
void halo_upper_constrain_rev(double u, double ub, double x_adj, double lj_adj, double* u_adj, double* ub_adj) {
  if (ub == kInf) {
    *u_adj += x_adj;
    return;
  }
  *u_adj += -x_adj * std::exp(u) + lj_adj;
  if (ub_adj) *ub_adj += x_adj;
}
int halo_upper_unconstrain(double x, double ub, double* u) {
  if (ub == kInf) {
    *u = x;
    return std::isnan(x) ? invalid(u, 1) : HALO_TRANSFORM_OK;
  }
  if (!(x <= ub)) return invalid(u, 1);
  *u = std::log(ub - x);
  return HALO_TRANSFORM_OK;
}

// ---- lower and upper bounds ("Lower and upper bounded scalar") ----
double halo_lower_upper_constrain(double u, double lb, double ub, double* x) {
  if (lb == -kInf) return halo_upper_constrain(u, ub, x);
  if (ub == kInf) return halo_lower_constrain(u, lb, x);
  if (!(ub > lb)) {
    *x = kNaN;
    return kNaN;
  }
  double s = inv_logit(u);
  // As Stan: keep the value strictly inside the interval unless u is infinite.
  if (u > 0.0 && s == 1.0 && u < kInf) s = 1.0 - 1e-15;
  if (u <= 0.0 && s == 0.0 && u > -kInf) s = 1e-15;
  *x = std::fma(ub - lb, s, lb);
  const double a = std::fabs(u);
  return std::log(ub - lb) - a - 2.0 * std::log1p(std::exp(-a));
}
void halo_lower_upper_constrain_rev(double u, double lb, double ub, double x_adj, double lj_adj, double* u_adj,
                                    double* lb_adj, double* ub_adj) {
  if (lb == -kInf) {
    halo_upper_constrain_rev(u, ub, x_adj, lj_adj, u_adj, ub_adj);
    return;
  }
  if (ub == kInf) {
    halo_lower_constrain_rev(u, lb, x_adj, lj_adj, u_adj, lb_adj);
    return;
  }
  const double w = ub - lb, s = inv_logit(u), one_minus_s = inv_logit(-u);
  *u_adj += x_adj * w * s * one_minus_s + lj_adj * (one_minus_s - s);
  if (lb_adj) *lb_adj += x_adj * one_minus_s - lj_adj / w;
  if (ub_adj) *ub_adj += x_adj * s + lj_adj / w;
}
int halo_lower_upper_unconstrain(double x, double lb, double ub, double* u) {
  if (lb == -kInf) return halo_upper_unconstrain(x, ub, u);
  if (ub == kInf) return halo_lower_unconstrain(x, lb, u);
  if (!(ub > lb) || !(x >= lb && x <= ub)) return invalid(u, 1);
  const double t = (x - lb) / (ub - lb);
  *u = std::log(t) - std::log1p(-t);
  return HALO_TRANSFORM_OK;
}

// ---- offset and multiplier ("Affinely transformed scalar") ----
double halo_offset_multiplier_constrain(double u, double offset, double multiplier, double* x) {
  if (!std::isfinite(offset) || !(multiplier > 0.0 && multiplier < kInf)) {
    *x = kNaN;
    return kNaN;
  }
  *x = std::fma(multiplier, u, offset);
  return std::log(multiplier);
}
void halo_offset_multiplier_constrain_rev(double u, double, double multiplier, double x_adj, double lj_adj,
                                          double* u_adj, double* offset_adj, double* multiplier_adj) {
  *u_adj += x_adj * multiplier;
  if (offset_adj) *offset_adj += x_adj;
  if (multiplier_adj) *multiplier_adj += x_adj * u + lj_adj / multiplier;
}
int halo_offset_multiplier_unconstrain(double x, double offset, double multiplier, double* u) {
  if (!std::isfinite(offset) || !(multiplier > 0.0 && multiplier < kInf) || std::isnan(x)) return invalid(u, 1);
  *u = (x - offset) / multiplier;
  return HALO_TRANSFORM_OK;
}

// ---- simplex ("Unit simplex": stick-breaking) ----
double halo_simplex_constrain(int64_t K, const double* u, double* x) {
  double stick = 1.0, lj = 0.0;
  for (int64_t k = 0; k < K - 1; ++k) {
    const double a = u[k] - std::log(static_cast<double>(K - 1 - k));
    const double z = inv_logit(a);
    x[k] = stick * z;
    lj += std::log(stick) - log1p_exp(-a) - log1p_exp(a);
    stick -= x[k];
  }
  if (K > 0) x[K - 1] = stick;
  return lj;
}
void halo_simplex_constrain_rev(int64_t K, const double* u, const double* x, const double* x_adj, double lj_adj,
                                double* u_adj) {
  if (K < 2) return;
  // Backwards over the sticks: s_{k+1} = s_k (1 - z_k), x_k = s_k z_k, s_{K-1} = x_{K-1}.
  double s_next = x[K - 1];         // s_{k+1}
  double s_bar = x_adj[K - 1];      // adjoint of s_{k+1}
  for (int64_t k = K - 2; k >= 0; --k) {
    const double s = s_next + x[k];  // s_k
    const double a = u[k] - std::log(static_cast<double>(K - 1 - k));
    const double z = inv_logit(a), one_minus_z = inv_logit(-a);
    const double z_bar = x_adj[k] * s - s_bar * s;
    u_adj[k] += z_bar * z * one_minus_z + lj_adj * (one_minus_z - z);
    s_bar = x_adj[k] * z + s_bar * one_minus_z + lj_adj / s;
    s_next = s;
  }
}
int halo_simplex_unconstrain(int64_t K, const double* x, double* u) {
  double sum = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    if (!(x[k] >= 0.0)) return invalid(u, K - 1);
    sum += x[k];
  }
  if (K < 1 || !close(sum, 1.0)) return invalid(u, K - 1);
  double stick = x[K - 1];
  for (int64_t k = K - 2; k >= 0; --k) {
    stick += x[k];
    const double z = x[k] / stick;
    u[k] = std::log(z) - std::log1p(-z) + std::log(static_cast<double>(K - 1 - k));
  }
  return HALO_TRANSFORM_OK;
}

// ---- ordered ("Ordered vector") and positive_ordered ----
double halo_ordered_constrain(int64_t K, const double* u, double* x) {
  double lj = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    if (k == 0) {
      x[0] = u[0];
    } else {
      x[k] = x[k - 1] + std::exp(u[k]);
      lj += u[k];
    }
  }
  return lj;
}
void halo_ordered_constrain_rev(int64_t K, const double* u, const double*, const double* x_adj, double lj_adj,
                                double* u_adj) {
  double r = 0.0;  // sum_{j >= k} x_adj[j]
  for (int64_t k = K - 1; k >= 0; --k) {
    r += x_adj[k];
    u_adj[k] += k == 0 ? r : r * std::exp(u[k]) + lj_adj;
  }
}
int halo_ordered_unconstrain(int64_t K, const double* x, double* u) {
  for (int64_t k = 0; k < K; ++k) {
    if (std::isnan(x[k]) || (k > 0 && !(x[k] > x[k - 1]))) return invalid(u, K);
    u[k] = k == 0 ? x[0] : std::log(x[k] - x[k - 1]);
  }
  return HALO_TRANSFORM_OK;
}

double halo_positive_ordered_constrain(int64_t K, const double* u, double* x) {
  double lj = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    x[k] = (k == 0 ? 0.0 : x[k - 1]) + std::exp(u[k]);
    lj += u[k];
  }
  return lj;
}
void halo_positive_ordered_constrain_rev(int64_t K, const double* u, const double*, const double* x_adj,
                                         double lj_adj, double* u_adj) {
  double r = 0.0;
  for (int64_t k = K - 1; k >= 0; --k) {
    r += x_adj[k];
    u_adj[k] += r * std::exp(u[k]) + lj_adj;
  }
}
int halo_positive_ordered_unconstrain(int64_t K, const double* x, double* u) {
  for (int64_t k = 0; k < K; ++k) {
    const double prev = k == 0 ? 0.0 : x[k - 1];
    if (!(k == 0 ? x[0] >= 0.0 : x[k] > prev)) return invalid(u, K);
    u[k] = std::log(x[k] - prev);
  }
  return HALO_TRANSFORM_OK;
}

// ---- unit_vector ("Unit vector") ----
double halo_unit_vector_constrain(int64_t K, const double* u, double* x) {
  const double ss = dot(K, u, u);
  const double inv = 1.0 / std::sqrt(ss);
  for (int64_t k = 0; k < K; ++k) x[k] = u[k] * inv;
  return -0.5 * ss;
}
void halo_unit_vector_constrain_rev(int64_t K, const double* u, const double* x, const double* x_adj, double lj_adj,
                                    double* u_adj) {
  const double inv = 1.0 / std::sqrt(dot(K, u, u));
  const double xx = dot(K, x, x_adj);
  for (int64_t k = 0; k < K; ++k) u_adj[k] += (x_adj[k] - x[k] * xx) * inv - lj_adj * u[k];
}
int halo_unit_vector_unconstrain(int64_t K, const double* x, double* u) {
  if (K < 1 || !close(dot(K, x, x), 1.0)) return invalid(u, K);
  for (int64_t k = 0; k < K; ++k) u[k] = x[k];
  return HALO_TRANSFORM_OK;
}

// ---- sum_to_zero_vector ("Zero sum vector", Stan 2.36: isometric log-ratio basis) ----
// With w_j = u_{j-1} / sqrt(j (j + 1)) (j = 1..N-1): x_m = sum_{j > m} w_j - m w_m.
double halo_sum_to_zero_constrain(int64_t N, const double* u, double* x) {
  for (int64_t m = 0; m < N; ++m) x[m] = 0.0;
  double sum_w = 0.0;
  for (int64_t i = N - 1; i > 0; --i) {
    const double n = static_cast<double>(i);
    const double w = u[i - 1] / std::sqrt(n * (n + 1.0));
    sum_w += w;
    x[i - 1] += sum_w;
    x[i] -= w * n;
  }
  return 0.0;
}
void halo_sum_to_zero_constrain_rev(int64_t N, const double*, const double*, const double* x_adj, double,
                                    double* u_adj) {
  // w_j receives sum_{m < j} x_adj[m] - j x_adj[j].
  double prefix = 0.0;
  for (int64_t j = 1; j < N; ++j) {
    prefix += x_adj[j - 1];
    const double n = static_cast<double>(j);
    u_adj[j - 1] += (prefix - n * x_adj[j]) / std::sqrt(n * (n + 1.0));
  }
}
int halo_sum_to_zero_unconstrain(int64_t N, const double* x, double* u) {
  double sum = 0.0;
  for (int64_t m = 0; m < N; ++m) sum += x[m];
  if (N < 1 || !(std::fabs(sum) <= HALO_CONSTRAINT_TOLERANCE)) return invalid(u, N > 0 ? N - 1 : 0);
  const int64_t n = N - 1;
  if (n == 0) return HALO_TRANSFORM_OK;
  const double nd = static_cast<double>(n);
  u[n - 1] = -x[n] * std::sqrt(nd * (nd + 1.0)) / nd;
  double sum_w = 0.0;
  for (int64_t i = n - 2; i >= 0; --i) {
    const double k = static_cast<double>(i + 1);
    sum_w += u[i + 1] / std::sqrt((k + 1.0) * (k + 2.0));
    u[i] = (sum_w - x[i + 1]) * std::sqrt(k * (k + 1.0)) / k;
  }
  return HALO_TRANSFORM_OK;
}

// ---- cholesky_factor_corr ("Cholesky factors of correlation matrices") ----
double halo_cholesky_factor_corr_constrain(int64_t K, const double* u, double* L) {
  // z = tanh(u) row-major over the strict lower triangle; the Jacobian is that of tanh plus
  // 0.5 log(1 - s) for every entry after the first of its row.
  double lj = 0.0;
  for (int64_t i = 0; i < K * K; ++i) L[i] = 0.0;
  for (int64_t i = 0; i < K; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < i; ++j) {
      const double uj = u[row_major_pos(i, j)];
      lj += log_sech2(uj);
      if (j > 0) lj += 0.5 * std::log1p(-s);
      const double x = std::tanh(uj) * std::sqrt(1.0 - s);
      L[i + j * K] = x;
      s += x * x;
    }
    L[i + i * K] = std::sqrt(1.0 - s);
  }
  return lj;
}
void halo_cholesky_factor_corr_constrain_rev(int64_t K, const double* u, const double* L, const double* L_adj,
                                             double lj_adj, double* u_adj) {
  // Rows are independent; within a row, backwards over s_j = sum_{c<j} L(i, c)^2 (recomputed
  // from L): L(i, j) = z_j sqrt(1 - s_j), L(i, i) = sqrt(1 - s_i), Jacobian 0.5 log(1 - s_j).
  for (int64_t i = 1; i < K; ++i) {
    double s_i = 0.0;
    for (int64_t c = 0; c < i; ++c) s_i += square(L[i + c * K]);
    double s_bar = -L_adj[i + i * K] * 0.5 / L[i + i * K];
    double s_next = s_i;
    for (int64_t j = i - 1; j >= 0; --j) {
      const int64_t p = row_major_pos(i, j);
      const double x = L[i + j * K];
      const double s_j = s_next - x * x;
      const double root = std::sqrt(1.0 - s_j);
      const double x_bar = L_adj[i + j * K] + 2.0 * x * s_bar;
      const double z = std::tanh(u[p]);
      const double z_bar = x_bar * root;
      u_adj[p] += z_bar * (1.0 - z) * (1.0 + z) - 2.0 * lj_adj * z;
      s_bar += -0.5 * x_bar * z / root;
      if (j > 0) s_bar += -0.5 * lj_adj / (1.0 - s_j);
      s_next = s_j;
    }
  }
}
int halo_cholesky_factor_corr_unconstrain(int64_t K, const double* L, double* u) {
  const int64_t n = K * (K - 1) / 2;
  if (!corr_factor_free(K, L, row_major_pos, u)) return invalid(u, n);
  for (int64_t p = 0; p < n; ++p) {
    if (!(std::fabs(u[p]) < 1.0)) return invalid(u, n);
    u[p] = std::atanh(u[p]);
  }
  return HALO_TRANSFORM_OK;
}

// ---- cholesky_factor_cov ("Cholesky factors of covariance matrices") ----
double halo_cholesky_factor_cov_constrain(int64_t M, int64_t N, const double* u, double* L) {
  double lj = 0.0;
  int64_t pos = 0;
  for (int64_t i = 0; i < M * N; ++i) L[i] = 0.0;
  for (int64_t m = 0; m < M; ++m) {
    const int64_t cols = std::min(m, N);
    for (int64_t j = 0; j < cols; ++j) L[m + j * M] = u[pos++];
    if (m < N) {
      lj += u[pos];
      L[m + m * M] = std::exp(u[pos++]);
    }
  }
  return lj;
}
void halo_cholesky_factor_cov_constrain_rev(int64_t M, int64_t N, const double*, const double* L,
                                            const double* L_adj, double lj_adj, double* u_adj) {
  int64_t pos = 0;
  for (int64_t m = 0; m < M; ++m) {
    const int64_t cols = std::min(m, N);
    for (int64_t j = 0; j < cols; ++j) u_adj[pos++] += L_adj[m + j * M];
    if (m < N) u_adj[pos++] += L_adj[m + m * M] * L[m + m * M] + lj_adj;
  }
}
int halo_cholesky_factor_cov_unconstrain(int64_t M, int64_t N, const double* L, double* u) {
  const int64_t n = N * (N + 1) / 2 + (M - N) * N;
  if (M < N) return invalid(u, n > 0 ? n : 0);
  int64_t pos = 0;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t j = m + 1; j < N; ++j)
      if (L[m + j * M] != 0.0) return invalid(u, n);
    const int64_t cols = std::min(m, N);
    for (int64_t j = 0; j < cols; ++j) {
      if (std::isnan(L[m + j * M])) return invalid(u, n);
      u[pos++] = L[m + j * M];
    }
    if (m < N) {
      if (!(L[m + m * M] > 0.0)) return invalid(u, n);
      u[pos++] = std::log(L[m + m * M]);
    }
  }
  return HALO_TRANSFORM_OK;
}

// ---- corr_matrix ("Correlation matrices"): CPCs column-major, then L, then L L^T ----
double halo_corr_matrix_constrain(int64_t K, const double* u, double* Omega, double* work) {
  const ColumnMajorPos pos{K};
  // z = tanh(u); Jacobian: tanh, plus Stan's read_corr_L term 0.5 (K - c - 2) log(1 - z^2) for
  // the partial correlations of column c.
  double lj = 0.0;
  for (int64_t c = 0; c < K; ++c)
    for (int64_t i = c + 1; i < K; ++i)
      lj += (1.0 + 0.5 * static_cast<double>(K - c - 2)) * log_sech2(u[pos(i, c)]);
  double* L = work;
  corr_matrix_factor(K, u, L);
  halo_multiply_lower_tri_self_transpose(K, K, L, Omega);
  for (int64_t i = 0; i < K; ++i) Omega[i + i * K] = 1.0;  // rows of L have unit norm
  return lj;
}
void halo_corr_matrix_constrain_rev(int64_t K, const double* u, const double* Omega_adj, double lj_adj,
                                    double* u_adj, double* work) {
  const ColumnMajorPos pos{K};
  double* L = work;
  corr_matrix_factor(K, u, L);
  // Omega = L L^T with a fixed unit diagonal: the diagonal of Omega_adj does not flow back.
  // L_adj(i, j) = sum_k (G + G^T)(i, k) L(k, j), G = Omega_adj off the diagonal.
  for (int64_t i = 1; i < K; ++i) {
    double s_i = 0.0;
    for (int64_t c = 0; c < i; ++c) s_i += square(L[i + c * K]);
    // L_adj of row i, entries j <= i.
    auto l_adj = [&](int64_t r, int64_t j) {
      double g = 0.0;
      for (int64_t k = j; k < K; ++k)
        if (k != r) g += (Omega_adj[r + k * K] + Omega_adj[k + r * K]) * L[k + j * K];
      return g;
    };
    double s_bar = -l_adj(i, i) * 0.5 / L[i + i * K];
    double s_next = s_i;
    for (int64_t j = i - 1; j >= 0; --j) {
      const int64_t p = pos(i, j);
      const double x = L[i + j * K];
      const double s_j = s_next - x * x;
      const double root = std::sqrt(1.0 - s_j);
      const double x_bar = l_adj(i, j) + 2.0 * x * s_bar;
      const double z = std::tanh(u[p]);
      u_adj[p] += x_bar * root * (1.0 - z) * (1.0 + z) -
                  2.0 * lj_adj * (1.0 + 0.5 * static_cast<double>(K - j - 2)) * z;
      s_bar += -0.5 * x_bar * z / root;
      s_next = s_j;
    }
  }
}
int halo_corr_matrix_unconstrain(int64_t K, const double* Omega, double* u, double* work) {
  const int64_t n = K * (K - 1) / 2;
  for (int64_t i = 0; i < K; ++i) {
    if (!close(Omega[i + i * K], 1.0)) return invalid(u, n);
    for (int64_t j = 0; j < i; ++j)
      if (!close(Omega[i + j * K], Omega[j + i * K])) return invalid(u, n);
  }
  double* L = work;
  if (halo_cholesky_decompose(K, Omega, L) != 0) return invalid(u, n);
  const ColumnMajorPos pos{K};
  for (int64_t i = 0; i < K; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < i; ++j) {
      const double x = L[i + j * K];
      const double z = x / std::sqrt(1.0 - s);
      if (!(std::fabs(z) < 1.0)) return invalid(u, n);
      u[pos(i, j)] = std::atanh(z);
      s += x * x;
    }
  }
  return HALO_TRANSFORM_OK;
}

// ---- cov_matrix ("Covariance matrices"): L with exp on the diagonal, row-major; L L^T ----
double halo_cov_matrix_constrain(int64_t K, const double* u, double* Sigma, double* work) {
  double* L = work;
  for (int64_t i = 0; i < K * K; ++i) L[i] = 0.0;
  int64_t pos = 0;
  double lj = static_cast<double>(K) * kLogTwo;
  for (int64_t m = 0; m < K; ++m) {
    for (int64_t j = 0; j < m; ++j) L[m + j * K] = u[pos++];
    lj += static_cast<double>(K - m + 1) * u[pos];
    L[m + m * K] = std::exp(u[pos++]);
  }
  halo_multiply_lower_tri_self_transpose(K, K, L, Sigma);
  return lj;
}
void halo_cov_matrix_constrain_rev(int64_t K, const double* u, const double* Sigma_adj, double lj_adj,
                                   double* u_adj, double* work) {
  double* L = work;
  for (int64_t i = 0; i < K * K; ++i) L[i] = 0.0;
  int64_t pos = 0;
  for (int64_t m = 0; m < K; ++m) {
    for (int64_t j = 0; j < m; ++j) L[m + j * K] = u[pos++];
    L[m + m * K] = std::exp(u[pos++]);
  }
  pos = 0;
  for (int64_t m = 0; m < K; ++m) {
    for (int64_t j = 0; j <= m; ++j) {
      // L_adj(m, j) = sum_{k >= j} (G + G^T)(m, k) L(k, j)
      double g = 0.0;
      for (int64_t k = j; k < K; ++k) g += (Sigma_adj[m + k * K] + Sigma_adj[k + m * K]) * L[k + j * K];
      if (j < m) u_adj[pos++] += g;
      else u_adj[pos++] += g * L[m + m * K] + lj_adj * static_cast<double>(K - m + 1);
    }
  }
}
int halo_cov_matrix_unconstrain(int64_t K, const double* Sigma, double* u, double* work) {
  const int64_t n = K * (K + 1) / 2;
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < i; ++j)
      if (!close(Sigma[i + j * K], Sigma[j + i * K])) return invalid(u, n);
  double* L = work;
  if (halo_cholesky_decompose(K, Sigma, L) != 0) return invalid(u, n);
  int64_t pos = 0;
  for (int64_t m = 0; m < K; ++m) {
    for (int64_t j = 0; j < m; ++j) u[pos++] = L[m + j * K];
    u[pos++] = std::log(L[m + m * K]);
  }
  return HALO_TRANSFORM_OK;
}

}  // extern "C"
