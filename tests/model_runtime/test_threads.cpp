// Thread safety: one model called from 8 threads at once gives the single-threaded results,
// bit for bit. Also run under ThreadSanitizer (scripts/tsan-model-runtime.sh).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "model_runtime/models.h"
#include "model_runtime/support.h"

using namespace halo::model_test;

namespace {

constexpr int kThreads = 8;

struct Results {
  std::vector<double> values;  // everything one round computes, in order
  bool ok = true;              // every call succeeded (no doctest REQUIRE off the main thread)
};

// One round of every kind of call at `points`; the rng is seeded afresh so that rounds repeat.
Results one_round(const Client& c, bs_model* m, const std::vector<std::vector<double>>& points) {
  Results r;
  int n = c.param_unc_num(m);
  int total = c.param_num(m, true, true);
  bs_rng* rng = c.rng_construct(7, nullptr);
  if (rng == nullptr) {
    r.ok = false;
    return r;
  }
  auto expect = [&](bool success) { r.ok = r.ok && success; };
  std::vector<double> grad(static_cast<size_t>(n)), hessian(static_cast<size_t>(n * n)),
      theta(static_cast<size_t>(total)), back(static_cast<size_t>(n));
  for (const auto& x : points) {
    double lp = 0;
    expect(c.log_density(m, true, true, x.data(), &lp, nullptr) == 0);
    r.values.push_back(lp);
    expect(c.log_density_gradient(m, false, true, x.data(), &lp, grad.data(), nullptr) == 0);
    r.values.push_back(lp);
    r.values.insert(r.values.end(), grad.begin(), grad.end());
    expect(c.param_constrain(m, true, true, x.data(), theta.data(), rng, nullptr) == 0);
    r.values.insert(r.values.end(), theta.begin(), theta.end());
    expect(c.param_unconstrain(m, theta.data(), back.data(), nullptr) == 0);
    r.values.insert(r.values.end(), back.begin(), back.end());
    expect(c.log_density_hessian(m, true, false, x.data(), &lp, grad.data(), hessian.data(), nullptr) == 0);
    r.values.insert(r.values.end(), hessian.begin(), hessian.end());
    // An error path too: its message must not leak between threads.
    char* error = nullptr;
    expect(c.param_unconstrain_json(m, "{}", back.data(), &error) == -1);
    std::string message = c.take(error);
    r.values.push_back(static_cast<double>(message.size()));
  }
  c.rng_destruct(rng);
  return r;
}

void check_concurrent_calls(const Client& c, const char* data, int dimension) {
  Model m(c, data);
  std::vector<std::vector<double>> points;
  for (int p = 0; p < 12; ++p) {
    std::vector<double> x(static_cast<size_t>(dimension));
    for (int i = 0; i < dimension; ++i) x[static_cast<size_t>(i)] = 0.37 * std::sin(1.0 + p * 7 + i * 3);
    points.push_back(x);
  }
  Results reference = one_round(c, m.model, points);
  REQUIRE(reference.ok);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 10; ++round) {
        Results r = one_round(c, m.model, points);
        if (!r.ok || r.values.size() != reference.values.size()) {
          ++mismatches;
          continue;
        }
        for (size_t k = 0; k < r.values.size(); ++k)
          if (!(r.values[k] == reference.values[k])) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("threads: concurrent calls on one model give identical results (normal model)") {
  Client c(model_library("normal", kNormalModel));
  check_concurrent_calls(c, kNormalData, 2);
}

TEST_CASE("threads: concurrent calls on one model give identical results (containers)") {
  Client c(model_library("shapes", kShapesModel));
  check_concurrent_calls(c, kShapesData, 13);
}

TEST_CASE("threads: models constructed and destructed concurrently") {
  Client c(model_library("normal", kNormalModel));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        std::string error;
        bs_model* m = c.construct((k + t) % 3 == 0 ? R"({"N": 5})" : kNormalData, &error);
        if ((k + t) % 3 == 0) {
          if (m != nullptr || error.find("'y' is missing") == std::string::npos) ++failures;
          continue;
        }
        double x[2] = {0.1 * k, -0.1 * t}, lp = 0;
        if (m == nullptr || c.log_density(m, false, true, x, &lp, nullptr) != 0 ||
            !(std::fabs(lp - NormalClosedForm().log_density(x[0], x[1], false, true)) < 1e-10))
          ++failures;
        c.model_destruct(m);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
}

TEST_CASE("threads: print callbacks are serialised") {
  // The callback touches unguarded state: the runtime must not call it from two threads at once.
  static long calls = 0;
  static std::string last;
  Client c(model_library("printer", kPrinterModel));
  REQUIRE(c.set_print_callback(
              [](const char* data, size_t size) {
                ++calls;
                last.assign(data, size);
              },
              nullptr) == 0);
  Model m(c, R"({"N": 3})");
  calls = 0;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 100; ++k) {
        double mu = 0.25, lp = 0;
        if (c.log_density(m.model, false, false, &mu, &lp, nullptr) != 0) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(calls == kThreads * 100);
  CHECK(last == "mu = 0.25, N = 3\n");
  REQUIRE(c.set_print_callback(nullptr, nullptr) == 0);
}
