#include "nuts/initialize.h"

#include <algorithm>
#include <sstream>

namespace halo::nuts {

PhasePoint initialize(LogDensity& target, Rng& rng, const InitOptions& options) {
  const int dim = target.dim;
  if (!options.values.empty() && static_cast<int>(options.values.size()) != dim)
    throw std::invalid_argument("initial values: expected " + std::to_string(dim) +
                                " values, got " + std::to_string(options.values.size()));
  if (!options.given.empty() && options.given.size() != options.values.size())
    throw std::invalid_argument("initial values: the mask of given values has the wrong size");
  if (!(options.radius >= 0))
    throw std::invalid_argument("the initialisation radius must be non-negative");

  auto is_given = [&](int i) {
    return !options.values.empty() && (options.given.empty() || options.given[i]);
  };
  bool all_given = true;
  for (int i = 0; i < dim; ++i) all_given = all_given && is_given(i);
  const bool deterministic = all_given || options.radius == 0;
  const int attempts = deterministic ? 1 : std::max(1, options.max_attempts);

  PhasePoint z(dim);
  EvaluationFailure failure;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    for (int i = 0; i < dim; ++i)
      z.q[i] = is_given(i) ? options.values[i] : rng.uniform(-options.radius, options.radius);
    if (evaluate(target, z, &failure)) return z;
  }

  std::ostringstream msg;
  if (all_given) {
    msg << "the given initial values are not a valid starting point: ";
  } else {
    msg << "initialisation failed after " << attempts << (attempts == 1 ? " attempt" : " attempts");
    if (options.radius > 0)
      msg << " (uniform(-" << options.radius << ", " << options.radius
          << ") on the unconstrained scale)";
    else
      msg << " (at zero on the unconstrained scale)";
    msg << "; last failure: ";
  }
  msg << failure.message;
  if (failure.component >= 0) msg << " (component " << failure.component << ")";
  if (!all_given)
    msg << ". Try giving initial values, narrowing the radius, or reparameterising the model";
  throw InitializationError(msg.str(), attempts, failure);
}

}  // namespace halo::nuts
