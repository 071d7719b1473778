// `halo sample`: NUTS chains on a model library, one Stan CSV per chain, the run configuration
// and each chain's adapted metric as JSON, a summary at the end. docs/driver.md describes the
// files and the choices.
#pragma once
#include <string>
#include <vector>

#include "cli/options.h"

namespace halo::cli {

// The files of chain `chain_id` (1-based) of a run of model `name` in `dir`.
std::string chain_csv_path(const std::string& dir, const std::string& name, int chain_id);
std::string chain_metric_path(const std::string& dir, const std::string& name, int chain_id);
std::string config_path(const std::string& dir, const std::string& name, const std::string& method);

// Runs the command; returns the exit code (kExitOk, kExitFailure, kExitInterrupted). Throws
// CliError for problems found before any chain starts (files, data, options that do not fit the
// model). `name` overrides the model's name in file names and the CSV (`halo run` passes the
// .model file's stem); "" takes the library's bs_name.
int run_sample(const SampleOptions& options, const std::string& name = "");

// The `halo sample ...` command line that repeats a run (the seed made explicit).
std::string sample_command_line(const SampleOptions& options, uint64_t seed);

}  // namespace halo::cli
