#include "nuts/chain.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace halo::nuts {

namespace {

void check_settings(const LogDensity& target, const ChainSettings& s) {
  if (target.dim < 1) throw std::invalid_argument("the target has no parameters to sample");
  if (s.num_warmup < 0 || s.num_samples < 0)
    throw std::invalid_argument("the numbers of warmup and sampling iterations must be >= 0");
  if (s.thin < 1) throw std::invalid_argument("thin must be at least 1");
  if (s.max_depth < 1) throw std::invalid_argument("max_depth must be at least 1");
  if (!(s.delta > 0 && s.delta < 1)) throw std::invalid_argument("delta must lie in (0, 1)");
  if (!(s.step_size > 0) || !std::isfinite(s.step_size))
    throw std::invalid_argument("the step size must be positive and finite");
  if (!(s.step_size_jitter >= 0 && s.step_size_jitter < 1))
    throw std::invalid_argument("the step-size jitter must lie in [0, 1)");
  if (s.chain_id < 0) throw std::invalid_argument("chain ids must be non-negative");
}

Metric initial_metric(const ChainSettings& s, int dim) {
  switch (s.metric) {
    case MetricKind::Unit: return unit_metric(dim);
    case MetricKind::Diag:
      if (s.inv_metric_diag.size() == 0) return identity_metric(MetricKind::Diag, dim);
      if (s.inv_metric_diag.size() != dim)
        throw std::invalid_argument("the initial inverse metric has the wrong size");
      return diag_metric(s.inv_metric_diag);
    case MetricKind::Dense:
      if (s.inv_metric_dense.size() == 0) return identity_metric(MetricKind::Dense, dim);
      if (s.inv_metric_dense.rows() != dim)
        throw std::invalid_argument("the initial inverse metric has the wrong size");
      return dense_metric(s.inv_metric_dense);
  }
  throw std::invalid_argument("unknown metric kind");
}

bool stop_requested(const RunControl& control) {
  return control.stop && control.stop->load(std::memory_order_relaxed);
}

ChainResult run_chain_from(LogDensity& target, Rng& rng, PhasePoint z,
                           const ChainSettings& s, const DrawCallback& on_draw,
                           const RunControl& control) {
  const int dim = target.dim;
  ChainResult result;
  result.chain_id = s.chain_id;
  result.initial_position = z.q;
  Metric metric = initial_metric(s, dim);

  NutsOptions options;
  options.max_depth = s.max_depth;
  options.max_delta_h = s.max_delta_h;
  NutsWorkspace ws(dim, s.max_depth);
  Transition t;

  double step_size = s.step_size;
  const bool adapting = s.adapt && s.num_warmup > 0;
  Adapter adapter;
  if (adapting) {
    AdaptationSettings adaptation = s.adaptation;
    adaptation.dual_averaging.delta = s.delta;
    adapter = make_adapter(s.metric, dim, s.num_warmup, s.step_size, adaptation);
    step_size = find_initial_step_size(target, metric, z, step_size, rng);
  }

  auto jittered = [&](double nominal) {
    // Stan's base_hmc::sample_stepsize: no random draw unless jitter is on.
    if (s.step_size_jitter == 0) return nominal;
    return nominal * (1.0 + s.step_size_jitter * (2.0 * rng.uniform() - 1.0));
  };
  auto deliver = [&](int iteration, bool warmup, bool saved) {
    const Draw draw{s.chain_id, iteration, warmup, t};
    if (control.on_iteration) control.on_iteration(draw);
    if (saved && on_draw) on_draw(draw);
  };

  for (int m = 0; m < s.num_warmup; ++m) {
    if (stop_requested(control)) {
      result.interrupted = true;
      break;
    }
    nuts_transition(target, metric, jittered(step_size), options, rng, z, ws, t);
    result.leapfrog_steps_warmup += t.n_leapfrog;
    if (adapting && adapt_step(adapter, t.accept_stat, z.q, step_size, metric)) {
      step_size = find_initial_step_size(target, metric, z, step_size, rng);
      restart_step_size(adapter, step_size);
    }
    ++result.warmup_iterations;
    deliver(m, true, s.save_warmup && m % s.thin == 0);
  }
  if (adapting && !result.interrupted) step_size = final_step_size(adapter);

  if (!result.interrupted) {
    if (control.on_warmup_end) control.on_warmup_end(s.chain_id, step_size, metric);
    for (int m = 0; m < s.num_samples; ++m) {
      if (stop_requested(control)) {
        result.interrupted = true;
        break;
      }
      nuts_transition(target, metric, jittered(step_size), options, rng, z, ws, t);
      result.leapfrog_steps_sampling += t.n_leapfrog;
      result.divergences += t.divergent ? 1 : 0;
      result.max_depth_hits += t.tree_depth >= s.max_depth ? 1 : 0;
      ++result.sampling_iterations;
      deliver(s.num_warmup + m, false, m % s.thin == 0);
    }
  }
  result.step_size = step_size;
  result.metric = metric;
  return result;
}

}  // namespace

ChainResult run_chain(LogDensity& target, const InitOptions& init, const ChainSettings& settings,
                      const DrawCallback& on_draw, const RunControl& control) {
  check_settings(target, settings);
  Rng rng = Rng::stream(settings.seed, static_cast<uint64_t>(settings.chain_id));
  PhasePoint z = initialize(target, rng, init);
  return run_chain_from(target, rng, std::move(z), settings, on_draw, control);
}

ChainResult run_chain(LogDensity& target, const Eigen::VectorXd& init_position,
                      const ChainSettings& settings, const DrawCallback& on_draw,
                      const RunControl& control) {
  InitOptions init;
  init.values.assign(init_position.data(), init_position.data() + init_position.size());
  return run_chain(target, init, settings, on_draw, control);
}

std::vector<ChainResult> run_chains(const std::vector<LogDensity*>& targets,
                                    const std::vector<InitOptions>& inits,
                                    const ChainSettings& settings, int num_chains,
                                    int num_threads, const DrawCallback& on_draw,
                                    const RunControl& control) {
  if (num_chains < 1) throw std::invalid_argument("at least one chain is needed");
  const auto n = static_cast<std::size_t>(num_chains);
  if (targets.size() != 1 && targets.size() != n)
    throw std::invalid_argument("run_chains: give one target, or one per chain");
  if (inits.size() != 1 && inits.size() != n)
    throw std::invalid_argument("run_chains: give one init, or one per chain");
  for (LogDensity* t : targets)
    if (!t) throw std::invalid_argument("run_chains: null target");
  if (num_threads <= 0)
    num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int workers = std::min(num_threads, num_chains);

  std::vector<ChainResult> results(n);
  std::atomic<int> next_chain{0};
  auto work = [&]() {
    for (int i = next_chain.fetch_add(1); i < num_chains; i = next_chain.fetch_add(1)) {
      ChainSettings chain_settings = settings;
      chain_settings.chain_id = settings.chain_id + i;
      LogDensity& target = *targets[targets.size() == 1 ? 0 : i];
      const InitOptions& init = inits[inits.size() == 1 ? 0 : i];
      try {
        results[i] = run_chain(target, init, chain_settings, on_draw, control);
      } catch (const std::exception& e) {
        results[i].chain_id = chain_settings.chain_id;
        results[i].error = e.what();
        results[i].exception = std::current_exception();
      } catch (...) {
        results[i].chain_id = chain_settings.chain_id;
        results[i].error = "unknown exception";
        results[i].exception = std::current_exception();
      }
    }
  };
  if (workers == 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(workers));
    for (int w = 0; w < workers; ++w) threads.emplace_back(work);
    for (std::thread& th : threads) th.join();
  }
  return results;
}

}  // namespace halo::nuts
