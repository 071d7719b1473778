// Stand-ins for the stdlib kernels the test models call, exported from the test executable
// (stdlib_stand_ins.list). While haloc does not yet embed the stdlib bitcode, a model library
// leaves these undefined and the loader binds them here; once it does, the model carries its
// own (internal) copies and these go unused. Semantics follow stdlib/include/halo/stdlib.h.
#include <cmath>
#include <cstdint>

#include "model/rng.h"

extern "C" {
double halo_exp(double x) { return std::exp(x); }
void halo_exp_grad(double, double result, double* d) { *d = result; }
double halo_log(double x) { return std::log(x); }
void halo_log_grad(double x, double, double* d) { *d = 1.0 / x; }
double halo_inv_logit(double x) { return 1.0 / (1.0 + std::exp(-x)); }
void halo_inv_logit_grad(double, double r, double* d) { *d = r * (1 - r); }
double halo_logit(double x) { return std::log(x / (1 - x)); }
void halo_logit_grad(double x, double, double* d) { *d = 1.0 / (x * (1 - x)); }
double halo_log_inv_logit(double x) { return -std::log1p(std::exp(-x)); }
void halo_log_inv_logit_grad(double x, double, double* d) { *d = 1.0 / (1.0 + std::exp(x)); }
double halo_log1m_inv_logit(double x) { return -std::log1p(std::exp(x)); }
void halo_log1m_inv_logit_grad(double x, double, double* d) { *d = -1.0 / (1.0 + std::exp(-x)); }

// normal_lpdf(y | mu, sigma): bit 0 of flags (HALO_PROPTO) drops -log(sqrt(2 pi)) and, when
// sigma does not vary (HALO_VARY(2) = bit 3 clear), -log(sigma), as Stan's propto does.
double halo_normal_lpdf(double y, double mu, double sigma, int flags, double* d) {
  double z = (y - mu) / sigma;
  d[0] = -z / sigma;
  d[1] = z / sigma;
  d[2] = (z * z - 1.0) / sigma;
  bool propto = (flags & 1) != 0;
  bool sigma_varies = (flags & (1 << 3)) != 0;
  double lp = -0.5 * z * z;
  if (!propto || sigma_varies) lp -= std::log(sigma);
  if (!propto) lp -= 0.9189385332046727;  // log(sqrt(2 pi))
  return lp;
}

// Box-Muller from two draws of the generator passed in (halo_rng's layout is ModelRng's).
double halo_normal_rng(double mu, double sigma, halo::model::ModelRng* rng) {
  auto uniform = [&] { return (static_cast<double>(halo::model::rng_next(*rng) >> 11) + 0.5) * 0x1.0p-53; };
  double u1 = uniform(), u2 = uniform();
  return mu + sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}
}
