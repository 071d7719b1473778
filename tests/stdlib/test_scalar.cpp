// Scalar math: values against Boost.Math / long double closed forms, derivatives against
// Ridders' extrapolated central differences at 120 random points per function (moderate and
// extreme arguments, near boundaries and singularities).
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/owens_t.hpp>
#include <boost/math/special_functions/polygamma.hpp>
#include <boost/math/special_functions/trigamma.hpp>

#include "check.h"

using namespace halo_test;
using V = std::vector<double>;

namespace {

struct Case {
  std::string name;
  std::function<V(Draw&)> sample;
  std::function<double(const V&)> value;
  std::function<V(const V&, double)> grad;
  std::function<V(const V&)> steps;
  std::function<long double(const V&)> reference;  // empty: no value check
  double ref_rtol = 1e-13;
  std::function<double(const V&)> ref_atol;  // absolute tolerance where the value cancels
  std::function<double(const V&)> noise;     // the size of the terms that cancel in the value
};

using Unary = double (*)(double);
using UnaryGrad = void (*)(double, double, double*);
using Binary = double (*)(double, double);
using BinaryGrad = void (*)(double, double, double, double*, double*);

Case unary(std::string name, Unary f, UnaryGrad g, std::function<double(Draw&)> sample,
           std::function<double(double)> step, std::function<long double(double)> ref = {}, double rtol = 1e-13) {
  Case c;
  c.name = std::move(name);
  c.sample = [sample](Draw& d) { return V{sample(d)}; };
  c.value = [f](const V& x) { return f(x[0]); };
  c.grad = [g](const V& x, double r) {
    double d;
    g(x[0], r, &d);
    return V{d};
  };
  c.steps = [step](const V& x) { return V{step(x[0])}; };
  if (ref) c.reference = [ref](const V& x) { return ref(x[0]); };
  c.ref_rtol = rtol;
  return c;
}

Case binary(std::string name, Binary f, BinaryGrad g, std::function<V(Draw&)> sample, std::function<V(const V&)> steps,
            std::function<long double(const V&)> ref = {}, double rtol = 1e-13) {
  Case c;
  c.name = std::move(name);
  c.sample = std::move(sample);
  c.value = [f](const V& x) { return f(x[0], x[1]); };
  c.grad = [g](const V& x, double r) {
    V d(2);
    g(x[0], x[1], r, &d[0], &d[1]);
    return d;
  };
  c.steps = std::move(steps);
  c.reference = std::move(ref);
  c.ref_rtol = rtol;
  return c;
}

// Distance to the nearest non-positive integer (the poles of the gamma family).
double pole_distance(double x) { return x > 0.5 ? x : std::fabs(x - std::round(x)); }
// A point for the gamma family: positive of any scale, or negative away from the poles.
double gamma_arg(Draw& d) {
  if (d.chance(0.8)) return d.positive(1e-12, 1e6);
  double x = -d.uniform(0.0, 10.0);
  while (pole_distance(x) < 0.02) x = -d.uniform(0.0, 10.0);
  return x;
}
double gamma_step(double x) { return std::fmin(0.1 * std::fmax(std::fabs(x), 1.0), 0.25 * pole_distance(x)); }
double nonzero(Draw& d) { return d.sign() * d.positive(1e-8, 1e8); }

void run(const Case& c, uint64_t seed, int points = 120) {
  Draw d(seed);
  int checked = 0;
  for (int n = 0; n < points; ++n) {
    V x = c.sample(d);
    double r = c.value(x);
    if (!std::isfinite(r)) {
      FAIL_CHECK(c.name << " not finite at " << show(x) << ": " << r);
      continue;
    }
    if (c.reference) {
      long double ref = c.reference(x);
      const double atol = c.ref_atol ? c.ref_atol(x) : 1e-300;
      if (!close_rel(r, static_cast<double>(ref), c.ref_rtol, atol))
        FAIL_CHECK(c.name << " value at " << show(x) << ": " << r << " vs reference " << static_cast<double>(ref));
    }
    V g = c.grad(x, r);
    if (check_gradient(c.name, c.value, x, g, c.steps(x), 1e-6, c.noise ? c.noise(x) : -1.0)) ++checked;
  }
  CHECK_MESSAGE(checked == points, c.name);
}

long double ld(double x) { return static_cast<long double>(x); }
// log(1 + e^x) in long double for any x (e^x overflows long double beyond 11356).
long double softplus_ld(double x) {
  return x > 0 ? ld(x) + std::log1p(std::exp(-ld(x))) : std::log1p(std::exp(ld(x)));
}

}  // namespace

TEST_CASE("scalar: exponentials, logarithms and powers") {
  const auto pos = [](Draw& d) { return d.positive(1e-200, 1e200); };
  const auto log_step = [](double x) { return step_for(x, 0.0); };
  std::vector<Case> cases = {
      unary("exp", halo_exp, halo_exp_grad, [](Draw& d) { return d.real(5, 700); }, [](double) { return 0.5; },
            [](double x) { return std::exp(ld(x)); }),
      unary("log", halo_log, halo_log_grad, pos, log_step, [](double x) { return std::log(ld(x)); }),
      unary("log1p", halo_log1p, halo_log1p_grad,
            [](Draw& d) { return d.chance(0.7) ? d.positive(1e-12, 1e10) : -1.0 + d.unit(); },
            [](double x) { return step_for(x, -1.0); }, [](double x) { return std::log1p(ld(x)); }),
      unary("expm1", halo_expm1, halo_expm1_grad, [](Draw& d) { return d.real(5, 700); }, [](double) { return 0.5; },
            [](double x) { return std::expm1(ld(x)); }),
      unary("exp2", halo_exp2, halo_exp2_grad, [](Draw& d) { return d.real(5, 1000); }, [](double) { return 0.5; },
            [](double x) { return std::exp2(ld(x)); }),
      unary("log2", halo_log2, halo_log2_grad, pos, log_step, [](double x) { return std::log2(ld(x)); }),
      unary("log10", halo_log10, halo_log10_grad, pos, log_step, [](double x) { return std::log10(ld(x)); }),
      unary("sqrt", halo_sqrt, halo_sqrt_grad, pos, log_step, [](double x) { return std::sqrt(ld(x)); }),
      unary("cbrt", halo_cbrt, halo_cbrt_grad, [](Draw& d) { return d.sign() * d.positive(1e-200, 1e200); },
            [](double x) { return 0.25 * std::fabs(x); }, [](double x) { return std::cbrt(ld(x)); }),
      unary("square", halo_square, halo_square_grad, [](Draw& d) { return d.real(5, 1e150); },
            [](double x) { return step_for(x); }, [](double x) { return ld(x) * ld(x); }),
      unary("inv", halo_inv, halo_inv_grad, nonzero, [](double x) { return 0.25 * std::fabs(x); },
            [](double x) { return 1.0L / ld(x); }),
      unary("inv_sqrt", halo_inv_sqrt, halo_inv_sqrt_grad, pos, log_step, [](double x) { return 1.0L / std::sqrt(ld(x)); }),
      unary("inv_square", halo_inv_square, halo_inv_square_grad, nonzero, [](double x) { return 0.25 * std::fabs(x); },
            [](double x) { return 1.0L / (ld(x) * ld(x)); }),
      unary("fabs", halo_fabs, halo_fabs_grad, nonzero, [](double x) { return 0.25 * std::fabs(x); },
            [](double x) { return std::fabs(ld(x)); }),
      unary("abs", halo_abs, halo_abs_grad, nonzero, [](double x) { return 0.25 * std::fabs(x); },
            [](double x) { return std::fabs(ld(x)); }),
  };
  uint64_t seed = 100;
  for (const Case& c : cases) run(c, ++seed);

  // pow(x, y), x > 0, with |y log x| < 600 (finite).
  Case pow_case = binary(
      "pow", halo_pow, halo_pow_grad,
      [](Draw& d) {
        double x = d.positive(1e-5, 1e5);
        double y = d.real(5, 50);
        while (std::fabs(y * std::log(x)) > 600) y *= 0.5;
        return V{x, y};
      },
      [](const V& x) { return V{step_for(x[0], 0.0), 0.1 / std::fmax(1.0, std::fabs(std::log(x[0])))}; },
      [](const V& x) { return std::pow(ld(x[0]), ld(x[1])); }, 1e-12);
  run(pow_case, 150);
  Case hypot_case = binary(
      "hypot", halo_hypot, halo_hypot_grad, [](Draw& d) { return V{d.real(5, 1e100), d.real(5, 1e100)}; },
      [](const V& x) { return V{step_for(x[0]), step_for(x[1])}; },
      [](const V& x) { return std::hypot(ld(x[0]), ld(x[1])); });
  run(hypot_case, 151);
  Case fma_case;
  fma_case.name = "fma";
  fma_case.sample = [](Draw& d) { return V{d.real(), d.real(), d.real()}; };
  fma_case.value = [](const V& x) { return halo_fma(x[0], x[1], x[2]); };
  fma_case.grad = [](const V& x, double r) {
    V g(3);
    halo_fma_grad(x[0], x[1], x[2], r, &g[0], &g[1], &g[2]);
    return g;
  };
  fma_case.steps = [](const V& x) { return V{step_for(x[0]), step_for(x[1]), step_for(x[2])}; };
  run(fma_case, 152);
}

TEST_CASE("scalar: gamma family") {
  std::vector<Case> cases = {
      unary("lgamma", halo_lgamma, halo_lgamma_grad, gamma_arg, gamma_step,
            [](double x) { return std::lgamma(ld(x)); }, 1e-13),
      unary("digamma", halo_digamma, halo_digamma_grad, gamma_arg, gamma_step,
            [](double x) { return boost::math::digamma(ld(x)); }, 1e-12),
      unary("trigamma", halo_trigamma, halo_trigamma_grad, gamma_arg, gamma_step,
            [](double x) { return boost::math::trigamma(ld(x)); }, 1e-12),
      unary("tgamma", halo_tgamma, halo_tgamma_grad,
            [](Draw& d) {
              double x = gamma_arg(d);
              return x > 170.0 ? d.uniform(0.5, 170.0) : x;
            },
            gamma_step, [](double x) { return std::tgamma(ld(x)); }, 1e-13),
  };
  uint64_t seed = 200;
  for (const Case& c : cases) run(c, ++seed);

  const auto pos2 = [](Draw& d) { return V{d.positive(1e-8, 1e8), d.positive(1e-8, 1e8)}; };
  const auto pos2_steps = [](const V& x) { return V{step_for(x[0], 0.0), step_for(x[1], 0.0)}; };
  run(binary("lbeta", halo_lbeta, halo_lbeta_grad, pos2, pos2_steps,
             [](const V& x) { return std::lgamma(ld(x[0])) + std::lgamma(ld(x[1])) - std::lgamma(ld(x[0]) + ld(x[1])); },
             1e-9),
      210);
  // lchoose(n, k), 0 < k < n: poles of lgamma(k + 1) at k = -1 and of lgamma(n - k + 1) at
  // k = n + 1.
  const auto choose_sample = [](Draw& d) {
    double n = d.positive(1e-3, 1e7);
    return V{n, n * d.unit()};
  };
  const auto choose_steps = [](const V& x) {
    double n = x[0], k = x[1];
    return V{std::fmin(step_for(n, -1.0), 0.25 * (n - k + 1.0)), std::fmin(step_for(k, -1.0), 0.25 * (n - k + 1.0))};
  };
  const auto choose_ref = [](const V& x) {
    return std::lgamma(ld(x[0]) + 1) - std::lgamma(ld(x[1]) + 1) - std::lgamma(ld(x[0]) - ld(x[1]) + 1);
  };
  // Near k = 0 or k = n the value is a small difference of lgammas: absolute accuracy relative
  // to their size is what either side can offer.
  const auto choose_atol = [](const V& x) { return 1e-14 * (std::fabs(std::lgamma(x[0] + 1.0)) + 1.0); };
  Case lchoose_case = binary("lchoose", halo_lchoose, halo_lchoose_grad, choose_sample, choose_steps, choose_ref, 1e-9);
  lchoose_case.ref_atol = choose_atol;
  lchoose_case.noise = [](const V& x) { return std::fabs(std::lgamma(x[0] + 1.0)) + 1.0; };
  run(lchoose_case, 211);
  Case bcl_case = binary("binomial_coefficient_log", halo_binomial_coefficient_log, halo_binomial_coefficient_log_grad,
                         choose_sample, choose_steps, choose_ref, 1e-9);
  bcl_case.ref_atol = choose_atol;
  bcl_case.noise = lchoose_case.noise;
  run(bcl_case, 212);
  // log_falling_factorial(x, n) = lgamma(x + 1) - lgamma(x - n + 1): n < x + 1.
  run(binary(
          "log_falling_factorial", halo_log_falling_factorial, halo_log_falling_factorial_grad,
          [](Draw& d) {
            double x = d.positive(1e-3, 1e5);
            return V{x, x + 1.0 - d.positive(1e-3, 1e5)};
          },
          [](const V& x) {
            double gap = x[0] - x[1] + 1.0;
            return V{std::fmin(step_for(x[0], -1.0), 0.25 * gap), std::fmin(0.1 * std::fmax(std::fabs(x[1]), 1.0), 0.25 * gap)};
          },
          [](const V& x) { return std::lgamma(ld(x[0]) + 1) - std::lgamma(ld(x[0]) - ld(x[1]) + 1); }, 1e-9),
      213);
  run(binary(
          "log_rising_factorial", halo_log_rising_factorial, halo_log_rising_factorial_grad,
          [](Draw& d) {
            double x = d.positive(1e-3, 1e5);
            return V{x, -x + d.positive(1e-3, 1e5)};
          },
          [](const V& x) {
            double gap = x[0] + x[1];
            return V{std::fmin(step_for(x[0], 0.0), 0.25 * gap), std::fmin(0.1 * std::fmax(std::fabs(x[1]), 1.0), 0.25 * gap)};
          },
          [](const V& x) { return std::lgamma(ld(x[0]) + ld(x[1])) - std::lgamma(ld(x[0])); }, 1e-9),
      214);
  // Incomplete gamma: values against Boost, derivatives (including in a) against FD.
  const auto inc_sample = [](Draw& d) { return V{d.positive(1e-2, 1e3), d.positive(1e-4, 2e3)}; };
  const auto inc_steps = [](const V& x) { return V{step_for(x[0], 0.0), step_for(x[1], 0.0)}; };
  run(binary("gamma_p", halo_gamma_p, halo_gamma_p_grad, inc_sample, inc_steps,
             [](const V& x) { return boost::math::gamma_p(x[0], x[1]); }, 1e-10),
      215);
  run(binary("gamma_q", halo_gamma_q, halo_gamma_q_grad, inc_sample, inc_steps,
             [](const V& x) { return boost::math::gamma_q(x[0], x[1]); }, 1e-10),
      216);

  // Integer-argument functions.
  Draw d(217);
  for (int n = 0; n < 120; ++n) {
    int64_t k = d.integer(1, 6), m = d.integer(0, 8);
    double x = d.positive(0.5, 50.0) + 0.5 * static_cast<double>(k);
    auto lm = [k](const V& v) { return halo_lmgamma(k, v[0]); };
    double r = lm({x}), g;
    long double ref = 0.25L * k * (k - 1) * std::log(3.141592653589793238462643383279502884L);
    for (int j = 1; j <= k; ++j) ref += std::lgamma(ld(x) + 0.5L * (1 - j));
    CHECK(close_rel(r, static_cast<double>(ref), 1e-12));
    halo_lmgamma_grad(k, x, r, &g);
    check_gradient("lmgamma", lm, {x}, {g}, {step_for(x, 0.5 * (k - 1))});
    double y = d.positive(0.5, 20.0) + static_cast<double>(m);
    auto ff = [m](const V& v) { return halo_falling_factorial(v[0], m); };
    auto rf = [m](const V& v) { return halo_rising_factorial(v[0], m); };
    double rff = ff({y}), rrf = rf({y});
    long double pf = 1, pr = 1;
    for (int j = 0; j < m; ++j) {
      pf *= ld(y) - j;
      pr *= ld(y) + j;
    }
    CHECK(close_rel(rff, static_cast<double>(pf), 1e-11));
    CHECK(close_rel(rrf, static_cast<double>(pr), 1e-11));
    halo_falling_factorial_grad(y, m, rff, &g);
    check_gradient("falling_factorial", ff, {y}, {g}, {std::fmin(step_for(y), 0.25 * (y - m + 1.0))});
    halo_rising_factorial_grad(y, m, rrf, &g);
    check_gradient("rising_factorial", rf, {y}, {g}, {step_for(y, 0.0)});
  }
}

TEST_CASE("scalar: error function, normal cdf and logistic family") {
  const auto wide = [](Draw& d) { return d.real(5, 37); };
  const auto unit_step = [](double x) { return std::fmin(0.1 * std::fmax(std::fabs(x), 1.0), 0.5); };
  const auto prob = [](Draw& d) { return d.unit(); };
  const auto prob_step = [](double p) { return step_for(p, 0.0, 1.0); };
  std::vector<Case> cases = {
      unary("erf", halo_erf, halo_erf_grad, [](Draw& d) { return d.real(3, 26); }, unit_step,
            [](double x) { return std::erf(ld(x)); }),
      unary("erfc", halo_erfc, halo_erfc_grad, [](Draw& d) { return d.real(3, 26); }, unit_step,
            [](double x) { return std::erfc(ld(x)); }, 1e-12),
      unary("inv_erfc", halo_inv_erfc, halo_inv_erfc_grad, [](Draw& d) { return 2.0 * d.unit(); },
            [](double x) { return step_for(x, 0.0, 2.0); }, [](double x) { return boost::math::erfc_inv(ld(x)); },
            1e-13),
      unary("Phi", halo_Phi, halo_Phi_grad, wide, unit_step,
            [](double x) { return 0.5L * std::erfc(-ld(x) / std::sqrt(2.0L)); }, 1e-12),
      unary("Phi_approx", halo_Phi_approx, halo_Phi_approx_grad, [](Draw& d) { return d.real(3, 20); }, unit_step,
            [](double x) { return 1.0L / (1.0L + std::exp(-(0.07056L * ld(x) * ld(x) * ld(x) + 1.5976L * ld(x)))); }),
      unary("inv_Phi", halo_inv_Phi, halo_inv_Phi_grad, prob, prob_step,
            [](double p) { return -std::sqrt(2.0L) * boost::math::erfc_inv(2.0L * ld(p)); }, 1e-14),
      unary("logit", halo_logit, halo_logit_grad, prob, prob_step,
            [](double p) { return std::log(ld(p)) - std::log1p(-ld(p)); }, 1e-12),
      unary("inv_logit", halo_inv_logit, halo_inv_logit_grad, [](Draw& d) { return d.real(5, 700); }, unit_step,
            [](double x) { return 1.0L / (1.0L + std::exp(-ld(x))); }),
      unary("sigmoid", halo_sigmoid, halo_sigmoid_grad, [](Draw& d) { return d.real(5, 700); }, unit_step,
            [](double x) { return 1.0L / (1.0L + std::exp(-ld(x))); }),
      unary("log_inv_logit", halo_log_inv_logit, halo_log_inv_logit_grad, [](Draw& d) { return d.real(5, 1e5); },
            unit_step, [](double x) { return softplus_ld(-x) * -1.0L; }),
      unary("log1m_inv_logit", halo_log1m_inv_logit, halo_log1m_inv_logit_grad, [](Draw& d) { return d.real(5, 1e5); },
            unit_step, [](double x) { return -softplus_ld(x); }),
      unary("log1m", halo_log1m, halo_log1m_grad, [](Draw& d) { return 1.0 - d.positive(1e-12, 1e12); },
            [](double x) { return step_for(x, -kInf, 1.0); }, [](double x) { return std::log1p(-ld(x)); }),
      unary("log1p_exp", halo_log1p_exp, halo_log1p_exp_grad, [](Draw& d) { return d.real(5, 1e5); }, unit_step,
            softplus_ld),
      unary("softplus", halo_softplus, halo_softplus_grad, [](Draw& d) { return d.real(5, 1e5); }, unit_step,
            softplus_ld),
      unary("log1m_exp", halo_log1m_exp, halo_log1m_exp_grad, [](Draw& d) { return -d.positive(1e-12, 1e4); },
            [](double x) { return std::fmin(step_for(x, -kInf, 0.0), 0.5); },
            [](double x) { return x > -0.7 ? std::log(-std::expm1(ld(x))) : std::log1p(-std::exp(ld(x))); }, 1e-12),
      unary("inv_cloglog", halo_inv_cloglog, halo_inv_cloglog_grad, [](Draw& d) { return d.real(3, 30); }, unit_step,
            [](double x) { return -std::expm1(-std::exp(ld(x))); }, 1e-12),
  };
  uint64_t seed = 300;
  for (const Case& c : cases) run(c, ++seed);

  const auto lse_sample = [](Draw& d) { return V{d.real(5, 1e4), d.real(5, 1e4)}; };
  const auto unit_steps = [](const V&) { return V{0.5, 0.5}; };
  run(binary("log_sum_exp", halo_log_sum_exp, halo_log_sum_exp_grad, lse_sample, unit_steps,
             [](const V& x) {
               long double m = std::max(ld(x[0]), ld(x[1]));
               return m + std::log(std::exp(ld(x[0]) - m) + std::exp(ld(x[1]) - m));
             }),
      320);
  // log_diff_exp(x, y), y < x, including nearly equal arguments.
  const auto diff_sample = [](Draw& d) {
    double x = d.real(5, 1e4);
    return V{x, x - d.positive(1e-9 * std::fmax(1.0, std::fabs(x)) * 1e2, 1e3)};
  };
  const auto diff_steps = [](const V& x) {
    double gap = 0.25 * (x[0] - x[1]);
    return V{std::fmin(0.5, gap), std::fmin(0.5, gap)};
  };
  run(binary("log_diff_exp", halo_log_diff_exp, halo_log_diff_exp_grad, diff_sample, diff_steps,
             [](const V& x) { return ld(x[0]) + std::log(-std::expm1(ld(x[1]) - ld(x[0]))); }, 1e-9),
      321);
  run(binary(
          "log_inv_logit_diff", halo_log_inv_logit_diff, halo_log_inv_logit_diff_grad,
          [](Draw& d) {
            double x = d.real(5, 30);
            return V{x, x - d.positive(1e-3, 30)};
          },
          diff_steps,
          [](const V& x) { return std::log(1.0L / (1.0L + std::exp(-ld(x[0]))) - 1.0L / (1.0L + std::exp(-ld(x[1])))); },
          1e-9),
      322);
  run(binary("multiply_log", halo_multiply_log, halo_multiply_log_grad,
             [](Draw& d) { return V{d.real(), d.positive(1e-100, 1e100)}; },
             [](const V& x) { return V{step_for(x[0]), step_for(x[1], 0.0)}; },
             [](const V& x) { return ld(x[0]) * std::log(ld(x[1])); }, 1e-13),
      323);
  run(binary("lmultiply", halo_lmultiply, halo_lmultiply_grad,
             [](Draw& d) { return V{d.real(), d.positive(1e-100, 1e100)}; },
             [](const V& x) { return V{step_for(x[0]), step_for(x[1], 0.0)}; },
             [](const V& x) { return ld(x[0]) * std::log(ld(x[1])); }, 1e-13),
      324);
  run(binary("owens_t", halo_owens_t, halo_owens_t_grad, [](Draw& d) { return V{d.real(3, 30), d.real(3, 1e3)}; },
             [](const V& x) { return V{std::fmin(step_for(x[0]), 0.5), step_for(x[1])}; },
             [](const V& x) { return boost::math::owens_t(x[0], x[1]); }, 1e-12),
      325);

  // log_mix(theta, lp1, lp2)
  Case mix;
  mix.name = "log_mix";
  mix.sample = [](Draw& d) { return V{d.unit(), d.real(5, 1e3), d.real(5, 1e3)}; };
  mix.value = [](const V& x) { return halo_log_mix(x[0], x[1], x[2]); };
  mix.grad = [](const V& x, double r) {
    V g(3);
    halo_log_mix_grad(x[0], x[1], x[2], r, &g[0], &g[1], &g[2]);
    return g;
  };
  mix.steps = [](const V& x) { return V{step_for(x[0], 0.0, 1.0), 0.5, 0.5}; };
  mix.reference = [](const V& x) {
    long double a = std::log(ld(x[0])) + ld(x[1]), b = std::log1p(-ld(x[0])) + ld(x[2]);
    long double m = std::max(a, b);
    return m + std::log(std::exp(a - m) + std::exp(b - m));
  };
  mix.ref_rtol = 1e-12;
  run(mix, 330);
  // inc_beta(a, b, x)
  Case ib;
  ib.name = "inc_beta";
  ib.sample = [](Draw& d) { return V{d.positive(1e-2, 1e3), d.positive(1e-2, 1e3), d.unit()}; };
  ib.value = [](const V& x) { return halo_inc_beta(x[0], x[1], x[2]); };
  ib.grad = [](const V& x, double r) {
    V g(3);
    halo_inc_beta_grad(x[0], x[1], x[2], r, &g[0], &g[1], &g[2]);
    return g;
  };
  ib.steps = [](const V& x) { return V{step_for(x[0], 0.0), step_for(x[1], 0.0), step_for(x[2], 0.0, 1.0)}; };
  ib.reference = [](const V& x) { return boost::math::ibeta(x[0], x[1], x[2]); };
  ib.ref_rtol = 1e-10;
  run(ib, 331);
}

TEST_CASE("scalar: trigonometric and hyperbolic") {
  const auto angle_step = [](double) { return 0.1; };
  // tan: away from its poles.
  const auto tan_sample = [](Draw& d) {
    double k = std::round(d.real(3, 1e4) / 3.141592653589793);
    return k * 3.141592653589793 + d.uniform(-1.5, 1.5);
  };
  const auto tan_step = [](double x) {
    double r = std::fmod(std::fabs(x), 3.141592653589793);
    return std::fmin(0.1, 0.25 * std::fabs(r - 1.5707963267948966));  // to the nearest pole
  };
  const auto open_unit = [](Draw& d) { return 2.0 * d.unit() - 1.0; };
  const auto open_unit_step = [](double x) { return step_for(x, -1.0, 1.0); };
  std::vector<Case> cases = {
      unary("sin", halo_sin, halo_sin_grad, [](Draw& d) { return d.real(10, 1e5); }, angle_step,
            [](double x) { return std::sin(ld(x)); }, 1e-9),
      unary("cos", halo_cos, halo_cos_grad, [](Draw& d) { return d.real(10, 1e5); }, angle_step,
            [](double x) { return std::cos(ld(x)); }, 1e-9),
      unary("tan", halo_tan, halo_tan_grad, tan_sample, tan_step, [](double x) { return std::tan(ld(x)); }, 1e-9),
      unary("asin", halo_asin, halo_asin_grad, open_unit, open_unit_step, [](double x) { return std::asin(ld(x)); }),
      unary("acos", halo_acos, halo_acos_grad, open_unit, open_unit_step, [](double x) { return std::acos(ld(x)); }),
      unary("atan", halo_atan, halo_atan_grad, [](Draw& d) { return d.real(5, 1e100); },
            [](double x) { return step_for(x); }, [](double x) { return std::atan(ld(x)); }),
      unary("sinh", halo_sinh, halo_sinh_grad, [](Draw& d) { return d.real(5, 700); }, [](double) { return 0.5; },
            [](double x) { return std::sinh(ld(x)); }),
      unary("cosh", halo_cosh, halo_cosh_grad, [](Draw& d) { return d.real(5, 700); }, [](double) { return 0.5; },
            [](double x) { return std::cosh(ld(x)); }),
      unary("tanh", halo_tanh, halo_tanh_grad, [](Draw& d) { return d.real(5, 18); }, [](double) { return 0.5; },
            [](double x) { return std::tanh(ld(x)); }),
      unary("asinh", halo_asinh, halo_asinh_grad, [](Draw& d) { return d.real(5, 1e100); },
            [](double x) { return step_for(x); }, [](double x) { return std::asinh(ld(x)); }),
      unary("acosh", halo_acosh, halo_acosh_grad, [](Draw& d) { return 1.0 + d.positive(1e-10, 1e100); },
            [](double x) { return step_for(x, 1.0); }, [](double x) { return std::acosh(ld(x)); }, 1e-12),
      unary("atanh", halo_atanh, halo_atanh_grad, open_unit, open_unit_step, [](double x) { return std::atanh(ld(x)); },
            1e-12),
  };
  uint64_t seed = 400;
  for (const Case& c : cases) run(c, ++seed);
  run(binary(
          "atan2", halo_atan2, halo_atan2_grad, [](Draw& d) { return V{d.real(5, 1e10), d.real(5, 1e10)}; },
          [](const V& x) {
            double h = 0.1 * std::hypot(x[0], x[1]);
            // stay off the branch cut (negative x-axis)
            if (x[1] < 0.0) h = std::fmin(h, 0.25 * std::fabs(x[0]));
            return V{h, h};
          },
          [](const V& x) { return std::atan2(ld(x[0]), ld(x[1])); }),
      420);
}

TEST_CASE("scalar: min, max, remainders and activations") {
  const auto pair_apart = [](Draw& d) {
    double x = d.real(), y = d.real();
    while (std::fabs(x - y) < 1e-6) y = d.real();
    return V{x, y};
  };
  const auto gap_steps = [](const V& x) {
    double h = 0.25 * std::fabs(x[0] - x[1]);
    return V{h, h};
  };
  run(binary("fmin", halo_fmin, halo_fmin_grad, pair_apart, gap_steps,
             [](const V& x) { return std::fmin(ld(x[0]), ld(x[1])); }),
      500);
  run(binary("fmax", halo_fmax, halo_fmax_grad, pair_apart, gap_steps,
             [](const V& x) { return std::fmax(ld(x[0]), ld(x[1])); }),
      501);
  run(binary("fdim", halo_fdim, halo_fdim_grad, pair_apart, gap_steps,
             [](const V& x) { return std::fdim(ld(x[0]), ld(x[1])); }),
      502);
  run(binary(
          "fmod", halo_fmod, halo_fmod_grad,
          [](Draw& d) {
            double y = d.sign() * d.positive(0.1, 10.0);
            double q = d.uniform(-50, 50);
            double frac = q - std::floor(q);
            if (frac < 0.05 || frac > 0.95) q += 0.5;
            return V{q * y, y};
          },
          [](const V& x) {
            double q = x[0] / x[1], frac = q - std::floor(q);
            double dist = std::fmin(frac, 1.0 - frac);  // to the next jump, in units of y
            return V{0.25 * dist * std::fabs(x[1]), 0.25 * dist * x[1] * x[1] / std::fmax(std::fabs(x[0]), 1e-3)};
          },
          [](const V& x) { return std::fmod(ld(x[0]), ld(x[1])); }, 1e-12),
      503);
  const auto nonzero_step = [](double x) { return 0.25 * std::fabs(x); };
  std::vector<Case> cases = {
      unary("relu", halo_relu, halo_relu_grad, nonzero, nonzero_step, [](double x) { return x > 0 ? ld(x) : 0.0L; }),
      unary("leaky_relu", halo_leaky_relu, halo_leaky_relu_grad, nonzero, nonzero_step,
            [](double x) { return x > 0 ? ld(x) : 0.01L * ld(x); }),
      unary("elu", halo_elu, halo_elu_grad, [](Draw& d) { return d.sign() * d.positive(1e-8, 700); }, nonzero_step,
            [](double x) { return x > 0 ? ld(x) : std::expm1(ld(x)); }),
      unary("gelu", halo_gelu, halo_gelu_grad, [](Draw& d) { return d.real(5, 37); },
            [](double x) { return std::fmin(0.1 * std::fmax(std::fabs(x), 1.0), 0.5); },
            [](double x) { return ld(x) * 0.5L * std::erfc(-ld(x) / std::sqrt(2.0L)); }, 1e-12),
  };
  uint64_t seed = 510;
  for (const Case& c : cases) run(c, ++seed);
}

TEST_CASE("scalar: extreme arguments stay finite and accurate") {
  CHECK(halo_log1p_exp(800.0) == 800.0);
  CHECK(halo_log1p_exp(-800.0) == std::exp(-800.0));
  CHECK(halo_log1p_exp(-40.0) == doctest::Approx(std::exp(-40.0)).epsilon(1e-15));
  CHECK(halo_log_inv_logit(-800.0) == -800.0);
  CHECK(halo_log1m_inv_logit(800.0) == -800.0);
  CHECK(halo_inv_logit(-745.0) > 0.0);
  CHECK(halo_inv_logit(800.0) == 1.0);
  // log_diff_exp of nearly equal arguments: log(e^x - e^(x - d)) = x + log(1 - e^-d) ~ x + log d.
  const double y = 3.0 - 1e-12, d = 3.0 - y;  // the difference actually represented
  CHECK(halo_log_diff_exp(3.0, y) == doctest::Approx(3.0 + std::log(-std::expm1(-d))).epsilon(1e-14));
  CHECK(halo_log_diff_exp(1e5, 1e5) == -kInf);
  CHECK(halo_log_diff_exp(1e5, -kInf) == 1e5);
  CHECK(std::isnan(halo_log_diff_exp(1.0, 2.0)));
  CHECK(halo_log_sum_exp(1e5, 1e5) == doctest::Approx(1e5 + std::log(2.0)).epsilon(1e-15));
  CHECK(halo_log_sum_exp(-kInf, -kInf) == -kInf);
  CHECK(halo_log_sum_exp(kInf, kInf) == kInf);
  CHECK(std::isnan(halo_log_sum_exp(kNaN, 1.0)));
  {
    // Equal infinities weigh 1/2 each (the symmetric limit); a NaN gives NaN weights.
    double da, db;
    halo_log_sum_exp_grad(-kInf, -kInf, -kInf, &da, &db);
    CHECK(da == 0.5);
    CHECK(db == 0.5);
    halo_log_sum_exp_grad(2.0, kNaN, kNaN, &da, &db);
    CHECK(std::isnan(da));
    CHECK(std::isnan(db));
    // log_mix at the ends of theta's range, where one weight is 0 and the derivative in theta
    // takes the exp form: e^(lp1 - r) - e^(lp2 - r); outside [0, 1] everything is NaN.
    const double lp1 = -1.5, lp2 = -0.25;
    double dt, d1, d2;
    double r = halo_log_mix(0.0, lp1, lp2);
    CHECK(r == doctest::Approx(lp2).epsilon(1e-15));
    halo_log_mix_grad(0.0, lp1, lp2, r, &dt, &d1, &d2);
    CHECK(dt == doctest::Approx(std::exp(lp1 - lp2) - 1.0).epsilon(1e-14));
    CHECK(d1 == 0.0);
    CHECK(d2 == doctest::Approx(1.0).epsilon(1e-15));
    r = halo_log_mix(1.0, lp1, lp2);
    CHECK(r == doctest::Approx(lp1).epsilon(1e-15));
    halo_log_mix_grad(1.0, lp1, lp2, r, &dt, &d1, &d2);
    CHECK(dt == doctest::Approx(1.0 - std::exp(lp2 - lp1)).epsilon(1e-14));
    CHECK(d1 == doctest::Approx(1.0).epsilon(1e-15));
    CHECK(d2 == 0.0);
    CHECK(std::isnan(halo_log_mix(1.5, lp1, lp2)));
    halo_log_mix_grad(1.5, lp1, lp2, kNaN, &dt, &d1, &d2);
    CHECK((std::isnan(dt) && std::isnan(d1) && std::isnan(d2)));
  }
  CHECK(halo_log1m_exp(-1e-20) == doctest::Approx(std::log(1e-20)).epsilon(1e-14));
  CHECK(halo_log1m_exp(-800.0) == -0.0);
  // lgamma near 0 and its derivative.
  CHECK(halo_lgamma(1e-300) == doctest::Approx(-std::log(1e-300)).epsilon(1e-14));
  double g;
  halo_lgamma_grad(1e-8, halo_lgamma(1e-8), &g);
  CHECK(g == doctest::Approx(-1e8 - 0.5772156649015329).epsilon(1e-14));
  CHECK(halo_lgamma(0.0) == kInf);
  // The tails of Phi and inv_Phi.
  CHECK(halo_Phi(-37.0) > 0.0);
  CHECK(halo_Phi(-37.0) == doctest::Approx(boost::math::erfc(37.0 / std::sqrt(2.0)) / 2).epsilon(1e-13));
  CHECK(halo_inv_Phi(1e-300) == doctest::Approx(-37.0471).epsilon(1e-5));
  CHECK(halo_inv_Phi(0.0) == -kInf);
  CHECK(halo_inv_Phi(1.0) == kInf);
  CHECK(std::isnan(halo_inv_Phi(1.5)));
  // Round trip Phi(inv_Phi(p)) across the range.
  for (double p : {1e-300, 1e-100, 1e-20, 1e-5, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-10}) {
    CHECK(halo_Phi(halo_inv_Phi(p)) == doctest::Approx(p).epsilon(1e-13));
  }
  // Bad arguments give NaN or inf, never a trap.
  CHECK(std::isnan(halo_log(-1.0)));
  CHECK(std::isnan(halo_lbeta(-1.0, 2.0)));
  CHECK(std::isnan(halo_gamma_p(-1.0, 1.0)));
  CHECK(std::isnan(halo_inc_beta(1.0, 1.0, 2.0)));
  CHECK(std::isnan(halo_digamma(-2.0)) + std::isinf(halo_digamma(-2.0)) == 1);
  CHECK(std::isnan(halo_trigamma(kNaN)));
  // Piecewise-constant helpers.
  CHECK(halo_step(-0.0) == 1.0);
  CHECK(halo_step(-1e-300) == 0.0);
  CHECK(halo_int_step(0.0) == 0);
  CHECK(halo_int_step(kNaN) == 0);
  CHECK(halo_is_inf(-kInf) == 1);
  CHECK(halo_is_nan(kNaN) == 1);
  CHECK(halo_choose(50, 25) == 126410606437752LL);
  CHECK(halo_choose(5, 7) == 0);
  CHECK(halo_floor(-1.5) == -2.0);
  CHECK(halo_round(2.5) == 3.0);
  for (auto grad : {halo_floor_grad, halo_ceil_grad, halo_round_grad, halo_trunc_grad, halo_step_grad}) {
    double d = 1.0;
    grad(0.7, 0.0, &d);
    CHECK(d == 0.0);
  }
  CHECK(halo_to_int(2.9) == 2);
  CHECK(halo_to_int(-2.9) == -2);
  CHECK(halo_to_int(-2147483648.0) == -2147483648LL);
  CHECK(halo_to_int(kNaN) == 0);
  CHECK(halo_to_int(kInf) == 0);
  // tetragamma (the derivative of trigamma) against Boost's polygamma.
  for (double x : {-3.7, -0.5, 1e-6, 0.3, 1.0, 7.5, 14.9, 15.0, 80.0, 1e6}) {
    double t;
    halo_trigamma_grad(x, halo_trigamma(x), &t);
    CHECK(t == doctest::Approx(boost::math::polygamma(2, x)).epsilon(1e-12));
  }
}

// log_sum_exp(0, -d) = log1p(e^-d) comes from the softplus table below d = 64 (internal.h):
// every segment, its edges and points in between, against long double; the weights too.
TEST_CASE("scalar: log_sum_exp's table-driven log1p(e^-d) across all segments") {
  double worst_value = 0.0, worst_weight = 0.0;
  auto check = [&](double d) {
    const long double e = std::exp(-static_cast<long double>(d));
    const long double value = std::log1p(e), weight = e / (1.0L + e);
    const double got = halo_log_sum_exp(0.0, -d);
    double w_big, w_small;
    halo_log_sum_exp_grad(0.0, -d, got, &w_big, &w_small);
    if (value < 0x1p-1022L) {  // below the normal doubles: absolute error of the last subnormal
      CHECK(std::fabs(got - value) <= 0x1p-1074L);
      CHECK(std::fabs(w_small - weight) <= 0x1p-1074L);
      return;
    }
    worst_value = std::fmax(worst_value, static_cast<double>(std::fabs(got / value - 1.0L)));
    worst_weight = std::fmax(worst_weight, static_cast<double>(std::fabs(w_small / weight - 1.0L)));
    CHECK(w_big + w_small == doctest::Approx(1.0).epsilon(1e-15));
    // Symmetric in its arguments, and shifted by a common offset.
    CHECK(halo_log_sum_exp(-d, 0.0) == got);
    CHECK(halo_log_sum_exp(10.0, 10.0 - d) == doctest::Approx(10.0 + got).epsilon(2e-16));
  };
  for (int edge = 0; edge <= 130; ++edge) {  // segment edges at multiples of 1/2, both sides
    const double d = 0.5 * edge;
    check(d);
    if (edge > 0) check(std::nextafter(d, 0.0));
  }
  uint64_t state = 11;
  for (int k = 0; k < 200000; ++k) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    check(70.0 * static_cast<double>(state >> 11) * 0x1p-53);
  }
  for (double d : {100.0, 700.0, 744.0, 746.0, 1e300}) check(d);
  MESSAGE("worst relative error: value " << worst_value << ", smaller weight " << worst_weight);
  CHECK(worst_value < 6e-16);  // under 3 ulp (Estrin's partial sums each round once)
  CHECK(worst_weight < 4e-16);
  CHECK(halo_log_sum_exp(0.0, -kInf) == 0.0);
  CHECK(std::isnan(halo_log_sum_exp(kNaN, kNaN)));
}
