#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "nuts/initialize.h"

using namespace halo::nuts;

namespace {
// A standard normal restricted to the positive orthant (rejections elsewhere).
FunctionLogDensity positive_orthant(int dim, int* calls) {
  return FunctionLogDensity(dim, [dim, calls](const double* q, double* g) {
    ++*calls;
    double lp = 0;
    for (int i = 0; i < dim; ++i) {
      if (q[i] <= 0) throw halo::DomainError("q[" + std::to_string(i) + "] must be positive");
      g[i] = -q[i];
      lp -= 0.5 * q[i] * q[i];
    }
    return lp;
  });
}
}  // namespace

TEST_CASE("random initial values lie in (-R, R) and are retried until valid") {
  int calls = 0;
  FunctionLogDensity target = positive_orthant(3, &calls);
  Rng rng(61);
  InitOptions init;
  init.radius = 1.5;
  for (int k = 0; k < 20; ++k) {
    const PhasePoint z = initialize(target, rng, init);
    for (int i = 0; i < 3; ++i) {
      CHECK(z.q[i] > 0);
      CHECK(z.q[i] < 1.5);
      CHECK(z.grad[i] == -z.q[i]);
    }
    CHECK(z.log_density == doctest::Approx(-0.5 * z.q.squaredNorm()));
  }
  // One valid draw in eight: about 8 attempts per initialisation.
  CHECK(calls > 20 * 3);
  CHECK(calls < 20 * 20);
}

TEST_CASE("given values are used as they are, partially given ones are completed") {
  int calls = 0;
  FunctionLogDensity target = positive_orthant(3, &calls);
  Rng rng(62);
  InitOptions init;
  init.values = {0.5, 0.25, 2.0};
  const PhasePoint z = initialize(target, rng, init);
  CHECK(z.q == Eigen::Vector3d(0.5, 0.25, 2.0));
  CHECK(calls == 1);

  init.given = {true, false, true};
  for (int k = 0; k < 10; ++k) {
    const PhasePoint w = initialize(target, rng, init);
    CHECK(w.q[0] == 0.5);
    CHECK(w.q[2] == 2.0);
    CHECK(w.q[1] > 0);
    CHECK(w.q[1] < 2.0);
  }

  InitOptions zero;
  zero.radius = 0;
  FunctionLogDensity normal(2, [](const double* q, double* g) {
    g[0] = -q[0];
    g[1] = -q[1];
    return -0.5 * (q[0] * q[0] + q[1] * q[1]);
  });
  CHECK(initialize(normal, rng, zero).q.isZero());
}

TEST_CASE("when every attempt fails the error gives the count and the last reason") {
  int calls = 0;
  FunctionLogDensity target = positive_orthant(2, &calls);
  Rng rng(63);
  InitOptions init;
  init.radius = 2;
  init.values = {-1.0, 0.0};
  init.given = {true, false};
  try {
    initialize(target, rng, init);
    FAIL("expected an InitializationError");
  } catch (const InitializationError& e) {
    CHECK(e.attempts == 100);
    CHECK(calls == 100);
    const std::string what = e.what();
    CHECK(what.find("100 attempts") != std::string::npos);
    CHECK(what.find("uniform(-2, 2)") != std::string::npos);
    CHECK(what.find("q[0] must be positive") != std::string::npos);
    CHECK(e.last_failure.message == "q[0] must be positive");
  }

  // Fully given values get one attempt.
  calls = 0;
  init.given.clear();
  init.values = {1.0, -1.0};
  CHECK_THROWS_WITH_AS(initialize(target, rng, init),
                       doctest::Contains("given initial values are not a valid starting point"),
                       InitializationError);
  CHECK(calls == 1);

  // A non-finite gradient names its component (a driver maps it to a parameter name).
  FunctionLogDensity bad_gradient(3, [](const double*, double* g) {
    g[0] = 0;
    g[1] = INFINITY;
    g[2] = 0;
    return 0.0;
  });
  try {
    initialize(bad_gradient, rng, InitOptions{});
    FAIL("expected an InitializationError");
  } catch (const InitializationError& e) {
    CHECK(e.last_failure.component == 1);
    CHECK(std::string(e.what()).find("gradient is not finite (component 1)") !=
          std::string::npos);
  }

  InitOptions wrong_size;
  wrong_size.values = {1.0};
  CHECK_THROWS_AS(initialize(target, rng, wrong_size), std::invalid_argument);
}
