#include "cli/options.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>

namespace halo::cli {

namespace {

std::string shortest(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw UsageError(message);
}

// "2", "0.5", "prior" or a path ending in .json.
void validate_init(const std::string& init) {
  if (init == "prior") return;
  if (init.size() > 5 && init.compare(init.size() - 5, 5, ".json") == 0) return;
  char* end = nullptr;
  double radius = std::strtod(init.c_str(), &end);
  require(!init.empty() && end && *end == '\0' && std::isfinite(radius) && radius >= 0,
          "--init: expected a radius >= 0 (e.g. 2 or 0), 'prior', or a .json file of initial "
          "values, got '" + init + "'");
}

// A seed is a non-negative integer that fits in 64 bits.
uint64_t parse_seed(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 20;
  for (char ch : text) digits = digits && ch >= '0' && ch <= '9';
  errno = 0;
  unsigned long long value = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  require(digits && errno != ERANGE,
          "--seed: expected a non-negative integer below 2^64, got '" + text + "'");
  return static_cast<uint64_t>(value);
}

std::string normalise_metric(const std::string& metric) {
  if (metric == "unit_e") return "unit";
  if (metric == "diag_e") return "diag";
  if (metric == "dense_e") return "dense";
  return metric;
}

struct Parsers {
  std::unique_ptr<CLI::App> app;
  CLI::App* sample = nullptr;
  CLI::App* optimize = nullptr;
  CLI::App* summary = nullptr;
  CLI::App* run = nullptr;
  CLI::App* run_sample = nullptr;
  CLI::App* run_optimize = nullptr;
  CLI::Option* sample_seed = nullptr;
  CLI::Option* optimize_seed = nullptr;
  CLI::Option* run_sample_seed = nullptr;
  CLI::Option* run_optimize_seed = nullptr;
  std::string seed_texts[4];
};

void add_model(CLI::App* app, std::string& model, bool is_source) {
  app->add_option("model", model,
                  is_source ? "the .model file (compiled on first use, then cached)"
                            : "the model library (.so) written by haloc")
      ->required();
}

CLI::Option* add_sample_options(CLI::App* app, SampleOptions& o, std::string& seed) {
  app->add_option("--data", o.data, "data file (CmdStan JSON)");
  app->add_option("--init", o.init,
                  "initial values: radius R (uniform(-R, R) on the unconstrained scale; 0: all "
                  "zero), 'prior' (a draw from the priors), or a .json file (constrained values; "
                  "parameters it lacks get radius 2)")
      ->capture_default_str();
  app->add_option("--chains", o.chains, "number of chains")->capture_default_str();
  app->add_option("--threads", o.threads,
                  "threads running chains (0: one per chain, at most one per hardware thread); "
                  "the draws do not depend on it")
      ->capture_default_str();
  app->add_option("--warmup", o.warmup, "warmup iterations per chain")->capture_default_str();
  app->add_option("--samples", o.samples, "sampling iterations per chain")->capture_default_str();
  app->add_option("--thin", o.thin, "keep every thin-th iteration")->capture_default_str();
  CLI::Option* seed_option =
      app->add_option("--seed", seed, "random seed (default: a random one, recorded in the output)");
  app->add_option("--max-depth", o.max_depth, "maximum tree depth of NUTS")->capture_default_str();
  app->add_option("--delta", o.delta, "target acceptance statistic of step-size adaptation")
      ->capture_default_str();
  app->add_option("--metric", o.metric, "metric: unit, diag or dense (Stan's unit_e, diag_e, dense_e)")
      ->capture_default_str()
      ->transform([](std::string s) { return normalise_metric(s); })
      ->check(CLI::IsMember({"unit", "diag", "dense"}));
  app->add_option("--metric-file", o.metric_file,
                  "initial inverse metric: JSON with \"inv_metric\" (a vector for diag, a matrix "
                  "for dense), as CmdStan reads it and halo writes it");
  app->add_option("--step-size", o.step_size, "initial step size")->capture_default_str();
  app->add_option("--step-size-jitter", o.step_size_jitter,
                  "jitter the step size uniformly by this fraction, in [0, 1)")
      ->capture_default_str();
  app->add_option("-o,--output-dir", o.output_dir,
                  "directory for <model>-<chain>.csv, <model>-<chain>-metric.json and "
                  "<model>-config.json (created if needed)")
      ->capture_default_str();
  app->add_flag("--save-warmup", o.save_warmup, "also write the warmup draws");
  app->add_flag("-q,--quiet", o.quiet, "no progress and no summary: only a final line");
  app->add_option("--sig-figs", o.sig_figs,
                  "significant digits of the CSV values (-1: Stan's default of 6)")
      ->capture_default_str();
  return seed_option;
}

CLI::Option* add_optimize_options(CLI::App* app, OptimizeOptions& o, std::string& seed) {
  app->add_option("--data", o.data, "data file (CmdStan JSON)");
  app->add_option("--init", o.init,
                  "initial values: radius R, 'prior', or a .json file (as for sample)")
      ->capture_default_str();
  CLI::Option* seed_option =
      app->add_option("--seed", seed, "random seed (default: a random one, recorded in the output)");
  app->add_flag("--jacobian", o.jacobian,
                "include the log-Jacobian of the constraining transforms: the mode on the "
                "unconstrained space (the centre of a Laplace approximation) instead of the "
                "mode of the density of the constrained parameters");
  app->add_option("--iter", o.iterations, "maximum number of L-BFGS iterations")->capture_default_str();
  app->add_option("--init-alpha", o.init_alpha, "first line-search step")->capture_default_str();
  app->add_option("--tol-obj", o.tol_obj, "convergence: absolute change of the objective")
      ->capture_default_str();
  app->add_option("--tol-rel-obj", o.tol_rel_obj,
                  "convergence: relative change of the objective, in units of machine epsilon")
      ->capture_default_str();
  app->add_option("--tol-grad", o.tol_grad, "convergence: gradient norm")->capture_default_str();
  app->add_option("--tol-rel-grad", o.tol_rel_grad,
                  "convergence: relative gradient magnitude, in units of machine epsilon")
      ->capture_default_str();
  app->add_option("--tol-param", o.tol_param, "convergence: length of the last step")
      ->capture_default_str();
  app->add_option("--history-size", o.history_size, "L-BFGS history (pairs kept)")
      ->capture_default_str();
  app->add_option("-o,--output-dir", o.output_dir,
                  "directory for <model>-optimize.csv (created if needed)")
      ->capture_default_str();
  app->add_flag("-q,--quiet", o.quiet, "print only a final line");
  app->add_option("--sig-figs", o.sig_figs, "significant digits of the CSV values")
      ->capture_default_str();
  return seed_option;
}

Parsers make_parsers(Command& c) {
  Parsers p;
  p.app = std::make_unique<CLI::App>(
      "halo: run inference on a model compiled by haloc (NUTS, optimisation) and summarise Stan "
      "CSV output",
      "halo");
  p.app->require_subcommand(1);
  p.app->set_version_flag("--version", std::string("halo ") + HALO_VERSION);
  p.app->footer("Run `halo <command> --help` for the options of a command. docs/driver.md has the details.");

  p.sample = p.app->add_subcommand("sample", "draw from the posterior with NUTS (Stan's adaptation)");
  add_model(p.sample, c.sample.model, false);
  p.sample_seed = add_sample_options(p.sample, c.sample, p.seed_texts[0]);

  p.optimize = p.app->add_subcommand("optimize", "find the posterior mode (L-BFGS)");
  add_model(p.optimize, c.optimize.model, false);
  p.optimize_seed = add_optimize_options(p.optimize, c.optimize, p.seed_texts[1]);

  p.summary = p.app->add_subcommand(
      "summary", "summarise Stan CSV files (Halo's or CmdStan's): mean, sd, MCSE, quantiles, R-hat, ESS");
  p.summary->add_option("files", c.summary.files, "CSV files, one per chain")->required();

  p.run = p.app->add_subcommand("run", "compile a .model file (cached) and run a method on it");
  add_model(p.run, c.run.model_file, true);
  p.run->add_option("--cache-dir", c.run.cache_dir,
                    "where compiled libraries are kept (default: $HALO_CACHE_DIR, else "
                    "$XDG_CACHE_HOME/halo, else ~/.cache/halo)");
  p.run->require_subcommand(1);
  p.run_sample = p.run->add_subcommand("sample", "compile, then `halo sample`");
  p.run_sample_seed = add_sample_options(p.run_sample, c.run.sample, p.seed_texts[2]);
  p.run_optimize = p.run->add_subcommand("optimize", "compile, then `halo optimize`");
  p.run_optimize_seed = add_optimize_options(p.run_optimize, c.run.optimize, p.seed_texts[3]);
  return p;
}

}  // namespace

void validate(const SampleOptions& o) {
  require(o.chains >= 1, "--chains: must be at least 1, got " + std::to_string(o.chains));
  require(o.threads >= 0, "--threads: must be 0 (automatic) or more, got " + std::to_string(o.threads));
  require(o.warmup >= 0, "--warmup: must be 0 or more, got " + std::to_string(o.warmup));
  require(o.samples >= 0, "--samples: must be 0 or more, got " + std::to_string(o.samples));
  require(o.thin >= 1, "--thin: must be at least 1, got " + std::to_string(o.thin));
  require(o.max_depth >= 1 && o.max_depth <= 30,
          "--max-depth: must lie in 1..30, got " + std::to_string(o.max_depth));
  require(o.delta > 0 && o.delta < 1, "--delta: must lie strictly between 0 and 1, got " + shortest(o.delta));
  require(o.metric == "unit" || o.metric == "diag" || o.metric == "dense",
          "--metric: must be unit, diag or dense, got '" + o.metric + "'");
  require(o.step_size > 0 && std::isfinite(o.step_size),
          "--step-size: must be positive, got " + shortest(o.step_size));
  require(o.step_size_jitter >= 0 && o.step_size_jitter < 1,
          "--step-size-jitter: must lie in [0, 1), got " + shortest(o.step_size_jitter));
  require(o.metric_file.empty() || o.metric != "unit",
          "--metric-file: the unit metric takes no metric file (use --metric diag or dense)");
  require(o.sig_figs == -1 || (o.sig_figs >= 1 && o.sig_figs <= 18),
          "--sig-figs: must be -1 or lie in 1..18, got " + std::to_string(o.sig_figs));
  require(!o.output_dir.empty(), "--output-dir: must not be empty");
  require(o.warmup > 0 || o.samples > 0, "--warmup and --samples are both 0: nothing to do");
  validate_init(o.init);
}

void validate(const OptimizeOptions& o) {
  require(o.iterations >= 1, "--iter: must be at least 1, got " + std::to_string(o.iterations));
  require(o.init_alpha > 0, "--init-alpha: must be positive, got " + shortest(o.init_alpha));
  require(o.tol_obj >= 0, "--tol-obj: must be 0 or more");
  require(o.tol_rel_obj >= 0, "--tol-rel-obj: must be 0 or more");
  require(o.tol_grad >= 0, "--tol-grad: must be 0 or more");
  require(o.tol_rel_grad >= 0, "--tol-rel-grad: must be 0 or more");
  require(o.tol_param >= 0, "--tol-param: must be 0 or more");
  require(o.history_size >= 1, "--history-size: must be at least 1, got " + std::to_string(o.history_size));
  require(o.sig_figs == -1 || (o.sig_figs >= 1 && o.sig_figs <= 18),
          "--sig-figs: must be -1 or lie in 1..18, got " + std::to_string(o.sig_figs));
  require(!o.output_dir.empty(), "--output-dir: must not be empty");
  validate_init(o.init);
}

Command parse_command_line(const std::vector<std::string>& args) {
  if (!args.empty() && !args[0].empty() && args[0][0] != '-' && args[0] != "sample" &&
      args[0] != "optimize" && args[0] != "summary" && args[0] != "run")
    throw UsageError("unknown command '" + args[0] +
                     "'; the commands are sample, optimize, summary and run");
  Command c;
  Parsers p = make_parsers(c);
  std::vector<const char*> argv;
  argv.push_back("halo");
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    p.app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    c.kind = Command::Kind::Help;
    c.text = p.app->help();
    return c;
  } catch (const CLI::CallForAllHelp&) {
    c.kind = Command::Kind::Help;
    c.text = p.app->help("", CLI::AppFormatMode::All);
    return c;
  } catch (const CLI::CallForVersion&) {
    c.kind = Command::Kind::Version;
    c.text = std::string("halo ") + HALO_VERSION + "\n";
    return c;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (args.empty() || what.find("subcommand") != std::string::npos)
      what += " (commands: sample, optimize, summary, run; see halo --help)";
    throw UsageError(what);
  }
  auto seed_of = [&](CLI::Option* option, int k) -> std::optional<uint64_t> {
    if (option->count() == 0) return std::nullopt;
    return parse_seed(p.seed_texts[k]);
  };
  if (p.sample->parsed()) {
    c.kind = Command::Kind::Sample;
    c.sample.seed = seed_of(p.sample_seed, 0);
    validate(c.sample);
  } else if (p.optimize->parsed()) {
    c.kind = Command::Kind::Optimize;
    c.optimize.seed = seed_of(p.optimize_seed, 1);
    validate(c.optimize);
  } else if (p.summary->parsed()) {
    c.kind = Command::Kind::Summary;
  } else if (p.run->parsed()) {
    c.kind = Command::Kind::Run;
    if (p.run_sample->parsed()) {
      c.run.method = "sample";
      c.run.sample.model = c.run.model_file;
      c.run.sample.seed = seed_of(p.run_sample_seed, 2);
      validate(c.run.sample);
    } else {
      c.run.method = "optimize";
      c.run.optimize.model = c.run.model_file;
      c.run.optimize.seed = seed_of(p.run_optimize_seed, 3);
      validate(c.run.optimize);
    }
  }
  return c;
}

}  // namespace halo::cli
