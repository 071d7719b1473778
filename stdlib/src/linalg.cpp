// Dense linear algebra kernels (column-major) and their adjoints.
#include "internal.h"

using namespace halo::stdlib;

namespace {

// ---------------------------------------------------------------------------------------------
// Matrix product. The classic GotoBLAS structure (Goto & van de Geijn 2008, "Anatomy of
// high-performance matrix multiplication", ACM TOMS 34(3)): op(A) is packed in MC x KC blocks
// of MR-row panels, op(B) in KC x NR panels, and an MR x NR register tile accumulates over the
// KC dimension. The packing buffers live on the stack (64 KiB + 6 KiB): no allocation.
constexpr int64_t kMR = 8, kNR = 6, kKC = 128, kMC = 64;

// tile (MR x NR, column-major) = sum_p a[p][0..MR) outer b[p][0..NR)
inline void micro_kernel(int64_t kc, const double* a, const double* b, double* tile) {
  v4d c0[kNR], c1[kNR];
  for (int c = 0; c < kNR; ++c) c0[c] = c1[c] = v4d{0, 0, 0, 0};
  for (int64_t p = 0; p < kc; ++p) {
    const v4d a0 = load4(a + p * kMR), a1 = load4(a + p * kMR + 4);
    for (int c = 0; c < kNR; ++c) {
      const double bc = b[p * kNR + c];
      c0[c] += a0 * bc;
      c1[c] += a1 * bc;
    }
  }
  for (int c = 0; c < kNR; ++c) {
    store4(tile + c * kMR, c0[c]);
    store4(tile + c * kMR + 4, c1[c]);
  }
}

void scale(int64_t m, int64_t n, double beta, double* C) {
  if (beta == 1.0) return;
  for (int64_t i = 0; i < m * n; ++i) C[i] = beta == 0.0 ? 0.0 : beta * C[i];
}

// ---- small products: no packing ----
// Packing costs a pass over op(A) and op(B) per block and pads the 8 x 6 tile: for the layers of
// small networks (a few columns, a short k) and matrix-vector shapes that is most of the work.
// Every model with a matrix product compiles this code, so it is kept small: two tile shapes,
// and remainder loops that are neither vectorised nor unrolled (HALO_PLAIN_LOOP).
#if defined(__clang__)
#define HALO_PLAIN_LOOP _Pragma("clang loop vectorize(disable) unroll(disable)")
#else
#define HALO_PLAIN_LOOP
#endif

// C(i0 .. i0+8, j0 .. j0+NR) = alpha sum_p A(i, p) op(B)(p, j) + beta C, with A column-major
// m x k read in place and op(B)(p, j) = B[j ldb_j + p ldb_p]; rows below i0 + skip are left as
// they are (the last tile of a column overlaps the one before it). A single column sums even
// and odd p apart: four independent chains of multiply-adds instead of two.
template <int NR>
inline void direct_tile(int64_t i0, int skip, int64_t j0, int64_t m, int64_t k, int64_t ldb_j, int64_t ldb_p,
                        double alpha, const double* A, const double* B, double beta, double* C) {
  constexpr int kChains = NR == 1 ? 2 : 1;
  v4d lo[kChains][NR], hi[kChains][NR];
  for (int h = 0; h < kChains; ++h)
    for (int c = 0; c < NR; ++c) lo[h][c] = hi[h][c] = v4d{0, 0, 0, 0};
  const double* a = A + i0;
  int64_t p = 0;
  for (; p + kChains <= k; p += kChains)
    for (int h = 0; h < kChains; ++h) {
      const v4d a0 = load4(a + (p + h) * m), a1 = load4(a + (p + h) * m + 4);
      for (int c = 0; c < NR; ++c) {
        const double b = B[(j0 + c) * ldb_j + (p + h) * ldb_p];
        lo[h][c] += a0 * b;
        hi[h][c] += a1 * b;
      }
    }
  if (p < k) {  // k odd, one column
    const v4d a0 = load4(a + p * m), a1 = load4(a + p * m + 4);
    const double b = B[j0 * ldb_j + p * ldb_p];
    lo[0][0] += a0 * b;
    hi[0][0] += a1 * b;
  }
  for (int c = 0; c < NR; ++c) {
    v4d r0 = lo[0][c], r1 = hi[0][c];
    if (kChains == 2) {
      r0 += lo[kChains - 1][c];
      r1 += hi[kChains - 1][c];
    }
    r0 = r0 * alpha;
    r1 = r1 * alpha;
    double* out = C + i0 + (j0 + c) * m;
    if (skip == 0) {
      if (beta != 0.0) {
        r0 += load4(out) * beta;
        r1 += load4(out + 4) * beta;
      }
      store4(out, r0);
      store4(out + 4, r1);
      continue;
    }
    double tile[8];
    store4(tile, r0);
    store4(tile + 4, r1);
    HALO_PLAIN_LOOP
    for (int r = skip; r < 8; ++r) out[r] = tile[r] + (beta == 0.0 ? 0.0 : beta * out[r]);
  }
}

// C = alpha A op(B) + beta C for A not transposed: 8-row tiles of four columns (then of one);
// when m is not a multiple of 8 the last tile of each column overlaps the one before it.
// Fewer than 8 rows: one dot product per element.
void gemm_direct(bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, const double* B,
                 double beta, double* C) {
  const int64_t ldb_j = tb ? 1 : k, ldb_p = tb ? n : 1;
  if (k == 1) {  // an outer product: one scaled column per column
    for (int64_t j = 0; j < n; ++j) {
      const double b = alpha * B[j * ldb_j];
      double* out = C + j * m;
      if (beta == 0.0)
        for (int64_t i = 0; i < m; ++i) out[i] = A[i] * b;
      else
        for (int64_t i = 0; i < m; ++i) out[i] = A[i] * b + beta * out[i];
    }
    return;
  }
  if (m >= 8) {
    for (int64_t i = 0; i < m; i += 8) {
      const int64_t i0 = i + 8 <= m ? i : m - 8;
      const int skip = static_cast<int>(i - i0);
      int64_t j = 0;
      for (; j + 4 <= n; j += 4) direct_tile<4>(i0, skip, j, m, k, ldb_j, ldb_p, alpha, A, B, beta, C);
      if (j + 2 <= n) {
        direct_tile<2>(i0, skip, j, m, k, ldb_j, ldb_p, alpha, A, B, beta, C);
        j += 2;
      }
      if (j < n) direct_tile<1>(i0, skip, j, m, k, ldb_j, ldb_p, alpha, A, B, beta, C);
    }
    return;
  }
  HALO_PLAIN_LOOP
  for (int64_t j = 0; j < n; ++j) {
    HALO_PLAIN_LOOP
    for (int64_t i = 0; i < m; ++i) {
      double s = 0.0;
      HALO_PLAIN_LOOP
      for (int64_t p = 0; p < k; ++p) s += A[i + p * m] * B[j * ldb_j + p * ldb_p];
      double* out = C + i + j * m;
      *out = alpha * s + (beta == 0.0 ? 0.0 : beta * *out);
    }
  }
}

// C = alpha A' B + beta C with A k x m and B k x n (both read in place): dot products over the
// contiguous k, two rows by two columns at a time so that each load feeds two products.
void gemm_dots(int64_t m, int64_t n, int64_t k, double alpha, const double* A, const double* B, double beta,
               double* C) {
  const int64_t k4 = k - k % 4;
  // Row i (or i + 1 when `two_rows`) of the result by columns j and j + 1.
  for (int64_t j = 0; j < n; j += 2) {
    const bool two_cols = j + 1 < n;
    const double* b0 = B + j * k;
    const double* b1 = two_cols ? b0 + k : b0;
    for (int64_t i = 0; i < m; i += 2) {
      const bool two_rows = i + 1 < m;
      const double* a0 = A + i * k;
      const double* a1 = two_rows ? a0 + k : a0;
      v4d s00 = {0, 0, 0, 0}, s01 = s00, s10 = s00, s11 = s00;
      for (int64_t p = 0; p < k4; p += 4) {
        const v4d x0 = load4(a0 + p), x1 = load4(a1 + p), y0 = load4(b0 + p), y1 = load4(b1 + p);
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      double t[4] = {hsum(s00), hsum(s01), hsum(s10), hsum(s11)};
      HALO_PLAIN_LOOP
      for (int64_t p = k4; p < k; ++p) {
        t[0] += a0[p] * b0[p];
        t[1] += a0[p] * b1[p];
        t[2] += a1[p] * b0[p];
        t[3] += a1[p] * b1[p];
      }
      HALO_PLAIN_LOOP
      for (int q = 0; q < 4; ++q) {
        const int64_t r = i + q / 2, c = j + q % 2;
        if ((q / 2 && !two_rows) || (q % 2 && !two_cols)) continue;
        double* out = C + r + c * m;
        *out = alpha * t[q] + (beta == 0.0 ? 0.0 : beta * *out);
      }
    }
  }
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, const double* B,
          double beta, double* C) {
  if (m == 0 || n == 0) return;
  // Without packing where the product is small or thin: on znver4 the direct tiles beat the
  // packed path up to about 64^3 and for any dimension below 16 (bench/README.md).
  const bool thin = std::min(std::min(m, n), k) < 16 || m * n * k < 64 * 64 * 64;
  if (thin && !ta) return gemm_direct(tb, m, n, k, alpha, A, B, beta, C);
  if (thin && ta && !tb) return gemm_dots(m, n, k, alpha, A, B, beta, C);
  scale(m, n, beta, C);
  if (m == 0 || n == 0 || k == 0 || alpha == 0.0) return;
  alignas(64) double a_pack[kMC * kKC];
  alignas(64) double b_pack[kKC * kNR];
  alignas(64) double tile[kMR * kNR];
  for (int64_t p0 = 0; p0 < k; p0 += kKC) {
    const int64_t kc = std::min(kKC, k - p0);
    for (int64_t i0 = 0; i0 < m; i0 += kMC) {
      const int64_t mc = std::min(kMC, m - i0);
      // Pack op(A)(i0 .. i0+mc, p0 .. p0+kc) as panels of MR rows, zero-padded.
      for (int64_t ip = 0; ip < mc; ip += kMR) {
        double* panel = a_pack + ip * kc;
        const int64_t mr = std::min(kMR, mc - ip);
        for (int64_t p = 0; p < kc; ++p) {
          for (int64_t r = 0; r < mr; ++r) {
            const int64_t i = i0 + ip + r, pp = p0 + p;
            panel[p * kMR + r] = ta ? A[pp + i * k] : A[i + pp * m];
          }
          for (int64_t r = mr; r < kMR; ++r) panel[p * kMR + r] = 0.0;
        }
      }
      for (int64_t j0 = 0; j0 < n; j0 += kNR) {
        const int64_t nr = std::min(kNR, n - j0);
        for (int64_t p = 0; p < kc; ++p) {
          for (int64_t c = 0; c < nr; ++c) {
            const int64_t j = j0 + c, pp = p0 + p;
            b_pack[p * kNR + c] = tb ? B[j + pp * n] : B[pp + j * k];
          }
          for (int64_t c = nr; c < kNR; ++c) b_pack[p * kNR + c] = 0.0;
        }
        for (int64_t ip = 0; ip < mc; ip += kMR) {
          const int64_t mr = std::min(kMR, mc - ip);
          micro_kernel(kc, a_pack + ip * kc, b_pack, tile);
          double* c_block = C + (i0 + ip) + j0 * m;
          if (mr == kMR) {
            for (int64_t c = 0; c < nr; ++c)
              for (int64_t r = 0; r < kMR; ++r) c_block[r + c * m] += alpha * tile[r + c * kMR];
          } else {
            HALO_PLAIN_LOOP
            for (int64_t c = 0; c < nr; ++c)
              HALO_PLAIN_LOOP
              for (int64_t r = 0; r < mr; ++r) c_block[r + c * m] += alpha * tile[r + c * kMR];
          }
        }
      }
    }
  }
}

// y = alpha op(A) x + beta y
void gemv(bool trans, int64_t m, int64_t n, double alpha, const double* A, const double* x, double beta,
          double* y) {
  if (!trans) {
    scale(m, 1, beta, y);
    // Four columns per sweep over y: one load and store of y per four multiply-adds.
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      const double x0 = alpha * x[j], x1 = alpha * x[j + 1], x2 = alpha * x[j + 2], x3 = alpha * x[j + 3];
      const double *a0 = A + j * m, *a1 = a0 + m, *a2 = a1 + m, *a3 = a2 + m;
      for (int64_t i = 0; i < m; ++i) y[i] += a0[i] * x0 + a1[i] * x1 + a2[i] * x2 + a3[i] * x3;
    }
    for (; j < n; ++j) axpy(m, alpha * x[j], A + j * m, y);
    return;
  }
  // y_j = alpha A(:, j) . x + beta y_j, four columns at a time with vector partial sums.
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const double *a0 = A + j * m, *a1 = a0 + m, *a2 = a1 + m, *a3 = a2 + m;
    v4d s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
      const v4d xv = load4(x + i);
      s0 += load4(a0 + i) * xv;
      s1 += load4(a1 + i) * xv;
      s2 += load4(a2 + i) * xv;
      s3 += load4(a3 + i) * xv;
    }
    double t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
    for (; i < m; ++i) {
      t0 += a0[i] * x[i];
      t1 += a1[i] * x[i];
      t2 += a2[i] * x[i];
      t3 += a3[i] * x[i];
    }
    const double t[4] = {t0, t1, t2, t3};
    for (int c = 0; c < 4; ++c) y[j + c] = alpha * t[c] + (beta == 0.0 ? 0.0 : beta * y[j + c]);
  }
  for (; j < n; ++j) y[j] = alpha * dot(m, A + j * m, x) + (beta == 0.0 ? 0.0 : beta * y[j]);
}

// ---------------------------------------------------------------------------------------------
// Triangular solves with a lower-triangular L (K x K).
// X := L^-1 X for an K x n block X (forward substitution, column-oriented axpys).
void solve_lower(int64_t K, int64_t n, const double* L, double* X) {
  for (int64_t c = 0; c < n; ++c) {
    double* x = X + c * K;
    for (int64_t j = 0; j < K; ++j) {
      x[j] /= L[j + j * K];
      axpy(K - j - 1, -x[j], L + (j + 1) + j * K, x + j + 1);
    }
  }
}
// X := L^-T X (back substitution with dot products down the columns of L).
void solve_lower_transposed(int64_t K, int64_t n, const double* L, double* X) {
  for (int64_t c = 0; c < n; ++c) {
    double* x = X + c * K;
    for (int64_t j = K - 1; j >= 0; --j)
      x[j] = (x[j] - dot(K - j - 1, L + (j + 1) + j * K, x + j + 1)) / L[j + j * K];
  }
}

// LU with partial pivoting in place (K x K); perm[i] = the row swapped into i. Returns the
// sign of the permutation, 0 if singular.
int lu(int64_t K, double* LU, int64_t* perm) {
  int sign = 1;
  for (int64_t j = 0; j < K; ++j) {
    int64_t p = j;
    double best = std::fabs(LU[j + j * K]);
    for (int64_t i = j + 1; i < K; ++i)
      if (std::fabs(LU[i + j * K]) > best) {
        best = std::fabs(LU[i + j * K]);
        p = i;
      }
    perm[j] = p;
    if (!(best > 0.0)) return 0;
    if (p != j) {
      sign = -sign;
      for (int64_t c = 0; c < K; ++c) std::swap(LU[j + c * K], LU[p + c * K]);
    }
    const double inv = 1.0 / LU[j + j * K];
    for (int64_t i = j + 1; i < K; ++i) LU[i + j * K] *= inv;
    for (int64_t c = j + 1; c < K; ++c) axpy(K - j - 1, -LU[j + c * K], LU + (j + 1) + j * K, LU + (j + 1) + c * K);
  }
  return sign;
}

// lu() of a copy of A, written to LU.
int lu_of(int64_t K, const double* A, double* LU, int64_t* perm) {
  for (int64_t i = 0; i < K * K; ++i) LU[i] = A[i];
  return lu(K, LU, perm);
}

// X (K x n, holding B on entry) = A^-1 B from the LU factors of A.
void lu_solve(int64_t K, int64_t n, const double* LU, const int64_t* perm, double* X) {
  for (int64_t j = 0; j < K; ++j)
    if (perm[j] != j)
      for (int64_t c = 0; c < n; ++c) std::swap(X[j + c * K], X[perm[j] + c * K]);
  for (int64_t c = 0; c < n; ++c) {
    double* x = X + c * K;
    for (int64_t j = 0; j < K; ++j) axpy(K - j - 1, -x[j], LU + (j + 1) + j * K, x + j + 1);
    for (int64_t j = K - 1; j >= 0; --j) {
      x[j] /= LU[j + j * K];
      axpy(j, -x[j], LU + j * K, x);
    }
  }
}

// out = A^-1 from the LU factors: the solve of the identity.
void lu_inverse(int64_t K, const double* LU, const int64_t* perm, double* out) {
  for (int64_t i = 0; i < K * K; ++i) out[i] = 0.0;
  for (int64_t c = 0; c < K; ++c) out[c + c * K] = 1.0;
  lu_solve(K, K, LU, perm, out);
}

// Y (K x n, holding X on entry) = A^-T X from the LU factors of A (P A = L U, so
// A^T = U^T L^T P): U^T z = x forward, L^T w = z backward, then the row swaps undone in reverse.
void lu_solve_transposed(int64_t K, int64_t n, const double* LU, const int64_t* perm, double* Y) {
  for (int64_t c = 0; c < n; ++c) {
    double* y = Y + c * K;
    for (int64_t j = 0; j < K; ++j) y[j] = (y[j] - dot(j, LU + j * K, y)) / LU[j + j * K];
    for (int64_t j = K - 1; j >= 0; --j) y[j] -= dot(K - j - 1, LU + (j + 1) + j * K, y + j + 1);
  }
  for (int64_t j = K - 1; j >= 0; --j)
    if (perm[j] != j)
      for (int64_t c = 0; c < n; ++c) std::swap(Y[j + c * K], Y[perm[j] + c * K]);
}

}  // namespace

extern "C" {

void halo_gemm(int transA, int transB, int64_t m, int64_t n, int64_t k, double alpha, const double* A,
               const double* B, double beta, double* C) {
  gemm(transA != 0, transB != 0, m, n, k, alpha, A, B, beta, C);
}

void halo_gemm_rev(int transA, int transB, int64_t m, int64_t n, int64_t k, double alpha, const double* A,
                   const double* B, const double* C_adj, double* A_adj, double* B_adj) {
  if (A_adj) {
    if (!transA) gemm(false, !transB, m, k, n, alpha, C_adj, B, 1.0, A_adj);  // alpha C_adj op(B)^T
    else gemm(transB != 0, true, k, m, n, alpha, B, C_adj, 1.0, A_adj);      // alpha op(B) C_adj^T
  }
  if (B_adj) {
    if (!transB) gemm(!transA, false, k, n, m, alpha, A, C_adj, 1.0, B_adj);  // alpha op(A)^T C_adj
    else gemm(true, transA != 0, n, k, m, alpha, C_adj, A, 1.0, B_adj);      // alpha C_adj^T op(A)
  }
}

void halo_gemv(int trans, int64_t m, int64_t n, double alpha, const double* A, const double* x, double beta,
               double* y) {
  gemv(trans != 0, m, n, alpha, A, x, beta, y);
}

void halo_gemv_rev(int trans, int64_t m, int64_t n, double alpha, const double* A, const double* x,
                   const double* y_adj, double* A_adj, double* x_adj) {
  if (A_adj) {
    // A_adj(i, j) += alpha * (trans ? x_i y_adj_j : y_adj_i x_j)
    const double* u = trans ? x : y_adj;
    const double* v = trans ? y_adj : x;
    for (int64_t j = 0; j < n; ++j) axpy(m, alpha * v[j], u, A_adj + j * m);
  }
  if (x_adj) gemv(!trans, m, n, alpha, A, y_adj, 1.0, x_adj);
}

// ---- Cholesky ----
namespace {
// Right-looking LDL^T for small matrices: once d_j is known, column j's rank-one update goes
// into every later column, the next column first, so that the chain from one column to the
// next is a division and two multiply-adds while the other columns' updates overlap it.
// Faster than the left-looking form below up to K = 24 (a GP over 11 points: 217 -> 170 ns),
// equal at 32, slower beyond (it loads and stores the trailing matrix once per column).
int cholesky_right_looking(int64_t K, double* L) {
  HALO_NO_UNROLL
  for (int64_t j = 0; j < K; ++j) {
    const double* cj = L + j * K;
    const double d = cj[j];
    if (!(d > 0.0) || !std::isfinite(d)) {
      HALO_NO_UNROLL
      for (int64_t i = 0; i < K * K; ++i) L[i] = kNaN;
      return 1;
    }
    const double inv = 1.0 / d;
    HALO_NO_UNROLL
    for (int64_t c = j + 1; c < K; ++c) {
      double* cc = L + c * K;
      const double u = -cj[c] * inv;  // W(c:, c) -= W(c:, j) W(c, j) / d_j
      int64_t i = c;
      HALO_NO_UNROLL
      for (; i + 4 <= K; i += 4) store4(cc + i, load4(cc + i) + load4(cj + i) * u);
      HALO_NO_UNROLL
      for (; i < K; ++i) cc[i] += cj[i] * u;
    }
  }
  HALO_NO_UNROLL
  for (int64_t j = 0; j < K; ++j) {
    double* col = L + j * K;
    const double ljj = std::sqrt(col[j]), inv = 1.0 / ljj;
    col[j] = ljj;
    HALO_NO_UNROLL
    for (int64_t i = j + 1; i < K; ++i) col[i] *= inv;
  }
  return 0;
}
}  // namespace

int halo_cholesky_decompose(int64_t K, const double* A, double* L) {
  HALO_NO_UNROLL
  for (int64_t j = 0; j < K; ++j)
    HALO_NO_UNROLL
    for (int64_t i = 0; i < K; ++i) L[i + j * K] = i >= j ? A[i + j * K] : 0.0;
  if (K <= 24) return cholesky_right_looking(K, L);
  // Left-looking, in the LDL^T form: the columns are first those of W = L diag(l_jj), with
  // d_j = l_jj^2, since L(i, p) L(j, p) = W(i, p) W(j, p) / d_p. Between one column and the
  // next there is then one division (1 / d_p) instead of a square root and a division: on
  // small matrices (a GP over a dozen points) that chain is the cost. The square roots and
  // the scaling to L come after, independent of each other. 1 / d_p is kept in the upper
  // triangle, at (p, p + 1), which no column update reads, and cleared at the end.
  // The update of column j, col(j:) -= W(j:, 0:j) u with u_p = W(j, p) / d_p, is a
  // matrix-vector product whose sums stay in registers (four rows per vector, two partial sums
  // over p), in blocks of kBlock columns p: one axpy per p instead would load and store the
  // column once per p, and the stores and reloads are a dependency chain.
  auto inv_d = [&](int64_t p) -> double& { return L[p + (p + 1) * K]; };
  constexpr int64_t kBlock = 64;
  double u[kBlock];
  for (int64_t j = 0; j < K; ++j) {
    double* col = L + j * K;
    for (int64_t p0 = 0; p0 < j; p0 += kBlock) {
      const int64_t np = std::min(kBlock, j - p0);
      for (int64_t q = 0; q < np; ++q) u[q] = -L[j + (p0 + q) * K] * inv_d(p0 + q);
      const double* W = L + j + p0 * K;  // W(j + i, p0 + q) = W[i + q K]
      const int64_t n = K - j;
      int64_t i = 0;
      for (; i + 4 <= n; i += 4) {
        v4d a0 = load4(col + j + i), a1 = {0, 0, 0, 0};
        int64_t q = 0;
        for (; q + 2 <= np; q += 2) {
          a0 += load4(W + i + q * K) * u[q];
          a1 += load4(W + i + (q + 1) * K) * u[q + 1];
        }
        if (q < np) a0 += load4(W + i + q * K) * u[q];
        store4(col + j + i, a0 + a1);
      }
      for (; i < n; ++i) {
        double a0 = col[j + i], a1 = 0.0;
        int64_t q = 0;
        for (; q + 2 <= np; q += 2) {
          a0 += W[i + q * K] * u[q];
          a1 += W[i + (q + 1) * K] * u[q + 1];
        }
        if (q < np) a0 += W[i + q * K] * u[q];
        col[j + i] = a0 + a1;
      }
    }
    const double d = col[j];
    if (!(d > 0.0) || !std::isfinite(d)) {
      for (int64_t i = 0; i < K * K; ++i) L[i] = kNaN;
      return 1;
    }
    if (j + 1 < K) inv_d(j) = 1.0 / d;
  }
  for (int64_t j = 0; j < K; ++j) {
    double* col = L + j * K;
    const double ljj = std::sqrt(col[j]), inv = 1.0 / ljj;
    col[j] = ljj;
    for (int64_t i = j + 1; i < K; ++i) col[i] *= inv;
    if (j + 1 < K) inv_d(j) = 0.0;
  }
  return 0;
}

// Murray (2016), "Differentiation of the Cholesky decomposition", arXiv:1602.07527, the
// unblocked reverse-mode algorithm (chol_unblocked_rev), on a copy of L_adj's lower triangle.
void halo_cholesky_decompose_rev(int64_t K, const double* L, const double* L_adj, double* A_adj, double* work) {
  double* G = work;
  HALO_NO_UNROLL
  for (int64_t j = 0; j < K; ++j)
    HALO_NO_UNROLL
    for (int64_t i = 0; i < K; ++i) G[i + j * K] = i >= j ? L_adj[i + j * K] : 0.0;
  HALO_NO_UNROLL
  for (int64_t j = K - 1; j >= 0; --j) {
    const double* lj = L + j * K;
    double* gj = G + j * K;
    const double inv = 1.0 / lj[j];  // one division per column, not one per element
    // G(j, j) = (G(j, j) - L(j+1:, j)' G(j+1:, j) / l_jj) / l_jj; G(j+1:, j) /= l_jj. Short dot
    // products (a dozen rows) with two partial sums: they sit on the chain from column to column.
    double s0 = 0.0, s1 = 0.0;
    int64_t r = j + 1;
    HALO_NO_UNROLL
    for (; r + 2 <= K; r += 2) {
      s0 += lj[r] * gj[r];
      s1 += lj[r + 1] * gj[r + 1];
    }
    if (r < K) s0 += lj[r] * gj[r];
    gj[j] = (gj[j] - (s0 + s1) * inv) * inv;
    HALO_NO_UNROLL
    for (r = j + 1; r < K; ++r) gj[r] *= inv;
    // For each earlier column c, in one pass over its rows r > j:
    // G(j, c) -= sum_{r >= j} G(r, j) L(r, c) and G(r, c) -= G(r, j) L(j, c).
    // Column j - 1 first: it is the next column's input, and the chain from column to column
    // then does not wait for the other columns' updates (independent of each other, so the
    // order changes no result).
    // Four rows per vector (10% faster than two scalar partial sums at K = 11, 10% at 30).
    HALO_NO_UNROLL
    for (int64_t c = j - 1; c >= 0; --c) {
      const double* lc = L + c * K;
      double* gc = G + c * K;
      const double ljc = lc[j];
      v4d t4 = {0, 0, 0, 0};
      double t = gj[j] * ljc;
      HALO_NO_UNROLL
      for (r = j + 1; r + 4 <= K; r += 4) {
        const v4d g = load4(gj + r);
        t4 += g * load4(lc + r);
        store4(gc + r, load4(gc + r) + g * (-ljc));
      }
      HALO_NO_UNROLL
      for (; r < K; ++r) {
        t += gj[r] * lc[r];
        gc[r] -= gj[r] * ljc;
      }
      gc[j] -= t + hsum(t4);
    }
    gj[j] *= 0.5;
  }
  HALO_NO_UNROLL
  for (int64_t j = 0; j < K; ++j)
    HALO_NO_UNROLL
    for (int64_t i = j; i < K; ++i) A_adj[i + j * K] += G[i + j * K];
}

// ---- triangular solves ----
void halo_mdivide_left_tri_low(int64_t K, int64_t n, const double* L, const double* B, double* X) {
  for (int64_t i = 0; i < K * n; ++i) X[i] = B[i];
  solve_lower(K, n, L, X);
}

void halo_mdivide_left_tri_low_rev(int64_t K, int64_t n, const double* L, const double* X, const double* X_adj,
                                   double* L_adj, double* B_adj, double* work) {
  // B_adj += L^-T X_adj =: Y; L_adj -= tril(Y X^T).
  double* Y = work;
  for (int64_t i = 0; i < K * n; ++i) Y[i] = X_adj[i];
  solve_lower_transposed(K, n, L, Y);
  if (B_adj)
    for (int64_t i = 0; i < K * n; ++i) B_adj[i] += Y[i];
  if (L_adj)
    for (int64_t c = 0; c < n; ++c)
      for (int64_t q = 0; q < K; ++q) axpy(K - q, -X[q + c * K], Y + q + c * K, L_adj + q + q * K);
}

void halo_mdivide_right_tri_low(int64_t n, int64_t K, const double* B, const double* L, double* X) {
  // X L = B, columns from the last: X(:, c) = (B(:, c) - sum_{k > c} X(:, k) L(k, c)) / L(c, c).
  for (int64_t i = 0; i < n * K; ++i) X[i] = B[i];
  for (int64_t c = K - 1; c >= 0; --c) {
    double* xc = X + c * n;
    for (int64_t k = c + 1; k < K; ++k) axpy(n, -L[k + c * K], X + k * n, xc);
    const double inv = 1.0 / L[c + c * K];
    for (int64_t i = 0; i < n; ++i) xc[i] *= inv;
  }
}

void halo_mdivide_right_tri_low_rev(int64_t n, int64_t K, const double* L, const double* X, const double* X_adj,
                                    double* L_adj, double* B_adj, double* work) {
  // Y = X_adj L^-T (Y L^T = X_adj, columns from the first); B_adj += Y; L_adj -= tril(X^T Y).
  double* Y = work;
  for (int64_t i = 0; i < n * K; ++i) Y[i] = X_adj[i];
  for (int64_t c = 0; c < K; ++c) {
    double* yc = Y + c * n;
    for (int64_t k = 0; k < c; ++k) axpy(n, -L[c + k * K], Y + k * n, yc);
    const double inv = 1.0 / L[c + c * K];
    for (int64_t i = 0; i < n; ++i) yc[i] *= inv;
  }
  if (B_adj)
    for (int64_t i = 0; i < n * K; ++i) B_adj[i] += Y[i];
  if (L_adj)
    for (int64_t c = 0; c < K; ++c)
      for (int64_t r = c; r < K; ++r) L_adj[r + c * K] -= dot(n, X + r * n, Y + c * n);
}

// ---- determinants and inverse ----
double halo_log_determinant(int64_t K, const double* A, double* work) {
  double* LU = work;
  int64_t* perm = reinterpret_cast<int64_t*>(work + K * K);
  if (lu_of(K, A, LU, perm) == 0) return -kInf;
  double r = 0.0;
  for (int64_t j = 0; j < K; ++j) r += std::log(std::fabs(LU[j + j * K]));
  return r;
}

double halo_determinant(int64_t K, const double* A, double* work) {
  double* LU = work;
  int64_t* perm = reinterpret_cast<int64_t*>(work + K * K);
  const int sign = lu_of(K, A, LU, perm);
  if (sign == 0) return 0.0;
  double r = sign;
  for (int64_t j = 0; j < K; ++j) r *= LU[j + j * K];
  return r;
}

void halo_log_determinant_rev(int64_t K, const double* A, double adj, double* A_adj, double* work) {
  double* LU = work;
  double* inv = work + K * K;
  int64_t* perm = reinterpret_cast<int64_t*>(work + 2 * K * K);
  if (lu_of(K, A, LU, perm) == 0) {
    for (int64_t i = 0; i < K * K; ++i) A_adj[i] += kNaN;
    return;
  }
  lu_inverse(K, LU, perm, inv);
  for (int64_t j = 0; j < K; ++j)
    for (int64_t i = 0; i < K; ++i) A_adj[i + j * K] += adj * inv[j + i * K];
}

void halo_determinant_rev(int64_t K, const double* A, double result, double adj, double* A_adj, double* work) {
  halo_log_determinant_rev(K, A, adj * result, A_adj, work);
}

double halo_log_determinant_spd(int64_t K, const double* A, double* work) {
  if (halo_cholesky_decompose(K, A, work) != 0) return kNaN;
  double r = 0.0;
  for (int64_t j = 0; j < K; ++j) r += std::log(work[j + j * K]);
  return 2.0 * r;
}

void halo_log_determinant_spd_rev(int64_t K, const double* A, double adj, double* A_adj, double* work) {
  // d/dA_ij of log det over the lower triangle: (A^-1)_ii on the diagonal, 2 (A^-1)_ij below.
  double* L = work;
  double* inv = work + K * K;
  if (halo_cholesky_decompose(K, A, L) != 0) {
    for (int64_t j = 0; j < K; ++j)
      for (int64_t i = j; i < K; ++i) A_adj[i + j * K] += kNaN;
    return;
  }
  for (int64_t i = 0; i < K * K; ++i) inv[i] = 0.0;
  for (int64_t c = 0; c < K; ++c) inv[c + c * K] = 1.0;
  solve_lower(K, K, L, inv);
  solve_lower_transposed(K, K, L, inv);
  for (int64_t j = 0; j < K; ++j)
    for (int64_t i = j; i < K; ++i) A_adj[i + j * K] += adj * (i == j ? 1.0 : 2.0) * inv[i + j * K];
}

void halo_qr(int64_t m, int64_t n, const double* A, int thin, double* Q, double* R, double* work) {
  // Householder QR (Golub & Van Loan, "Matrix Computations", 4th ed., algorithm 5.2.1): the
  // reflectors v_j (v_j[j] = 1) are kept below the diagonal of H, their betas in tau.
  const int64_t k = m < n ? m : n;
  double* H = work;           // m x n, column-major
  double* tau = work + m * n; // k
  double* col = tau + n;      // m scratch
  for (int64_t i = 0; i < m * n; ++i) H[i] = A[i];
  for (int64_t j = 0; j < k; ++j) {
    double norm2 = 0;
    for (int64_t i = j; i < m; ++i) norm2 += H[i + j * m] * H[i + j * m];
    const double x0 = H[j + j * m];
    const double norm = std::sqrt(norm2);
    if (norm == 0) {
      tau[j] = 0;
      continue;
    }
    const double alpha = x0 > 0 ? -norm : norm;  // R[j, j]; sign fixed below
    const double v0 = x0 - alpha;
    for (int64_t i = j + 1; i < m; ++i) H[i + j * m] /= v0;
    tau[j] = (alpha - x0) / alpha;  // beta = 2 / (v'v) with v = (1, H[j+1.., j])
    H[j + j * m] = alpha;
    for (int64_t c = j + 1; c < n; ++c) {
      double s = H[j + c * m];
      for (int64_t i = j + 1; i < m; ++i) s += H[i + j * m] * H[i + c * m];
      s *= tau[j];
      H[j + c * m] -= s;
      for (int64_t i = j + 1; i < m; ++i) H[i + c * m] -= s * H[i + j * m];
    }
  }
  const int64_t q_cols = thin ? k : m, r_rows = thin ? k : m;
  // Stan's convention: flip the signs of the rows of R (columns of Q) with a negative diagonal.
  auto sign = [&](int64_t j) { return j < k && H[j + j * m] < 0 ? -1.0 : 1.0; };
  if (R != nullptr)
    for (int64_t c = 0; c < n; ++c)
      for (int64_t r = 0; r < r_rows; ++r) R[r + c * r_rows] = r <= c && r < k ? sign(r) * H[r + c * m] : 0.0;
  if (Q == nullptr) return;
  // Q = H_0 H_1 ... H_{k-1} applied to the first q_cols columns of the identity.
  for (int64_t c = 0; c < q_cols; ++c) {
    for (int64_t i = 0; i < m; ++i) col[i] = i == c ? 1.0 : 0.0;
    for (int64_t j = k - 1; j >= 0; --j) {
      if (tau[j] == 0) continue;
      double s = col[j];
      for (int64_t i = j + 1; i < m; ++i) s += H[i + j * m] * col[i];
      s *= tau[j];
      col[j] -= s;
      for (int64_t i = j + 1; i < m; ++i) col[i] -= s * H[i + j * m];
    }
    const double flip = sign(c);
    for (int64_t i = 0; i < m; ++i) Q[i + c * m] = flip * col[i];
  }
}

int halo_inverse(int64_t K, const double* A, double* out, double* work) {
  double* LU = work;
  int64_t* perm = reinterpret_cast<int64_t*>(work + K * K);
  if (lu_of(K, A, LU, perm) == 0) {
    for (int64_t i = 0; i < K * K; ++i) out[i] = kNaN;
    return 1;
  }
  lu_inverse(K, LU, perm, out);
  return 0;
}

void halo_inverse_rev(int64_t K, const double* out, const double* out_adj, double* A_adj, double* work) {
  // A_adj -= out^T out_adj out^T
  gemm(true, false, K, K, K, 1.0, out, out_adj, 0.0, work);
  gemm(false, true, K, K, K, -1.0, work, out, 1.0, A_adj);
}

// ---- general solves: X = A^-1 B by LU with partial pivoting (no explicit inverse) ----
int halo_mdivide_left(int64_t K, int64_t n, const double* A, const double* B, double* X, double* work) {
  double* LU = work;
  int64_t* perm = reinterpret_cast<int64_t*>(work + K * K);
  if (lu_of(K, A, LU, perm) == 0) {
    for (int64_t i = 0; i < K * n; ++i) X[i] = kNaN;
    return 1;
  }
  for (int64_t i = 0; i < K * n; ++i) X[i] = B[i];
  lu_solve(K, n, LU, perm, X);
  return 0;
}

// With Y = A^-T X_adj: B_adj += Y, A_adj -= Y X^T. work: K * K + K + K * n doubles.
void halo_mdivide_left_rev(int64_t K, int64_t n, const double* A, const double* X, const double* X_adj, double* A_adj,
                           double* B_adj, double* work) {
  double* LU = work;
  int64_t* perm = reinterpret_cast<int64_t*>(work + K * K);
  double* Y = work + K * K + K;
  if (lu_of(K, A, LU, perm) == 0) {
    for (int64_t i = 0; i < K * K; ++i) A_adj[i] += kNaN;
    for (int64_t i = 0; i < K * n; ++i) B_adj[i] += kNaN;
    return;
  }
  for (int64_t i = 0; i < K * n; ++i) Y[i] = X_adj[i];
  lu_solve_transposed(K, n, LU, perm, Y);
  for (int64_t i = 0; i < K * n; ++i) B_adj[i] += Y[i];
  gemm(false, true, K, K, n, -1.0, Y, X, 1.0, A_adj);
}

// ---- products with structure ----
void halo_multiply_lower_tri_self_transpose(int64_t m, int64_t n, const double* L, double* out) {
  for (int64_t j = 0; j < m; ++j)
    for (int64_t i = j; i < m; ++i) {
      // sum over k <= min(i, j) = j, k < n of L(i, k) L(j, k)
      const int64_t kmax = std::min(j + 1, n);
      double s = 0.0;
      for (int64_t k = 0; k < kmax; ++k) s += L[i + k * m] * L[j + k * m];
      out[i + j * m] = s;
      out[j + i * m] = s;
    }
}

void halo_multiply_lower_tri_self_transpose_rev(int64_t m, int64_t n, const double* L, const double* out_adj,
                                                double* L_adj) {
  // L_adj(i, k) += sum_j (G + G^T)(i, j) L(j, k) over the lower trapezoid (i >= k, j >= k).
  for (int64_t k = 0; k < n && k < m; ++k)
    for (int64_t i = k; i < m; ++i) {
      double s = 0.0;
      for (int64_t j = k; j < m; ++j) s += (out_adj[i + j * m] + out_adj[j + i * m]) * L[j + k * m];
      L_adj[i + k * m] += s;
    }
}

void halo_quad_form(int64_t K, int64_t n, const double* A, const double* B, double* out, double* work) {
  gemm(false, false, K, n, K, 1.0, A, B, 0.0, work);        // A B
  gemm(true, false, n, n, K, 1.0, B, work, 0.0, out);       // B^T (A B)
}

void halo_quad_form_rev(int64_t K, int64_t n, const double* A, const double* B, const double* out_adj,
                        double* A_adj, double* B_adj, double* work) {
  // out = B^T A B: A_adj += B G B^T; B_adj += A B G^T + A^T B G.
  double* T = work;  // K x n
  if (A_adj) {
    gemm(false, false, K, n, n, 1.0, B, out_adj, 0.0, T);   // B G
    gemm(false, true, K, K, n, 1.0, T, B, 1.0, A_adj);      // (B G) B^T
  }
  if (B_adj) {
    double* AB = work + K * n;
    gemm(false, false, K, n, K, 1.0, A, B, 0.0, AB);         // A B
    gemm(false, true, K, n, n, 1.0, AB, out_adj, 1.0, B_adj);  // A B G^T
    gemm(true, false, K, n, K, 1.0, A, B, 0.0, AB);          // A^T B
    gemm(false, false, K, n, n, 1.0, AB, out_adj, 1.0, B_adj); // A^T B G
  }
}

double halo_quad_form_vec(int64_t K, const double* A, const double* v) {
  double r = 0.0;
  for (int64_t j = 0; j < K; ++j) r += v[j] * dot(K, A + j * K, v);
  return r;
}

void halo_quad_form_vec_rev(int64_t K, const double* A, const double* v, double adj, double* A_adj,
                            double* v_adj) {
  if (A_adj)
    for (int64_t j = 0; j < K; ++j) axpy(K, adj * v[j], v, A_adj + j * K);
  if (v_adj) {
    gemv(false, K, K, adj, A, v, 1.0, v_adj);  // A v
    gemv(true, K, K, adj, A, v, 1.0, v_adj);   // A^T v
  }
}

void halo_diag_pre_multiply(int64_t m, int64_t n, const double* v, const double* M, double* out) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) out[i + j * m] = v[i] * M[i + j * m];
}

void halo_diag_pre_multiply_rev(int64_t m, int64_t n, const double* v, const double* M, const double* out_adj,
                                double* v_adj, double* M_adj) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) {
      if (v_adj) v_adj[i] += out_adj[i + j * m] * M[i + j * m];
      if (M_adj) M_adj[i + j * m] += v[i] * out_adj[i + j * m];
    }
}

void halo_diag_post_multiply(int64_t m, int64_t n, const double* M, const double* v, double* out) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) out[i + j * m] = M[i + j * m] * v[j];
}

void halo_diag_post_multiply_rev(int64_t m, int64_t n, const double* M, const double* v, const double* out_adj,
                                 double* M_adj, double* v_adj) {
  for (int64_t j = 0; j < n; ++j) {
    if (v_adj) v_adj[j] += dot(m, out_adj + j * m, M + j * m);
    if (M_adj) axpy(m, v[j], out_adj + j * m, M_adj + j * m);
  }
}

void halo_gp_exp_quad_cov(int64_t N, int64_t D, const double* x, double alpha, double rho, double* out) {
  const double a2 = alpha * alpha, neg_half_inv_rho2 = -0.5 / (rho * rho);
  // Every entry's exponent first, then the exponentials in one flat loop over the whole matrix
  // with the inline exp (the argument is never positive), which vectorises whatever N is. Twice
  // the exponentials of the triangle, yet 1.4x faster at N = 11 and 2x at N = 150 than
  // gathering the triangle's exponents and scattering the results (measured standalone).
  // (x_i - x_j)^2 and (x_j - x_i)^2 are equal, so the matrix is exactly symmetric.
  HALO_NO_UNROLL
  for (int64_t j = 0; j < N; ++j) {
    double* col = out + j * N;
    if (D == 1) {  // points on a line: a vector loop
      HALO_NO_UNROLL
      for (int64_t i = 0; i < N; ++i) col[i] = square(x[i] - x[j]) * neg_half_inv_rho2;
      continue;
    }
    HALO_NO_UNROLL
    for (int64_t i = 0; i < N; ++i) {
      double d2 = 0.0;
      HALO_NO_UNROLL
      for (int64_t k = 0; k < D; ++k) d2 += square(x[i * D + k] - x[j * D + k]);
      col[i] = d2 * neg_half_inv_rho2;
    }
  }
  const int64_t n = N * N;
  HALO_NO_UNROLL
  for (int64_t t = 0; t < n; ++t) out[t] = a2 * exp_nonpositive(out[t]);
}

void halo_gp_exp_quad_cov_rev(int64_t N, int64_t D, const double* x, double alpha, double rho, const double* out,
                              const double* out_adj, double* x_adj, double* alpha_adj, double* rho_adj) {
  // out_ij = alpha^2 exp(-d2 / (2 rho^2)): d/dalpha = 2 out/alpha, d/drho = out d2 / rho^3,
  // d/dx_i = -out (x_i - x_j) / rho^2.
  const double inv_rho2 = 1.0 / (rho * rho);
  if (D == 1 && !x_adj) {
    // Points on a line, as data (the usual GP): the sums over the whole matrix (each pair twice,
    // the diagonal once), in contiguous columns with a vector of partial sums; one sum of one
    // add per pair is otherwise the chain (2x faster at N = 11).
    v4d ga4 = {0, 0, 0, 0}, gr4 = {0, 0, 0, 0};
    double ga = 0.0, gr = 0.0;
    HALO_NO_UNROLL
    for (int64_t j = 0; j < N; ++j) {
      const double xj = x[j];
      const double* o = out + j * N;
      const double* a = out_adj + j * N;
      int64_t i = 0;
      HALO_NO_UNROLL
      for (; i + 4 <= N; i += 4) {
        const v4d w = load4(a + i) * load4(o + i);
        const v4d dx = load4(x + i) + v4d{-xj, -xj, -xj, -xj};
        ga4 += w;
        gr4 += w * (dx * dx);
      }
      HALO_NO_UNROLL
      for (; i < N; ++i) {
        const double w = a[i] * o[i], dx = x[i] - xj;
        ga += w;
        gr += w * (dx * dx);
      }
    }
    if (alpha_adj) *alpha_adj += 2.0 * (hsum(ga4) + ga) / alpha;
    if (rho_adj) *rho_adj += (hsum(gr4) + gr) * inv_rho2 / rho;
    return;
  }
  double ga = 0.0, gr = 0.0;
  HALO_NO_UNROLL
  for (int64_t j = 0; j < N; ++j) {
    ga += out_adj[j + j * N] * out[j + j * N];
    HALO_NO_UNROLL
    for (int64_t i = j + 1; i < N; ++i) {
      const double g = (out_adj[i + j * N] + out_adj[j + i * N]) * out[i + j * N];
      double d2 = 0.0;
      HALO_NO_UNROLL
      for (int64_t k = 0; k < D; ++k) d2 += square(x[i * D + k] - x[j * D + k]);
      ga += g;
      gr += g * d2;
      if (x_adj)
        HALO_NO_UNROLL
        for (int64_t k = 0; k < D; ++k) {
          const double t = g * (x[i * D + k] - x[j * D + k]) * inv_rho2;
          x_adj[i * D + k] -= t;
          x_adj[j * D + k] += t;
        }
    }
  }
  if (alpha_adj) *alpha_adj += 2.0 * ga / alpha;
  if (rho_adj) *rho_adj += gr * inv_rho2 / rho;
}

// ---- symmetric eigendecomposition ----
// The cyclic Jacobi method (Golub & Van Loan, "Matrix Computations", 4th ed., section 8.5):
// rotations annihilate each off-diagonal pair in turn until the off-diagonal mass is below
// rounding. Accurate to a few ulps for the small matrices of statistical models.
void halo_eigen_sym(int64_t K, const double* A, double* values, double* vectors, double* work) {
  double* W = work;  // the symmetric matrix from A's lower triangle, rotated in place
  double* V = vectors;
  for (int64_t j = 0; j < K; ++j)
    for (int64_t i = 0; i < K; ++i) {
      W[i + j * K] = i >= j ? A[i + j * K] : A[j + i * K];
      V[i + j * K] = i == j ? 1.0 : 0.0;
    }
  double total = 0.0;
  for (int64_t i = 0; i < K * K; ++i) total += W[i] * W[i];
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (int64_t q = 1; q < K; ++q)
      for (int64_t p = 0; p < q; ++p) off += W[p + q * K] * W[p + q * K];
    if (!(off > 1e-32 * total)) break;  // also stops on NaN
    for (int64_t q = 1; q < K; ++q)
      for (int64_t p = 0; p < q; ++p) {
        const double apq = W[p + q * K];
        if (apq == 0.0) continue;
        // The rotation (c, s) with t = tan: the smaller root of t^2 + 2 theta t - 1 = 0.
        const double theta = (W[q + q * K] - W[p + p * K]) / (2.0 * apq);
        const double t = (theta >= 0.0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int64_t k = 0; k < K; ++k) {  // columns p, q: W J
          const double wkp = W[k + p * K], wkq = W[k + q * K];
          W[k + p * K] = c * wkp - s * wkq;
          W[k + q * K] = s * wkp + c * wkq;
        }
        for (int64_t k = 0; k < K; ++k) {  // rows p, q: J' W
          const double wpk = W[p + k * K], wqk = W[q + k * K];
          W[p + k * K] = c * wpk - s * wqk;
          W[q + k * K] = s * wpk + c * wqk;
        }
        for (int64_t k = 0; k < K; ++k) {  // V J
          const double vkp = V[k + p * K], vkq = V[k + q * K];
          V[k + p * K] = c * vkp - s * vkq;
          V[k + q * K] = s * vkp + c * vkq;
        }
      }
  }
  // Ascending values (Stan's order; selection sort keeps it allocation-free), each vector's
  // sign fixed so that its largest component is positive (a smooth choice away from ties).
  for (int64_t i = 0; i < K; ++i) values[i] = W[i + i * K];
  for (int64_t i = 0; i < K; ++i) {
    int64_t m = i;
    for (int64_t j = i + 1; j < K; ++j)
      if (values[j] < values[m]) m = j;
    if (m != i) {
      std::swap(values[i], values[m]);
      for (int64_t k = 0; k < K; ++k) std::swap(V[k + i * K], V[k + m * K]);
    }
    int64_t big = 0;
    for (int64_t k = 1; k < K; ++k)
      if (std::fabs(V[k + i * K]) > std::fabs(V[big + i * K])) big = k;
    if (V[big + i * K] < 0.0)
      for (int64_t k = 0; k < K; ++k) V[k + i * K] = -V[k + i * K];
  }
}

void halo_eigen_sym_rev(int64_t K, const double* values, const double* vectors, const double* values_adj,
                        const double* vectors_adj, double* A_adj, double* work) {
  // G = V (diag(values_adj) + F o (V' vectors_adj)) V' with F_ij = 1 / (lambda_j - lambda_i)
  // off the diagonal (Giles 2008, "Collected matrix derivative results for forward and reverse
  // mode algorithmic differentiation", section 3.1), folded onto the lower triangle that the
  // forward kernel read.
  double* M = work;          // K x K
  double* T = work + K * K;  // K x K
  for (int64_t i = 0; i < K * K; ++i) M[i] = 0.0;
  if (vectors_adj) {
    gemm(true, false, K, K, K, 1.0, vectors, vectors_adj, 0.0, M);
    for (int64_t j = 0; j < K; ++j)
      for (int64_t i = 0; i < K; ++i) {
        const double gap = values[j] - values[i];
        M[i + j * K] = i == j || gap == 0.0 ? 0.0 : M[i + j * K] / gap;
      }
  }
  if (values_adj)
    for (int64_t i = 0; i < K; ++i) M[i + i * K] += values_adj[i];
  gemm(false, false, K, K, K, 1.0, vectors, M, 0.0, T);   // V M
  gemm(false, true, K, K, K, 1.0, T, vectors, 0.0, M);    // (V M) V'
  for (int64_t j = 0; j < K; ++j) {
    A_adj[j + j * K] += M[j + j * K];
    for (int64_t i = j + 1; i < K; ++i) A_adj[i + j * K] += M[i + j * K] + M[j + i * K];
  }
}

}  // extern "C"
