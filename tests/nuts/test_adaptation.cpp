#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "nuts/adapter.h"
#include "nuts/nuts.h"
#include "nuts/step_size.h"
#include "nuts/welford.h"
#include "nuts/windows.h"
#include "support.h"

using namespace halo::nuts;
using halo::nuts::test::GaussianTarget;

TEST_CASE("dual averaging: the first update by hand, and clipping of accept_stat") {
  DualAveragingParams params;  // delta 0.8, gamma 0.05, kappa 0.75, t0 10
  DualAveragingState s = dual_averaging_start(1.0);
  CHECK(s.mu == doctest::Approx(std::log(10.0)));
  const double eps = dual_averaging_update(s, params, 0.5);
  // eta = 1 / (1 + 10); s_bar = eta * (0.8 - 0.5); x = mu - s_bar * sqrt(1) / gamma.
  const double s_bar = 0.3 / 11;
  const double x = std::log(10.0) - s_bar / 0.05;
  CHECK(s.s_bar == doctest::Approx(s_bar));
  CHECK(eps == doctest::Approx(std::exp(x)));
  CHECK(s.x_bar == doctest::Approx(x));  // weight 1^-kappa = 1 on the first iterate
  CHECK(dual_averaging_final(s) == doctest::Approx(std::exp(x)));

  DualAveragingState a = dual_averaging_start(1.0), b = dual_averaging_start(1.0);
  CHECK(dual_averaging_update(a, params, 1.7) == dual_averaging_update(b, params, 1.0));
}

TEST_CASE("dual averaging converges to the step size whose acceptance is delta") {
  // A deterministic acceptance curve a(eps) = exp(-eps): the fixed point is -log(0.8).
  DualAveragingParams params;
  DualAveragingState s = dual_averaging_start(1.0);
  double eps = 1.0;
  for (int i = 0; i < 3000; ++i) eps = dual_averaging_update(s, params, std::exp(-eps));
  CHECK(dual_averaging_final(s) == doctest::Approx(-std::log(0.8)).epsilon(0.02));

  params.delta = 0.95;
  s = dual_averaging_start(1.0);
  eps = 1.0;
  for (int i = 0; i < 3000; ++i) eps = dual_averaging_update(s, params, std::exp(-eps));
  CHECK(dual_averaging_final(s) == doctest::Approx(-std::log(0.95)).epsilon(0.02));
}

TEST_CASE("dual averaging with NUTS on a Gaussian reaches the target acceptance") {
  const int dim = 5;
  GaussianTarget target(Eigen::VectorXd::Zero(dim), Eigen::MatrixXd::Identity(dim, dim));
  Rng rng(21);
  NutsOptions options;
  NutsWorkspace ws(dim, options.max_depth);
  PhasePoint z(dim);
  REQUIRE(evaluate(target, z));
  const Metric metric = unit_metric(dim);
  DualAveragingParams params;
  DualAveragingState s = dual_averaging_start(1.0);
  double eps = find_initial_step_size(target, metric, z, 1.0, rng);
  Transition t;
  double late_accept = 0;
  const int n = 2000, late = 1000;
  for (int i = 0; i < n; ++i) {
    nuts_transition(target, metric, eps, options, rng, z, ws, t);
    eps = dual_averaging_update(s, params, t.accept_stat);
    if (i >= n - late) late_accept += t.accept_stat;
  }
  // The iterates' acceptance averages to delta; the averaged step size is a bit smaller.
  MESSAGE("mean accept_stat over the last 1000 adapting iterations: " << late_accept / late);
  CHECK(late_accept / late == doctest::Approx(0.8).epsilon(0.04));
  CHECK(dual_averaging_final(s) > 0.3);
  CHECK(dual_averaging_final(s) < 2.0);
}

TEST_CASE("Welford variance and covariance agree with a direct two-pass computation") {
  Rng rng(31);
  const int n = 500, dim = 4;
  Eigen::MatrixXd x(n, dim);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < dim; ++j) x(i, j) = 1e3 + (j + 1) * rng.normal() + (j == 3 ? x(i, 0) : 0);
  WelfordVariance wv(dim);
  WelfordCovariance wc(dim);
  for (int i = 0; i < n; ++i) {
    welford_add(wv, x.row(i).transpose());
    welford_add(wc, x.row(i).transpose());
  }
  const Eigen::VectorXd mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd centred = x.rowwise() - mean.transpose();
  const Eigen::MatrixXd cov = centred.transpose() * centred / (n - 1);
  CHECK(wv.n == n);
  CHECK(wv.mean.isApprox(mean, 1e-13));
  CHECK(welford_variance(wv).isApprox(cov.diagonal(), 1e-10));
  CHECK(welford_covariance(wc).isApprox(cov, 1e-10));

  welford_reset(wv);
  welford_reset(wc);
  CHECK(wv.n == 0);
  welford_add(wv, Eigen::Vector4d(1, 2, 3, 4));
  welford_add(wv, Eigen::Vector4d(3, 2, 1, 0));
  CHECK(welford_variance(wv).isApprox(Eigen::Vector4d(2, 0, 2, 8)));
}

TEST_CASE("Stan's regularisation of the metric estimate") {
  const Eigen::Vector2d var(4.0, 0.01);
  const Eigen::VectorXd r = regularize_variance(var, 95);
  CHECK(r[0] == doctest::Approx(95.0 / 100 * 4.0 + 1e-3 * 5.0 / 100));
  CHECK(r[1] == doctest::Approx(95.0 / 100 * 0.01 + 1e-3 * 5.0 / 100));
  Eigen::Matrix2d cov;
  cov << 2.0, 0.5, 0.5, 1.0;
  const Eigen::MatrixXd rc = regularize_covariance(cov, 15);
  CHECK(rc(0, 0) == doctest::Approx(0.75 * 2.0 + 1e-3 * 0.25));
  CHECK(rc(0, 1) == doctest::Approx(0.75 * 0.5));
  CHECK(rc(1, 1) == doctest::Approx(0.75 * 1.0 + 1e-3 * 0.25));
}

TEST_CASE("metric windows for Stan's default buffers") {
  // num_warmup = 1000: 75 step-size-only iterations, windows of 25, 50, 100, 200 and a last one
  // stretched to 500, then 50 more: the metric changes after iterations 100, 150, 250, 450, 950.
  CHECK(metric_window_ends(make_window_schedule(1000)) ==
        std::vector<int>{100, 150, 250, 450, 950});
  CHECK(metric_window_ends(make_window_schedule(2000)) ==
        std::vector<int>{100, 150, 250, 450, 850, 1950});
  CHECK(metric_window_ends(make_window_schedule(500)) == std::vector<int>{100, 150, 250, 450});
  CHECK(metric_window_ends(make_window_schedule(150)) == std::vector<int>{100});
  CHECK(metric_window_ends(make_window_schedule(400)) == std::vector<int>{100, 150, 350});

  // Every iteration from 75 to 949 feeds exactly one window.
  WindowSchedule s = make_window_schedule(1000);
  int in_window = 0, first = -1, last = -1;
  for (; s.counter < 1000; next_iteration(s)) {
    if (in_metric_window(s)) {
      ++in_window;
      if (first < 0) first = s.counter;
      last = s.counter;
    }
    if (ends_metric_window(s)) advance_window(s);
  }
  CHECK(in_window == 875);
  CHECK(first == 75);
  CHECK(last == 949);
}

TEST_CASE("metric windows when warmup is short: Stan's 15% / 75% / 10% and no adaptation < 20") {
  WindowSchedule s = make_window_schedule(100);
  CHECK(s.adapts_metric);
  CHECK(s.init_buffer == 15);
  CHECK(s.term_buffer == 10);
  CHECK(s.base_window == 75);
  CHECK(metric_window_ends(s) == std::vector<int>{90});

  s = make_window_schedule(149);
  CHECK(s.init_buffer == 22);  // 0.15 * 149 = 22.35, truncated
  CHECK(s.term_buffer == 14);
  CHECK(s.base_window == 113);
  CHECK(metric_window_ends(s) == std::vector<int>{135});

  s = make_window_schedule(20);
  CHECK(s.init_buffer == 3);
  CHECK(s.term_buffer == 2);
  CHECK(metric_window_ends(s) == std::vector<int>{18});

  CHECK_FALSE(make_window_schedule(19).adapts_metric);
  CHECK(metric_window_ends(make_window_schedule(19)).empty());
  CHECK_FALSE(make_window_schedule(1000, 75, 50, 0).adapts_metric);
}

TEST_CASE("the adapter estimates the metric from exactly the last window's draws") {
  // Feed known positions: after iteration 950 of 1000 the diagonal metric must be the
  // regularised variance of the draws of iterations 451..950 (0-based 450..949).
  const int dim = 3, warmup = 1000;
  Rng rng(41);
  std::vector<Eigen::VectorXd> draws;
  for (int i = 0; i < warmup; ++i) {
    Eigen::VectorXd q(dim);
    q << rng.normal(), 3 * rng.normal(), 0.1 * rng.normal() + 5;
    draws.push_back(q);
  }
  for (MetricKind kind : {MetricKind::Diag, MetricKind::Dense}) {
    Adapter adapter = make_adapter(kind, dim, warmup, 1.0, AdaptationSettings{});
    Metric metric = identity_metric(kind, dim);
    double step_size = 1.0;
    std::vector<int> updates;
    for (int i = 0; i < warmup; ++i)
      if (adapt_step(adapter, 0.8, draws[i], step_size, metric)) updates.push_back(i + 1);
    CHECK(updates == std::vector<int>{100, 150, 250, 450, 950});

    WelfordCovariance direct(dim);
    for (int i = 450; i < 950; ++i) welford_add(direct, draws[i]);
    const Eigen::MatrixXd expected = regularize_covariance(welford_covariance(direct), 500);
    if (kind == MetricKind::Diag)
      CHECK(metric.inv_diag.isApprox(expected.diagonal(), 1e-12));
    else
      CHECK(metric.inv_dense.isApprox(expected, 1e-12));
  }

  // The unit metric adapts only the step size.
  Adapter unit = make_adapter(MetricKind::Unit, dim, warmup, 1.0, AdaptationSettings{});
  Metric metric = unit_metric(dim);
  double step_size = 1.0;
  for (int i = 0; i < warmup; ++i) CHECK_FALSE(adapt_step(unit, 0.8, draws[i], step_size, metric));
}

TEST_CASE("the initial step-size heuristic scales with the target and stops improper targets") {
  for (double sd : {1.0, 100.0, 0.01}) {
    CAPTURE(sd);
    GaussianTarget target(Eigen::VectorXd::Zero(2), sd * sd * Eigen::MatrixXd::Identity(2, 2));
    Rng rng(51);
    PhasePoint z(2);
    z.q << 0.3 * sd, -0.5 * sd;
    REQUIRE(evaluate(target, z));
    const PhasePoint before = z;
    const double eps = find_initial_step_size(target, unit_metric(2), z, 1.0, rng);
    CHECK(z.q == before.q);
    // One leapfrog step of a unit-metric Gaussian with eps ~ sd accepts about 0.8.
    CHECK(eps / sd > 0.25);
    CHECK(eps / sd < 4.0);
  }
  FunctionLogDensity flat(1, [](const double*, double* g) {
    g[0] = 0;
    return 0.0;
  });
  Rng rng(52);
  PhasePoint z(1);
  REQUIRE(evaluate(flat, z));
  CHECK_THROWS_WITH_AS(find_initial_step_size(flat, unit_metric(1), z, 1.0, rng),
                       doctest::Contains("improper"), std::runtime_error);
}
