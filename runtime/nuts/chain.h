// Running chains: initialisation, warmup with adaptation, sampling, and several chains on
// threads. Each chain draws from its own stream Rng::stream(seed, chain_id), so its draws are
// identical whatever the number of threads.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "nuts/adapter.h"
#include "nuts/initialize.h"
#include "nuts/log_density.h"
#include "nuts/metric.h"
#include "nuts/nuts.h"

namespace halo::nuts {

struct ChainSettings {
  int num_warmup = 1000;
  int num_samples = 1000;
  int thin = 1;                    // keep every thin-th iteration (of each phase, as Stan)
  int max_depth = 10;              // from Stan
  double delta = 0.8;              // target accept_stat, from Stan (adapt delta)
  MetricKind metric = MetricKind::Diag;
  uint64_t seed = 0;
  int chain_id = 1;                // selects the RNG stream; chain ids start at 1 as in Stan
  bool save_warmup = false;        // deliver warmup draws to the draw callback
  bool adapt = true;               // adapt during warmup (Stan's adapt engaged)
  double step_size = 1.0;          // initial step size, from Stan (cmdstan stepsize=1)
  double step_size_jitter = 0.0;   // in [0, 1): eps * (1 + jitter * U(-1, 1)) per transition
  double max_delta_h = 1000;       // divergence threshold, from Stan (base_nuts.hpp)
  AdaptationSettings adaptation;   // gamma, kappa, t0 and the windows (delta is taken above)
  // Initial inverse metric (as a metric file gives it); empty means the identity.
  Eigen::VectorXd inv_metric_diag;
  Eigen::MatrixXd inv_metric_dense;
};

// One iteration's draw, passed to the callbacks (valid only during the call).
struct Draw {
  int chain_id;
  int iteration;  // 0-based, counting warmup then sampling iterations
  bool warmup;
  const Transition& transition;
};
using DrawCallback = std::function<void(const Draw&)>;

struct RunControl {
  // Cooperative stop (e.g. set by a SIGINT handler): checked before every iteration; a chain
  // that sees it returns with what it completed, `interrupted` set.
  const std::atomic<bool>* stop = nullptr;
  // Called after every iteration, saved or not (progress reporting).
  DrawCallback on_iteration;
  // Called once between warmup and sampling with the step size and inverse metric that
  // sampling will use (what Stan writes as its adaptation lines before the first draw); not
  // called when a stop ends warmup.
  std::function<void(int chain_id, double step_size, const Metric& metric)> on_warmup_end;
};

struct ChainResult {
  int chain_id = 0;
  double step_size = 0;       // the step size used for sampling (adapted or given)
  Metric metric;              // the inverse metric used for sampling
  Eigen::VectorXd initial_position;
  int warmup_iterations = 0;  // completed
  int sampling_iterations = 0;
  int divergences = 0;        // during sampling
  int max_depth_hits = 0;     // sampling transitions that stopped at max_depth
  long leapfrog_steps_warmup = 0;
  long leapfrog_steps_sampling = 0;
  bool interrupted = false;
  // run_chains only: why the chain failed (empty when it did not), and the exception.
  std::string error;
  std::exception_ptr exception;
};

// Runs one chain: initialise (InitOptions), warm up (adapting when settings.adapt and
// num_warmup > 0), sample. `on_draw` receives the saved draws: warmup draws when save_warmup,
// and every thin-th iteration of each phase. Throws InitializationError, std::runtime_error
// (step-size or metric adaptation failure), std::invalid_argument (bad settings), and whatever
// non-domain exception the target throws.
ChainResult run_chain(LogDensity& target, const InitOptions& init, const ChainSettings& settings,
                      const DrawCallback& on_draw, const RunControl& control = {});
// The same from a given starting position.
ChainResult run_chain(LogDensity& target, const Eigen::VectorXd& init_position,
                      const ChainSettings& settings, const DrawCallback& on_draw,
                      const RunControl& control = {});

// Runs chains settings.chain_id, settings.chain_id + 1, ... (num_chains of them) on up to
// num_threads threads (0: one per hardware thread). `targets` and `inits` hold one entry shared
// by every chain (a shared target must be reentrant) or one per chain. Callbacks are called
// from the worker threads, concurrently for different chains and in order within a chain.
// A chain that throws records the error in its result; the others go on.
std::vector<ChainResult> run_chains(const std::vector<LogDensity*>& targets,
                                    const std::vector<InitOptions>& inits,
                                    const ChainSettings& settings, int num_chains,
                                    int num_threads, const DrawCallback& on_draw,
                                    const RunControl& control = {});

}  // namespace halo::nuts
