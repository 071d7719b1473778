#include "nuts/adapter.h"

#include <stdexcept>

namespace halo::nuts {

Adapter make_adapter(MetricKind kind, int dim, int num_warmup, double initial_step_size,
                     const AdaptationSettings& settings) {
  Adapter a;
  a.kind = kind;
  a.params = settings.dual_averaging;
  a.step_size_state = dual_averaging_start(initial_step_size);
  if (kind != MetricKind::Unit) {
    a.windows = make_window_schedule(num_warmup, settings.init_buffer, settings.term_buffer,
                                     settings.base_window);
  }
  if (kind == MetricKind::Diag) a.variance = WelfordVariance(dim);
  if (kind == MetricKind::Dense) a.covariance = WelfordCovariance(dim);
  return a;
}

namespace {
[[noreturn]] void metric_overflow() {
  throw std::runtime_error(
      "numerical overflow in metric adaptation: the sampler met extreme values on the "
      "unconstrained scale; the posterior may be improper or too wide, check the model");
}
}  // namespace

bool adapt_step(Adapter& a, double accept_stat, const Eigen::VectorXd& q, double& step_size,
                Metric& metric) {
  step_size = dual_averaging_update(a.step_size_state, a.params, accept_stat);
  if (a.kind == MetricKind::Unit) return false;

  WindowSchedule& w = a.windows;
  if (in_metric_window(w)) {
    if (a.kind == MetricKind::Diag)
      welford_add(a.variance, q);
    else
      welford_add(a.covariance, q);
  }
  bool updated = false;
  if (ends_metric_window(w)) {
    advance_window(w);
    if (a.kind == MetricKind::Diag) {
      // With fewer than two draws there is no estimate; keep the metric (Stan would shrink the
      // old one, stan-dev/stan#3037).
      if (a.variance.n >= 2) {
        const Eigen::VectorXd inv =
            regularize_variance(welford_variance(a.variance), static_cast<double>(a.variance.n));
        if (!inv.allFinite()) metric_overflow();
        metric = diag_metric(inv);
        updated = true;
      }
      welford_reset(a.variance);
    } else {
      if (a.covariance.n >= 2) {
        const Eigen::MatrixXd inv = regularize_covariance(welford_covariance(a.covariance),
                                                          static_cast<double>(a.covariance.n));
        if (!inv.allFinite()) metric_overflow();
        // Symmetrise exactly: the rank-one updates leave last-bit asymmetries.
        metric = dense_metric(0.5 * (inv + inv.transpose()));
        updated = true;
      }
      welford_reset(a.covariance);
    }
  }
  next_iteration(w);
  return updated;
}

void restart_step_size(Adapter& a, double step_size) {
  a.step_size_state = dual_averaging_start(step_size);
}

double final_step_size(const Adapter& a) { return dual_averaging_final(a.step_size_state); }

}  // namespace halo::nuts
