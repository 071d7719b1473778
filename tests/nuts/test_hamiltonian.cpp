#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "nuts/hamiltonian.h"
#include "nuts/metric.h"
#include "support.h"

using namespace halo::nuts;
using halo::nuts::test::GaussianTarget;

namespace {
Eigen::MatrixXd correlated_cov() {
  Eigen::MatrixXd cov(2, 2);
  cov << 1.0, 0.9 * 1.0 * 2.0, 0.9 * 1.0 * 2.0, 4.0;
  return cov;
}
}  // namespace

TEST_CASE("kinetic energy and velocity under unit, diagonal and dense metrics") {
  Eigen::VectorXd p(3);
  p << 0.5, -1.0, 2.0;
  Eigen::VectorXd v;

  const Metric unit = unit_metric(3);
  CHECK(kinetic_energy(unit, p) == doctest::Approx(0.5 * (0.25 + 1 + 4)));
  velocity(unit, p, v);
  CHECK(v.isApprox(p));

  Eigen::VectorXd inv_diag(3);
  inv_diag << 2.0, 0.5, 3.0;
  const Metric diag = diag_metric(inv_diag);
  CHECK(kinetic_energy(diag, p) == doctest::Approx(0.5 * (2 * 0.25 + 0.5 * 1 + 3 * 4)));
  velocity(diag, p, v);
  CHECK(v.isApprox(Eigen::Vector3d(1.0, -0.5, 6.0)));

  Eigen::MatrixXd inv_dense(3, 3);
  inv_dense << 2.0, 0.3, 0.1, 0.3, 1.0, -0.2, 0.1, -0.2, 0.5;
  const Metric dense = dense_metric(inv_dense);
  CHECK(kinetic_energy(dense, p) == doctest::Approx(0.5 * p.dot(inv_dense * p)));
  velocity(dense, p, v);
  CHECK(v.isApprox(inv_dense * p));
  CHECK((dense.inv_dense_chol * dense.inv_dense_chol.transpose()).isApprox(inv_dense));

  CHECK_THROWS_AS(diag_metric(Eigen::Vector2d(1.0, -1.0)), std::invalid_argument);
  Eigen::MatrixXd indefinite(2, 2);
  indefinite << 1, 2, 2, 1;
  CHECK_THROWS_AS(dense_metric(indefinite), std::invalid_argument);
  Eigen::MatrixXd asymmetric(2, 2);
  asymmetric << 1, 0.5, 0, 1;
  CHECK_THROWS_AS(dense_metric(asymmetric), std::invalid_argument);
}

TEST_CASE("momentum draws have covariance M, the inverse of the inverse metric") {
  Eigen::MatrixXd inv_dense(2, 2);
  inv_dense << 4.0, 1.8, 1.8, 1.0;  // correlation 0.9
  const Eigen::MatrixXd M = inv_dense.inverse();
  Rng rng(11);
  const int n = 200000;
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(2, 2);
  Eigen::VectorXd p;
  for (int i = 0; i < n; ++i) {
    sample_momentum(dense_metric(inv_dense), rng, p);
    sum += p * p.transpose();
  }
  const Eigen::MatrixXd cov = sum / n;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      // se of a sample second moment of a normal: sqrt((M_ii M_jj + M_ij^2) / n).
      const double se = std::sqrt((M(i, i) * M(j, j) + M(i, j) * M(i, j)) / n);
      CHECK(std::abs(cov(i, j) - M(i, j)) < 4 * se);
    }

  Eigen::VectorXd inv_diag(2);
  inv_diag << 4.0, 0.25;
  Eigen::Vector2d sq = Eigen::Vector2d::Zero();
  for (int i = 0; i < n; ++i) {
    sample_momentum(diag_metric(inv_diag), rng, p);
    sq += p.cwiseProduct(p);
  }
  CHECK(sq[0] / n == doctest::Approx(0.25).epsilon(0.02));
  CHECK(sq[1] / n == doctest::Approx(4.0).epsilon(0.02));
}

TEST_CASE("leapfrog on a 1-d standard normal is the exact velocity-Verlet map") {
  GaussianTarget target(Eigen::VectorXd::Zero(1), Eigen::MatrixXd::Identity(1, 1));
  PhasePoint z(1);
  z.q[0] = 0.7;
  z.p[0] = -0.4;
  REQUIRE(evaluate(target, z));
  Eigen::VectorXd scratch;
  const double eps = 0.3;
  leapfrog(target, unit_metric(1), eps, z, scratch);
  const double p_half = -0.4 - 0.5 * eps * 0.7;
  const double q1 = 0.7 + eps * p_half;
  const double p1 = p_half - 0.5 * eps * q1;
  CHECK(z.q[0] == doctest::Approx(q1).epsilon(1e-14));
  CHECK(z.p[0] == doctest::Approx(p1).epsilon(1e-14));
  CHECK(z.log_density == doctest::Approx(-0.5 * q1 * q1).epsilon(1e-14));
  CHECK(z.grad[0] == doctest::Approx(-q1).epsilon(1e-14));
}

TEST_CASE("leapfrog conserves energy to O(eps^2) and is reversible") {
  GaussianTarget target(Eigen::Vector2d(1.0, -1.0), correlated_cov());
  for (const Metric& metric : {unit_metric(2), diag_metric(Eigen::Vector2d(1.0, 4.0)),
                               dense_metric(correlated_cov())}) {
    const std::string kind = metric_kind_name(metric.kind);
    CAPTURE(kind);
    auto max_energy_error = [&](double eps, int steps) {
      PhasePoint z(2);
      z.q << 0.3, 0.5;
      z.p << 1.0, -0.5;
      REQUIRE(evaluate(target, z));
      const double h0 = hamiltonian(metric, z);
      Eigen::VectorXd scratch;
      double worst = 0;
      for (int i = 0; i < steps; ++i) {
        leapfrog(target, metric, eps, z, scratch);
        worst = std::max(worst, std::abs(hamiltonian(metric, z) - h0));
      }
      return worst;
    };
    // Over the same integration time the error shrinks four-fold when eps halves.
    const double e1 = max_energy_error(0.04, 500), e2 = max_energy_error(0.02, 1000);
    CHECK(e1 < 0.05);
    CHECK(e1 / e2 == doctest::Approx(4.0).epsilon(0.15));

    // Reversibility: integrate, flip the momentum, integrate back.
    PhasePoint z(2);
    z.q << -0.2, 0.9;
    z.p << 0.4, 1.1;
    REQUIRE(evaluate(target, z));
    const PhasePoint start = z;
    Eigen::VectorXd scratch;
    for (int i = 0; i < 60; ++i) leapfrog(target, metric, 0.1, z, scratch);
    CHECK((z.q - start.q).norm() > 0.1);
    z.p = -z.p;
    for (int i = 0; i < 60; ++i) leapfrog(target, metric, 0.1, z, scratch);
    CHECK((z.q - start.q).norm() < 1e-10);
    CHECK((z.p + start.p).norm() < 1e-10);
    // Integrating with a negative step is the same as flipping the momentum.
    PhasePoint a = start, b = start;
    leapfrog(target, metric, -0.1, a, scratch);
    b.p = -b.p;
    leapfrog(target, metric, 0.1, b, scratch);
    CHECK((a.q - b.q).norm() < 1e-14);
    CHECK((a.p + b.p).norm() < 1e-14);
  }
}

TEST_CASE("evaluate: rejections and non-finite values make an impossible point") {
  auto check_fails = [](FunctionLogDensity::Function f, const char* expected, int component) {
    FunctionLogDensity target(3, std::move(f));
    PhasePoint z(3);
    z.grad.setConstant(5.0);
    EvaluationFailure failure;
    CHECK_FALSE(evaluate(target, z, &failure));
    CHECK(z.log_density == -std::numeric_limits<double>::infinity());
    CHECK(z.grad.isZero());
    CHECK(failure.message == expected);
    CHECK(failure.component == component);
    z.p << 1, 2, 3;
    CHECK(hamiltonian(unit_metric(3), z) == std::numeric_limits<double>::infinity());
  };
  check_fails([](const double*, double*) { return std::nan(""); }, "the log density is NaN", -1);
  check_fails([](const double*, double*) { return -INFINITY; }, "the log density is -inf", -1);
  check_fails([](const double*, double*) { return INFINITY; }, "the log density is +inf", -1);
  check_fails(
      [](const double*, double* g) {
        g[0] = 0;
        g[1] = 1;
        g[2] = std::nan("");
        return 1.0;
      },
      "the gradient is not finite", 2);
  check_fails([](const double*, double*) -> double { throw halo::DomainError("sigma < 0"); },
              "sigma < 0", -1);
  check_fails([](const double*, double*) -> double { throw std::domain_error("plain"); }, "plain",
              -1);

  // Anything but a domain error is not a rejection: it propagates.
  FunctionLogDensity broken(1, [](const double*, double*) -> double {
    throw std::runtime_error("out of memory");
  });
  PhasePoint z(1);
  CHECK_THROWS_AS(evaluate(broken, z), std::runtime_error);

  FunctionLogDensity fine(1, [](const double* q, double* g) {
    g[0] = -q[0];
    return -0.5 * q[0] * q[0];
  });
  z.q[0] = 2;
  EvaluationFailure failure{"stale", 3};
  CHECK(evaluate(fine, z, &failure));
  CHECK(z.log_density == -2.0);
  CHECK_FALSE(failure.failed());
}
