// `halo optimize`: the posterior mode by L-BFGS (lbfgs.h), written as Stan's optimisation CSV
// (config, header `lp__,<names>`, one row). Without --jacobian (CmdStan's default) it finds the
// mode of the density of the constrained parameters: the MAP estimate, which is the maximum
// likelihood estimate when the priors are flat. With --jacobian it finds the mode on the
// unconstrained scale, the centre of a Laplace approximation there. lp__ is the log density
// without constant terms at the mode, with the log-Jacobian only under --jacobian (as Stan's).
#pragma once
#include <string>

#include "cli/options.h"

namespace halo::cli {

std::string optimize_csv_path(const std::string& dir, const std::string& name);

// Returns the exit code: kExitOk when the optimiser converged or reached --iter (a note says
// so), kExitFailure when the line search failed (the CSV is written all the same, as Stan does).
// Throws CliError for bad input.
int run_optimize(const OptimizeOptions& options, const std::string& name = "");

}  // namespace halo::cli
