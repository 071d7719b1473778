// Random numbers: the generator (reproducible, streams, jump, uniform bits) and every _rng by
// its moments: over 1e5 draws with fixed seeds, the sample mean and variance lie within five
// standard errors of the distribution's (the standard error of the variance from the sample's
// fourth central moment); heavy-tailed ones by the fraction below quantiles instead.
#include <boost/math/special_functions/bessel.hpp>

#include "check.h"

using namespace halo_test;

namespace {

constexpr int kDraws = 100000;

struct Sample {
  double mean = 0, var = 0, m4 = 0;
};

Sample summarise(const std::vector<double>& x) {
  Sample s;
  const double n = static_cast<double>(x.size());
  for (double v : x) s.mean += v;
  s.mean /= n;
  for (double v : x) {
    const double d = v - s.mean;
    s.var += d * d;
    s.m4 += d * d * d * d;
  }
  s.var /= n - 1;
  s.m4 /= n;
  return s;
}

void check_moments(const std::string& name, const std::function<double(halo_rng*)>& draw, double mean, double var,
                   uint64_t seed) {
  halo_rng rng;
  halo_rng_seed(&rng, seed, 0);
  std::vector<double> x(kDraws);
  for (double& v : x) v = draw(&rng);
  const Sample s = summarise(x);
  const double n = kDraws;
  const double se_mean = std::sqrt(s.var / n);
  const double se_var = std::sqrt(std::fmax(s.m4 - s.var * s.var, 0.0) / n);
  CHECK_MESSAGE(std::fabs(s.mean - mean) <= 5 * se_mean,
                name << ": mean " << s.mean << " vs " << mean << " (se " << se_mean << ")");
  CHECK_MESSAGE(std::fabs(s.var - var) <= 5 * se_var, name << ": variance " << s.var << " vs " << var << " (se " << se_var << ")");
}

// P(X <= q) for a few q against the cdf, each within five binomial standard errors.
void check_quantiles(const std::string& name, const std::function<double(halo_rng*)>& draw,
                     const std::function<double(double)>& cdf, const std::vector<double>& qs, uint64_t seed) {
  halo_rng rng;
  halo_rng_seed(&rng, seed, 0);
  std::vector<double> x(kDraws);
  for (double& v : x) v = draw(&rng);
  for (double q : qs) {
    double below = 0;
    for (double v : x) below += v <= q ? 1 : 0;
    below /= kDraws;
    const double p = cdf(q);
    const double se = std::sqrt(p * (1 - p) / kDraws);
    CHECK_MESSAGE(std::fabs(below - p) <= 5 * se + 1e-12, name << ": P(X <= " << q << ") " << below << " vs " << p);
  }
}

double cdf_of(double (*lcdf)(double, double, double, int, double*), double a, double b, double y) {
  double d[3];
  return std::exp(lcdf(y, a, b, 0, d));
}

}  // namespace

TEST_CASE("rng: the generator") {
  halo_rng a, b, c;
  halo_rng_seed(&a, 42, 0);
  halo_rng_seed(&b, 42, 0);
  halo_rng_seed(&c, 42, 1);
  bool same = true, differ = false;
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = halo_rng_next(&a), y = halo_rng_next(&b), z = halo_rng_next(&c);
    same = same && x == y;
    differ = differ || x != z;
  }
  CHECK(same);    // reproducible
  CHECK(differ);  // another stream
  // Jumping twice equals jumping once from the once-jumped state (and moves the state).
  halo_rng j1, j2;
  halo_rng_seed(&j1, 7, 3);
  j2 = j1;
  halo_rng_jump(&j1);
  CHECK(halo_rng_next(&j1) != halo_rng_next(&j2));
  // Every output bit is fair (a stuck or biased bit would show).
  halo_rng r;
  halo_rng_seed(&r, 1, 0);
  std::vector<int> ones(64, 0);
  for (int i = 0; i < kDraws; ++i) {
    uint64_t v = halo_rng_next(&r);
    for (int bit = 0; bit < 64; ++bit) ones[bit] += (v >> bit) & 1;
  }
  for (int bit = 0; bit < 64; ++bit) CHECK(std::fabs(ones[bit] - kDraws / 2.0) <= 5 * std::sqrt(kDraws / 4.0));
  // Uniform: open interval, moments, quantiles.
  double lo = 1, hi = 0;
  for (int i = 0; i < kDraws; ++i) {
    double u = halo_rng_uniform(&r);
    lo = std::fmin(lo, u);
    hi = std::fmax(hi, u);
  }
  CHECK(lo > 0.0);
  CHECK(hi < 1.0);
  check_moments("uniform", [](halo_rng* g) { return halo_rng_uniform(g); }, 0.5, 1.0 / 12, 11);
  check_quantiles("uniform", [](halo_rng* g) { return halo_rng_uniform(g); }, [](double q) { return q; },
                  {0.001, 0.1, 0.5, 0.9, 0.999}, 12);
  check_moments("normal", [](halo_rng* g) { return halo_rng_normal(g); }, 0.0, 1.0, 13);
  check_quantiles("normal", [](halo_rng* g) { return halo_rng_normal(g); }, [](double q) { return halo_Phi(q); },
                  {-3.5, -2, -1, 0, 0.5, 1.5, 3}, 14);
}

TEST_CASE("rng: continuous distributions by moments") {
  const double pi = 3.141592653589793;
  uint64_t seed = 100;
  check_moments("normal_rng", [](halo_rng* g) { return halo_normal_rng(3.0, 2.0, g); }, 3.0, 4.0, ++seed);
  check_moments("std_normal_rng", [](halo_rng* g) { return halo_std_normal_rng(g); }, 0.0, 1.0, ++seed);
  check_moments("lognormal_rng", [](halo_rng* g) { return halo_lognormal_rng(0.5, 0.4, g); }, std::exp(0.5 + 0.08),
                (std::exp(0.16) - 1) * std::exp(1.0 + 0.16), ++seed);
  check_moments("student_t_rng", [](halo_rng* g) { return halo_student_t_rng(10.0, 1.0, 2.0, g); }, 1.0,
                4.0 * 10 / 8, ++seed);
  check_moments("exponential_rng", [](halo_rng* g) { return halo_exponential_rng(2.5, g); }, 0.4, 0.16, ++seed);
  for (double alpha : {0.05, 0.3, 1.0, 5.5, 200.0})
    check_moments("gamma_rng(" + std::to_string(alpha) + ")",
                  [alpha](halo_rng* g) { return halo_gamma_rng(alpha, 2.0, g); }, alpha / 2, alpha / 4, ++seed);
  check_moments("inv_gamma_rng", [](halo_rng* g) { return halo_inv_gamma_rng(7.0, 3.0, g); }, 0.5, 9.0 / (36 * 5),
                ++seed);
  for (auto ab : {std::pair<double, double>{2.0, 5.0}, {0.2, 0.3}, {50.0, 0.5}}) {
    const double a = ab.first, b = ab.second;
    check_moments("beta_rng", [a, b](halo_rng* g) { return halo_beta_rng(a, b, g); }, a / (a + b),
                  a * b / ((a + b) * (a + b) * (a + b + 1)), ++seed);
  }
  check_moments("beta_proportion_rng", [](halo_rng* g) { return halo_beta_proportion_rng(0.3, 10.0, g); }, 0.3,
                0.3 * 0.7 / 11, ++seed);
  check_moments("uniform_rng", [](halo_rng* g) { return halo_uniform_rng(-1.0, 3.0, g); }, 1.0, 16.0 / 12, ++seed);
  check_moments("double_exponential_rng", [](halo_rng* g) { return halo_double_exponential_rng(1.0, 2.0, g); }, 1.0,
                8.0, ++seed);
  check_moments("logistic_rng", [](halo_rng* g) { return halo_logistic_rng(-1.0, 0.5, g); }, -1.0,
                0.25 * pi * pi / 3, ++seed);
  {
    const double a = 2.0, s = 3.0, g1 = std::tgamma(1 + 1 / a), g2 = std::tgamma(1 + 2 / a);
    check_moments("weibull_rng", [a, s](halo_rng* g) { return halo_weibull_rng(a, s, g); }, s * g1,
                  s * s * (g2 - g1 * g1), ++seed);
  }
  {
    const double a = 9.0, s = 2.0, g1 = std::tgamma(1 - 1 / a), g2 = std::tgamma(1 - 2 / a);
    check_moments("frechet_rng", [a, s](halo_rng* g) { return halo_frechet_rng(a, s, g); }, s * g1,
                  s * s * (g2 - g1 * g1), ++seed);
  }
  check_moments("chi_square_rng", [](halo_rng* g) { return halo_chi_square_rng(3.5, g); }, 3.5, 7.0, ++seed);
  check_moments("inv_chi_square_rng", [](halo_rng* g) { return halo_inv_chi_square_rng(12.0, g); }, 0.1,
                2.0 / (100 * 8), ++seed);
  check_moments("scaled_inv_chi_square_rng", [](halo_rng* g) { return halo_scaled_inv_chi_square_rng(12.0, 2.0, g); },
                12.0 * 4 / 10, 2.0 * 144 * 16 / (100 * 8), ++seed);
  {
    const double xi = 1.0, om = 2.0, al = 3.0, de = al / std::sqrt(1 + al * al);
    check_moments("skew_normal_rng", [=](halo_rng* g) { return halo_skew_normal_rng(xi, om, al, g); },
                  xi + om * de * std::sqrt(2 / pi), om * om * (1 - 2 * de * de / pi), ++seed);
  }
  check_moments("exp_mod_normal_rng", [](halo_rng* g) { return halo_exp_mod_normal_rng(1.0, 0.5, 2.0, g); }, 1.5,
                0.25 + 0.25, ++seed);
  check_moments("gumbel_rng", [](halo_rng* g) { return halo_gumbel_rng(1.0, 2.0, g); }, 1.0 + 2.0 * 0.5772156649015329,
                pi * pi * 4 / 6, ++seed);
  check_moments("pareto_rng", [](halo_rng* g) { return halo_pareto_rng(2.0, 10.0, g); }, 20.0 / 9,
                4.0 * 10 / (81 * 8), ++seed);
  check_moments("pareto_type_2_rng", [](halo_rng* g) { return halo_pareto_type_2_rng(1.0, 2.0, 10.0, g); },
                1.0 + 2.0 / 9, 4.0 * 10 / (81 * 8), ++seed);
  check_moments("rayleigh_rng", [](halo_rng* g) { return halo_rayleigh_rng(2.0, g); }, 2.0 * std::sqrt(pi / 2),
                (4 - pi) * 2.0, ++seed);
  for (double kappa : {1e-9, 0.5, 4.0, 600.0}) {
    // E cos(y - mu) = I1(kappa) / I0(kappa); Var from E cos^2 = (1 + I2/I0) / 2.
    const double i0 = boost::math::cyl_bessel_i(0, std::fmin(kappa, 700.0));
    const double r1 = kappa > 700 ? 1 : boost::math::cyl_bessel_i(1, kappa) / i0;
    const double r2 = kappa > 700 ? 1 : boost::math::cyl_bessel_i(2, kappa) / i0;
    check_moments("von_mises_rng cos", [kappa](halo_rng* g) { return std::cos(halo_von_mises_rng(0.5, kappa, g) - 0.5); },
                  r1, 0.5 * (1 + r2) - r1 * r1, ++seed);
    check_moments("von_mises_rng sin", [kappa](halo_rng* g) { return std::sin(halo_von_mises_rng(0.5, kappa, g) - 0.5); },
                  0.0, 0.5 * (1 - r2), ++seed);
  }
  // Heavy tails: quantiles.
  check_quantiles("cauchy_rng", [](halo_rng* g) { return halo_cauchy_rng(1.0, 2.0, g); },
                  [](double q) { return cdf_of(halo_cauchy_lcdf, 1.0, 2.0, q); }, {-50, -3, 0, 1, 2, 10, 100}, ++seed);
  check_quantiles("student_t_rng(1.5)", [](halo_rng* g) { return halo_student_t_rng(1.5, 0.0, 1.0, g); },
                  [](double q) {
                    double d[4];
                    return halo_student_t_cdf(q, 1.5, 0.0, 1.0, 0, d);
                  },
                  {-10, -1, 0, 0.5, 3, 30}, ++seed);
  check_quantiles("gamma_rng(0.05)", [](halo_rng* g) { return halo_gamma_rng(0.05, 1.0, g); },
                  [](double q) { return cdf_of(halo_gamma_lcdf, 0.05, 1.0, q); }, {1e-20, 1e-8, 1e-3, 0.1, 1}, ++seed);
  // Invalid parameters.
  halo_rng g;
  halo_rng_seed(&g, 1, 0);
  CHECK(std::isnan(halo_normal_rng(0.0, -1.0, &g)));
  CHECK(std::isnan(halo_gamma_rng(0.0, 1.0, &g)));
  CHECK(halo_poisson_rng(-1.0, &g) == -1);
  CHECK(halo_binomial_rng(-1, 0.5, &g) == -1);
}

TEST_CASE("rng: discrete distributions by moments") {
  uint64_t seed = 200;
  auto as_real = [](int64_t (*f)(double, halo_rng*), double a) {
    return [f, a](halo_rng* g) { return static_cast<double>(f(a, g)); };
  };
  check_moments("bernoulli_rng", as_real(halo_bernoulli_rng, 0.3), 0.3, 0.21, ++seed);
  check_moments("bernoulli_logit_rng", as_real(halo_bernoulli_logit_rng, -0.5), 1 / (1 + std::exp(0.5)),
                std::exp(0.5) / ((1 + std::exp(0.5)) * (1 + std::exp(0.5))), ++seed);
  for (auto nt : {std::pair<int64_t, double>{20, 0.3}, {1000, 0.4}, {1000, 0.93}, {100000, 0.001}, {3, 0.999}}) {
    const int64_t N = nt.first;
    const double t = nt.second;
    check_moments("binomial_rng(" + std::to_string(N) + ", " + std::to_string(t) + ")",
                  [N, t](halo_rng* g) { return static_cast<double>(halo_binomial_rng(N, t, g)); }, N * t,
                  N * t * (1 - t), ++seed);
  }
  check_moments("binomial_logit_rng", [](halo_rng* g) { return static_cast<double>(halo_binomial_logit_rng(50, 1.0, g)); },
                50 / (1 + std::exp(-1.0)), 50 / (1 + std::exp(-1.0)) * (1 - 1 / (1 + std::exp(-1.0))), ++seed);
  {
    const double N = 30, a = 2, b = 3;
    check_moments("beta_binomial_rng", [](halo_rng* g) { return static_cast<double>(halo_beta_binomial_rng(30, 2, 3, g)); },
                  N * a / (a + b), N * a * b * (a + b + N) / ((a + b) * (a + b) * (a + b + 1)), ++seed);
  }
  for (double lambda : {0.01, 3.0, 9.99, 10.0, 50.0, 1e4, 1e7})
    check_moments("poisson_rng(" + std::to_string(lambda) + ")", as_real(halo_poisson_rng, lambda), lambda, lambda,
                  ++seed);
  check_moments("poisson_log_rng", as_real(halo_poisson_log_rng, 2.0), std::exp(2.0), std::exp(2.0), ++seed);
  check_moments("neg_binomial_rng", [](halo_rng* g) { return static_cast<double>(halo_neg_binomial_rng(3.0, 0.5, g)); },
                6.0, 3.0 / 0.25 * 1.5, ++seed);
  check_moments("neg_binomial_2_rng",
                [](halo_rng* g) { return static_cast<double>(halo_neg_binomial_2_rng(20.0, 4.0, g)); }, 20.0,
                20.0 + 400.0 / 4, ++seed);
  check_moments("neg_binomial_2_log_rng",
                [](halo_rng* g) { return static_cast<double>(halo_neg_binomial_2_log_rng(1.0, 2.0, g)); },
                std::exp(1.0), std::exp(1.0) + std::exp(2.0) / 2, ++seed);
  // Categorical: each category's frequency within five standard errors.
  const double theta[4] = {0.1, 0.2, 0.3, 0.4};
  const double beta[4] = {std::log(0.1) + 7, std::log(0.2) + 7, std::log(0.3) + 7, std::log(0.4) + 7};
  for (int logit = 0; logit < 2; ++logit) {
    halo_rng g;
    halo_rng_seed(&g, 300 + logit, 0);
    std::vector<double> count(5, 0);
    for (int i = 0; i < kDraws; ++i) {
      int64_t k = logit ? halo_categorical_logit_rng(4, beta, &g) : halo_categorical_rng(4, theta, &g);
      REQUIRE((k >= 1 && k <= 4));
      count[k] += 1;
    }
    for (int k = 1; k <= 4; ++k) {
      const double p = theta[k - 1], f = count[k] / kDraws;
      CHECK(std::fabs(f - p) <= 5 * std::sqrt(p * (1 - p) / kDraws));
    }
  }
  halo_rng g;
  halo_rng_seed(&g, 1, 0);
  const double not_simplex[3] = {0.5, 0.5, 0.5};
  CHECK(halo_categorical_rng(3, not_simplex, &g) == -1);
}

TEST_CASE("rng: multivariate draws") {
  // Dirichlet, including small concentrations (log-space normalisation).
  for (auto alpha : {std::vector<double>{1.0, 2.0, 3.0}, std::vector<double>{0.05, 0.1, 0.2}}) {
    const int K = 3;
    double a0 = 0;
    for (double a : alpha) a0 += a;
    halo_rng g;
    halo_rng_seed(&g, 400, 0);
    std::vector<std::vector<double>> comp(K, std::vector<double>(kDraws));
    for (int i = 0; i < kDraws; ++i) {
      double out[3];
      halo_dirichlet_rng(K, alpha.data(), out, &g);
      double s = out[0] + out[1] + out[2];
      REQUIRE(std::fabs(s - 1) < 1e-12);
      for (int k = 0; k < K; ++k) comp[k][i] = out[k];
    }
    for (int k = 0; k < K; ++k) {
      const Sample s = summarise(comp[k]);
      const double m = alpha[k] / a0, v = alpha[k] * (a0 - alpha[k]) / (a0 * a0 * (a0 + 1));
      CHECK(std::fabs(s.mean - m) <= 5 * std::sqrt(s.var / kDraws));
      CHECK(std::fabs(s.var - v) <= 5 * std::sqrt((s.m4 - s.var * s.var) / kDraws));
    }
  }
  // Multivariate normal: mean and covariance, from the factor and from Sigma.
  const int K = 3;
  const double L[9] = {1.0, 0.5, -0.3, 0.0, 2.0, 0.4, 0.0, 0.0, 0.7};  // column-major lower
  double Sigma[9];
  halo_multiply_lower_tri_self_transpose(K, K, L, Sigma);
  const double mu[3] = {1.0, -2.0, 0.5};
  for (int via_sigma = 0; via_sigma < 2; ++via_sigma) {
    halo_rng g;
    halo_rng_seed(&g, 500 + via_sigma, 0);
    std::vector<double> xs(K * kDraws);
    double work[12];
    for (int i = 0; i < kDraws; ++i) {
      if (via_sigma) halo_multi_normal_rng(K, mu, Sigma, &xs[i * K], work, &g);
      else halo_multi_normal_cholesky_rng(K, mu, L, &xs[i * K], &g);
    }
    for (int a = 0; a < K; ++a) {
      double m = 0;
      for (int i = 0; i < kDraws; ++i) m += xs[i * K + a];
      m /= kDraws;
      CHECK(std::fabs(m - mu[a]) <= 5 * std::sqrt(Sigma[a + a * K] / kDraws));
      for (int b = 0; b <= a; ++b) {
        double c = 0;
        for (int i = 0; i < kDraws; ++i) c += (xs[i * K + a] - mu[a]) * (xs[i * K + b] - mu[b]);
        c /= kDraws;
        const double se = std::sqrt((Sigma[a + a * K] * Sigma[b + b * K] + Sigma[a + b * K] * Sigma[a + b * K]) / kDraws);
        CHECK(std::fabs(c - Sigma[a + b * K]) <= 5 * se);
      }
    }
  }
  // LKJ: valid factors; each correlation's marginal has mean 0 and variance 1 / (2 eta + K - 1).
  for (double eta : {0.5, 1.0, 4.0}) {
    const int K4 = 4;
    halo_rng g;
    halo_rng_seed(&g, 600, 0);
    std::vector<std::vector<double>> r(6, std::vector<double>(kDraws / 2));
    double Lk[16], work[16], Om[16];
    for (int i = 0; i < kDraws / 2; ++i) {
      halo_lkj_corr_cholesky_rng(K4, eta, Lk, work, &g);
      halo_multiply_lower_tri_self_transpose(K4, K4, Lk, Om);
      int p = 0;
      for (int a = 0; a < K4; ++a) {
        REQUIRE(std::fabs(Om[a + a * K4] - 1) < 1e-12);
        for (int b = 0; b < a; ++b) r[p++][i] = Om[a + b * K4];
      }
    }
    for (auto& ri : r) {
      const Sample s = summarise(ri);
      const double v = 1.0 / (2 * eta + K4 - 1);
      const double n = kDraws / 2;
      CHECK(std::fabs(s.mean) <= 5 * std::sqrt(s.var / n));
      CHECK(std::fabs(s.var - v) <= 5 * std::sqrt((s.m4 - s.var * s.var) / n));
    }
  }
}
