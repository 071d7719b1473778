// Step size: Stan's initial heuristic and Nesterov dual averaging of log(step size).
#pragma once
#include <cmath>

#include "nuts/hamiltonian.h"
#include "nuts/log_density.h"
#include "nuts/metric.h"
#include "nuts/rng.h"

namespace halo::nuts {

// Dual averaging (Nesterov 2009; Hoffman & Gelman 2014, algorithm 5), as Stan's
// stan/mcmc/stepsize_adaptation.hpp. Defaults from Stan (cmdstan's adapt delta, gamma, kappa,
// t0).
struct DualAveragingParams {
  double delta = 0.8;    // target mean accept_stat
  double gamma = 0.05;   // adaptation regularisation scale
  double kappa = 0.75;   // relaxation exponent of the averaged iterate
  double t0 = 10;        // iteration offset that damps the early iterations
};

struct DualAveragingState {
  double counter = 0;  // iterations since the last restart
  double s_bar = 0;    // running average of (delta - accept_stat)
  double x_bar = 0;    // averaged log step size
  double mu = std::log(10.0);  // shrinkage target of log step size: log(10 * eps0), from Stan
};

// Restart with the shrinkage target log(10 * step_size), as Stan does after each metric window
// (adapt_diag_e_nuts.hpp) and at the start with the user's initial step size
// (services/sample/hmc_nuts_diag_e_adapt.hpp).
DualAveragingState dual_averaging_start(double step_size);
// Feeds one accept_stat (clipped at 1); returns the next step size exp(x_t).
double dual_averaging_update(DualAveragingState& state, const DualAveragingParams& params,
                             double accept_stat);
// The step size to keep after adaptation: exp(x_bar).
double dual_averaging_final(const DualAveragingState& state);

// Stan's initial step-size heuristic (base_hmc.hpp init_stepsize): from `step_size`, take one
// leapfrog step with fresh momentum and double (or halve) the step size until the acceptance
// exp(H0 - H) crosses 0.8. `z` must be a valid point; it is not modified. Throws
// std::runtime_error when the step size exceeds 1e7 ("posterior is improper") or underflows to
// 0, like Stan.
double find_initial_step_size(LogDensity& target, const Metric& metric, const PhasePoint& z,
                              double step_size, Rng& rng);

}  // namespace halo::nuts
