/* Linked with the stdlib bitcode and optimised like a model (tests/stdlib/check_inlining.cmake):
 * the kernels must inline, HALO_PROPTO must fold the dropped terms away when the flags are
 * constant, and an elementwise loop over a distribution must vectorise. */
#include <stdint.h>

#include "halo/stdlib.h"

/* Only mu varies: the constant and -log(sigma) are dropped, so no log remains. */
double lp_mu_only(double y, double mu, double sigma) {
  double d[3];
  return halo_normal_lpdf(y, mu, sigma, HALO_PROPTO | HALO_VARY(1), d);
}

/* Full density: -log(sigma) stays. */
double lp_full(double y, double mu, double sigma) {
  double d[3];
  return halo_normal_lpdf(y, mu, sigma, 0, d);
}

/* An elementwise map with its partial w.r.t. mu (the shape of a generated map body). */
void map_normal(int64_t n, const double* restrict y, double mu, double sigma, double* restrict lp,
                double* restrict dmu) {
  for (int64_t i = 0; i < n; ++i) {
    double d[3];
    lp[i] = halo_normal_lpdf(y[i], mu, sigma, HALO_PROPTO | HALO_VARY(1), d);
    dmu[i] = d[1];
  }
}

/* Scalar math with its derivative in a loop. */
void map_inv_logit(int64_t n, const double* restrict x, double* restrict out, double* restrict grad) {
  for (int64_t i = 0; i < n; ++i) {
    double r = halo_inv_logit(x[i]);
    out[i] = r;
    halo_inv_logit_grad(x[i], r, &grad[i]);
  }
}

/* A softplus activation with its derivative (the forward map of a network layer under AD): the
 * polynomial exp and log1p must inline and vectorise. */
void map_log1p_exp(int64_t n, const double* restrict x, double* restrict out, double* restrict grad) {
  for (int64_t i = 0; i < n; ++i) {
    double r = halo_log1p_exp(x[i]);
    out[i] = r;
    halo_log1p_exp_grad(x[i], r, &grad[i]);
  }
}

/* Another caller of the shared log1p_exp helper, as a model has (several functions of the
 * logistic family): the helper must still inline into the softplus loop above. */
double lp_log_inv_logit(double x) { return halo_log_inv_logit(x) + halo_log1m_inv_logit(x); }
