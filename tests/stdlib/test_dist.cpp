// Distributions: the log density against Boost.Math's pdf and against Stan's term groups
// (written out again here, in long double), HALO_PROPTO dropping exactly Stan's constant terms
// for every combination of varying arguments, partials against finite differences at 120
// random points per family (tails, tiny and huge scales included), and -inf / NaN outside the
// support / for invalid parameters.
#include <boost/math/distributions.hpp>
#include <boost/math/special_functions/bessel.hpp>

#include "check.h"

using namespace halo_test;
using V = std::vector<double>;
using LD = long double;

namespace {

LD ld(double x) { return static_cast<LD>(x); }
const LD kPiL = 3.141592653589793238462643383279502884L;
LD lgam(LD x) { return std::lgamma(x); }
LD log1p_exp_l(LD x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
LD lchoose_l(LD n, LD k) { return lgam(n + 1) - lgam(k + 1) - lgam(n - k + 1); }
LD lbeta_l(LD a, LD b) { return lgam(a) + lgam(b) - lgam(a + b); }

struct Term {
  std::vector<int> args;  // the arguments the term depends on (Stan's include_summand list)
  std::function<LD(const V&)> value;
};

struct Family {
  std::string name;
  std::vector<bool> is_int;                         // per argument
  std::function<double(const V&, int, double*)> fn;  // args as doubles (integers exact)
  std::function<V(Draw&)> sample;
  std::function<V(const V&)> steps;                  // per argument; 0 for integers
  std::vector<Term> terms;
  std::function<double(const V&)> boost_log_pdf;     // optional independent reference
  double rtol = 1e-6;                                // for the partials
};

int real_count(const Family& f) {
  int n = 0;
  for (bool b : f.is_int) n += b ? 0 : 1;
  return n;
}

// The log density Stan's propto keeps for the varying arguments `vary` (HALO_VARY bits):
// every term when propto is off, else the terms with a varying argument.
LD expected(const Family& f, const V& x, int flags, LD* magnitude) {
  LD sum = 0, mag = 0;
  for (const Term& t : f.terms) {
    int mask = 0;
    for (int a : t.args) mask |= HALO_VARY(a);
    if ((flags & HALO_PROPTO) && !(flags & mask)) continue;
    LD v = t.value(x);
    sum += v;
    mag += std::fabs(v);
  }
  if (magnitude) *magnitude = mag;
  return sum;
}

void check_family(const Family& f, uint64_t seed, int points = 120) {
  Draw d(seed);
  const int nargs = static_cast<int>(f.is_int.size());
  const int nreal = real_count(f);
  int good = 0;
  for (int p = 0; p < points; ++p) {
    V x = f.sample(d);
    std::vector<double> slots(nreal + 1, kNaN);
    const double lp = f.fn(x, 0, slots.data());
    LD mag, full_mag;
    const LD ref = expected(f, x, 0, &full_mag);
    bool ok = std::isfinite(lp);
    if (!ok) FAIL_CHECK(f.name << " not finite at " << show(x) << ": " << lp);
    if (ok && std::fabs(lp - ref) > 1e-11 * std::fabs(ref) + 4e-16 * full_mag + 1e-300) {
      FAIL_CHECK(f.name << " at " << show(x) << ": " << lp << " vs Stan's terms " << static_cast<double>(ref));
      ok = false;
    }
    // Propto: every subset of the real arguments marked as varying.
    std::vector<int> reals;
    for (int a = 0; a < nargs; ++a)
      if (!f.is_int[a]) reals.push_back(a);
    for (int subset = 0; subset < (1 << reals.size()); ++subset) {
      int flags = HALO_PROPTO;
      for (size_t k = 0; k < reals.size(); ++k)
        if (subset & (1 << k)) flags |= HALO_VARY(reals[k]);
      std::vector<double> slots2(nreal + 1, kNaN);
      const double lp2 = f.fn(x, flags, slots2.data());
      const LD ref2 = expected(f, x, flags, &mag);
      if (std::fabs(lp2 - ref2) > 1e-11 * std::fabs(ref2) + 4e-16 * mag + 1e-300) {
        FAIL_CHECK(f.name << " propto flags " << flags << " at " << show(x) << ": " << lp2 << " vs "
                          << static_cast<double>(ref2));
        ok = false;
      }
      for (int k = 0; k < nreal; ++k)
        if (!(slots2[k] == slots[k])) {
          FAIL_CHECK(f.name << ": partial " << k << " depends on flags");
          ok = false;
        }
    }
    // Partials: by finite differences of the full density over the real arguments.
    V grad(nargs, 0.0), steps = f.steps(x);
    for (int a = 0, k = 0; a < nargs; ++a)
      if (!f.is_int[a]) grad[a] = slots[k++];
      else steps[a] = 0.0;
    Fn full = [&f, nreal](const V& v) {
      std::vector<double> s(nreal + 1);
      return f.fn(v, 0, s.data());
    };
    ok = check_gradient(f.name, full, x, grad, steps, f.rtol, static_cast<double>(full_mag)) && ok;
    good += ok ? 1 : 0;
  }
  CHECK_MESSAGE(good == points, f.name);
}

// An independent check of Stan's terms themselves against Boost's densities, at moderate points.
void check_against_boost(const Family& f, uint64_t seed) {
  if (!f.boost_log_pdf) return;
  Draw d(seed);
  int checked = 0;
  for (int p = 0; p < 200 && checked < 60; ++p) {
    V x = f.sample(d);
    const double b = f.boost_log_pdf(x);
    if (!std::isfinite(b) || std::fabs(b) > 600) continue;  // Boost's pdf under- or overflows
    std::vector<double> slots(f.is_int.size() + 1);
    const double lp = f.fn(x, 0, slots.data());
    CHECK_MESSAGE(close_rel(lp, b, 1e-9, 1e-12), f.name << " at " << show(x) << ": " << lp << " vs Boost " << b);
    ++checked;
  }
  CHECK_MESSAGE(checked >= 30, f.name);
}

// ---- samplers ----
double loc(Draw& d) { return d.real(5, 1e4); }
double scale(Draw& d) { return d.positive(1e-6, 1e6); }
// y around mu on the scale sigma: mostly within a few scales, sometimes far in a tail.
double around(Draw& d, double mu, double sigma) {
  double z = d.chance(0.8) ? d.uniform(-4, 4) : d.sign() * d.log_uniform(4, 1e4);
  return mu + sigma * z;
}
double shape(Draw& d) { return d.positive(1e-3, 1e4); }

using Fn3 = double (*)(double, double, double, int, double*);
using Fn2 = double (*)(double, double, int, double*);
using Fn4 = double (*)(double, double, double, double, int, double*);

std::function<double(const V&, int, double*)> wrap(Fn2 f) {
  return [f](const V& x, int fl, double* d) { return f(x[0], x[1], fl, d); };
}
std::function<double(const V&, int, double*)> wrap(Fn3 f) {
  return [f](const V& x, int fl, double* d) { return f(x[0], x[1], x[2], fl, d); };
}
std::function<double(const V&, int, double*)> wrap(Fn4 f) {
  return [f](const V& x, int fl, double* d) { return f(x[0], x[1], x[2], x[3], fl, d); };
}
int64_t i64(double x) { return static_cast<int64_t>(x); }

// Steps of a location-scale family (y, mu, sigma).
V ls_steps(const V& x) {
  const double s = x[2];
  return V{0.1 * s, 0.1 * s, 0.25 * s};
}

std::vector<Family> continuous_families() {
  namespace bm = boost::math;
  std::vector<Family> fs;
  auto ls_sample = [](Draw& d) {
    double mu = loc(d), sigma = scale(d);
    return V{around(d, mu, sigma), mu, sigma};
  };
  {
    Family f{"normal", {false, false, false}, wrap(halo_normal_lpdf), ls_sample, ls_steps, {}, {}};
    f.terms = {{{}, [](const V&) { return -0.5L * std::log(2 * kPiL); }},
               {{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { LD z = (ld(x[0]) - x[1]) / x[2]; return -0.5L * z * z; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::normal(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"std_normal", {false}, [](const V& x, int fl, double* d) { return halo_std_normal_lpdf(x[0], fl, d); },
             [](Draw& d) { return V{around(d, 0.0, 1.0)}; }, [](const V&) { return V{0.1}; }, {}, {}};
    f.terms = {{{}, [](const V&) { return -0.5L * std::log(2 * kPiL); }},
               {{0}, [](const V& x) { return -0.5L * ld(x[0]) * x[0]; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::normal(), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"lognormal", {false, false, false}, wrap(halo_lognormal_lpdf),
             [](Draw& d) {
               double mu = d.real(3, 50), sigma = d.positive(1e-3, 10);
               double z = d.chance(0.8) ? d.uniform(-4, 4) : d.sign() * d.log_uniform(4, 30);
               double y = std::exp(mu + sigma * z);
               return V{y, mu, sigma};
             },
             [](const V& x) { return V{std::fmin(0.1 * x[2], 0.25) * x[0], 0.1 * x[2], 0.25 * x[2]}; }, {}, {}};
    f.terms = {{{}, [](const V&) { return -0.5L * std::log(2 * kPiL); }},
               {{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0}, [](const V& x) { return -std::log(ld(x[0])); }},
               {{0, 1, 2}, [](const V& x) { LD z = (std::log(ld(x[0])) - x[1]) / x[2]; return -0.5L * z * z; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::lognormal(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"cauchy", {false, false, false}, wrap(halo_cauchy_lpdf),
             [](Draw& d) {
               double mu = loc(d), sigma = scale(d);
               double z = d.chance(0.8) ? d.uniform(-4, 4) : d.sign() * d.log_uniform(4, 1e200);
               return V{mu + sigma * z, mu, sigma};
             },
             [](const V& x) {
               // the curvature scale of log1p(z^2) is max(1, |z|) scales
               double s = x[2] * std::fmax(1.0, std::fabs((x[0] - x[1]) / x[2]));
               return V{0.1 * s, 0.1 * s, 0.25 * x[2]};
             },
             {}, {}};
    f.terms = {{{}, [](const V&) { return -std::log(kPiL); }},
               {{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { LD z = (ld(x[0]) - x[1]) / x[2]; return -std::log1p(z * z); }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::cauchy(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"student_t", {false, false, false, false}, wrap(halo_student_t_lpdf),
             [](Draw& d) {
               double nu = d.positive(1e-2, 1e4), mu = loc(d), sigma = scale(d);
               double z = d.chance(0.8) ? d.uniform(-4, 4) : d.sign() * d.log_uniform(4, 1e150);
               return V{mu + sigma * z, nu, mu, sigma};
             },
             [](const V& x) {
               double s = x[3] * std::fmax(1.0, std::fabs((x[0] - x[2]) / x[3]));
               return V{0.1 * s, step_for(x[1], 0.0), 0.1 * s, 0.25 * x[3]};
             },
             {}, {}};
    f.terms = {{{}, [](const V&) { return -0.5L * std::log(kPiL); }},
               {{1}, [](const V& x) { return lgam((ld(x[1]) + 1) / 2) - lgam(ld(x[1]) / 2) - 0.5L * std::log(ld(x[1])); }},
               {{3}, [](const V& x) { return -std::log(ld(x[3])); }},
               {{0, 1, 2, 3}, [](const V& x) {
                  LD z = (ld(x[0]) - x[2]) / x[3];
                  return -(ld(x[1]) + 1) / 2 * std::log1p(z * z / x[1]);
                }}};
    f.boost_log_pdf = [](const V& x) {
      return std::log(bm::pdf(bm::students_t(x[1]), (x[0] - x[2]) / x[3]) / x[3]);
    };
    fs.push_back(f);
  }
  {
    Family f{"exponential", {false, false}, wrap(halo_exponential_lpdf),
             [](Draw& d) {
               double beta = scale(d);
               return V{d.positive(1e-3, 1e3) / beta, beta};
             },
             [](const V& x) { return V{step_for(x[0], 0.0), step_for(x[1], 0.0)}; }, {}, {}};
    f.terms = {{{1}, [](const V& x) { return std::log(ld(x[1])); }},
               {{0, 1}, [](const V& x) { return -ld(x[1]) * x[0]; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::exponential(x[1]), x[0])); };
    fs.push_back(f);
  }
  const auto gamma_sample = [](Draw& d) {
    double alpha = shape(d), beta = scale(d);
    return V{d.positive(1e-4, 1e4) * alpha / beta, alpha, beta};
  };
  const auto pos3_steps = [](const V& x) { return V{step_for(x[0], 0.0), step_for(x[1], 0.0), step_for(x[2], 0.0)}; };
  {
    Family f{"gamma", {false, false, false}, wrap(halo_gamma_lpdf), gamma_sample, pos3_steps, {}, {}};
    f.terms = {{{1}, [](const V& x) { return -lgam(x[1]); }},
               {{1, 2}, [](const V& x) { return ld(x[1]) * std::log(ld(x[2])); }},
               {{0, 1}, [](const V& x) { return (ld(x[1]) - 1) * std::log(ld(x[0])); }},
               {{0, 2}, [](const V& x) { return -ld(x[2]) * x[0]; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::gamma_distribution<>(x[1], 1.0 / x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"inv_gamma", {false, false, false}, wrap(halo_inv_gamma_lpdf),
             [](Draw& d) {
               double alpha = shape(d), beta = scale(d);
               return V{beta / (d.positive(1e-4, 1e4) * alpha), alpha, beta};
             },
             pos3_steps, {}, {}};
    f.terms = {{{1}, [](const V& x) { return -lgam(x[1]); }},
               {{1, 2}, [](const V& x) { return ld(x[1]) * std::log(ld(x[2])); }},
               {{0, 1}, [](const V& x) { return -(ld(x[1]) + 1) * std::log(ld(x[0])); }},
               {{0, 2}, [](const V& x) { return -ld(x[2]) / x[0]; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::inverse_gamma(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  const auto unit_steps = [](const V& x) {
    return V{step_for(x[0], 0.0, 1.0), step_for(x[1], 0.0), step_for(x[2], 0.0)};
  };
  {
    Family f{"beta", {false, false, false}, wrap(halo_beta_lpdf),
             [](Draw& d) { return V{d.unit(), d.positive(1e-3, 1e5), d.positive(1e-3, 1e5)}; }, unit_steps, {}, {}};
    f.terms = {{{1, 2}, [](const V& x) { return lgam(ld(x[1]) + x[2]); }},
               {{1}, [](const V& x) { return -lgam(x[1]); }},
               {{2}, [](const V& x) { return -lgam(x[2]); }},
               {{0, 1}, [](const V& x) { return (ld(x[1]) - 1) * std::log(ld(x[0])); }},
               {{0, 2}, [](const V& x) { return (ld(x[2]) - 1) * std::log1p(-ld(x[0])); }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::beta_distribution<>(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"beta_proportion", {false, false, false}, wrap(halo_beta_proportion_lpdf),
             [](Draw& d) { return V{d.unit(), d.uniform(0.02, 0.98), d.positive(1e-1, 1e5)}; },
             [](const V& x) {
               return V{step_for(x[0], 0.0, 1.0), step_for(x[1], 0.0, 1.0), step_for(x[2], 0.0)};
             },
             {}, {}};
    f.terms = {{{2}, [](const V& x) { return lgam(x[2]); }},
               {{1, 2}, [](const V& x) { return -lgam(ld(x[1]) * x[2]) - lgam((1 - ld(x[1])) * x[2]); }},
               {{0, 1, 2}, [](const V& x) {
                  LD a = ld(x[1]) * x[2], b = (1 - ld(x[1])) * x[2];
                  return (a - 1) * std::log(ld(x[0])) + (b - 1) * std::log1p(-ld(x[0]));
                }}};
    fs.push_back(f);
  }
  {
    Family f{"uniform", {false, false, false}, wrap(halo_uniform_lpdf),
             [](Draw& d) {
               double a = loc(d), w = scale(d);
               return V{a + w * d.uniform(0.05, 0.95), a, a + w};
             },
             [](const V& x) {
               double w = x[2] - x[1];
               return V{0.01 * w, std::fmin(0.1 * w, 0.25 * (x[0] - x[1])), std::fmin(0.1 * w, 0.25 * (x[2] - x[0]))};
             },
             {}, {}};
    f.terms = {{{1, 2}, [](const V& x) { return -std::log(ld(x[2]) - x[1]); }}};
    fs.push_back(f);
  }
  {
    Family f{"double_exponential", {false, false, false}, wrap(halo_double_exponential_lpdf),
             [](Draw& d) {
               V x = {0, loc(d), scale(d)};
               x[0] = around(d, x[1], x[2]);
               return x;
             },
             [](const V& x) {
               double gap = std::fabs(x[0] - x[1]);  // the kink at y = mu
               return V{std::fmin(0.1 * x[2], 0.25 * gap), std::fmin(0.1 * x[2], 0.25 * gap), 0.25 * x[2]};
             },
             {}, {}};
    f.terms = {{{}, [](const V&) { return -std::log(2.0L); }},
               {{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { return -std::fabs(ld(x[0]) - x[1]) / x[2]; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::laplace(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"logistic", {false, false, false}, wrap(halo_logistic_lpdf), ls_sample, ls_steps, {}, {}};
    f.terms = {{{0, 1, 2}, [](const V& x) { return -(ld(x[0]) - x[1]) / x[2]; }},
               {{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { return -2 * log1p_exp_l(-(ld(x[0]) - x[1]) / x[2]); }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::logistic(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  const auto ws_sample = [](Draw& d) {
    double alpha = d.positive(1e-1, 50), sigma = scale(d);
    return V{sigma * std::pow(d.positive(1e-3, 1e2), 1.0 / alpha), alpha, sigma};
  };
  {
    Family f{"weibull", {false, false, false}, wrap(halo_weibull_lpdf), ws_sample, pos3_steps, {}, {}};
    f.terms = {{{1}, [](const V& x) { return std::log(ld(x[1])); }},
               {{0, 1}, [](const V& x) { return (ld(x[1]) - 1) * std::log(ld(x[0])); }},
               {{1, 2}, [](const V& x) { return -ld(x[1]) * std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { return -std::pow(ld(x[0]) / x[2], ld(x[1])); }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::weibull(x[1], x[2]), x[0])); };
    f.steps = [](const V& x) {
      // the curvature scale of (y/sigma)^alpha in y and sigma is their size over alpha
      return V{std::fmin(step_for(x[0], 0.0), 0.1 * x[0] / x[1]), std::fmin(step_for(x[1], 0.0), 0.1 / std::fmax(1.0, std::fabs(std::log(x[0] / x[2])))),
               std::fmin(step_for(x[2], 0.0), 0.1 * x[2] / x[1])};
    };
    fs.push_back(f);
  }
  {
    Family f{"frechet", {false, false, false}, wrap(halo_frechet_lpdf),
             [](Draw& d) {
               double alpha = d.positive(1e-1, 50), sigma = scale(d);
               return V{sigma * std::pow(d.positive(1e-3, 1e2), -1.0 / alpha), alpha, sigma};
             },
             [](const V& x) {
               return V{std::fmin(step_for(x[0], 0.0), 0.1 * x[0] / x[1]),
                        std::fmin(step_for(x[1], 0.0), 0.1 / std::fmax(1.0, std::fabs(std::log(x[0] / x[2])))),
                        std::fmin(step_for(x[2], 0.0), 0.1 * x[2] / x[1])};
             },
             {}, {}};
    f.terms = {{{1}, [](const V& x) { return std::log(ld(x[1])); }},
               {{0, 1}, [](const V& x) { return -(ld(x[1]) + 1) * std::log(ld(x[0])); }},
               {{1, 2}, [](const V& x) { return ld(x[1]) * std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { return -std::pow(ld(x[2]) / x[0], ld(x[1])); }}};
    fs.push_back(f);
  }
  const auto pos2_steps = [](const V& x) { return V{step_for(x[0], 0.0), step_for(x[1], 0.0)}; };
  {
    Family f{"chi_square", {false, false}, wrap(halo_chi_square_lpdf),
             [](Draw& d) {
               double nu = d.positive(1e-2, 1e4);
               return V{nu * d.positive(1e-3, 1e2), nu};
             },
             pos2_steps, {}, {}};
    f.terms = {{{1}, [](const V& x) { return -ld(x[1]) / 2 * std::log(2.0L) - lgam(ld(x[1]) / 2); }},
               {{0, 1}, [](const V& x) { return (ld(x[1]) / 2 - 1) * std::log(ld(x[0])); }},
               {{0}, [](const V& x) { return -ld(x[0]) / 2; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::chi_squared(x[1]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"inv_chi_square", {false, false}, wrap(halo_inv_chi_square_lpdf),
             [](Draw& d) {
               double nu = d.positive(1e-2, 1e4);
               return V{1.0 / (nu * d.positive(1e-3, 1e2)), nu};
             },
             pos2_steps, {}, {}};
    f.terms = {{{1}, [](const V& x) { return -ld(x[1]) / 2 * std::log(2.0L) - lgam(ld(x[1]) / 2); }},
               {{0, 1}, [](const V& x) { return -(ld(x[1]) / 2 + 1) * std::log(ld(x[0])); }},
               {{0}, [](const V& x) { return -0.5L / x[0]; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::inverse_chi_squared(x[1]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"scaled_inv_chi_square", {false, false, false}, wrap(halo_scaled_inv_chi_square_lpdf),
             [](Draw& d) {
               double nu = d.positive(1e-2, 1e4), s = scale(d);
               return V{s * s / d.positive(1e-3, 1e2), nu, s};
             },
             pos3_steps, {}, {}};
    f.terms = {{{1}, [](const V& x) { LD h = ld(x[1]) / 2; return h * std::log(h) - lgam(h); }},
               {{1, 2}, [](const V& x) { return ld(x[1]) * std::log(ld(x[2])); }},
               {{0, 1}, [](const V& x) { return -(ld(x[1]) / 2 + 1) * std::log(ld(x[0])); }},
               {{0, 1, 2}, [](const V& x) { return -ld(x[1]) / 2 * ld(x[2]) * x[2] / x[0]; }}};
    f.boost_log_pdf = [](const V& x) {
      return std::log(bm::pdf(bm::inverse_chi_squared(x[1], x[2] * x[2]), x[0]));
    };
    fs.push_back(f);
  }
  {
    Family f{"skew_normal", {false, false, false, false}, wrap(halo_skew_normal_lpdf),
             [](Draw& d) {
               double xi = loc(d), omega = scale(d);
               return V{around(d, xi, omega), xi, omega, d.real(3, 100)};
             },
             [](const V& x) {
               double s = 0.1 * x[2] / std::fmax(1.0, std::fabs(x[3]));
               return V{s, s, 0.25 * x[2] / std::fmax(1.0, std::fabs(x[3])), 0.1};
             },
             {}, {}};
    f.terms = {{{}, [](const V&) { return -0.5L * std::log(2 * kPiL); }},
               {{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { LD z = (ld(x[0]) - x[1]) / x[2]; return -0.5L * z * z; }},
               {{0, 1, 2, 3}, [](const V& x) {
                  double z = (x[0] - x[1]) / x[2];
                  // log erfc(t), from Boost where it does not underflow, else its asymptotic form
                  double t = -x[3] * z / std::sqrt(2.0);
                  if (t < 25) return std::log(ld(boost::math::erfc(t)));
                  LD tl = t, u = 0.5L / (tl * tl);
                  return -tl * tl - std::log(tl * std::sqrt(kPiL)) +
                         std::log(1 - u + 3 * u * u - 15 * u * u * u + 105 * u * u * u * u);
                }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::skew_normal(x[1], x[2], x[3]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"exp_mod_normal", {false, false, false, false}, wrap(halo_exp_mod_normal_lpdf),
             [](Draw& d) {
               double mu = d.real(5, 1e3), sigma = d.positive(1e-2, 1e2), lambda = d.positive(1e-2, 1e2);
               return V{mu + sigma * d.uniform(-4, 4) + d.positive(1e-3, 10) / lambda, mu, sigma, lambda};
             },
             [](const V& x) {
               double s = 0.05 * std::fmin(x[2], 1.0 / x[3]);
               return V{s, s, 0.05 * x[2], 0.5 * step_for(x[3], 0.0)};
             },
             {}, {}};
    f.terms = {{{}, [](const V&) { return -std::log(2.0L); }},
               {{3}, [](const V& x) { return std::log(ld(x[3])); }},
               {{0, 1, 2, 3}, [](const V& x) {
                  LD y = x[0], mu = x[1], s = x[2], l = x[3];
                  double t = static_cast<double>((mu + l * s * s - y) / (s * std::sqrt(2.0L)));
                  return l * (mu + 0.5L * l * s * s - y) + std::log(ld(boost::math::erfc(t)));
                }}};
    fs.push_back(f);
  }
  {
    Family f{"gumbel", {false, false, false}, wrap(halo_gumbel_lpdf),
             [](Draw& d) {
               double mu = loc(d), beta = scale(d);
               return V{mu + beta * d.uniform(-3, 30), mu, beta};
             },
             ls_steps, {}, {}};
    f.terms = {{{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0, 1, 2}, [](const V& x) { LD z = (ld(x[0]) - x[1]) / x[2]; return -z - std::exp(-z); }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::extreme_value(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"pareto", {false, false, false}, wrap(halo_pareto_lpdf),
             [](Draw& d) {
               double ymin = scale(d), alpha = d.positive(1e-2, 1e2);
               return V{ymin * (1.0 + d.positive(1e-6, 1e6)), ymin, alpha};
             },
             [](const V& x) {
               double gap = x[0] - x[1];
               return V{std::fmin(step_for(x[0], 0.0), 0.25 * gap), std::fmin(step_for(x[1], 0.0), 0.25 * gap),
                        step_for(x[2], 0.0)};
             },
             {}, {}};
    f.terms = {{{2}, [](const V& x) { return std::log(ld(x[2])); }},
               {{1, 2}, [](const V& x) { return ld(x[2]) * std::log(ld(x[1])); }},
               {{0, 2}, [](const V& x) { return -(ld(x[2]) + 1) * std::log(ld(x[0])); }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::pareto(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"pareto_type_2", {false, false, false, false}, wrap(halo_pareto_type_2_lpdf),
             [](Draw& d) {
               double mu = loc(d), lambda = scale(d), alpha = d.positive(1e-2, 1e2);
               return V{mu + lambda * d.positive(1e-6, 1e6), mu, lambda, alpha};
             },
             [](const V& x) {
               double gap = x[0] - x[1];
               double s = std::fmin(0.25 * gap, 0.1 * (x[2] + gap));
               return V{s, s, step_for(x[2], 0.0), step_for(x[3], 0.0)};
             },
             {}, {}};
    f.terms = {{{3}, [](const V& x) { return std::log(ld(x[3])); }},
               {{2}, [](const V& x) { return -std::log(ld(x[2])); }},
               {{0, 1, 2, 3}, [](const V& x) { return -(ld(x[3]) + 1) * std::log1p((ld(x[0]) - x[1]) / x[2]); }}};
    fs.push_back(f);
  }
  {
    Family f{"rayleigh", {false, false}, wrap(halo_rayleigh_lpdf),
             [](Draw& d) {
               double sigma = scale(d);
               return V{sigma * d.positive(1e-4, 40), sigma};
             },
             pos2_steps, {}, {}};
    f.terms = {{{1}, [](const V& x) { return -2 * std::log(ld(x[1])); }},
               {{0}, [](const V& x) { return std::log(ld(x[0])); }},
               {{0, 1}, [](const V& x) { LD t = ld(x[0]) / x[1]; return -0.5L * t * t; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::rayleigh(x[1]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"von_mises", {false, false, false}, wrap(halo_von_mises_lpdf),
             [](Draw& d) { return V{d.uniform(-3.1, 3.1), d.uniform(-3.1, 3.1), d.positive(1e-4, 1e4)}; },
             [](const V& x) { return V{0.1, 0.1, step_for(x[2], 0.0)}; }, {}, {}};
    f.terms = {{{}, [](const V&) { return -std::log(2 * kPiL); }},
               {{2}, [](const V& x) {
                  // log I0, from Boost where I0 is finite
                  if (x[2] < 700) return -std::log(ld(boost::math::cyl_bessel_i(0, x[2])));
                  LD k = x[2];
                  return -(k - 0.5L * std::log(2 * kPiL * k) + std::log1p(1 / (8 * k) + 9 / (128 * k * k)));
                }},
               {{0, 1, 2}, [](const V& x) { return ld(x[2]) * std::cos(ld(x[0]) - x[1]); }}};
    fs.push_back(f);
  }
  return fs;
}

std::vector<Family> discrete_families() {
  namespace bm = boost::math;
  std::vector<Family> fs;
  {
    Family f{"bernoulli", {true, false},
             [](const V& x, int fl, double* d) { return halo_bernoulli_lpmf(i64(x[0]), x[1], fl, d); },
             [](Draw& d) { return V{static_cast<double>(d.integer(0, 1)), d.unit()}; },
             [](const V& x) { return V{0, step_for(x[1], 0.0, 1.0)}; }, {}, {}};
    f.terms = {{{1}, [](const V& x) { return x[0] == 1 ? std::log(ld(x[1])) : std::log1p(-ld(x[1])); }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::bernoulli(x[1]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"bernoulli_logit", {true, false},
             [](const V& x, int fl, double* d) { return halo_bernoulli_logit_lpmf(i64(x[0]), x[1], fl, d); },
             [](Draw& d) { return V{static_cast<double>(d.integer(0, 1)), d.real(5, 1e3)}; },
             [](const V&) { return V{0, 0.5}; }, {}, {}};
    f.terms = {{{1}, [](const V& x) { return -log1p_exp_l((x[0] == 1 ? -1 : 1) * ld(x[1])); }}};
    fs.push_back(f);
  }
  const auto binom_sample = [](Draw& d) {
    int64_t N = d.chance(0.8) ? d.integer(0, 50) : d.integer(0, 100000);
    return V{static_cast<double>(d.integer(0, N)), static_cast<double>(N), d.unit()};
  };
  {
    Family f{"binomial", {true, true, false},
             [](const V& x, int fl, double* d) { return halo_binomial_lpmf(i64(x[0]), i64(x[1]), x[2], fl, d); },
             binom_sample, [](const V& x) { return V{0, 0, step_for(x[2], 0.0, 1.0)}; }, {}, {}};
    f.terms = {{{}, [](const V& x) { return lchoose_l(x[1], x[0]); }},
               {{2}, [](const V& x) {
                  LD n = x[0], m = ld(x[1]) - x[0];
                  return (n == 0 ? 0 : n * std::log(ld(x[2]))) + (m == 0 ? 0 : m * std::log1p(-ld(x[2])));
                }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::binomial(x[1], x[2]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"binomial_logit", {true, true, false},
             [](const V& x, int fl, double* d) { return halo_binomial_logit_lpmf(i64(x[0]), i64(x[1]), x[2], fl, d); },
             [](Draw& d) {
               int64_t N = d.chance(0.8) ? d.integer(0, 50) : d.integer(0, 100000);
               return V{static_cast<double>(d.integer(0, N)), static_cast<double>(N), d.real(5, 500)};
             },
             [](const V&) { return V{0, 0, 0.5}; }, {}, {}};
    f.terms = {{{}, [](const V& x) { return lchoose_l(x[1], x[0]); }},
               {{2}, [](const V& x) {
                  LD n = x[0], m = ld(x[1]) - x[0];
                  return -n * log1p_exp_l(-ld(x[2])) - m * log1p_exp_l(ld(x[2]));
                }}};
    fs.push_back(f);
  }
  {
    Family f{"beta_binomial", {true, true, false, false},
             [](const V& x, int fl, double* d) {
               return halo_beta_binomial_lpmf(i64(x[0]), i64(x[1]), x[2], x[3], fl, d);
             },
             [](Draw& d) {
               int64_t N = d.chance(0.8) ? d.integer(0, 50) : d.integer(0, 100000);
               return V{static_cast<double>(d.integer(0, N)), static_cast<double>(N), d.positive(1e-2, 1e4),
                        d.positive(1e-2, 1e4)};
             },
             [](const V& x) { return V{0, 0, step_for(x[2], 0.0), step_for(x[3], 0.0)}; }, {}, {}};
    f.terms = {{{}, [](const V& x) { return lchoose_l(x[1], x[0]); }},
               {{2, 3}, [](const V& x) {
                  return lbeta_l(ld(x[0]) + x[2], ld(x[1]) - x[0] + x[3]) - lbeta_l(x[2], x[3]);
                }}};
    fs.push_back(f);
  }
  {
    Family f{"poisson", {true, false},
             [](const V& x, int fl, double* d) { return halo_poisson_lpmf(i64(x[0]), x[1], fl, d); },
             [](Draw& d) {
               double lambda = d.positive(1e-6, 1e6);
               return V{std::floor(lambda * d.positive(1e-3, 10)), lambda};
             },
             [](const V& x) { return V{0, step_for(x[1], 0.0)}; }, {}, {}};
    f.terms = {{{}, [](const V& x) { return -lgam(ld(x[0]) + 1); }},
               {{1}, [](const V& x) { return (x[0] == 0 ? 0 : ld(x[0]) * std::log(ld(x[1]))) - x[1]; }}};
    f.boost_log_pdf = [](const V& x) { return std::log(bm::pdf(bm::poisson(x[1]), x[0])); };
    fs.push_back(f);
  }
  {
    Family f{"poisson_log", {true, false},
             [](const V& x, int fl, double* d) { return halo_poisson_log_lpmf(i64(x[0]), x[1], fl, d); },
             [](Draw& d) {
               double alpha = d.uniform(-20, 14);
               return V{std::floor(std::exp(alpha) * d.positive(1e-3, 10)), alpha};
             },
             [](const V&) { return V{0, 0.1}; }, {}, {}};
    f.terms = {{{}, [](const V& x) { return -lgam(ld(x[0]) + 1); }},
               {{1}, [](const V& x) { return ld(x[0]) * x[1] - std::exp(ld(x[1])); }}};
    fs.push_back(f);
  }
  {
    Family f{"neg_binomial", {true, false, false},
             [](const V& x, int fl, double* d) { return halo_neg_binomial_lpmf(i64(x[0]), x[1], x[2], fl, d); },
             [](Draw& d) {
               double alpha = d.positive(1e-2, 1e4), beta = d.positive(1e-3, 1e3);
               return V{std::floor(alpha / beta * d.positive(1e-2, 10)), alpha, beta};
             },
             [](const V& x) { return V{0, step_for(x[1], 0.0), step_for(x[2], 0.0)}; }, {}, {}};
    f.terms = {{{1}, [](const V& x) { return x[0] == 0 ? 0 : lchoose_l(ld(x[0]) + x[1] - 1, x[0]); }},
               {{1, 2}, [](const V& x) {
                  return ld(x[1]) * (std::log(ld(x[2])) - std::log1p(ld(x[2]))) - ld(x[0]) * std::log1p(ld(x[2]));
                }}};
    f.boost_log_pdf = [](const V& x) {
      return std::log(bm::pdf(bm::negative_binomial(x[1], x[2] / (1 + x[2])), x[0]));
    };
    fs.push_back(f);
  }
  {
    Family f{"neg_binomial_2", {true, false, false},
             [](const V& x, int fl, double* d) { return halo_neg_binomial_2_lpmf(i64(x[0]), x[1], x[2], fl, d); },
             [](Draw& d) {
               double mu = d.positive(1e-3, 1e4), phi = d.positive(1e-2, 1e6);
               return V{std::floor(mu * d.positive(1e-2, 10)), mu, phi};
             },
             [](const V& x) { return V{0, step_for(x[1], 0.0), step_for(x[2], 0.0)}; }, {}, {}};
    f.terms = {{{}, [](const V& x) { return -lgam(ld(x[0]) + 1); }},
               {{2}, [](const V& x) { LD p = x[2]; return p * std::log(p) - lgam(p) + lgam(ld(x[0]) + p); }},
               {{1, 2}, [](const V& x) { return -(ld(x[0]) + x[2]) * std::log(ld(x[1]) + x[2]); }},
               {{1}, [](const V& x) { return x[0] == 0 ? 0 : ld(x[0]) * std::log(ld(x[1])); }}};
    fs.push_back(f);
  }
  {
    Family f{"neg_binomial_2_log", {true, false, false},
             [](const V& x, int fl, double* d) { return halo_neg_binomial_2_log_lpmf(i64(x[0]), x[1], x[2], fl, d); },
             [](Draw& d) {
               double eta = d.uniform(-6, 9), phi = d.positive(1e-2, 1e6);
               return V{std::floor(std::exp(eta) * d.positive(1e-2, 10)), eta, phi};
             },
             [](const V& x) { return V{0, 0.1, step_for(x[2], 0.0)}; }, {}, {}};
    f.terms = {{{}, [](const V& x) { return -lgam(ld(x[0]) + 1); }},
               {{2}, [](const V& x) { LD p = x[2]; return p * std::log(p) - lgam(p) + lgam(ld(x[0]) + p); }},
               {{1, 2}, [](const V& x) { return -(ld(x[0]) + x[2]) * std::log(std::exp(ld(x[1])) + x[2]); }},
               {{1}, [](const V& x) { return ld(x[0]) * x[1]; }}};
    fs.push_back(f);
  }
  return fs;
}

}  // namespace

TEST_CASE("distributions: continuous log densities, propto terms and partials") {
  uint64_t seed = 1000;
  for (const Family& f : continuous_families()) {
    check_family(f, ++seed);
    check_against_boost(f, ++seed);
  }
}

TEST_CASE("distributions: discrete log masses, propto terms and partials") {
  uint64_t seed = 2000;
  for (const Family& f : discrete_families()) {
    check_family(f, ++seed);
    check_against_boost(f, ++seed);
  }
}

TEST_CASE("distributions: support, invalid parameters and extreme arguments") {
  double d[4];
  // Out of support: -inf with zero partials.
  CHECK(halo_exponential_lpdf(-1.0, 2.0, 0, d) == -kInf);
  CHECK(d[0] == 0.0);
  CHECK(d[1] == 0.0);
  CHECK(halo_lognormal_lpdf(0.0, 0.0, 1.0, 0, d) == -kInf);
  CHECK(halo_beta_lpdf(1.5, 2.0, 2.0, 0, d) == -kInf);
  CHECK(halo_uniform_lpdf(3.0, 0.0, 1.0, 0, d) == -kInf);
  CHECK(halo_pareto_lpdf(0.5, 1.0, 2.0, 0, d) == -kInf);
  CHECK(halo_poisson_lpmf(-1, 2.0, 0, d) == -kInf);
  CHECK(halo_binomial_lpmf(5, 3, 0.5, 0, d) == -kInf);
  CHECK(halo_bernoulli_lpmf(2, 0.5, 0, d) == -kInf);
  CHECK(halo_normal_lpdf(kInf, 0.0, 1.0, 0, d) == -kInf);
  // Invalid parameters: NaN, partials too.
  CHECK(std::isnan(halo_normal_lpdf(0.0, 0.0, -1.0, 0, d)));
  CHECK(std::isnan(d[2]));
  CHECK(std::isnan(halo_normal_lpdf(0.0, 0.0, 0.0, HALO_PROPTO, d)));
  CHECK(std::isnan(halo_normal_lpdf(kNaN, 0.0, 1.0, 0, d)));
  CHECK(std::isnan(halo_gamma_lpdf(1.0, -1.0, 1.0, 0, d)));
  CHECK(std::isnan(halo_student_t_lpdf(0.0, 0.0, 0.0, 1.0, 0, d)));
  CHECK(std::isnan(halo_uniform_lpdf(0.5, 1.0, 0.0, 0, d)));
  CHECK(std::isnan(halo_poisson_lpmf(1, -1.0, 0, d)));
  CHECK(std::isnan(halo_binomial_lpmf(1, 2, 1.5, 0, d)));
  CHECK(std::isnan(halo_neg_binomial_2_lpmf(1, 1.0, 0.0, 0, d)));
  // Boundary cases with finite values.
  CHECK(halo_gamma_lpdf(0.0, 1.0, 2.0, 0, d) == doctest::Approx(std::log(2.0)));
  CHECK(halo_poisson_lpmf(0, 0.0, 0, d) == 0.0);
  CHECK(halo_poisson_log_lpmf(0, -kInf, 0, d) == 0.0);
  CHECK(halo_binomial_lpmf(0, 5, 0.0, 0, d) == 0.0);
  CHECK(halo_binomial_lpmf(5, 5, 1.0, 0, d) == 0.0);
  CHECK(halo_beta_lpdf(0.0, 1.0, 3.0, 0, d) == doctest::Approx(std::log(3.0)));
  // Far tails and extreme scales stay finite and accurate.
  CHECK(halo_normal_lpdf(1e10, 0.0, 1.0, 0, d) == doctest::Approx(-0.5e20).epsilon(1e-15));
  CHECK(halo_normal_lpdf(0.0, 0.0, 1e-300, 0, d) == doctest::Approx(-0.9189385332046727 + 690.7755278982137));
  CHECK(halo_cauchy_lpdf(1e200, 0.0, 1.0, 0, d) == doctest::Approx(-std::log(M_PI) - 2 * 200 * std::log(10.0)));
  CHECK(d[0] == doctest::Approx(-2e-200));
  CHECK(halo_student_t_lpdf(1e200, 3.0, 0.0, 1.0, 0, d) ==
        doctest::Approx(std::lgamma(2.0) - std::lgamma(1.5) - 0.5 * std::log(3 * M_PI) - 2.0 * (400 * std::log(10.0) - std::log(3.0))));
  CHECK(std::isfinite(d[0]));
  CHECK(halo_skew_normal_lpdf(-50.0, 0.0, 1.0, 5.0, 0, d) < -1000);
  CHECK(std::isfinite(halo_skew_normal_lpdf(-50.0, 0.0, 1.0, 5.0, 0, d)));
  CHECK(std::isfinite(d[3]));
  CHECK(halo_bernoulli_logit_lpmf(1, -800.0, 0, d) == doctest::Approx(-800.0));
  CHECK(halo_bernoulli_logit_lpmf(0, 800.0, 0, d) == doctest::Approx(-800.0));
  CHECK(d[0] == doctest::Approx(-1.0));
  // A large phi does not lose the value to cancellation (the Poisson limit).
  const double nb = halo_neg_binomial_2_lpmf(3, 2.0, 1e12, 0, d);
  CHECK(nb == doctest::Approx(3 * std::log(2.0) - 2.0 - std::lgamma(4.0)).epsilon(1e-9));
  // Propto drops everything when nothing varies, and nothing without propto.
  CHECK(halo_normal_lpdf(1.0, 0.0, 2.0, HALO_PROPTO, d) == 0.0);
  CHECK(halo_normal_lpdf(1.0, 0.0, 2.0, HALO_PROPTO | HALO_VARY(0), d) == doctest::Approx(-0.125));
  CHECK(halo_normal_lpdf(1.0, 0.0, 2.0, HALO_VARY(0), d) ==
        doctest::Approx(-0.125 - std::log(2.0) - 0.9189385332046727));
}
