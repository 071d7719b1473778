#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "nuts/nuts.h"
#include "support.h"

using namespace halo::nuts;
using halo::nuts::test::GaussianTarget;

TEST_CASE("the no-U-turn criterion") {
  const Eigen::Vector2d rho(1.0, 0.0);
  // Both ends still move along the summed momentum: keep going.
  CHECK(no_u_turn(Eigen::Vector2d(1, 0.5), Eigen::Vector2d(0.2, -3), rho));
  // One end has turned back against rho: stop.
  CHECK_FALSE(no_u_turn(Eigen::Vector2d(-0.1, 1), Eigen::Vector2d(1, 0), rho));
  CHECK_FALSE(no_u_turn(Eigen::Vector2d(1, 0), Eigen::Vector2d(-0.1, 1), rho));
  // Orthogonal is already a U-turn (strict inequalities, as Stan).
  CHECK_FALSE(no_u_turn(Eigen::Vector2d(0, 1), Eigen::Vector2d(1, 0), rho));
  // A trajectory around a circle: momenta at angles -a and +a around rho's direction turn
  // back once a exceeds 90 degrees.
  auto at = [](double deg) {
    const double r = deg * M_PI / 180;
    return Eigen::Vector2d(std::cos(r), std::sin(r));
  };
  CHECK(no_u_turn(at(-80), at(80), rho));
  CHECK_FALSE(no_u_turn(at(-100), at(100), rho));
}

TEST_CASE("the merge criterion also checks across the boundary between two trajectories") {
  // Unit metric (p# = p). First trajectory: momenta (1, 0) then (0, 1). Second: (-2, 0.5) then
  // (2, 1). Over the merged trajectory rho = (1, 2.5) both ends still point along rho, so the
  // plain criterion sees no U-turn; but the first trajectory extended by the second's first
  // state has rho = (-1, 1.5), against which (1, 0) has turned: Stan's extra check stops here.
  const Eigen::Vector2d a1(1, 0), a2(0, 1), b1(-2, 0.5), b2(2, 1);
  const Eigen::Vector2d rho_a = a1 + a2, rho_b = b1 + b2, rho = rho_a + rho_b;
  Eigen::VectorXd scratch(2);
  CHECK(no_u_turn(a1, b2, rho));
  CHECK_FALSE(merged_no_u_turn({a1, a1, a2, a2, rho_a}, {b1, b1, b2, b2, rho_b}, rho, scratch));

  // The mirror image (states in reverse order): now the second trajectory extended by the
  // first's last state is the one that turns.
  const Eigen::Vector2d c1 = b2, c2 = b1, d1 = a2, d2 = a1;
  const Eigen::Vector2d rho_c = c1 + c2, rho_d = d1 + d2, rho_cd = rho_c + rho_d;
  CHECK(no_u_turn(c1, d2, rho_cd));
  Eigen::Vector2d first_extended = rho_c + d1;
  CHECK(no_u_turn(c1, d1, first_extended));
  CHECK_FALSE(no_u_turn(c2, d2, Eigen::Vector2d(rho_d + c2)));
  CHECK_FALSE(merged_no_u_turn({c1, c1, c2, c2, rho_c}, {d1, d1, d2, d2, rho_d}, rho_cd, scratch));

  // Two halves of a straight run: everything keeps going.
  const Eigen::Vector2d e(1, 0.1);
  const Eigen::Vector2d rho_e = 2 * e;
  CHECK(merged_no_u_turn({e, e, e, e, rho_e}, {e, e, e, e, rho_e}, Eigen::Vector2d(2 * rho_e),
                         scratch));
}

TEST_CASE("log_sum_exp handles -inf") {
  const double ninf = -std::numeric_limits<double>::infinity();
  CHECK(log_sum_exp(ninf, 1.5) == 1.5);
  CHECK(log_sum_exp(1.5, ninf) == 1.5);
  CHECK(log_sum_exp(ninf, ninf) == ninf);
  CHECK(log_sum_exp(std::log(2.0), std::log(3.0)) == doctest::Approx(std::log(5.0)));
  CHECK(log_sum_exp(1000.0, 1000.0) == doctest::Approx(1000.0 + std::log(2.0)));
}

TEST_CASE("a tiny step size runs the tree to max depth with acceptance near 1") {
  GaussianTarget target(Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3));
  Rng rng(5);
  NutsOptions options;
  options.max_depth = 6;
  NutsWorkspace ws(3, options.max_depth);
  PhasePoint z(3);
  z.q << 0.5, -0.2, 1.0;
  REQUIRE(evaluate(target, z));
  Transition t;
  nuts_transition(target, unit_metric(3), 1e-3, options, rng, z, ws, t);
  CHECK(t.tree_depth == 6);
  CHECK(t.n_leapfrog == 63);  // 1 + 2 + 4 + ... + 32
  CHECK_FALSE(t.divergent);
  CHECK(t.accept_stat > 0.999);
  CHECK(t.accept_stat <= 1.0);
  CHECK(t.step_size == 1e-3);
  // The reported values describe the returned state.
  CHECK(t.q == z.q);
  CHECK(t.log_density == z.log_density);
  CHECK(t.energy == doctest::Approx(-z.log_density + 0.5 * z.p.squaredNorm()));
}

TEST_CASE("a well-sized step stops at a U-turn, well before max depth") {
  GaussianTarget target(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2));
  Rng rng(6);
  NutsOptions options;
  NutsWorkspace ws(2, options.max_depth);
  PhasePoint z(2);
  REQUIRE(evaluate(target, z));
  Transition t;
  double depth_sum = 0;
  for (int i = 0; i < 200; ++i) {
    nuts_transition(target, unit_metric(2), 0.5, options, rng, z, ws, t);
    depth_sum += t.tree_depth;
    // A tree of depth d has at most 2^(d+1) - 1 steps (the last doubling may stop early).
    CHECK(t.n_leapfrog <= (1 << (t.tree_depth + 1)) - 1);
    CHECK(t.n_leapfrog >= (1 << t.tree_depth) - 1);
  }
  // Half a period of a unit oscillator is pi / 0.5 ~ 6 steps: depth 2 or 3.
  CHECK(depth_sum / 200 > 1.5);
  CHECK(depth_sum / 200 < 3.5);
}

namespace {
// log y for y ~ Gamma(3, 1): log p(x) = 3x - exp(x); a skewed target with
// E x = digamma(3) = 3/2 - euler_gamma and Var x = trigamma(3) = pi^2/6 - 5/4.
class LogGammaTarget final : public LogDensity {
 public:
  LogGammaTarget() : LogDensity(1) {}
  double log_density_gradient(const double* q, double* g) override {
    g[0] = 3.0 - std::exp(q[0]);
    return 3.0 * q[0] - std::exp(q[0]);
  }
};
}  // namespace

TEST_CASE("one transition from exact draws leaves the target invariant") {
  // If x ~ p and the kernel preserves p, the next state is again ~ p. Starting N independent
  // exact draws and applying the kernel checks the multinomial weights, the progressive
  // sampling and the reversibility together, without any adaptation.
  const double mean = 1.5 - 0.57721566490153286;
  const double var = M_PI * M_PI / 6 - 1.25;
  LogGammaTarget target;
  NutsOptions options;
  NutsWorkspace ws(1, options.max_depth);
  Transition t;
  // Step sizes from well below to near the edge of stability at the mode (curvature 3), where
  // energy errors are large and the weights matter most.
  for (double stability : {0.5, 1.5, 1.9}) {
    for (const Metric& metric : {unit_metric(1), diag_metric(Eigen::VectorXd::Constant(1, 0.5)),
                                 dense_metric(Eigen::MatrixXd::Constant(1, 1, 2.0))}) {
      const double inv_metric = metric.kind == MetricKind::Unit   ? 1.0
                                : metric.kind == MetricKind::Diag ? metric.inv_diag[0]
                                                                  : metric.inv_dense(0, 0);
      const double eps = stability / std::sqrt(3.0 * inv_metric);
      CAPTURE(eps);
      const std::string kind = metric_kind_name(metric.kind);
      CAPTURE(kind);
      Rng rng(100 + static_cast<int>(stability * 10) + 1000 * static_cast<int>(metric.kind));
      const int n = 12000;
      double m1 = 0, m2 = 0, moved = 0;
      for (int i = 0; i < n; ++i) {
        // Exact draw: the log of a sum of three exponentials.
        const double y = -std::log1p(-rng.uniform()) - std::log1p(-rng.uniform()) -
                         std::log1p(-rng.uniform());
        PhasePoint z(1);
        z.q[0] = std::log(y);
        REQUIRE(evaluate(target, z));
        const double start = z.q[0];
        for (int k = 0; k < 2; ++k) nuts_transition(target, metric, eps, options, rng, z, ws, t);
        moved += z.q[0] != start;
        m1 += z.q[0];
        m2 += (z.q[0] - mean) * (z.q[0] - mean);
      }
      m1 /= n;
      m2 /= n;
      CHECK(moved / n > 0.4);
      CHECK(std::abs(m1 - mean) < 4 * std::sqrt(var / n));
      // Var of (x - mean)^2 from the log-gamma's central moments: mu4 - var^2, mu4 =
      // trigamma'''(3) + 3 var^2 (the fourth cumulant is the third derivative of trigamma).
      const double kappa4 = 6 * (M_PI * M_PI * M_PI * M_PI / 90 - 1 - 1.0 / 16);
      const double var_of_sq = kappa4 + 2 * var * var;
      CHECK(std::abs(m2 - var) < 4 * std::sqrt(var_of_sq / n));
    }
  }
}

TEST_CASE("a NaN region and model rejections are divergences, never crashes") {
  // Standard normal, but NaN beyond q0 > 1 and a rejection beyond q1 > 1.2.
  FunctionLogDensity target(2, [](const double* q, double* g) {
    if (q[1] > 1.2) throw halo::DomainError("q1 out of support");
    g[0] = -q[0];
    g[1] = -q[1];
    return q[0] > 1.0 ? std::nan("") : -0.5 * (q[0] * q[0] + q[1] * q[1]);
  });
  Rng rng(8);
  NutsOptions options;
  NutsWorkspace ws(2, options.max_depth);
  PhasePoint z(2);
  z.q << 0.9, 1.1;
  REQUIRE(evaluate(target, z));
  Transition t;
  int divergent = 0;
  for (int i = 0; i < 500; ++i) {
    nuts_transition(target, unit_metric(2), 0.4, options, rng, z, ws, t);
    divergent += t.divergent;
    REQUIRE(z.q[0] <= 1.0);
    REQUIRE(z.q[1] <= 1.2);
    REQUIRE(std::isfinite(t.log_density));
    REQUIRE(std::isfinite(t.energy));
    REQUIRE(t.accept_stat >= 0.0);
    REQUIRE(t.accept_stat <= 1.0);
  }
  CHECK(divergent > 10);
  CHECK(divergent < 500);
}

TEST_CASE("an energy error above max_delta_h is a divergence") {
  // A steep quadratic with a too large step: the leapfrog blows up at once.
  GaussianTarget target(Eigen::VectorXd::Zero(1), Eigen::MatrixXd::Constant(1, 1, 1e-4));
  Rng rng(9);
  NutsOptions options;
  NutsWorkspace ws(1, options.max_depth);
  PhasePoint z(1);
  z.q[0] = 0.01;
  REQUIRE(evaluate(target, z));
  const PhasePoint start = z;
  Transition t;
  nuts_transition(target, unit_metric(1), 10.0, options, rng, z, ws, t);
  CHECK(t.divergent);
  CHECK(t.tree_depth == 0);
  CHECK(t.n_leapfrog == 1);
  CHECK(z.q == start.q);  // the divergent state is never chosen
  CHECK(t.accept_stat < 1e-10);
}

TEST_CASE("non-domain exceptions from the target propagate out of a transition") {
  int calls = 0;
  FunctionLogDensity target(1, [&](const double* q, double* g) {
    if (++calls > 3) throw std::logic_error("bug in the model");
    g[0] = -q[0];
    return -0.5 * q[0] * q[0];
  });
  Rng rng(10);
  NutsOptions options;
  NutsWorkspace ws(1, options.max_depth);
  PhasePoint z(1);
  REQUIRE(evaluate(target, z));
  Transition t;
  CHECK_THROWS_AS(nuts_transition(target, unit_metric(1), 0.01, options, rng, z, ws, t),
                  std::logic_error);
}
