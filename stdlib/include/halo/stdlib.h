/* Halo's standard library: the math functions, distributions, random numbers, container kernels
 * and constraining transforms that generated model code calls.
 *
 * The sources (stdlib/src/) are compiled twice: by clang-19 to one LLVM bitcode file that
 * haloc links into every model (LinkOnlyNeeded, then internalised, so calls inline), and by the
 * host compiler to the static library halo_stdlib_native for tests. Plain C types only.
 *
 * ---------------------------------------------------------------------------------------------
 * CONVENTIONS (relied on by the compiler's IR, AD and code generation)
 * - Integers are int64_t (the IR's i64); `flags` is int (i32). Reals are double.
 * - Nothing here allocates, keeps global state, throws, traps or writes errno: every function
 *   is reentrant. Scratch memory, where needed, is passed in (`work`, size documented).
 * - Bad input never aborts: invalid parameters give NaN (value and partials); a variate outside
 *   the support of a distribution gives a log density of -inf (partials 0).
 * - Tensors are column-major with explicit dimensions (see compiler/ir/ir.h); an "array of
 *   vectors" argument is N contiguous vectors of length D (point n at x + n * D).
 *
 * Scalar functions f(x, y, ...), reals only unless noted:
 *     double halo_<f>(double x, double y, ...);
 *     void   halo_<f>_grad(double x, double y, ..., double result, double* d_x, double* d_y, ...);
 * `result` must be halo_<f>(x, y, ...) (used where the derivative reuses it, e.g. exp); each
 * d_* receives (=) the partial derivative w.r.t. that argument. Integer arguments take part in
 * the call but get no d_* slot.
 *
 * Distributions, one element per call:
 *     double halo_<dist>_lpdf(args..., int flags, double* d);   (also _lpmf, _cdf, _lcdf, _lccdf)
 * returns the log density (mass, cdf, log cdf, log ccdf) and writes d[k] = its partial w.r.t.
 * the k-th REAL argument (integer arguments get no slot): the slot order is the argument order
 * with the integers left out, e.g. binomial_lpmf(n, N, theta): d[0] = d/dtheta.
 * `flags`: bit 0 HALO_PROPTO drops the additive terms that depend on no argument marked as
 * varying, exactly as Stan's `propto` (include_summand<propto, T...>) does; HALO_VARY(i) marks
 * argument i (counting ALL arguments, integers included, from 0 = the variate) as depending on
 * parameters. Without HALO_PROPTO the full normalised density is returned. The partials are
 * always those of the full density (dropped terms are constant in the varying arguments, so
 * the partials w.r.t. varying arguments are unaffected). When `flags` is a constant at the call
 * site the dropped terms fold away after inlining. _cdf/_lcdf/_lccdf accept and ignore flags.
 *
 * Container kernels: a forward function plus, where differentiable, `<name>_rev` that
 * ACCUMULATES (+=) into the adjoints of the inputs, given the adjoint of the output(s) and the
 * primal inputs and outputs. Where a reverse kernel takes several input adjoints, any of them
 * may be NULL (that input needs none); a lone input adjoint (and the unconstrained input's
 * adjoint of a transform) is required.
 * Functions of a symmetric matrix read only its lower triangle (diagonal included) and put
 * their adjoint there.
 * ------------------------------------------------------------------------------------------- */
#ifndef HALO_STDLIB_H
#define HALO_STDLIB_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HALO_PROPTO 1
#define HALO_VARY(i) (1 << ((i) + 1))

/* =============================================================================================
 * 1. Scalar math: value and derivative
 * =========================================================================================== */
#define HALO_UNARY(f)      \
  double halo_##f(double x); \
  void halo_##f##_grad(double x, double result, double* d_x);
#define HALO_BINARY(f)               \
  double halo_##f(double x, double y); \
  void halo_##f##_grad(double x, double y, double result, double* d_x, double* d_y);
#define HALO_TERNARY(f)                        \
  double halo_##f(double x, double y, double z); \
  void halo_##f##_grad(double x, double y, double z, double result, double* d_x, double* d_y, double* d_z);

HALO_UNARY(exp)
HALO_UNARY(log)
HALO_UNARY(log1p)
HALO_UNARY(expm1)
HALO_UNARY(exp2)
HALO_UNARY(log2)
HALO_UNARY(log10)
HALO_UNARY(sqrt)
HALO_UNARY(cbrt)
HALO_UNARY(square)
HALO_UNARY(inv)          /* 1/x */
HALO_UNARY(inv_sqrt)     /* 1/sqrt(x) */
HALO_UNARY(inv_square)   /* 1/x^2 */
HALO_UNARY(fabs)         /* derivative 0 at 0 */
HALO_UNARY(abs)          /* = fabs */
HALO_UNARY(lgamma)
HALO_UNARY(digamma)
HALO_UNARY(trigamma)
HALO_UNARY(tgamma)
HALO_UNARY(erf)
HALO_UNARY(erfc)
HALO_UNARY(inv_erfc)
HALO_UNARY(Phi)          /* standard normal cdf, accurate in both tails */
HALO_UNARY(Phi_approx)   /* inv_logit(0.07056 x^3 + 1.5976 x) (Bowling et al. 2009) */
HALO_UNARY(inv_Phi)      /* standard normal quantile (Wichura AS241) */
HALO_UNARY(logit)
HALO_UNARY(inv_logit)
HALO_UNARY(sigmoid)      /* = inv_logit */
HALO_UNARY(log_inv_logit)
HALO_UNARY(log1m_inv_logit)
HALO_UNARY(log1m)        /* log(1 - x) */
HALO_UNARY(log1p_exp)    /* log(1 + exp(x)) */
HALO_UNARY(softplus)     /* = log1p_exp */
HALO_UNARY(log1m_exp)    /* log(1 - exp(x)), x < 0 */
HALO_UNARY(inv_cloglog)  /* 1 - exp(-exp(x)) */
HALO_UNARY(sin)
HALO_UNARY(cos)
HALO_UNARY(tan)
HALO_UNARY(asin)
HALO_UNARY(acos)
HALO_UNARY(atan)
HALO_UNARY(sinh)
HALO_UNARY(cosh)
HALO_UNARY(tanh)
HALO_UNARY(asinh)
HALO_UNARY(acosh)
HALO_UNARY(atanh)
HALO_UNARY(relu)         /* max(x, 0); derivative 0 at 0 */
HALO_UNARY(gelu)         /* exact form x * Phi(x) */
HALO_UNARY(elu)          /* x > 0 ? x : expm1(x) (alpha = 1) */
HALO_UNARY(leaky_relu)   /* x > 0 ? x : 0.01 x */

HALO_BINARY(pow)
HALO_BINARY(fmin)        /* ties and NaN as Stan: the derivative goes to the returned argument */
HALO_BINARY(fmax)
HALO_BINARY(fdim)        /* max(x - y, 0) */
HALO_BINARY(fmod)
HALO_BINARY(hypot)
HALO_BINARY(atan2)       /* atan2(y = x, x = y): the first argument is the ordinate */
HALO_BINARY(log_sum_exp)
HALO_BINARY(log_diff_exp)        /* log(exp(x) - exp(y)), x >= y; -inf at x == y */
HALO_BINARY(log_inv_logit_diff)  /* log(inv_logit(x) - inv_logit(y)), x > y */
HALO_BINARY(lbeta)
HALO_BINARY(lchoose)                   /* log of the binomial coefficient, real arguments */
HALO_BINARY(binomial_coefficient_log)  /* = lchoose */
HALO_BINARY(owens_t)                   /* Owen's T(h, a) */
HALO_BINARY(multiply_log)              /* x log y, 0 when x = y = 0 */
HALO_BINARY(lmultiply)                 /* = multiply_log */
HALO_BINARY(log_falling_factorial)     /* lgamma(x + 1) - lgamma(x - n + 1), real n */
HALO_BINARY(log_rising_factorial)      /* lgamma(x + n) - lgamma(x), real n */
HALO_BINARY(gamma_p)                   /* regularised lower incomplete gamma P(a, x) */
HALO_BINARY(gamma_q)                   /* regularised upper incomplete gamma Q(a, x) */

HALO_TERNARY(fma)
HALO_TERNARY(log_mix)   /* log_mix(theta, lp1, lp2) = log(theta e^lp1 + (1 - theta) e^lp2) */
HALO_TERNARY(inc_beta)  /* inc_beta(a, b, x): the regularised incomplete beta I_x(a, b) */

/* With integer arguments (no d_ slot for them). */
double halo_lmgamma(int64_t k, double x); /* log multivariate gamma of dimension k */
void halo_lmgamma_grad(int64_t k, double x, double result, double* d_x);
double halo_falling_factorial(double x, int64_t n);
void halo_falling_factorial_grad(double x, int64_t n, double result, double* d_x);
double halo_rising_factorial(double x, int64_t n);
void halo_rising_factorial_grad(double x, int64_t n, double result, double* d_x);

/* Piecewise constant: _grad gives 0 (the AD calls it when the argument depends on parameters). */
HALO_UNARY(floor)
HALO_UNARY(ceil)
HALO_UNARY(round)
HALO_UNARY(trunc)
HALO_UNARY(step)        /* Stan: x < 0 ? 0 : 1 */
int64_t halo_to_int(double x);  /* truncation toward zero; 0 for NaN or outside int64 */
int64_t halo_int_step(double x);  /* x > 0 ? 1 : 0 (NaN: 0) */
int64_t halo_is_inf(double x);
int64_t halo_is_nan(double x);
int64_t halo_choose(int64_t n, int64_t k);  /* 0 when k > n; -1 when n < 0 or k < 0 */

/* =============================================================================================
 * 2. Distributions: log density of one element, partials in d (slot order = real arguments)
 * =========================================================================================== */
/* Continuous (d slots: every argument, in order). */
double halo_normal_lpdf(double y, double mu, double sigma, int flags, double* d);
double halo_std_normal_lpdf(double y, int flags, double* d);
double halo_lognormal_lpdf(double y, double mu, double sigma, int flags, double* d);
double halo_cauchy_lpdf(double y, double mu, double sigma, int flags, double* d);
double halo_student_t_lpdf(double y, double nu, double mu, double sigma, int flags, double* d);
double halo_exponential_lpdf(double y, double beta, int flags, double* d);
double halo_gamma_lpdf(double y, double alpha, double beta, int flags, double* d);
double halo_inv_gamma_lpdf(double y, double alpha, double beta, int flags, double* d);
double halo_beta_lpdf(double y, double a, double b, int flags, double* d);
double halo_beta_proportion_lpdf(double y, double mu, double kappa, int flags, double* d);
double halo_uniform_lpdf(double y, double alpha, double beta, int flags, double* d);
double halo_double_exponential_lpdf(double y, double mu, double sigma, int flags, double* d);
double halo_logistic_lpdf(double y, double mu, double sigma, int flags, double* d);
double halo_weibull_lpdf(double y, double alpha, double sigma, int flags, double* d);
double halo_frechet_lpdf(double y, double alpha, double sigma, int flags, double* d);
double halo_chi_square_lpdf(double y, double nu, int flags, double* d);
double halo_inv_chi_square_lpdf(double y, double nu, int flags, double* d);
double halo_scaled_inv_chi_square_lpdf(double y, double nu, double s, int flags, double* d);
double halo_skew_normal_lpdf(double y, double xi, double omega, double alpha, int flags, double* d);
double halo_exp_mod_normal_lpdf(double y, double mu, double sigma, double lambda, int flags, double* d);
double halo_gumbel_lpdf(double y, double mu, double beta, int flags, double* d);
double halo_pareto_lpdf(double y, double y_min, double alpha, int flags, double* d);
double halo_pareto_type_2_lpdf(double y, double mu, double lambda, double alpha, int flags, double* d);
double halo_rayleigh_lpdf(double y, double sigma, int flags, double* d);
double halo_von_mises_lpdf(double y, double mu, double kappa, int flags, double* d);

/* Discrete: the outcome n (and N) are integers with no d slot; d[0], d[1] are the real
 * parameters in order. HALO_VARY indices still count n (0) and N. */
double halo_bernoulli_lpmf(int64_t n, double theta, int flags, double* d);
double halo_bernoulli_logit_lpmf(int64_t n, double alpha, int flags, double* d);
double halo_binomial_lpmf(int64_t n, int64_t N, double theta, int flags, double* d);
double halo_binomial_logit_lpmf(int64_t n, int64_t N, double alpha, int flags, double* d);
double halo_beta_binomial_lpmf(int64_t n, int64_t N, double a, double b, int flags, double* d);
double halo_poisson_lpmf(int64_t n, double lambda, int flags, double* d);
double halo_poisson_log_lpmf(int64_t n, double alpha, int flags, double* d);
double halo_neg_binomial_lpmf(int64_t n, double alpha, double beta, int flags, double* d);
double halo_neg_binomial_2_lpmf(int64_t n, double mu, double phi, int flags, double* d);
double halo_neg_binomial_2_log_lpmf(int64_t n, double eta, double phi, int flags, double* d);
/* Uniform on lower..upper; NaN when lower > upper; d is not written (no real arguments). */
double halo_discrete_range_lpmf(int64_t y, int64_t lower, int64_t upper, int flags, double* d);

/* Cumulative distribution functions (flags ignored): _cdf = F(y), _lcdf = log F(y),
 * _lccdf = log(1 - F(y)), each with its partials w.r.t. every argument in d. Log forms stay
 * finite and accurate far in the tails where the family allows it. */
#define HALO_CDFS(dist, ...)                                        \
  double halo_##dist##_cdf(__VA_ARGS__, int flags, double* d);    \
  double halo_##dist##_lcdf(__VA_ARGS__, int flags, double* d);   \
  double halo_##dist##_lccdf(__VA_ARGS__, int flags, double* d);
HALO_CDFS(normal, double y, double mu, double sigma)
HALO_CDFS(std_normal, double y)
HALO_CDFS(lognormal, double y, double mu, double sigma)
HALO_CDFS(cauchy, double y, double mu, double sigma)
HALO_CDFS(student_t, double y, double nu, double mu, double sigma)
HALO_CDFS(exponential, double y, double beta)
HALO_CDFS(gamma, double y, double alpha, double beta)
HALO_CDFS(inv_gamma, double y, double alpha, double beta)
HALO_CDFS(beta, double y, double a, double b)
HALO_CDFS(beta_proportion, double y, double mu, double kappa)
HALO_CDFS(uniform, double y, double alpha, double beta)
HALO_CDFS(double_exponential, double y, double mu, double sigma)
HALO_CDFS(logistic, double y, double mu, double sigma)
HALO_CDFS(weibull, double y, double alpha, double sigma)
HALO_CDFS(frechet, double y, double alpha, double sigma)
HALO_CDFS(chi_square, double y, double nu)
HALO_CDFS(inv_chi_square, double y, double nu)
HALO_CDFS(scaled_inv_chi_square, double y, double nu, double s)
HALO_CDFS(skew_normal, double y, double xi, double omega, double alpha)
HALO_CDFS(exp_mod_normal, double y, double mu, double sigma, double lambda)
HALO_CDFS(gumbel, double y, double mu, double beta)
HALO_CDFS(pareto, double y, double y_min, double alpha)
HALO_CDFS(pareto_type_2, double y, double mu, double lambda, double alpha)
HALO_CDFS(rayleigh, double y, double sigma)
/* Discrete (P(N <= n)); d as for the _lpmf. */
HALO_CDFS(bernoulli, int64_t n, double theta)
HALO_CDFS(binomial, int64_t n, int64_t N, double theta)
HALO_CDFS(poisson, int64_t n, double lambda)
HALO_CDFS(neg_binomial_2, int64_t n, double mu, double phi)
HALO_CDFS(neg_binomial, int64_t n, double alpha, double beta)
HALO_CDFS(beta_binomial, int64_t n, int64_t N, double a, double b)  /* O(N): summed masses */
HALO_CDFS(discrete_range, int64_t y, int64_t lower, int64_t upper)  /* d not written */

/* =============================================================================================
 * 3. Container kernels
 * =========================================================================================== */
/* -- reductions and normalisers over n elements -- */
double halo_log_sum_exp_vec(int64_t n, const double* x); /* -inf for n = 0 */
void halo_log_sum_exp_vec_rev(int64_t n, const double* x, double result, double adj, double* x_adj);
void halo_softmax(int64_t n, const double* x, double* out);
void halo_softmax_rev(int64_t n, const double* out, const double* out_adj, double* x_adj);
void halo_log_softmax(int64_t n, const double* x, double* out);
void halo_log_softmax_rev(int64_t n, const double* out, const double* out_adj, double* x_adj);
double halo_dot_product(int64_t n, const double* x, const double* y);
void halo_dot_product_rev(int64_t n, const double* x, const double* y, double adj, double* x_adj, double* y_adj);
double halo_variance(int64_t n, const double* x);   /* sample variance (n - 1); NaN for n < 2 */
void halo_variance_rev(int64_t n, const double* x, double result, double adj, double* x_adj);
double halo_sd(int64_t n, const double* x);
void halo_sd_rev(int64_t n, const double* x, double result, double adj, double* x_adj);
void halo_cumulative_sum(int64_t n, const double* x, double* out);
void halo_cumulative_sum_rev(int64_t n, const double* out_adj, double* x_adj);
/* Sorting: NaN sorts last (ascending) / first (descending). idx receives 1-based indices. */
void halo_sort_asc(int64_t n, const double* x, double* out);
void halo_sort_desc(int64_t n, const double* x, double* out);
void halo_sort_indices_asc(int64_t n, const double* x, int64_t* idx);  /* stable */
void halo_sort_indices_desc(int64_t n, const double* x, int64_t* idx); /* stable */
/* Adjoint of sort_asc/desc: x_adj[idx[i] - 1] += out_adj[i], idx from the matching sort_indices. */
void halo_sort_rev(int64_t n, const int64_t* idx, const double* out_adj, double* x_adj);

/* -- log_mix with a vector of K weights: log sum_k theta_k exp(lambda_k) -- */
double halo_log_mix_vec(int64_t K, const double* theta, const double* lambda);
void halo_log_mix_vec_rev(int64_t K, const double* theta, const double* lambda, double result, double adj,
                          double* theta_adj, double* lambda_adj);

/* -- container distributions (forward: value; _rev: += adj * partials). Flags as above:
 *    HALO_VARY(i) for the i-th argument, counting the variate as 0 and skipping dimensions. -- */
/* categorical_logit(y | beta), y in 1..K (outside: -inf). */
double halo_categorical_logit_lpmf(int64_t y, int64_t K, const double* beta, int flags);
void halo_categorical_logit_lpmf_rev(int64_t y, int64_t K, const double* beta, int flags, double adj,
                                     double* beta_adj);
/* categorical(y | theta), theta a simplex (NaN when it is not one within 1e-8). */
double halo_categorical_lpmf(int64_t y, int64_t K, const double* theta, int flags);
void halo_categorical_lpmf_rev(int64_t y, int64_t K, const double* theta, int flags, double adj, double* theta_adj);
/* dirichlet(theta | alpha): flags VARY(0) theta, VARY(1) alpha. */
double halo_dirichlet_lpdf(int64_t K, const double* theta, const double* alpha, int flags);
void halo_dirichlet_lpdf_rev(int64_t K, const double* theta, const double* alpha, int flags, double adj,
                             double* theta_adj, double* alpha_adj);
/* multi_normal_cholesky(y | mu, L), L lower triangular K x K. VARY(0) y, (1) mu, (2) L.
 * work: K doubles (forward), 2K (reverse). */
double halo_multi_normal_cholesky_lpdf(int64_t K, const double* y, const double* mu, const double* L, int flags,
                                       double* work);
void halo_multi_normal_cholesky_lpdf_rev(int64_t K, const double* y, const double* mu, const double* L, int flags,
                                         double adj, double* y_adj, double* mu_adj, double* L_adj, double* work);
/* multi_normal(y | mu, Sigma) through the Cholesky factor of Sigma (its lower triangle is read);
 * NaN when Sigma is not positive definite. work: K*K + K (forward), 2*K*K + 2K (reverse). */
double halo_multi_normal_lpdf(int64_t K, const double* y, const double* mu, const double* Sigma, int flags,
                              double* work);
void halo_multi_normal_lpdf_rev(int64_t K, const double* y, const double* mu, const double* Sigma, int flags,
                                double adj, double* y_adj, double* mu_adj, double* Sigma_adj, double* work);
/* lkj_corr_cholesky(L | eta), L a K x K Cholesky factor of a correlation matrix. VARY(0) L, (1) eta. */
double halo_lkj_corr_cholesky_lpdf(int64_t K, const double* L, double eta, int flags);
void halo_lkj_corr_cholesky_lpdf_rev(int64_t K, const double* L, double eta, int flags, double adj, double* L_adj,
                                     double* eta_adj);
/* Halo's normal_mixture(y | logits, mu, sigma): log sum_k softmax(logits)_k normal(y | mu_k,
 * sigma_k) for ONE y and K components read with a stride (stride 1: contiguous vectors; stride
 * N: row n of column-major N x K matrices, pointers at element (n, 0)). VARY(0) y, (1) logits,
 * (2) mu, (3) sigma; propto drops only -0.5 log(2 pi). The _rev accumulates into the same
 * strided layout. */
double halo_normal_mixture_lpdf(double y, int64_t K, const double* logits, const double* mu, const double* sigma,
                                int64_t stride, int flags);
void halo_normal_mixture_lpdf_rev(double y, int64_t K, const double* logits, const double* mu, const double* sigma,
                                  int64_t stride, int flags, double adj, double* y_adj, double* logits_adj,
                                  double* mu_adj, double* sigma_adj);

/* -- linear algebra (column-major; a "lower" input uses only its lower triangle) -- */
/* y = alpha * op(A) * x + beta * y, A is m x n, op(A) = A (trans = 0) or A^T (trans = 1).
 * beta = 0 overwrites y (NaN in y is not propagated). */
void halo_gemv(int trans, int64_t m, int64_t n, double alpha, const double* A, const double* x, double beta,
               double* y);
/* Adjoint of gemv given y_adj: A_adj += alpha * (trans ? x y_adj^T : y_adj x^T),
 * x_adj += alpha * op(A)^T y_adj. */
void halo_gemv_rev(int trans, int64_t m, int64_t n, double alpha, const double* A, const double* x,
                   const double* y_adj, double* A_adj, double* x_adj);
/* C = alpha * op(A) * op(B) + beta * C; C is m x n, op(A) m x k, op(B) k x n (A stored k x m
 * when transA). beta = 0 overwrites C. Packs blocks on the stack (about 70 KiB). */
void halo_gemm(int transA, int transB, int64_t m, int64_t n, int64_t k, double alpha, const double* A,
               const double* B, double beta, double* C);
/* Adjoint of gemm given C_adj: A_adj += alpha * C_adj op(B)^T (transposed if transA),
 * B_adj += alpha * op(A)^T C_adj (transposed if transB). */
void halo_gemm_rev(int transA, int transB, int64_t m, int64_t n, int64_t k, double alpha, const double* A,
                   const double* B, const double* C_adj, double* A_adj, double* B_adj);

/* Cholesky factor L (lower, upper part zeroed) of the K x K matrix whose lower triangle is A.
 * Returns 0, or 1 when A is not positive definite (L is then all NaN). */
int halo_cholesky_decompose(int64_t K, const double* A, double* L);
/* Reverse (Murray 2016, "Differentiation of the Cholesky decomposition", arXiv:1602.07527,
 * the unblocked level-2 algorithm): A_adj (lower triangle) += the adjoint given L and L_adj.
 * work: K*K doubles. */
void halo_cholesky_decompose_rev(int64_t K, const double* L, const double* L_adj, double* A_adj, double* work);
/* X = L^-1 B (L lower K x K, B K x n). */
/* X = A^-1 B (K x K A, K x n B) by LU with partial pivoting; 1 (X all NaN) when A is singular.
 * work: K * K + K doubles; the reverse's: K * K + K + K * n. */
int halo_mdivide_left(int64_t K, int64_t n, const double* A, const double* B, double* X, double* work);
void halo_mdivide_left_rev(int64_t K, int64_t n, const double* A, const double* X, const double* X_adj, double* A_adj,
                           double* B_adj, double* work);
void halo_mdivide_left_tri_low(int64_t K, int64_t n, const double* L, const double* B, double* X);
/* work: K*n doubles. */
void halo_mdivide_left_tri_low_rev(int64_t K, int64_t n, const double* L, const double* X, const double* X_adj,
                                   double* L_adj, double* B_adj, double* work);
/* X = B L^-1 (B n x K, L lower K x K). */
void halo_mdivide_right_tri_low(int64_t n, int64_t K, const double* B, const double* L, double* X);
/* work: n*K doubles. */
void halo_mdivide_right_tri_low_rev(int64_t n, int64_t K, const double* L, const double* X, const double* X_adj,
                                    double* L_adj, double* B_adj, double* work);
/* log |det A| and det A of a general K x K matrix (LU with partial pivoting). work: K*K + K. */
double halo_log_determinant(int64_t K, const double* A, double* work);
double halo_determinant(int64_t K, const double* A, double* work);
/* A_adj += adj * d/dA: log_determinant -> adj A^-T; determinant -> adj det(A) A^-T. work: 2*K*K + K. */
void halo_log_determinant_rev(int64_t K, const double* A, double adj, double* A_adj, double* work);
void halo_determinant_rev(int64_t K, const double* A, double result, double adj, double* A_adj, double* work);
/* log det of a symmetric positive definite matrix (lower triangle read); NaN if not PD.
 * work: K*K (forward), 2*K*K (reverse). */
double halo_log_determinant_spd(int64_t K, const double* A, double* work);
void halo_log_determinant_spd_rev(int64_t K, const double* A, double adj, double* A_adj, double* work);
/* out = A^-1 (NaN when singular); returns 0 or 1 when singular. work: K*K + K. */
int halo_inverse(int64_t K, const double* A, double* out, double* work);
/* A_adj -= out^T out_adj out^T. work: K*K. */
void halo_inverse_rev(int64_t K, const double* out, const double* out_adj, double* A_adj, double* work);
/* out = L L^T for the lower trapezoid of L (m x n, entries above the diagonal ignored); out m x m. */
void halo_multiply_lower_tri_self_transpose(int64_t m, int64_t n, const double* L, double* out);
void halo_multiply_lower_tri_self_transpose_rev(int64_t m, int64_t n, const double* L, const double* out_adj,
                                                double* L_adj);
/* quad_form(A, B) = B^T A B (A K x K, B K x n, out n x n). work: K*n (forward), 2*K*n (reverse). */
void halo_quad_form(int64_t K, int64_t n, const double* A, const double* B, double* out, double* work);
void halo_quad_form_rev(int64_t K, int64_t n, const double* A, const double* B, const double* out_adj,
                        double* A_adj, double* B_adj, double* work);
/* quad_form(A, v) = v^T A v. */
double halo_quad_form_vec(int64_t K, const double* A, const double* v);
void halo_quad_form_vec_rev(int64_t K, const double* A, const double* v, double adj, double* A_adj, double* v_adj);
/* diag_pre_multiply(v, M) = diag(v) M and diag_post_multiply(M, v) = M diag(v); M is m x n. */
void halo_diag_pre_multiply(int64_t m, int64_t n, const double* v, const double* M, double* out);
void halo_diag_pre_multiply_rev(int64_t m, int64_t n, const double* v, const double* M, const double* out_adj,
                                double* v_adj, double* M_adj);
void halo_diag_post_multiply(int64_t m, int64_t n, const double* M, const double* v, double* out);
void halo_diag_post_multiply_rev(int64_t m, int64_t n, const double* M, const double* v, const double* out_adj,
                                 double* M_adj, double* v_adj);
/* Eigendecomposition of the symmetric K x K matrix whose lower triangle is A (cyclic Jacobi):
 * values ascending, unit eigenvectors as the columns of `vectors`, each with its largest
 * component positive. work: K*K. */
void halo_eigen_sym(int64_t K, const double* A, double* values, double* vectors, double* work);
/* A_adj (lower triangle) += the adjoint from values_adj and vectors_adj (either may be NULL).
 * work: 2*K*K. */
void halo_eigen_sym_rev(int64_t K, const double* values, const double* vectors, const double* values_adj,
                        const double* vectors_adj, double* A_adj, double* work);
/* gp_exp_quad_cov(x, alpha, rho): N points of dimension D (point i at x + i*D), out N x N with
 * out_ij = alpha^2 exp(-|x_i - x_j|^2 / (2 rho^2)). */
void halo_gp_exp_quad_cov(int64_t N, int64_t D, const double* x, double alpha, double rho, double* out);
/* Adds the adjoints of x (N*D; NULL when x is data), alpha and rho (either may be NULL). */
void halo_gp_exp_quad_cov_rev(int64_t N, int64_t D, const double* x, double alpha, double rho, const double* out,
                              const double* out_adj, double* x_adj, double* alpha_adj, double* rho_adj);
/* QR decomposition of the m x n matrix A by Householder reflections, with Stan's sign
 * convention (R's diagonal non-negative). Thin (k = min(m, n)): Q m x k, R k x n. Full: Q m x m,
 * R m x n. Either output may be NULL. work: m*n + m + n doubles. No reverse (data only). */
void halo_qr(int64_t m, int64_t n, const double* A, int thin, double* Q, double* R, double* work);

/* =============================================================================================
 * 4. Random numbers
 * =========================================================================================== */
/* xoshiro256++ (Blackman & Vigna 2021, "Scrambled linear pseudorandom number generators",
 * ACM TOMS 47(4); https://prng.di.unimi.it/xoshiro256plusplus.c). */
typedef struct halo_rng {
  uint64_t s[4];
} halo_rng;

/* State from splitmix64 (Steele, Lea & Flood 2014) of `seed`, xored with a second splitmix64
 * sequence keyed by `stream`: distinct (seed, stream) pairs give independent-looking
 * generators; use halo_rng_jump for provably disjoint subsequences. */
void halo_rng_seed(halo_rng* rng, uint64_t seed, uint64_t stream);
/* Advances by 2^128 draws (the published jump polynomial). */
void halo_rng_jump(halo_rng* rng);
uint64_t halo_rng_next(halo_rng* rng);
double halo_rng_uniform(halo_rng* rng);  /* in the open interval (0, 1), 2^-53 resolution */
double halo_rng_normal(halo_rng* rng);   /* inversion by AS241: one uniform per draw */

/* Scalar draws; the rng is always the last argument. Invalid parameters give NaN (reals) or
 * -1 (integers). */
double halo_normal_rng(double mu, double sigma, halo_rng* rng);
double halo_std_normal_rng(halo_rng* rng);
double halo_lognormal_rng(double mu, double sigma, halo_rng* rng);
double halo_cauchy_rng(double mu, double sigma, halo_rng* rng);
double halo_student_t_rng(double nu, double mu, double sigma, halo_rng* rng);
double halo_exponential_rng(double beta, halo_rng* rng);
double halo_gamma_rng(double alpha, double beta, halo_rng* rng);  /* Marsaglia & Tsang 2000 */
double halo_inv_gamma_rng(double alpha, double beta, halo_rng* rng);
double halo_beta_rng(double a, double b, halo_rng* rng);
double halo_beta_proportion_rng(double mu, double kappa, halo_rng* rng);
double halo_uniform_rng(double alpha, double beta, halo_rng* rng);
double halo_double_exponential_rng(double mu, double sigma, halo_rng* rng);
double halo_logistic_rng(double mu, double sigma, halo_rng* rng);
double halo_weibull_rng(double alpha, double sigma, halo_rng* rng);
double halo_frechet_rng(double alpha, double sigma, halo_rng* rng);
double halo_chi_square_rng(double nu, halo_rng* rng);
double halo_inv_chi_square_rng(double nu, halo_rng* rng);
double halo_scaled_inv_chi_square_rng(double nu, double s, halo_rng* rng);
double halo_skew_normal_rng(double xi, double omega, double alpha, halo_rng* rng);
double halo_exp_mod_normal_rng(double mu, double sigma, double lambda, halo_rng* rng);
double halo_gumbel_rng(double mu, double beta, halo_rng* rng);
double halo_pareto_rng(double y_min, double alpha, halo_rng* rng);
double halo_pareto_type_2_rng(double mu, double lambda, double alpha, halo_rng* rng);
double halo_rayleigh_rng(double sigma, halo_rng* rng);
double halo_von_mises_rng(double mu, double kappa, halo_rng* rng);  /* Best & Fisher 1979 */
int64_t halo_bernoulli_rng(double theta, halo_rng* rng);
int64_t halo_bernoulli_logit_rng(double alpha, halo_rng* rng);
int64_t halo_binomial_rng(int64_t N, double theta, halo_rng* rng);  /* inversion / BTRS */
int64_t halo_binomial_logit_rng(int64_t N, double alpha, halo_rng* rng);
int64_t halo_beta_binomial_rng(int64_t N, double a, double b, halo_rng* rng);
int64_t halo_poisson_rng(double lambda, halo_rng* rng);  /* inversion / PTRS (Hoermann 1993) */
int64_t halo_poisson_log_rng(double alpha, halo_rng* rng);
int64_t halo_neg_binomial_rng(double alpha, double beta, halo_rng* rng);
int64_t halo_neg_binomial_2_rng(double mu, double phi, halo_rng* rng);
int64_t halo_neg_binomial_2_log_rng(double eta, double phi, halo_rng* rng);
int64_t halo_discrete_range_rng(int64_t lower, int64_t upper, halo_rng* rng);  /* INT64_MIN if lower > upper */
/* Container draws. categorical: 1-based; theta must be a simplex (within 1e-8). */
int64_t halo_categorical_rng(int64_t K, const double* theta, halo_rng* rng);
int64_t halo_categorical_logit_rng(int64_t K, const double* beta, halo_rng* rng);
void halo_dirichlet_rng(int64_t K, const double* alpha, double* out, halo_rng* rng);
void halo_multi_normal_cholesky_rng(int64_t K, const double* mu, const double* L, double* out, halo_rng* rng);
/* work: K*K + K. */
void halo_multi_normal_rng(int64_t K, const double* mu, const double* Sigma, double* out, double* work,
                           halo_rng* rng);
/* Stan's algorithm: partial correlations ~ 2 Beta(a, a) - 1 (onion/C-vine), then the factor.
 * work: K*K. */
void halo_lkj_corr_cholesky_rng(int64_t K, double eta, double* L, double* work, halo_rng* rng);

/* =============================================================================================
 * 5. Constraining transforms (Stan Reference Manual, "Constraint Transforms" chapter)
 *
 *   double halo_<c>_constrain(unconstrained..., bounds..., double* x)  writes the value(s),
 *          returns log |det J| of the transform (Stan's Jacobian adjustment);
 *   void   halo_<c>_constrain_rev(..., x_adj, lj_adj, u_adj...)  accumulates into the adjoint of
 *          the unconstrained input (and of real bounds) given the adjoints of the value and of
 *          the log-Jacobian;
 *   int    halo_<c>_unconstrain(value..., bounds..., double* u)  returns 0, or
 *          HALO_TRANSFORM_INVALID when the value is outside the constraint (u is then NaN).
 * Infinite bounds reduce to the one-sided or identity transform, as in Stan.
 * =========================================================================================== */
#define HALO_TRANSFORM_OK 0
#define HALO_TRANSFORM_INVALID 1
#define HALO_CONSTRAINT_TOLERANCE 1e-8

/* lower bound: x = lb + exp(u), log J = u. */
double halo_lower_constrain(double u, double lb, double* x);
void halo_lower_constrain_rev(double u, double lb, double x_adj, double lj_adj, double* u_adj, double* lb_adj);
int halo_lower_unconstrain(double x, double lb, double* u);
/* upper bound: x = ub - exp(u), log J = u. */
double halo_upper_constrain(double u, double ub, double* x);
void halo_upper_constrain_rev(double u, double ub, double x_adj, double lj_adj, double* u_adj, double* ub_adj);
int halo_upper_unconstrain(double x, double ub, double* u);
/* lower and upper: x = lb + (ub - lb) inv_logit(u), log J = log(ub - lb) + log_inv_logit(u)
 * + log1m_inv_logit(u). */
double halo_lower_upper_constrain(double u, double lb, double ub, double* x);
void halo_lower_upper_constrain_rev(double u, double lb, double ub, double x_adj, double lj_adj, double* u_adj,
                                    double* lb_adj, double* ub_adj);
int halo_lower_upper_unconstrain(double x, double lb, double ub, double* u);
/* offset and multiplier: x = offset + multiplier * u, log J = log(multiplier). */
double halo_offset_multiplier_constrain(double u, double offset, double multiplier, double* x);
void halo_offset_multiplier_constrain_rev(double u, double offset, double multiplier, double x_adj, double lj_adj,
                                          double* u_adj, double* offset_adj, double* multiplier_adj);
int halo_offset_multiplier_unconstrain(double x, double offset, double multiplier, double* u);

/* simplex[K] from K-1 unconstrained values: Stan's stick-breaking transform (Reference Manual,
 * "Unit simplex"): z_k = inv_logit(u_k - log(K - k)), x_k = (1 - sum_{j<k} x_j) z_k. */
double halo_simplex_constrain(int64_t K, const double* u, double* x);
void halo_simplex_constrain_rev(int64_t K, const double* u, const double* x, const double* x_adj, double lj_adj,
                                double* u_adj);
int halo_simplex_unconstrain(int64_t K, const double* x, double* u);
/* ordered[K]: x_1 = u_1, x_k = x_{k-1} + exp(u_k); log J = sum_{k>1} u_k. */
double halo_ordered_constrain(int64_t K, const double* u, double* x);
void halo_ordered_constrain_rev(int64_t K, const double* u, const double* x, const double* x_adj, double lj_adj,
                                double* u_adj);
int halo_ordered_unconstrain(int64_t K, const double* x, double* u);
/* positive_ordered[K]: x_1 = exp(u_1), x_k = x_{k-1} + exp(u_k); log J = sum_k u_k. */
double halo_positive_ordered_constrain(int64_t K, const double* u, double* x);
void halo_positive_ordered_constrain_rev(int64_t K, const double* u, const double* x, const double* x_adj,
                                         double lj_adj, double* u_adj);
int halo_positive_ordered_unconstrain(int64_t K, const double* x, double* u);
/* unit_vector[K] from K values: x = u / |u|; "log J" = -0.5 u.u (Stan's adjustment, which makes
 * |u| proper). The inverse is u = x. */
double halo_unit_vector_constrain(int64_t K, const double* u, double* x);
void halo_unit_vector_constrain_rev(int64_t K, const double* u, const double* x, const double* x_adj, double lj_adj,
                                    double* u_adj);
int halo_unit_vector_unconstrain(int64_t K, const double* x, double* u);
/* sum_to_zero_vector[N] from N-1 values: Stan 2.36's isometric log-ratio basis (an isometry onto
 * the zero-sum subspace, log J = 0). */
double halo_sum_to_zero_constrain(int64_t N, const double* u, double* x);
void halo_sum_to_zero_constrain_rev(int64_t N, const double* u, const double* x, const double* x_adj, double lj_adj,
                                    double* u_adj);
int halo_sum_to_zero_unconstrain(int64_t N, const double* x, double* u);
/* cholesky_factor_corr[K] from K(K-1)/2 values (row-major over the strict lower triangle):
 * tanh to canonical partial correlations, then rows of unit norm. */
double halo_cholesky_factor_corr_constrain(int64_t K, const double* u, double* L);
void halo_cholesky_factor_corr_constrain_rev(int64_t K, const double* u, const double* L, const double* L_adj,
                                             double lj_adj, double* u_adj);
int halo_cholesky_factor_corr_unconstrain(int64_t K, const double* L, double* u);
/* cholesky_factor_cov[M, N] (M >= N) from N(N+1)/2 + (M-N)N values, row-major over the lower
 * trapezoid, diagonal through exp; log J = sum of the diagonal's unconstrained values. */
double halo_cholesky_factor_cov_constrain(int64_t M, int64_t N, const double* u, double* L);
void halo_cholesky_factor_cov_constrain_rev(int64_t M, int64_t N, const double* u, const double* L,
                                            const double* L_adj, double lj_adj, double* u_adj);
int halo_cholesky_factor_cov_unconstrain(int64_t M, int64_t N, const double* L, double* u);
/* corr_matrix[K] from K(K-1)/2 values (column-major over the strict lower triangle of the
 * canonical partial correlations, as Stan's read_corr_L). work: K*K (forward and reverse
 * alike: the factor is recomputed), K*K for unconstrain. */
double halo_corr_matrix_constrain(int64_t K, const double* u, double* Omega, double* work);
void halo_corr_matrix_constrain_rev(int64_t K, const double* u, const double* Omega_adj, double lj_adj,
                                    double* u_adj, double* work);
int halo_corr_matrix_unconstrain(int64_t K, const double* Omega, double* u, double* work);
/* cov_matrix[K] from K + K(K-1)/2 values: Sigma = L L^T, L lower with exp on the diagonal
 * (row-major over the lower triangle). work: K*K (forward and reverse), K*K for unconstrain. */
double halo_cov_matrix_constrain(int64_t K, const double* u, double* Sigma, double* work);
void halo_cov_matrix_constrain_rev(int64_t K, const double* u, const double* Sigma_adj, double lj_adj,
                                   double* u_adj, double* work);
int halo_cov_matrix_unconstrain(int64_t K, const double* Sigma, double* u, double* work);

#undef HALO_UNARY
#undef HALO_BINARY
#undef HALO_TERNARY
#undef HALO_CDFS

#ifdef __cplusplus
}
#endif
#endif
