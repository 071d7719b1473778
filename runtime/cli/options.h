// The command line of `halo`: one struct per command, filled by parse_command_line (CLI11) and
// checked there, so that a command starts only with options that make sense. Files are checked
// for existence by the commands themselves (a missing file is not a usage error).
//
//   halo sample   model.so [options]       NUTS (docs/driver.md)
//   halo optimize model.so [options]       L-BFGS: posterior mode, MAP or MLE
//   halo summary  file.csv...              summary and diagnostics of Stan CSV files
//   halo run      model.model sample|optimize [options]   compile (cached), then run
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/errors.h"

namespace halo::cli {

struct SampleOptions {
  std::string model;              // model library (.so), or the .model file for `halo run`
  std::string data;               // CmdStan JSON; "" for a model without data
  std::string init = "2";         // radius R (uniform(-R, R) unconstrained), "prior", or a .json
  int chains = 4;
  int threads = 0;                // 0: min(chains, hardware threads)
  int warmup = 1000;              // from CmdStan (num_warmup)
  int samples = 1000;             // from CmdStan (num_samples)
  int thin = 1;
  std::optional<uint64_t> seed;   // absent: a random seed, recorded in the output
  int max_depth = 10;             // from Stan
  double delta = 0.8;             // from Stan (adapt delta)
  std::string metric = "diag";    // unit | diag | dense
  std::string metric_file;        // JSON with "inv_metric" (CmdStan's metric_file)
  double step_size = 1.0;         // from CmdStan (stepsize)
  double step_size_jitter = 0.0;  // from CmdStan (stepsize_jitter)
  std::string output_dir = ".";
  bool save_warmup = false;
  bool quiet = false;
  int sig_figs = -1;              // CmdStan's sig_figs; -1: 6 significant digits
};

struct OptimizeOptions {
  std::string model;
  std::string data;
  std::string init = "2";
  std::optional<uint64_t> seed;
  bool jacobian = false;          // CmdStan's default: the mode of the density on the constrained space
  int iterations = 2000;          // CmdStan's iter
  // L-BFGS tolerances, CmdStan's defaults (cmdstan-guide optimize_config).
  double init_alpha = 1e-3;
  double tol_obj = 1e-12;
  double tol_rel_obj = 1e4;
  double tol_grad = 1e-8;
  double tol_rel_grad = 1e7;
  double tol_param = 1e-8;
  int history_size = 5;
  std::string output;             // the CSV to write; "" -> <output_dir>/<model>-optimize.csv
  std::string output_dir = ".";
  bool quiet = false;
  int sig_figs = -1;
};

struct SummaryOptions {
  std::vector<std::string> files;
};

// `halo run model.model <method> ...`: the method's options, with `model` the .model file.
struct RunOptions {
  std::string method;             // "sample" or "optimize"
  std::string model_file;
  std::string cache_dir;          // "" -> $HALO_CACHE_DIR, else $XDG_CACHE_HOME/halo, else ~/.cache/halo
  SampleOptions sample;
  OptimizeOptions optimize;
};

struct Command {
  enum class Kind { Help, Version, Sample, Optimize, Summary, Run };
  Kind kind = Kind::Help;
  std::string text;               // Help / Version: what to print
  SampleOptions sample;
  OptimizeOptions optimize;
  SummaryOptions summary;
  RunOptions run;
};

// `args` excludes the program name. Throws UsageError with one message that names the option
// and what it needs (e.g. "--chains: must be at least 1, got 0").
Command parse_command_line(const std::vector<std::string>& args);

// Checks that apply whatever the parser: ranges and combinations (tests call these directly).
void validate(const SampleOptions& options);
void validate(const OptimizeOptions& options);

}  // namespace halo::cli
