// Cumulative distribution functions: values against Boost.Math, the three forms against each
// other (exp(lcdf) = cdf, lcdf and lccdf complementary), the y-partial against the density,
// and every partial of every form against finite differences at 100 random points per family.
#include <boost/math/distributions.hpp>

#include "check.h"

using namespace halo_test;
using V = std::vector<double>;

namespace {

using CdfFn = std::function<double(const V&, int, double*)>;  // form: 0 cdf, 1 lcdf, 2 lccdf

struct CdfFamily {
  std::string name;
  std::vector<bool> is_int;
  CdfFn fn;
  std::function<double(const V&)> log_density;  // continuous families: lpdf at the point
  std::function<V(Draw&)> sample;
  std::function<V(const V&)> steps;
  std::function<double(const V&)> boost_cdf;   // optional
  std::function<double(const V&)> boost_ccdf;  // optional
};

#define HALO_CDF_FORMS(dist, CALL)                                       \
  [](const V& x, int form, double* d) {                                  \
    return form == 0 ? halo_##dist##_cdf CALL                            \
                     : form == 1 ? halo_##dist##_lcdf CALL : halo_##dist##_lccdf CALL; \
  }
int64_t i64(double x) { return static_cast<int64_t>(x); }

void check_cdf_family(const CdfFamily& f, uint64_t seed, int points = 100) {
  Draw dr(seed);
  const int nargs = static_cast<int>(f.is_int.size());
  int good = 0;
  for (int p = 0; p < points; ++p) {
    V x = f.sample(dr);
    bool ok = true;
    double dc[4], dl[4], ds[4];
    const double F = f.fn(x, 0, dc), lF = f.fn(x, 1, dl), lS = f.fn(x, 2, ds);
    if (!(std::isfinite(lF) && std::isfinite(lS) && lF <= 0.0 && lS <= 0.0)) {
      FAIL_CHECK(f.name << " at " << show(x) << ": lcdf " << lF << ", lccdf " << lS);
      continue;
    }
    // The forms agree, and lcdf and lccdf are complementary: log(e^lF + e^lS) = 0.
    if (!close_rel(F, std::exp(lF), 1e-13, 1e-300)) {
      FAIL_CHECK(f.name << " cdf " << F << " vs exp(lcdf) " << std::exp(lF) << " at " << show(x));
      ok = false;
    }
    const double m = std::fmax(lF, lS);
    const double total = m + std::log(std::exp(lF - m) + std::exp(lS - m));
    if (!(std::fabs(total) < 1e-12)) {
      FAIL_CHECK(f.name << " lcdf and lccdf not complementary at " << show(x) << ": " << lF << ", " << lS);
      ok = false;
    }
    // Against Boost where its cdf is representable.
    if (f.boost_cdf) {
      const double b = f.boost_cdf(x), bc = f.boost_ccdf(x);
      if (b > 1e-300 && !close_rel(lF, std::log(b), 1e-9, 1e-12)) {
        FAIL_CHECK(f.name << " lcdf " << lF << " vs Boost " << std::log(b) << " at " << show(x));
        ok = false;
      }
      if (bc > 1e-300 && !close_rel(lS, std::log(bc), 1e-9, 1e-12)) {
        FAIL_CHECK(f.name << " lccdf " << lS << " vs Boost " << std::log(bc) << " at " << show(x));
        ok = false;
      }
    }
    // d cdf / dy is the density.
    if (f.log_density) {
      const double dens = std::exp(f.log_density(x));
      if (!close_rel(dc[0], dens, 1e-8, 1e-300)) {
        FAIL_CHECK(f.name << " d cdf/dy " << dc[0] << " vs density " << dens << " at " << show(x));
        ok = false;
      }
    }
    // Every form's partials by finite differences.
    V steps = f.steps(x);
    for (int a = 0; a < nargs; ++a)
      if (f.is_int[a]) steps[a] = 0.0;
    const double* parts[3] = {dc, dl, ds};
    const char* forms[3] = {"_cdf", "_lcdf", "_lccdf"};
    for (int form = 0; form < 3; ++form) {
      V grad(nargs, 0.0);
      for (int a = 0, k = 0; a < nargs; ++a)
        if (!f.is_int[a]) grad[a] = parts[form][k++];
      Fn g = [&f, form](const V& v) {
        double dd[4];
        return f.fn(v, form, dd);
      };
      // The incomplete gamma and beta functions are accurate to ~1e-12 relative rather than
      // 1e-15: a rounding floor 1000 times |f| for the difference quotients.
      ok = check_gradient(f.name + forms[form], g, x, grad, steps, 1e-6, 1e3 * std::fabs(g(x))) && ok;
    }
    good += ok ? 1 : 0;
  }
  CHECK_MESSAGE(good == points, f.name);
}

std::vector<CdfFamily> families() {
  namespace bm = boost::math;
  std::vector<CdfFamily> fs;
  // Location-scale families: y around mu, within a few scales or in a tail.
  const auto ls = [](Draw& d, double tail) {
    double mu = d.real(5, 1e3), sigma = d.positive(1e-3, 1e3);
    double z = d.chance(0.8) ? d.uniform(-4, 4) : d.sign() * d.log_uniform(4, tail);
    return V{mu + sigma * z, mu, sigma};
  };
  const auto ls_steps = [](const V& x) {
    // the log cdf varies on the scale sigma / max(1, |z|) in the tails
    double s = x[2] / std::fmax(1.0, std::fabs((x[0] - x[1]) / x[2]));
    return V{0.05 * s, 0.05 * s, 0.05 * s};
  };
  const auto pos = [](double x) { return step_for(x, 0.0); };
  fs.push_back({"normal", {false, false, false}, HALO_CDF_FORMS(normal, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_normal_lpdf(x[0], x[1], x[2], 0, d); },
                [ls](Draw& d) { return ls(d, 30); }, ls_steps,
                [](const V& x) { return bm::cdf(bm::normal(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::normal(x[1], x[2]), x[0])); }});
  fs.push_back({"std_normal", {false}, HALO_CDF_FORMS(std_normal, (x[0], 0, d)),
                [](const V& x) { double d[1]; return halo_std_normal_lpdf(x[0], 0, d); },
                [](Draw& d) { return V{d.chance(0.8) ? d.uniform(-4, 4) : d.sign() * d.log_uniform(4, 37)}; },
                [](const V& x) { return V{0.05 / std::fmax(1.0, std::fabs(x[0]))}; },
                [](const V& x) { return bm::cdf(bm::normal(), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::normal(), x[0])); }});
  fs.push_back({"lognormal", {false, false, false}, HALO_CDF_FORMS(lognormal, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_lognormal_lpdf(x[0], x[1], x[2], 0, d); },
                [](Draw& d) {
                  double mu = d.real(3, 20), sigma = d.positive(1e-2, 5);
                  return V{std::exp(mu + sigma * d.uniform(-6, 6)), mu, sigma};
                },
                [](const V& x) {
                  double s = std::fmin(x[2], 1.0 / std::fmax(1.0, std::fabs((std::log(x[0]) - x[1]) / x[2])));
                  return V{0.05 * s * x[0], 0.05 * s, 0.05 * s};
                },
                [](const V& x) { return bm::cdf(bm::lognormal(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::lognormal(x[1], x[2]), x[0])); }});
  fs.push_back({"cauchy", {false, false, false}, HALO_CDF_FORMS(cauchy, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_cauchy_lpdf(x[0], x[1], x[2], 0, d); },
                [ls](Draw& d) { return ls(d, 1e12); },
                [](const V& x) {
                  double s = x[2] * std::fmax(1.0, std::fabs((x[0] - x[1]) / x[2]));
                  return V{0.05 * s, 0.05 * s, 0.05 * x[2]};
                },
                [](const V& x) { return bm::cdf(bm::cauchy(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::cauchy(x[1], x[2]), x[0])); }});
  fs.push_back({"student_t", {false, false, false, false}, HALO_CDF_FORMS(student_t, (x[0], x[1], x[2], x[3], 0, d)),
                [](const V& x) { double d[4]; return halo_student_t_lpdf(x[0], x[1], x[2], x[3], 0, d); },
                [](Draw& d) {
                  double nu = d.positive(0.1, 1e4), mu = d.real(5, 1e3), sigma = d.positive(1e-3, 1e3);
                  double z = d.chance(0.8) ? d.uniform(-4, 4) : d.sign() * d.log_uniform(4, 1e3);
                  return V{mu + sigma * z, nu, mu, sigma};
                },
                [](const V& x) {
                  double s = x[3] * std::fmin(1.0, std::fmax(1.0, std::fabs((x[0] - x[2]) / x[3])) / 10.0 + 0.1);
                  return V{0.05 * s, step_for(x[1], 0.0) * 0.5, 0.05 * s, 0.05 * x[3]};
                },
                [](const V& x) { return bm::cdf(bm::students_t(x[1]), (x[0] - x[2]) / x[3]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::students_t(x[1]), (x[0] - x[2]) / x[3])); }});
  fs.push_back({"exponential", {false, false}, HALO_CDF_FORMS(exponential, (x[0], x[1], 0, d)),
                [](const V& x) { double d[2]; return halo_exponential_lpdf(x[0], x[1], 0, d); },
                [](Draw& d) {
                  double beta = d.positive(1e-3, 1e3);
                  return V{d.positive(1e-6, 500) / beta, beta};
                },
                [pos](const V& x) { return V{pos(x[0]), pos(x[1])}; },
                [](const V& x) { return bm::cdf(bm::exponential(x[1]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::exponential(x[1]), x[0])); }});
  const auto gamma_sample = [](Draw& d) {
    double alpha = d.positive(1e-2, 1e3), beta = d.positive(1e-3, 1e3);
    double m = alpha / beta, sd = std::sqrt(alpha) / beta;
    double y = d.chance(0.5) ? m + sd * d.uniform(-3, 6) : m * d.log_uniform(1e-4, 30);
    return V{std::fmax(y, m * 1e-6), alpha, beta};
  };
  const auto pos3 = [pos](const V& x) { return V{0.5 * pos(x[0]), 0.5 * pos(x[1]), 0.5 * pos(x[2])}; };
  fs.push_back({"gamma", {false, false, false}, HALO_CDF_FORMS(gamma, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_gamma_lpdf(x[0], x[1], x[2], 0, d); }, gamma_sample, pos3,
                [](const V& x) { return bm::cdf(bm::gamma_distribution<>(x[1], 1 / x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::gamma_distribution<>(x[1], 1 / x[2]), x[0])); }});
  fs.push_back({"inv_gamma", {false, false, false}, HALO_CDF_FORMS(inv_gamma, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_inv_gamma_lpdf(x[0], x[1], x[2], 0, d); },
                [gamma_sample](Draw& d) {
                  V g = gamma_sample(d);
                  return V{1.0 / g[0], g[1], g[2]};
                },
                pos3, [](const V& x) { return bm::cdf(bm::inverse_gamma(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::inverse_gamma(x[1], x[2]), x[0])); }});
  fs.push_back({"chi_square", {false, false}, HALO_CDF_FORMS(chi_square, (x[0], x[1], 0, d)),
                [](const V& x) { double d[2]; return halo_chi_square_lpdf(x[0], x[1], 0, d); },
                [gamma_sample](Draw& d) {
                  V g = gamma_sample(d);
                  return V{g[0] * 2 * g[2], 2 * g[1]};
                },
                [pos](const V& x) { return V{0.5 * pos(x[0]), 0.5 * pos(x[1])}; },
                [](const V& x) { return bm::cdf(bm::chi_squared(x[1]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::chi_squared(x[1]), x[0])); }});
  fs.push_back({"inv_chi_square", {false, false}, HALO_CDF_FORMS(inv_chi_square, (x[0], x[1], 0, d)),
                [](const V& x) { double d[2]; return halo_inv_chi_square_lpdf(x[0], x[1], 0, d); },
                [gamma_sample](Draw& d) {
                  V g = gamma_sample(d);
                  return V{1.0 / (g[0] * 2 * g[2]), 2 * g[1]};
                },
                [pos](const V& x) { return V{0.5 * pos(x[0]), 0.5 * pos(x[1])}; },
                [](const V& x) { return bm::cdf(bm::inverse_chi_squared(x[1]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::inverse_chi_squared(x[1]), x[0])); }});
  fs.push_back({"scaled_inv_chi_square", {false, false, false},
                HALO_CDF_FORMS(scaled_inv_chi_square, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_scaled_inv_chi_square_lpdf(x[0], x[1], x[2], 0, d); },
                [gamma_sample](Draw& d) {
                  V g = gamma_sample(d);
                  double nu = 2 * g[1], s = d.positive(1e-2, 1e2);
                  return V{nu * s * s / (g[0] * 2 * g[2]), nu, s};
                },
                pos3, [](const V& x) { return bm::cdf(bm::inverse_chi_squared(x[1], x[2] * x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::inverse_chi_squared(x[1], x[2] * x[2]), x[0])); }});
  const auto beta_sample = [](Draw& d) { return V{d.unit(), d.positive(1e-2, 1e3), d.positive(1e-2, 1e3)}; };
  const auto beta_steps = [pos](const V& x) {
    return V{0.5 * step_for(x[0], 0.0, 1.0), 0.5 * pos(x[1]), 0.5 * pos(x[2])};
  };
  fs.push_back({"beta", {false, false, false}, HALO_CDF_FORMS(beta, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_beta_lpdf(x[0], x[1], x[2], 0, d); }, beta_sample, beta_steps,
                [](const V& x) { return bm::cdf(bm::beta_distribution<>(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::beta_distribution<>(x[1], x[2]), x[0])); }});
  fs.push_back({"beta_proportion", {false, false, false}, HALO_CDF_FORMS(beta_proportion, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_beta_proportion_lpdf(x[0], x[1], x[2], 0, d); },
                [](Draw& d) { return V{d.unit(), d.uniform(0.05, 0.95), d.positive(0.1, 1e3)}; },
                [pos](const V& x) {
                  return V{0.5 * step_for(x[0], 0.0, 1.0), 0.5 * step_for(x[1], 0.0, 1.0), 0.5 * pos(x[2])};
                },
                [](const V& x) { return bm::cdf(bm::beta_distribution<>(x[1] * x[2], (1 - x[1]) * x[2]), x[0]); },
                [](const V& x) {
                  return bm::cdf(bm::complement(bm::beta_distribution<>(x[1] * x[2], (1 - x[1]) * x[2]), x[0]));
                }});
  fs.push_back({"uniform", {false, false, false}, HALO_CDF_FORMS(uniform, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_uniform_lpdf(x[0], x[1], x[2], 0, d); },
                [](Draw& d) {
                  double a = d.real(5, 1e3), w = d.positive(1e-3, 1e3);
                  return V{a + w * d.unit(), a, a + w};
                },
                [](const V& x) {
                  double h = 0.25 * std::fmin(x[0] - x[1], x[2] - x[0]);
                  return V{h, h, h};
                },
                [](const V& x) { return bm::cdf(bm::uniform(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::uniform(x[1], x[2]), x[0])); }});
  fs.push_back({"double_exponential", {false, false, false},
                HALO_CDF_FORMS(double_exponential, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_double_exponential_lpdf(x[0], x[1], x[2], 0, d); },
                [ls](Draw& d) { return ls(d, 600); },
                [](const V& x) {
                  double h = std::fmin(0.05 * x[2], 0.25 * std::fabs(x[0] - x[1]));
                  return V{h, h, 0.05 * x[2]};
                },
                [](const V& x) { return bm::cdf(bm::laplace(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::laplace(x[1], x[2]), x[0])); }});
  fs.push_back({"logistic", {false, false, false}, HALO_CDF_FORMS(logistic, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_logistic_lpdf(x[0], x[1], x[2], 0, d); },
                [ls](Draw& d) { return ls(d, 600); }, [](const V& x) { return V{0.05 * x[2], 0.05 * x[2], 0.05 * x[2]}; },
                [](const V& x) { return bm::cdf(bm::logistic(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::logistic(x[1], x[2]), x[0])); }});
  const auto weibull_steps = [pos](const V& x) {
    return V{std::fmin(0.5 * pos(x[0]), 0.05 * x[0] / x[1]),
             std::fmin(0.5 * pos(x[1]), 0.05 / std::fmax(1.0, std::fabs(std::log(x[0] / x[2])))),
             std::fmin(0.5 * pos(x[2]), 0.05 * x[2] / x[1])};
  };
  fs.push_back({"weibull", {false, false, false}, HALO_CDF_FORMS(weibull, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_weibull_lpdf(x[0], x[1], x[2], 0, d); },
                [](Draw& d) {
                  double alpha = d.positive(0.1, 20), sigma = d.positive(1e-3, 1e3);
                  return V{sigma * std::pow(d.positive(1e-6, 50), 1 / alpha), alpha, sigma};
                },
                weibull_steps, [](const V& x) { return bm::cdf(bm::weibull(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::weibull(x[1], x[2]), x[0])); }});
  fs.push_back({"frechet", {false, false, false}, HALO_CDF_FORMS(frechet, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_frechet_lpdf(x[0], x[1], x[2], 0, d); },
                [](Draw& d) {
                  double alpha = d.positive(0.1, 20), sigma = d.positive(1e-3, 1e3);
                  return V{sigma * std::pow(d.positive(1e-6, 50), -1 / alpha), alpha, sigma};
                },
                weibull_steps, [](const V& x) { return std::exp(-std::pow(x[2] / x[0], x[1])); },
                [](const V& x) { return -std::expm1(-std::pow(x[2] / x[0], x[1])); }});
  fs.push_back({"gumbel", {false, false, false}, HALO_CDF_FORMS(gumbel, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_gumbel_lpdf(x[0], x[1], x[2], 0, d); },
                [](Draw& d) {
                  double mu = d.real(5, 1e3), beta = d.positive(1e-3, 1e3);
                  return V{mu + beta * d.uniform(-3.5, 40), mu, beta};
                },
                [](const V& x) { return V{0.05 * x[2], 0.05 * x[2], 0.05 * x[2]}; },
                [](const V& x) { return bm::cdf(bm::extreme_value(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::extreme_value(x[1], x[2]), x[0])); }});
  fs.push_back({"pareto", {false, false, false}, HALO_CDF_FORMS(pareto, (x[0], x[1], x[2], 0, d)),
                [](const V& x) { double d[3]; return halo_pareto_lpdf(x[0], x[1], x[2], 0, d); },
                [](Draw& d) {
                  double ymin = d.positive(1e-3, 1e3), alpha = d.positive(1e-2, 1e2);
                  return V{ymin * (1 + d.positive(1e-6, 1e4)), ymin, alpha};
                },
                [](const V& x) {
                  double gap = x[0] - x[1];
                  return V{std::fmin(0.25 * gap, 0.05 * x[0]), std::fmin(0.25 * gap, 0.05 * x[1]), 0.05 * x[2]};
                },
                [](const V& x) { return bm::cdf(bm::pareto(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::pareto(x[1], x[2]), x[0])); }});
  fs.push_back({"pareto_type_2", {false, false, false, false},
                HALO_CDF_FORMS(pareto_type_2, (x[0], x[1], x[2], x[3], 0, d)),
                [](const V& x) { double d[4]; return halo_pareto_type_2_lpdf(x[0], x[1], x[2], x[3], 0, d); },
                [](Draw& d) {
                  double mu = d.real(5, 1e3), lambda = d.positive(1e-3, 1e3), alpha = d.positive(1e-2, 1e2);
                  return V{mu + lambda * d.positive(1e-6, 1e4), mu, lambda, alpha};
                },
                [](const V& x) {
                  double gap = x[0] - x[1], h = std::fmin(0.25 * gap, 0.05 * (x[2] + gap));
                  return V{h, h, 0.05 * x[2], 0.05 * x[3]};
                },
                [](const V& x) { return -std::expm1(-x[3] * std::log1p((x[0] - x[1]) / x[2])); },
                [](const V& x) { return std::exp(-x[3] * std::log1p((x[0] - x[1]) / x[2])); }});
  fs.push_back({"rayleigh", {false, false}, HALO_CDF_FORMS(rayleigh, (x[0], x[1], 0, d)),
                [](const V& x) { double d[2]; return halo_rayleigh_lpdf(x[0], x[1], 0, d); },
                [](Draw& d) {
                  double sigma = d.positive(1e-3, 1e3);
                  return V{sigma * d.positive(1e-4, 35), sigma};
                },
                [](const V& x) { return V{0.05 * std::fmin(x[0], x[1]), 0.05 * x[1]}; },
                [](const V& x) { return bm::cdf(bm::rayleigh(x[1]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::rayleigh(x[1]), x[0])); }});
  fs.push_back({"skew_normal", {false, false, false, false},
                HALO_CDF_FORMS(skew_normal, (x[0], x[1], x[2], x[3], 0, d)),
                [](const V& x) { double d[4]; return halo_skew_normal_lpdf(x[0], x[1], x[2], x[3], 0, d); },
                [](Draw& d) {
                  // F = Phi(z) - 2 T(z, alpha) cancels where F or 1 - F is tiny (as Stan's): the
                  // test stays where both are above 1e-6.
                  for (;;) {
                    double xi = d.real(5, 1e3), omega = d.positive(1e-2, 1e2), alpha = d.real(3, 10);
                    V x{xi + omega * d.uniform(-3, 3), xi, omega, alpha};
                    double dd[4];
                    double f = halo_skew_normal_cdf(x[0], x[1], x[2], x[3], 0, dd);
                    if (f > 1e-6 && f < 1 - 1e-6) return x;
                  }
                },
                [](const V& x) {
                  double s = 0.05 * x[2] / std::fmax(1.0, std::fabs(x[3]));
                  return V{s, s, s, 0.05};
                },
                [](const V& x) { return bm::cdf(bm::skew_normal(x[1], x[2], x[3]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::skew_normal(x[1], x[2], x[3]), x[0])); }});
  fs.push_back({"exp_mod_normal", {false, false, false, false},
                HALO_CDF_FORMS(exp_mod_normal, (x[0], x[1], x[2], x[3], 0, d)),
                [](const V& x) { double d[4]; return halo_exp_mod_normal_lpdf(x[0], x[1], x[2], x[3], 0, d); },
                [](Draw& d) {
                  double mu = d.real(5, 1e2), sigma = d.positive(0.1, 10), lambda = d.positive(0.1, 10);
                  return V{mu + sigma * d.uniform(-3, 3) + d.positive(1e-2, 3) / lambda, mu, sigma, lambda};
                },
                [](const V& x) {
                  double s = 0.05 * std::fmin(x[2], 1 / x[3]);
                  return V{s, s, 0.05 * x[2], 0.05 * x[3]};
                },
                {}, {}});
  // Discrete: P(X <= n).
  fs.push_back({"bernoulli", {true, false}, HALO_CDF_FORMS(bernoulli, (i64(x[0]), x[1], 0, d)), {},
                [](Draw& d) { return V{0.0, d.unit()}; },
                [](const V& x) { return V{0, 0.5 * step_for(x[1], 0.0, 1.0)}; },
                [](const V& x) { return bm::cdf(bm::bernoulli(x[1]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::bernoulli(x[1]), x[0])); }});
  fs.push_back({"binomial", {true, true, false}, HALO_CDF_FORMS(binomial, (i64(x[0]), i64(x[1]), x[2], 0, d)), {},
                [](Draw& d) {
                  int64_t N = d.integer(1, 500);
                  return V{static_cast<double>(d.integer(0, N - 1)), static_cast<double>(N), d.unit()};
                },
                [](const V& x) { return V{0, 0, 0.5 * step_for(x[2], 0.0, 1.0)}; },
                [](const V& x) { return bm::cdf(bm::binomial(x[1], x[2]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::binomial(x[1], x[2]), x[0])); }});
  fs.push_back({"poisson", {true, false}, HALO_CDF_FORMS(poisson, (i64(x[0]), x[1], 0, d)), {},
                [](Draw& d) {
                  double lambda = d.positive(1e-3, 1e4);
                  return V{std::floor(lambda * d.positive(1e-2, 5)), lambda};
                },
                [pos](const V& x) { return V{0, 0.5 * pos(x[1])}; },
                [](const V& x) { return bm::cdf(bm::poisson(x[1]), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::poisson(x[1]), x[0])); }});
  fs.push_back({"neg_binomial_2", {true, false, false}, HALO_CDF_FORMS(neg_binomial_2, (i64(x[0]), x[1], x[2], 0, d)),
                {},
                [](Draw& d) {
                  double mu = d.positive(1e-2, 1e3), phi = d.positive(1e-2, 1e4);
                  return V{std::floor(mu * d.positive(1e-2, 5)), mu, phi};
                },
                [pos](const V& x) { return V{0, 0.5 * pos(x[1]), 0.5 * pos(x[2])}; },
                [](const V& x) { return bm::cdf(bm::negative_binomial(x[2], x[2] / (x[1] + x[2])), x[0]); },
                [](const V& x) {
                  return bm::cdf(bm::complement(bm::negative_binomial(x[2], x[2] / (x[1] + x[2])), x[0]));
                }});
  // neg_binomial(alpha, beta): alpha successes with success probability beta / (1 + beta).
  fs.push_back({"neg_binomial", {true, false, false}, HALO_CDF_FORMS(neg_binomial, (i64(x[0]), x[1], x[2], 0, d)),
                {},
                [](Draw& d) {
                  double alpha = d.positive(1e-2, 1e3), beta = d.positive(1e-2, 1e2);
                  return V{std::floor(alpha / beta * d.positive(1e-2, 5)), alpha, beta};
                },
                [pos](const V& x) { return V{0, 0.5 * pos(x[1]), 0.5 * pos(x[2])}; },
                [](const V& x) { return bm::cdf(bm::negative_binomial(x[1], x[2] / (1 + x[2])), x[0]); },
                [](const V& x) { return bm::cdf(bm::complement(bm::negative_binomial(x[1], x[2] / (1 + x[2])), x[0])); }});
  // beta_binomial: against the masses summed here in long double.
  const auto beta_binomial_side = [](const V& x, bool lower) {
    const long double N = x[1], a = x[2], b = x[3];
    long double total = 0;
    for (int64_t k = lower ? 0 : i64(x[0]) + 1; k <= (lower ? i64(x[0]) : i64(x[1])); ++k)
      total += std::exp(std::lgamma(N + 1) - std::lgamma(k + 1.0L) - std::lgamma(N - k + 1) + std::lgamma(k + a) +
                        std::lgamma(N - k + b) - std::lgamma(N + a + b) - std::lgamma(a) - std::lgamma(b) +
                        std::lgamma(a + b));
    return static_cast<double>(total);
  };
  fs.push_back({"beta_binomial", {true, true, false, false},
                HALO_CDF_FORMS(beta_binomial, (i64(x[0]), i64(x[1]), x[2], x[3], 0, d)), {},
                [](Draw& d) {
                  int64_t N = d.integer(1, 200);
                  return V{static_cast<double>(d.integer(0, N - 1)), static_cast<double>(N), d.positive(5e-2, 50),
                           d.positive(5e-2, 50)};
                },
                [pos](const V& x) { return V{0, 0, 0.5 * pos(x[2]), 0.5 * pos(x[3])}; },
                [beta_binomial_side](const V& x) { return beta_binomial_side(x, true); },
                [beta_binomial_side](const V& x) { return beta_binomial_side(x, false); }});
  return fs;
}

}  // namespace

TEST_CASE("cdfs: values, forms, density and partials") {
  uint64_t seed = 3000;
  for (const CdfFamily& f : families()) check_cdf_family(f, ++seed);
}

TEST_CASE("cdfs: far tails stay finite in log form") {
  double d[4];
  // log Phi(-40) ~ -804.6 (erfc underflows near -38.5).
  const double l = halo_normal_lcdf(-40.0, 0.0, 1.0, 0, d);
  CHECK(l == doctest::Approx(-804.608442013754).epsilon(1e-12));
  CHECK(d[0] == doctest::Approx(40.0248).epsilon(1e-4));  // ~ |z| + 1/|z|
  CHECK(halo_normal_lccdf(40.0, 0.0, 1.0, 0, d) == doctest::Approx(-804.608442013754).epsilon(1e-12));
  CHECK(halo_normal_lcdf(40.0, 0.0, 1.0, 0, d) <= 0.0);
  CHECK(std::isfinite(halo_student_t_lccdf(1e6, 3.0, 0.0, 1.0, 0, d)));
  CHECK(halo_student_t_lccdf(1e6, 3.0, 0.0, 1.0, 0, d) ==
        doctest::Approx(std::log(boost::math::cdf(boost::math::complement(boost::math::students_t(3.0), 1e6)))).epsilon(1e-10));
  CHECK(halo_gamma_lccdf(2000.0, 2.0, 1.0, 0, d) ==
        doctest::Approx(-2000.0 + std::log(2001.0)).epsilon(1e-12));  // Q(2, x) = e^-x (1 + x)
  CHECK(halo_exponential_lccdf(1e5, 1.0, 0, d) == -1e5);
  CHECK(halo_logistic_lcdf(-800.0, 0.0, 1.0, 0, d) == doctest::Approx(-800.0));
  CHECK(halo_cauchy_lcdf(-1e12, 0.0, 1.0, 0, d) == doctest::Approx(-std::log(M_PI * 1e12)).epsilon(1e-12));
  // Outside the support: constant 0 or 1 with zero partials.
  CHECK(halo_exponential_cdf(-1.0, 1.0, 0, d) == 0.0);
  CHECK(d[0] == 0.0);
  CHECK(halo_exponential_lcdf(-1.0, 1.0, 0, d) == -kInf);
  CHECK(halo_exponential_lccdf(-1.0, 1.0, 0, d) == 0.0);
  CHECK(halo_beta_cdf(1.5, 2.0, 2.0, 0, d) == 1.0);
  CHECK(halo_poisson_cdf(-1, 2.0, 0, d) == 0.0);
  CHECK(std::isnan(halo_normal_cdf(0.0, 0.0, -1.0, 0, d)));
  CHECK(std::isnan(d[0]));
}

TEST_CASE("cdfs: discrete_range (lpmf, cdf forms and rng)") {
  double d[1];
  CHECK(halo_discrete_range_lpmf(3, 2, 5, 0, d) == doctest::Approx(-std::log(4.0)));
  CHECK(halo_discrete_range_lpmf(3, 2, 5, HALO_PROPTO, d) == 0.0);
  CHECK(halo_discrete_range_lpmf(6, 2, 5, 0, d) == -kInf);
  CHECK(std::isnan(halo_discrete_range_lpmf(3, 5, 2, 0, d)));
  CHECK(halo_discrete_range_cdf(3, 2, 5, 0, d) == doctest::Approx(0.5));
  CHECK(halo_discrete_range_lcdf(3, 2, 5, 0, d) == doctest::Approx(std::log(0.5)));
  CHECK(halo_discrete_range_lccdf(3, 2, 5, 0, d) == doctest::Approx(std::log(0.5)));
  CHECK(halo_discrete_range_cdf(1, 2, 5, 0, d) == 0.0);
  CHECK(halo_discrete_range_cdf(5, 2, 5, 0, d) == 1.0);
  CHECK(halo_discrete_range_lccdf(5, 2, 5, 0, d) == -kInf);
  CHECK(halo_discrete_range_lcdf(-4, -3, 0, 0, d) == -kInf);
  halo_rng rng;
  halo_rng_seed(&rng, 11, 0);
  int counts[4] = {0, 0, 0, 0};
  for (int k = 0; k < 40000; ++k) {
    int64_t y = halo_discrete_range_rng(-1, 2, &rng);
    REQUIRE(y >= -1);
    REQUIRE(y <= 2);
    ++counts[y + 1];
  }
  for (int c : counts) CHECK(c / 40000.0 == doctest::Approx(0.25).epsilon(0.04));
  CHECK(halo_discrete_range_rng(3, 3, &rng) == 3);
  CHECK(halo_discrete_range_rng(4, 3, &rng) == INT64_MIN);
}
