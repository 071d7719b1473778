// Initial positions, as Stan's services/util/initialize.hpp: each parameter not given a value
// is drawn uniform(-R, R) on the unconstrained scale; a position is accepted when the log
// density and its gradient are finite; otherwise retry, up to 100 attempts (one attempt when
// nothing is random: every value given, or R = 0).
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "nuts/hamiltonian.h"
#include "nuts/log_density.h"
#include "nuts/rng.h"

namespace halo::nuts {

struct InitOptions {
  double radius = 2.0;           // from Stan (cmdstan's init=2)
  std::vector<double> values;    // empty: all random; else one value per dimension
  std::vector<bool> given;       // with `values`: which of them are fixed (empty: all)
  int max_attempts = 100;        // from Stan: MAX_INIT_TRIES
};

class InitializationError : public std::runtime_error {
 public:
  InitializationError(const std::string& what, int attempts, EvaluationFailure last)
      : std::runtime_error(what), attempts(attempts), last_failure(std::move(last)) {}
  int attempts;
  // Why the last attempt failed: the model's message, or what was not finite (with the
  // gradient component, so a driver can name the parameter).
  EvaluationFailure last_failure;
};

// Returns a valid starting point (position, log density, gradient). Throws InitializationError
// when every attempt fails, and std::invalid_argument for malformed options.
PhasePoint initialize(LogDensity& target, Rng& rng, const InitOptions& options);

}  // namespace halo::nuts
