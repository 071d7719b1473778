// Whole-sampler tests: 4 chains x (1000 warmup + 1000 draws) against targets with known moments.
// Means must lie within 4 Monte Carlo standard errors (ESS from the autocorrelations); second
// moments within 4 MCSE of the squared deviations and within a stated relative tolerance.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "nuts/chain.h"
#include "support.h"

using namespace halo::nuts;
using namespace halo::nuts::test;

namespace {

// Draws and sampler outputs of several chains, by chain, parameter and draw.
struct Collected {
  explicit Collected(int chains, int dim)
      : q(chains, std::vector<std::vector<double>>(dim)), accept(chains), depth(chains),
        step(chains), iteration(chains), warmup(chains), divergent(chains), energy(chains),
        log_density(chains), n_leapfrog(chains) {}
  std::vector<std::vector<std::vector<double>>> q;
  std::vector<std::vector<double>> accept, depth, step, iteration, warmup, divergent, energy,
      log_density, n_leapfrog;
  int first_chain_id = 1;

  DrawCallback callback() {
    return [this](const Draw& d) {
      const int c = d.chain_id - first_chain_id;
      for (int i = 0; i < static_cast<int>(q[c].size()); ++i) q[c][i].push_back(d.transition.q[i]);
      accept[c].push_back(d.transition.accept_stat);
      depth[c].push_back(d.transition.tree_depth);
      step[c].push_back(d.transition.step_size);
      iteration[c].push_back(d.iteration);
      warmup[c].push_back(d.warmup);
      divergent[c].push_back(d.transition.divergent);
      energy[c].push_back(d.transition.energy);
      log_density[c].push_back(d.transition.log_density);
      n_leapfrog[c].push_back(d.transition.n_leapfrog);
    };
  }
  // Draws of parameter i as chains.
  std::vector<std::vector<double>> param(int i) const {
    std::vector<std::vector<double>> out;
    for (const auto& chain : q) out.push_back(chain[i]);
    return out;
  }
};

double mean_of(const std::vector<std::vector<double>>& v) {
  double s = 0;
  std::size_t n = 0;
  for (const auto& c : v)
    for (double x : c) {
      s += x;
      ++n;
    }
  return s / n;
}

// Effective sample sizes of a parameter's draws and of their squared deviations.
struct EssPair {
  double of_mean = 1e300;
  double of_square = 1e300;
  void keep_min(const EssPair& o) {
    of_mean = std::min(of_mean, o.of_mean);
    of_square = std::min(of_square, o.of_square);
  }
};

// Checks E x = mean and E (x - mean)^2 = var for one parameter.
EssPair check_moments(const std::vector<std::vector<double>>& chains, double mean, double var,
                      double relative_tolerance) {
  const ChainsSummary m = summarise(chains);
  CHECK(std::abs(m.mean - mean) < 4 * m.mcse);
  const ChainsSummary v =
      summarise(transform(chains, [&](double x) { return (x - mean) * (x - mean); }));
  CHECK(std::abs(v.mean - var) < 4 * v.mcse);
  CHECK(std::abs(v.mean / var - 1) < relative_tolerance);
  return EssPair{m.ess, v.ess};
}

template <class MakeTarget>
std::vector<ChainResult> sample_chains(MakeTarget make_target, int chains, int threads,
                                       const ChainSettings& settings, Collected& out,
                                       const RunControl& control = {}) {
  std::vector<std::unique_ptr<LogDensity>> owned;
  std::vector<LogDensity*> targets;
  for (int c = 0; c < chains; ++c) {
    owned.push_back(make_target());
    targets.push_back(owned.back().get());
  }
  out.first_chain_id = settings.chain_id;
  return run_chains(targets, {InitOptions{}}, settings, chains, threads, out.callback(), control);
}

// Figures for the report: accept_stat, tree depth, step size, ESS per gradient.
void report(const char* name, const Collected& c, const std::vector<ChainResult>& results,
            const EssPair& ess) {
  long leapfrogs = 0;
  int divergences = 0;
  for (const ChainResult& r : results) {
    leapfrogs += r.leapfrog_steps_sampling;
    divergences += r.divergences;
  }
  MESSAGE(std::string(name) << ": accept_stat " << mean_of(c.accept) << ", tree depth "
                            << mean_of(c.depth) << ", step size " << results[0].step_size
                            << ", divergences " << divergences << ", min ESS of x "
                            << ess.of_mean << " and of (x - mean)^2 " << ess.of_square
                            << " (of 4000 draws), per gradient " << ess.of_mean / leapfrogs
                            << " and " << ess.of_square / leapfrogs << " (" << leapfrogs
                            << " gradients)");
}

}  // namespace

TEST_CASE("10-d normal with scales from 0.01 to 100: the diagonal metric adapts") {
  const int dim = 10, chains = 4;
  Eigen::VectorXd sd(dim), mean(dim);
  for (int i = 0; i < dim; ++i) {
    sd[i] = std::pow(10.0, -2.0 + 4.0 * i / (dim - 1));
    mean[i] = sd[i] * ((i % 3) - 1);
  }
  ChainSettings settings;
  settings.seed = 20240501;
  Collected c(chains, dim);
  const auto results = sample_chains(
      [&] { return std::make_unique<GaussianTarget>(diagonal_gaussian(mean, sd)); }, chains, 2,
      settings, c);
  EssPair ess;
  for (int i = 0; i < dim; ++i) {
    CAPTURE(i);
    ess.keep_min(check_moments(c.param(i), mean[i], sd[i] * sd[i], 0.15));
    for (const ChainResult& r : results) {
      REQUIRE(r.error.empty());
      CHECK(r.metric.kind == MetricKind::Diag);
      CHECK(r.metric.inv_diag[i] / (sd[i] * sd[i]) == doctest::Approx(1.0).epsilon(0.3));
    }
  }
  for (const ChainResult& r : results) {
    CHECK(r.sampling_iterations == 1000);
    CHECK(r.divergences == 0);
  }
  // With the metric adapted the problem is isotropic: short trees at the target acceptance.
  CHECK(mean_of(c.depth) < 4);
  CHECK(mean_of(c.accept) > 0.7);
  CHECK(mean_of(c.accept) < 0.97);
  CHECK(ess.of_mean > 1000);
  CHECK(ess.of_square > 500);
  report("10-d scaled normal (diag)", c, results, ess);
}

TEST_CASE("2-d normal with correlation 0.95: the dense metric adapts") {
  const int chains = 4;
  const Eigen::Vector2d mean(1.0, -2.0), sd(1.0, 3.0);
  const double rho = 0.95;
  Eigen::Matrix2d cov;
  cov << sd[0] * sd[0], rho * sd[0] * sd[1], rho * sd[0] * sd[1], sd[1] * sd[1];
  ChainSettings settings;
  settings.metric = MetricKind::Dense;
  settings.seed = 77;
  Collected c(chains, 2);
  const auto results = sample_chains(
      [&] { return std::make_unique<GaussianTarget>(mean, cov); }, chains, 2, settings, c);
  EssPair ess;
  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    ess.keep_min(check_moments(c.param(i), mean[i], cov(i, i), 0.15));
  }
  // The covariance: E (x0 - m0)(x1 - m1) = rho sd0 sd1.
  std::vector<std::vector<double>> product;
  for (int k = 0; k < chains; ++k) {
    std::vector<double> p;
    for (std::size_t j = 0; j < c.q[k][0].size(); ++j)
      p.push_back((c.q[k][0][j] - mean[0]) * (c.q[k][1][j] - mean[1]));
    product.push_back(p);
  }
  const ChainsSummary cs = summarise(product);
  CHECK(std::abs(cs.mean - cov(0, 1)) < 4 * cs.mcse);
  for (const ChainResult& r : results) {
    REQUIRE(r.error.empty());
    CHECK(r.metric.kind == MetricKind::Dense);
    CHECK((r.metric.inv_dense - cov).norm() / cov.norm() < 0.25);
    CHECK(r.divergences == 0);
  }
  CHECK(mean_of(c.depth) < 3);
  CHECK(ess.of_mean > 1000);
  CHECK(ess.of_square > 500);
  report("2-d normal rho=0.95 (dense)", c, results, ess);
}

namespace {
// Independent logistic(location, scale) components: heavier tails than a normal,
// E x = location, Var x = scale^2 pi^2 / 3.
class LogisticTarget final : public LogDensity {
 public:
  LogisticTarget(Eigen::VectorXd location, Eigen::VectorXd scale)
      : LogDensity(static_cast<int>(location.size())), location_(std::move(location)),
        scale_(std::move(scale)) {}
  double log_density_gradient(const double* q, double* g) override {
    double lp = 0;
    for (int i = 0; i < dim; ++i) {
      const double z = (q[i] - location_[i]) / scale_[i];
      const double a = std::abs(z);
      lp += -a - 2 * std::log1p(std::exp(-a));  // log of e^-z / (1 + e^-z)^2, symmetric in z
      g[i] = -std::tanh(0.5 * z) / scale_[i];
    }
    return lp;
  }

 private:
  Eigen::VectorXd location_, scale_;
};
}  // namespace

TEST_CASE("3-d logistic target: non-Gaussian tails") {
  const int chains = 4;
  const Eigen::Vector3d location(1.0, -2.0, 0.5), scale(1.0, 0.5, 3.0);
  ChainSettings settings;
  settings.seed = 99;
  Collected c(chains, 3);
  const auto results = sample_chains(
      [&] { return std::make_unique<LogisticTarget>(location, scale); }, chains, 2, settings, c);
  EssPair ess;
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const double var = scale[i] * scale[i] * M_PI * M_PI / 3;
    ess.keep_min(check_moments(c.param(i), location[i], var, 0.2));
  }
  for (const ChainResult& r : results) {
    REQUIRE(r.error.empty());
    CHECK(r.divergences == 0);
  }
  CHECK(ess.of_mean > 800);
  CHECK(ess.of_square > 400);
  report("3-d logistic (diag)", c, results, ess);
}

TEST_CASE("same seed, same draws, whatever the number of threads") {
  const int chains = 4;
  ChainSettings settings;
  settings.num_warmup = 300;
  settings.num_samples = 200;
  settings.seed = 1234;
  settings.step_size_jitter = 0.3;  // more RNG use, still reproducible
  settings.save_warmup = true;
  auto make = [] {
    Eigen::Matrix3d cov;
    cov << 1, 0.5, 0.2, 0.5, 2, 0.3, 0.2, 0.3, 0.5;
    return std::make_unique<GaussianTarget>(Eigen::Vector3d(0.5, 0, -1), cov);
  };
  Collected one(chains, 3), four(chains, 3), other_seed(chains, 3);
  const auto r1 = sample_chains(make, chains, 1, settings, one);
  const auto r4 = sample_chains(make, chains, 4, settings, four);
  for (int k = 0; k < chains; ++k) {
    CAPTURE(k);
    CHECK(r1[k].chain_id == k + 1);
    CHECK(r4[k].chain_id == k + 1);
    CHECK(r1[k].step_size == r4[k].step_size);
    CHECK(r1[k].metric.inv_diag == r4[k].metric.inv_diag);
    CHECK(one.q[k] == four.q[k]);
    CHECK(one.accept[k] == four.accept[k]);
    CHECK(one.step[k] == four.step[k]);
    CHECK(one.energy[k] == four.energy[k]);
    CHECK(one.n_leapfrog[k] == four.n_leapfrog[k]);
    CHECK(one.q[k][0].size() == 500);
  }
  // Chains differ from each other, and another seed gives other draws.
  CHECK(one.q[0] != one.q[1]);
  settings.seed = 1235;
  sample_chains(make, chains, 4, settings, other_seed);
  CHECK(one.q[0] != other_seed.q[0]);
}

TEST_CASE("a target returning NaN in a region and rejecting in another: divergences only") {
  const int chains = 4;
  auto make = [] {
    return std::make_unique<FunctionLogDensity>(2, [](const double* q, double* g) {
      if (q[1] > 1.5) throw halo::DomainError("q[1] above 1.5");
      g[0] = -q[0];
      g[1] = -q[1];
      return q[0] > 1.0 ? std::nan("") : -0.5 * (q[0] * q[0] + q[1] * q[1]);
    });
  };
  ChainSettings settings;
  settings.num_warmup = 300;
  settings.num_samples = 300;
  settings.save_warmup = true;
  settings.seed = 5;
  InitOptions init;
  init.radius = 1.0;  // starting points may still fall in the bad regions: retried
  std::vector<std::unique_ptr<LogDensity>> owned;
  std::vector<LogDensity*> targets;
  for (int k = 0; k < chains; ++k) {
    owned.push_back(make());
    targets.push_back(owned.back().get());
  }
  Collected c(chains, 2);
  const auto results = run_chains(targets, {init}, settings, chains, 2, c.callback());
  int divergences = 0;
  for (int k = 0; k < chains; ++k) {
    REQUIRE(results[k].error.empty());
    CHECK(results[k].sampling_iterations == 300);
    for (std::size_t j = 0; j < c.q[k][0].size(); ++j) {
      REQUIRE(c.q[k][0][j] <= 1.0);
      REQUIRE(c.q[k][1][j] <= 1.5);
      REQUIRE(std::isfinite(c.log_density[k][j]));
      divergences += static_cast<int>(c.divergent[k][j]);
    }
    CHECK(std::isfinite(results[k].step_size));
  }
  MESSAGE("NaN/reject target: " << divergences << " divergent transitions of 2400");
  CHECK(divergences > 0);
}

TEST_CASE("a stop flag ends every chain cleanly with the completed draws delivered") {
  const int chains = 4;
  std::atomic<bool> stop{false};
  RunControl control;
  control.stop = &stop;
  control.on_iteration = [&](const Draw& d) {
    if (d.chain_id == 2 && d.iteration == 150) stop = true;
  };
  ChainSettings settings;
  settings.num_warmup = 200;
  settings.num_samples = 100000;  // would take long without the stop
  settings.save_warmup = true;
  Collected c(chains, 2);
  const auto results = sample_chains(
      [] {
        return std::make_unique<GaussianTarget>(Eigen::Vector2d::Zero(),
                                                Eigen::Matrix2d::Identity());
      },
      chains, 2, settings, c, control);
  for (int k = 0; k < chains; ++k) {
    CAPTURE(k);
    REQUIRE(results[k].error.empty());
    CHECK(results[k].interrupted);
    const int done = results[k].warmup_iterations + results[k].sampling_iterations;
    CHECK(done < 100200);
    CHECK(static_cast<int>(c.q[k][0].size()) == done);
    for (int j = 0; j < done; ++j) CHECK(c.iteration[k][j] == j);
  }
  CHECK(results[1].warmup_iterations + results[1].sampling_iterations == 151);
}

TEST_CASE("thinning and saved warmup follow Stan's per-phase counting") {
  ChainSettings settings;
  settings.num_warmup = 100;
  settings.num_samples = 100;
  settings.thin = 3;
  settings.save_warmup = true;
  settings.chain_id = 7;
  Collected c(1, 1);
  c.first_chain_id = 7;
  GaussianTarget target(Eigen::VectorXd::Zero(1), Eigen::MatrixXd::Identity(1, 1));
  // The adaptation result is announced once, after the last warmup draw.
  int warmup_ends = 0;
  double announced_step_size = 0;
  std::size_t draws_before_announcement = 0;
  RunControl control;
  control.on_warmup_end = [&](int chain_id, double step_size, const Metric& metric) {
    CHECK(chain_id == 7);
    CHECK(metric.kind == MetricKind::Diag);
    ++warmup_ends;
    announced_step_size = step_size;
    draws_before_announcement = c.iteration[0].size();
  };
  const ChainResult r = run_chain(target, InitOptions{}, settings, c.callback(), control);
  CHECK(r.chain_id == 7);
  CHECK(warmup_ends == 1);
  CHECK(announced_step_size == r.step_size);
  CHECK(draws_before_announcement == 34);
  REQUIRE(c.iteration[0].size() == 68);  // 34 of each phase: iterations 0, 3, ..., 99
  CHECK(c.iteration[0][0] == 0);
  CHECK(c.iteration[0][33] == 99);
  CHECK(c.warmup[0][33] == 1);
  CHECK(c.iteration[0][34] == 100);
  CHECK(c.warmup[0][34] == 0);
  CHECK(c.iteration[0][67] == 199);

  settings.save_warmup = false;
  Collected d(1, 1);
  d.first_chain_id = 7;
  run_chain(target, InitOptions{}, settings, d.callback());
  CHECK(d.iteration[0].size() == 34);
  CHECK(d.iteration[0][0] == 100);
}

TEST_CASE("step-size jitter, the unit metric, and running without adaptation") {
  GaussianTarget target(Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3));
  ChainSettings settings;
  settings.num_warmup = 500;
  settings.num_samples = 500;
  settings.metric = MetricKind::Unit;
  settings.step_size_jitter = 0.5;
  Collected c(1, 3);
  const ChainResult r = run_chain(target, InitOptions{}, settings, c.callback());
  CHECK(r.metric.kind == MetricKind::Unit);
  double lo = 1e300, hi = 0;
  for (double s : c.step[0]) {
    lo = std::min(lo, s);
    hi = std::max(hi, s);
    CHECK(s >= r.step_size * 0.5);
    CHECK(s <= r.step_size * 1.5);
  }
  CHECK(hi / lo > 2.0);  // the jitter really varies the step size
  CHECK(mean_of(c.accept) > 0.7);

  // No adaptation: the given step size and metric are used as they are.
  ChainSettings fixed;
  fixed.num_warmup = 50;
  fixed.num_samples = 50;
  fixed.adapt = false;
  fixed.step_size = 0.3;
  fixed.inv_metric_diag = Eigen::Vector3d(1.0, 2.0, 0.5);
  Collected f(1, 3);
  const ChainResult rf = run_chain(target, Eigen::Vector3d(0.1, 0.2, 0.3), fixed, f.callback());
  CHECK(rf.step_size == 0.3);
  CHECK(rf.metric.inv_diag == Eigen::Vector3d(1.0, 2.0, 0.5));
  CHECK(rf.initial_position == Eigen::Vector3d(0.1, 0.2, 0.3));
  for (double s : f.step[0]) CHECK(s == 0.3);
}

TEST_CASE("a chain that cannot start reports its error while the others run") {
  FunctionLogDensity target(1, [](const double* q, double* g) {
    if (q[0] < 0) throw halo::DomainError("q must be non-negative");
    g[0] = -q[0];
    return -0.5 * q[0] * q[0];
  });
  InitOptions good, bad;
  good.values = {0.5};
  bad.values = {-0.5};
  ChainSettings settings;
  settings.num_warmup = 100;
  settings.num_samples = 100;
  Collected c(3, 1);
  // A FunctionLogDensity without shared buffers is reentrant: one target for all chains.
  const auto results = run_chains({&target}, {good, bad, good}, settings, 3, 3, c.callback());
  CHECK(results[0].error.empty());
  CHECK(results[2].error.empty());
  CHECK(results[1].chain_id == 2);
  CHECK(results[1].error.find("q must be non-negative") != std::string::npos);
  CHECK(results[1].exception != nullptr);
  CHECK(c.q[0][0].size() == 100);
  CHECK(c.q[1][0].empty());
  CHECK(c.q[2][0].size() == 100);

  CHECK_THROWS_AS(run_chains({&target}, {good}, settings, 0, 1, c.callback()),
                  std::invalid_argument);
  settings.thin = 0;
  CHECK_THROWS_AS(run_chain(target, InitOptions{}, settings, c.callback()), std::invalid_argument);
}
