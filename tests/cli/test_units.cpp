// Pieces of the driver on their own: L-BFGS, the compile cache, progress lines, name handling.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "cli/errors.h"
#include "cli/lbfgs.h"
#include "cli/model_cache.h"
#include "cli/model_library.h"
#include "cli/progress.h"
#include "support.h"

using namespace halo::cli;

TEST_CASE("lbfgs: Rosenbrock from (-1.2 1) reaches (1 1)") {
  Objective rosenbrock = [](const Eigen::VectorXd& x, double& f, Eigen::VectorXd& g) {
    const double a = 1 - x[0], b = x[1] - x[0] * x[0];
    f = a * a + 100 * b * b;
    g.resize(2);
    g[0] = -2 * a - 400 * x[0] * b;
    g[1] = 200 * b;
    return true;
  };
  Eigen::VectorXd x0(2);
  x0 << -1.2, 1;
  LbfgsResult r = minimize_lbfgs(rosenbrock, x0);
  CHECK(converged(r.status));
  CHECK(r.x[0] == doctest::Approx(1).epsilon(1e-4));
  CHECK(r.x[1] == doctest::Approx(1).epsilon(1e-4));
  CHECK(r.iterations < 100);
}

TEST_CASE("lbfgs: an ill-conditioned quadratic in 20 dimensions") {
  const int n = 20;
  Objective quadratic = [&](const Eigen::VectorXd& x, double& f, Eigen::VectorXd& g) {
    g.resize(n);
    f = 0;
    for (int i = 0; i < n; ++i) {
      const double scale = std::pow(10.0, 4.0 * i / (n - 1));  // condition number 1e4
      f += 0.5 * scale * (x[i] - i) * (x[i] - i);
      g[i] = scale * (x[i] - i);
    }
    return true;
  };
  LbfgsResult r = minimize_lbfgs(quadratic, Eigen::VectorXd::Zero(n));
  CHECK(converged(r.status));
  // Stan's tolerances stop when the objective stalls near 1e-8: the weakest directions are then
  // within about 1e-3.
  CHECK(r.f < 1e-6);
  for (int i = 0; i < n; ++i) CHECK(std::fabs(r.x[i] - i) < 1e-3);
}

TEST_CASE("lbfgs: points where the objective fails are avoided and a failing start throws") {
  // -log of a Gamma(3, 1) density on x > 0, failing for x <= 0: minimum at 2.
  Objective gamma = [](const Eigen::VectorXd& x, double& f, Eigen::VectorXd& g) {
    if (x[0] <= 0) return false;
    f = -(2 * std::log(x[0]) - x[0]);
    g.resize(1);
    g[0] = -(2 / x[0] - 1);
    return true;
  };
  Eigen::VectorXd x0(1);
  x0 << 0.01;
  LbfgsResult r = minimize_lbfgs(gamma, x0);
  CHECK(converged(r.status));
  CHECK(r.x[0] == doctest::Approx(2).epsilon(1e-4));
  x0 << -1;
  CHECK_THROWS_AS(minimize_lbfgs(gamma, x0), std::domain_error);
}

TEST_CASE("lbfgs: the iteration limit is reported as such") {
  Objective rosenbrock = [](const Eigen::VectorXd& x, double& f, Eigen::VectorXd& g) {
    const double a = 1 - x[0], b = x[1] - x[0] * x[0];
    f = a * a + 100 * b * b;
    g.resize(2);
    g[0] = -2 * a - 400 * x[0] * b;
    g[1] = 200 * b;
    return true;
  };
  Eigen::VectorXd x0(2);
  x0 << -1.2, 1;
  LbfgsSettings s;
  s.max_iterations = 3;
  LbfgsResult r = minimize_lbfgs(rosenbrock, x0, s);
  CHECK(r.status == LbfgsStatus::MaxIterations);
  CHECK(r.iterations == 3);
  CHECK_FALSE(converged(r.status));
}

TEST_CASE("model cache: compiled once and then hit, a changed source or identity recompiles") {
  const std::string dir = test::fresh_dir("cache-unit");
  const std::string model = dir + "/m.model";
  test::write_text(model, "parameters { real x; } model { x ~ normal(0, 1); }\n");
  int compiles = 0;
  CompileFunction fake = [&](const CompileRequest& r) {
    ++compiles;
    CHECK(r.model_name == "m");
    test::write_text(r.output, "library of " + r.source);
  };
  ModelCache cache(dir + "/cache", "id-1", fake);
  ModelCache::Entry first = cache.get(model);
  CHECK_FALSE(first.hit);
  CHECK(compiles == 1);
  CHECK(test::slurp(first.library).find("library of parameters") == 0);
  ModelCache::Entry second = cache.get(model);
  CHECK(second.hit);
  CHECK(second.library == first.library);
  CHECK(compiles == 1);

  test::write_text(model, "parameters { real x; } model { x ~ normal(0, 2); }\n");
  ModelCache::Entry changed = cache.get(model);
  CHECK_FALSE(changed.hit);
  CHECK(changed.library != first.library);
  CHECK(compiles == 2);

  ModelCache other(dir + "/cache", "id-2", fake);
  CHECK_FALSE(other.get(model).hit);
  CHECK(compiles == 3);

  // A library whose stored source differs (a hash collision, or a damaged cache) is rebuilt.
  test::write_text(changed.library.substr(0, changed.library.size() - 3) + ".model", "something else");
  CHECK_FALSE(cache.get(model).hit);
  CHECK(compiles == 4);

  // A compiler failure leaves nothing behind.
  CompileFunction failing = [&](const CompileRequest& r) {
    test::write_text(r.output, "half");
    throw CliError("does not compile");
  };
  test::write_text(model, "parameters { real y; }\n");
  ModelCache broken(dir + "/cache2", "id", failing);
  CHECK_THROWS_AS(broken.get(model), CliError);
  CHECK(std::filesystem::is_empty(dir + "/cache2"));
}

TEST_CASE("fnv1a64: reference values") {
  // Test vectors of the FNV reference (Noll): "" and "a".
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("progress: lines per chain with phase and step size and divergences and time left") {
  Progress p(2, 1, 100, 100, false);
  const auto t0 = std::chrono::steady_clock::now();
  p.update(1, 49, true, 0.25, false);
  p.update(2, 149, false, 0.5, true);
  auto lines = p.render(t0 + std::chrono::seconds(2));
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].find("all chains  50%") == 0);
  CHECK(lines[0].find("chain 1") == 0);
  CHECK(lines[0].find("warmup") != std::string::npos);
  CHECK(lines[0].find(" 50/200") != std::string::npos);
  CHECK(lines[0].find("step 0.25") != std::string::npos);
  CHECK(lines[1].find("sampling") != std::string::npos);
  CHECK(lines[1].find("150/200") != std::string::npos);
  CHECK(lines[1].find("div 1") != std::string::npos);
  CHECK(lines[1].find("left") != std::string::npos);
  Progress waiting(1, 1, 10, 10, false);
  CHECK(waiting.render(t0)[0].find("waiting") != std::string::npos);
  CHECK(format_duration(0.25) == "250 ms");
  CHECK(format_duration(4.25) == "4.2 s");
  CHECK(format_duration(42) == "42 s");
  CHECK(format_duration(192) == "3 min 12 s");
  CHECK(format_duration(3720) == "1 h 02 min");
}

TEST_CASE("BridgeStan messages and names") {
  CHECK(strip_bridgestan_prefix("bs_log_density_gradient() failed with exception: x < 0\n") == "x < 0");
  CHECK(strip_bridgestan_prefix("plain") == "plain");
  CHECK(split_names("a,b.1,b.2") == std::vector<std::string>{"a", "b.1", "b.2"});
  CHECK(split_names("").empty());
}
