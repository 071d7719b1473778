// Where chains (and the optimiser) start, as CmdStan's `init=`:
//   R (a number >= 0)  every unconstrained value uniform(-R, R) (R = 0: all zero); retried up to
//                      100 times until the log density and its gradient are finite (Stan's
//                      MAX_INIT_TRIES)
//   prior              a draw from the model's priors through the library's
//                      halo_param_prior_draw (docs/abi.md), retried the same way
//   file.json          constrained values of some or all parameters (CmdStan JSON); the
//                      parameters the file lacks are drawn uniform(-2, 2) unconstrained
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/model_library.h"
#include "nuts/initialize.h"

namespace halo::cli {

struct InitChoice {
  enum class Kind { Radius, Prior, File };
  Kind kind = Kind::Radius;
  double radius = 2.0;  // from CmdStan (init=2)
  std::string file;
};

// Throws UsageError for text that is none of the three forms.
InitChoice parse_init(const std::string& text);

// The parameters of an init file, unconstrained, with a mask of the unconstrained values it
// fixes (the others are drawn uniform(-radius, radius)). Throws CliError naming the file and the
// parameter: unreadable JSON, a wrong shape, a value outside the parameter's support.
nuts::InitOptions init_from_file(const Model& model, const std::string& path, double radius = 2.0);

// A point drawn from the priors where the log density and its gradient are finite, after up to
// `max_attempts` draws from a bs_rng seeded with `seed`. Throws CliError with the model's last
// message (and the parameter whose gradient was not finite) when every draw fails, or when the
// library has no prior sampler.
std::vector<double> draw_prior_init(const Model& model, nuts::LogDensity& target, unsigned int seed,
                                    int max_attempts = 100);

// Turns an initialisation failure into one sentence that names the parameter when the failure
// was a non-finite gradient component.
std::string describe_init_failure(const Model& model, const nuts::InitializationError& error);

// A 32-bit seed for a model-library RNG (generated quantities, prior draws), derived from the run
// seed, a purpose tag and the chain id with splitmix64 so that streams differ.
unsigned int derived_seed(uint64_t seed, uint64_t purpose, uint64_t chain_id);

}  // namespace halo::cli
