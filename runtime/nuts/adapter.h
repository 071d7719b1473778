// Warmup adaptation as Stan's adapt_{unit,diag,dense}_e_nuts: dual averaging of the step size
// after every warmup transition, and (diag, dense) the metric re-estimated at the end of each
// window of WindowSchedule from that window's draws, regularised; after each metric update the
// step size is re-initialised by the heuristic and dual averaging restarts around it.
#pragma once
#include <Eigen/Dense>

#include "nuts/metric.h"
#include "nuts/step_size.h"
#include "nuts/welford.h"
#include "nuts/windows.h"

namespace halo::nuts {

struct AdaptationSettings {
  DualAveragingParams dual_averaging;  // delta, gamma, kappa, t0
  int init_buffer = 75;                // from Stan (cmdstan adapt init_buffer)
  int term_buffer = 50;                // from Stan (cmdstan adapt term_buffer)
  int base_window = 25;                // from Stan (cmdstan adapt window)
};

struct Adapter {
  MetricKind kind = MetricKind::Diag;
  DualAveragingParams params;
  DualAveragingState step_size_state;
  WindowSchedule windows;  // metric windows (none for the unit metric)
  WelfordVariance variance;
  WelfordCovariance covariance;
};

// `initial_step_size` is the user's starting step size: the first shrinkage target is
// log(10 * initial_step_size), as Stan's services set it before the heuristic runs.
Adapter make_adapter(MetricKind kind, int dim, int num_warmup, double initial_step_size,
                     const AdaptationSettings& settings);

// One warmup step after a transition with `accept_stat` that ended at `q`: sets `step_size` to
// the next dual-averaging iterate and, at the end of a metric window, replaces `metric` by the
// regularised estimate. Returns true when the metric changed; the caller then re-runs
// find_initial_step_size from the current point and calls restart_step_size with its result.
// Throws std::runtime_error when the estimate is not finite (Stan's "numerical overflow in
// metric adaptation").
bool adapt_step(Adapter& adapter, double accept_stat, const Eigen::VectorXd& q,
                double& step_size, Metric& metric);

void restart_step_size(Adapter& adapter, double step_size);

// The step size for sampling: exp of the averaged log step size.
double final_step_size(const Adapter& adapter);

}  // namespace halo::nuts
