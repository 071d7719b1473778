#include "nuts/step_size.h"

#include <limits>
#include <stdexcept>

namespace halo::nuts {

DualAveragingState dual_averaging_start(double step_size) {
  DualAveragingState state;
  state.mu = std::log(10.0 * step_size);
  return state;
}

double dual_averaging_update(DualAveragingState& state, const DualAveragingParams& params,
                             double accept_stat) {
  state.counter += 1;
  const double stat = accept_stat > 1 ? 1 : accept_stat;
  const double eta = 1.0 / (state.counter + params.t0);
  state.s_bar = (1.0 - eta) * state.s_bar + eta * (params.delta - stat);
  const double x = state.mu - state.s_bar * std::sqrt(state.counter) / params.gamma;
  const double x_eta = std::pow(state.counter, -params.kappa);
  state.x_bar = (1.0 - x_eta) * state.x_bar + x_eta * x;
  return std::exp(x);
}

double dual_averaging_final(const DualAveragingState& state) { return std::exp(state.x_bar); }

namespace {
// The energy change -(H1 - H0) of one leapfrog step from `start` with fresh momentum.
double one_step_delta_h(LogDensity& target, const Metric& metric, const PhasePoint& start,
                        double step_size, Rng& rng, PhasePoint& z, Eigen::VectorXd& scratch) {
  z = start;
  sample_momentum(metric, rng, z.p);
  const double h0 = hamiltonian(metric, z);
  leapfrog(target, metric, step_size, z, scratch);
  double h = hamiltonian(metric, z);
  if (std::isnan(h)) h = std::numeric_limits<double>::infinity();
  return h0 - h;
}
}  // namespace

double find_initial_step_size(LogDensity& target, const Metric& metric, const PhasePoint& z,
                              double step_size, Rng& rng) {
  // Meaningless without parameters; skipped for extreme values, as in Stan.
  if (z.q.size() == 0) return std::numeric_limits<double>::quiet_NaN();
  if (step_size == 0 || step_size > 1e7 || std::isnan(step_size)) return step_size;

  const double log_threshold = std::log(0.8);  // from Stan: base_hmc.hpp init_stepsize
  PhasePoint work(static_cast<int>(z.q.size()));
  Eigen::VectorXd scratch(z.q.size());

  const double first = one_step_delta_h(target, metric, z, step_size, rng, work, scratch);
  const int direction = first > log_threshold ? 1 : -1;
  while (true) {
    const double delta_h = one_step_delta_h(target, metric, z, step_size, rng, work, scratch);
    if (direction == 1 && !(delta_h > log_threshold)) break;
    if (direction == -1 && !(delta_h < log_threshold)) break;
    step_size = direction == 1 ? 2.0 * step_size : 0.5 * step_size;
    if (step_size > 1e7)
      throw std::runtime_error(
          "the posterior is improper: the step size grew past 1e7 while the acceptance stayed "
          "above 0.8; check the model");
    if (step_size == 0)
      throw std::runtime_error(
          "no acceptably small step size could be found; is the log density continuous?");
  }
  return step_size;
}

}  // namespace halo::nuts
