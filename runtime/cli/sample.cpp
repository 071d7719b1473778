#include "cli/sample.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/files.h"
#include "cli/init.h"
#include "cli/interrupt.h"
#include "cli/model_library.h"
#include "cli/progress.h"
#include "nuts/chain.h"
#include "output/stan_csv_reader.h"
#include "output/stan_csv_writer.h"
#include "output/summary.h"

namespace halo::cli {

namespace {

using Clock = std::chrono::steady_clock;
using ordered_json = nlohmann::ordered_json;

// Purposes of the seeds derived from the run seed (derived_seed in init.h).
constexpr uint64_t kSeedGeneratedQuantities = 1;
constexpr uint64_t kSeedPriorInit = 2;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double seconds_between(int64_t from_ns, int64_t to_ns) {
  if (from_ns == 0 || to_ns == 0 || to_ns < from_ns) return 0;
  return static_cast<double>(to_ns - from_ns) * 1e-9;
}

// CmdStan draws a seed when none is given; so do we, below 2^31 so that it reads back anywhere.
uint64_t random_seed() {
  std::random_device device;
  return device() & 0x7fffffffu;
}

std::string quote(const std::string& arg) {
  bool plain = !arg.empty();
  for (char ch : arg)
    plain = plain && (std::isalnum(static_cast<unsigned char>(ch)) || std::string("-_./=:,+").find(ch) != std::string::npos);
  if (plain) return arg;
  std::string q = "'";
  for (char ch : arg) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

// The shortest text that reads back as x.
std::string number(double x) {
  char buf[40];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, x).ptr);
}

std::vector<double> metric_values(const nuts::Metric& m) {
  switch (m.kind) {
    case nuts::MetricKind::Unit: return {};
    case nuts::MetricKind::Diag: return std::vector<double>(m.inv_diag.data(), m.inv_diag.data() + m.inv_diag.size());
    case nuts::MetricKind::Dense: {
      std::vector<double> v(static_cast<size_t>(m.inv_dense.size()));
      for (Eigen::Index r = 0; r < m.inv_dense.rows(); ++r)
        for (Eigen::Index c = 0; c < m.inv_dense.cols(); ++c)
          v[static_cast<size_t>(r * m.inv_dense.cols() + c)] = m.inv_dense(r, c);
      return v;
    }
  }
  return {};
}

nuts::MetricKind metric_kind(const std::string& name) {
  if (name == "unit") return nuts::MetricKind::Unit;
  if (name == "dense") return nuts::MetricKind::Dense;
  return nuts::MetricKind::Diag;
}

// CmdStan's metric file: {"inv_metric": [..]} (diag) or [[..], ..] (dense).
void load_metric_file(const std::string& path, nuts::MetricKind kind, int dim,
                      nuts::ChainSettings& settings) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw CliError("the metric file '" + path + "' is not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("inv_metric"))
    throw CliError("the metric file '" + path + "' has no \"inv_metric\" entry");
  const nlohmann::json& inv = j["inv_metric"];
  const std::string want = std::to_string(dim);
  try {
    if (kind == nuts::MetricKind::Diag) {
      if (!inv.is_array() || inv.size() != static_cast<size_t>(dim) || (dim > 0 && !inv[0].is_number()))
        throw CliError("the metric file '" + path + "': \"inv_metric\" must be a vector of " + want +
                       " numbers for --metric diag");
      Eigen::VectorXd d(dim);
      for (int i = 0; i < dim; ++i) d[i] = inv[static_cast<size_t>(i)].get<double>();
      nuts::diag_metric(d);  // validates
      settings.inv_metric_diag = d;
    } else {
      if (!inv.is_array() || inv.size() != static_cast<size_t>(dim))
        throw CliError("the metric file '" + path + "': \"inv_metric\" must be a " + want + " x " +
                       want + " matrix (an array of rows) for --metric dense");
      Eigen::MatrixXd m(dim, dim);
      for (int r = 0; r < dim; ++r) {
        const nlohmann::json& row = inv[static_cast<size_t>(r)];
        if (!row.is_array() || row.size() != static_cast<size_t>(dim))
          throw CliError("the metric file '" + path + "': row " + std::to_string(r + 1) +
                         " of \"inv_metric\" must have " + want + " numbers");
        for (int c = 0; c < dim; ++c) m(r, c) = row[static_cast<size_t>(c)].get<double>();
      }
      nuts::dense_metric(m);  // validates
      settings.inv_metric_dense = m;
    }
  } catch (const nlohmann::json::exception& e) {
    throw CliError("the metric file '" + path + "': " + e.what());
  } catch (const std::invalid_argument& e) {
    throw CliError("the metric file '" + path + "': " + e.what());
  }
}

// Everything one chain owns during the run.
struct ChainRun {
  int chain_id = 0;
  std::string csv_path, part_path, metric_path;
  std::unique_ptr<ModelLogDensity> target;
  std::unique_ptr<ModelRng> gq_rng;
  std::unique_ptr<output::SampleCsvWriter> writer;
  std::vector<double> values;
  std::atomic<int64_t> warmup_end_ns{0};
  std::atomic<int64_t> end_ns{0};
  long gq_failures = 0;
  std::string first_gq_error;
  std::string status;
};

}  // namespace

std::string chain_csv_path(const std::string& dir, const std::string& name, int chain_id) {
  return join_path(dir, name + "-" + std::to_string(chain_id) + ".csv");
}

std::string chain_metric_path(const std::string& dir, const std::string& name, int chain_id) {
  return join_path(dir, name + "-" + std::to_string(chain_id) + "-metric.json");
}

std::string config_path(const std::string& dir, const std::string& name, const std::string& method) {
  return join_path(dir, name + (method == "sample" ? "" : "-" + method) + "-config.json");
}

std::string sample_command_line(const SampleOptions& o, uint64_t seed) {
  std::string c = "halo sample " + quote(o.model);
  if (!o.data.empty()) c += " --data " + quote(o.data);
  c += " --init " + quote(o.init);
  c += " --chains " + std::to_string(o.chains);
  c += " --warmup " + std::to_string(o.warmup) + " --samples " + std::to_string(o.samples);
  if (o.thin != 1) c += " --thin " + std::to_string(o.thin);
  c += " --seed " + std::to_string(seed);
  c += " --max-depth " + std::to_string(o.max_depth) + " --delta " + number(o.delta);
  c += " --metric " + o.metric;
  if (!o.metric_file.empty()) c += " --metric-file " + quote(o.metric_file);
  if (o.step_size != 1.0) c += " --step-size " + number(o.step_size);
  if (o.step_size_jitter != 0.0) c += " --step-size-jitter " + number(o.step_size_jitter);
  if (o.save_warmup) c += " --save-warmup";
  if (o.sig_figs != -1) c += " --sig-figs " + std::to_string(o.sig_figs);
  c += " --output-dir " + quote(o.output_dir);
  return c;
}

int run_sample(const SampleOptions& o, const std::string& name_override) {
  validate(o);
  // Every input is checked before anything is written.
  if (!o.data.empty()) require_readable_file(o.data, "data file");
  const InitChoice init_choice = parse_init(o.init);
  if (init_choice.kind == InitChoice::Kind::File) require_readable_file(init_choice.file, "init file");
  if (!o.metric_file.empty()) require_readable_file(o.metric_file, "metric file");

  auto library = std::make_shared<const ModelLibrary>(o.model);
  Model model(library, o.data);
  const std::string name = name_override.empty() ? model.name() : name_override;
  const int dim = model.num_unconstrained();
  if (dim == 0)
    throw CliError("the model has no parameters to sample (only generated quantities); halo "
                   "sample needs at least one parameter");
  const std::vector<std::string> names = model.param_names(true, true);
  const size_t num_values = names.size();

  const uint64_t seed = o.seed ? *o.seed : random_seed();
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::min(o.chains, o.threads > 0 ? o.threads : hardware);

  nuts::ChainSettings settings;
  settings.num_warmup = o.warmup;
  settings.num_samples = o.samples;
  settings.thin = o.thin;
  settings.max_depth = o.max_depth;
  settings.delta = o.delta;
  settings.metric = metric_kind(o.metric);
  settings.seed = seed;
  settings.chain_id = 1;
  settings.save_warmup = o.save_warmup;
  settings.adapt = o.warmup > 0;
  settings.step_size = o.step_size;
  settings.step_size_jitter = o.step_size_jitter;
  if (!o.metric_file.empty()) load_metric_file(o.metric_file, settings.metric, dim, settings);

  std::vector<std::unique_ptr<ChainRun>> chains;
  std::vector<nuts::LogDensity*> targets;
  std::vector<nuts::InitOptions> inits;
  nuts::InitOptions file_init;
  if (init_choice.kind == InitChoice::Kind::File) file_init = init_from_file(model, init_choice.file);
  for (int c = 0; c < o.chains; ++c) {
    auto run = std::make_unique<ChainRun>();
    run->chain_id = c + 1;
    run->csv_path = chain_csv_path(o.output_dir, name, run->chain_id);
    run->part_path = run->csv_path + ".part";
    run->metric_path = chain_metric_path(o.output_dir, name, run->chain_id);
    // Stan's lp__: the log density without constants (propto) and with the log-Jacobian.
    run->target = std::make_unique<ModelLogDensity>(model, true, true);
    run->gq_rng = std::make_unique<ModelRng>(
        library, derived_seed(seed, kSeedGeneratedQuantities, static_cast<uint64_t>(run->chain_id)));
    run->values.assign(num_values, 0.0);
    nuts::InitOptions init;
    switch (init_choice.kind) {
      case InitChoice::Kind::Radius: init.radius = init_choice.radius; break;
      case InitChoice::Kind::File: init = file_init; break;
      case InitChoice::Kind::Prior: {
        // Checked through a target of its own: the chain's clock starts at its target's first
        // evaluation, which must be the chain's own start (with fewer threads than chains a
        // chain starts when an earlier one ends, not now).
        ModelLogDensity probe(model, true, true);
        init.values = draw_prior_init(
            model, probe, derived_seed(seed, kSeedPriorInit, static_cast<uint64_t>(run->chain_id)));
        break;
      }
    }
    inits.push_back(std::move(init));
    targets.push_back(run->target.get());
    chains.push_back(std::move(run));
  }

  // Output: each chain writes `<name>-<k>.csv.part`, renamed to `<name>-<k>.csv` once it is
  // complete (or cleanly interrupted), so a file with the final name is always valid Stan CSV.
  make_directories(o.output_dir);
  output::SampleRunInfo info;
  info.model = name;
  info.num_samples = o.samples;
  info.num_warmup = o.warmup;
  info.save_warmup = o.save_warmup;
  info.thin = o.thin;
  info.adapt_engaged = settings.adapt;
  info.delta = o.delta;
  info.max_depth = o.max_depth;
  info.metric = nuts::metric_kind_name(settings.metric);
  info.metric_file = o.metric_file;
  info.stepsize = o.step_size;
  info.stepsize_jitter = o.step_size_jitter;
  info.num_chains = o.chains;
  info.data_file = o.data;
  info.init = o.init;
  info.seed = seed;
  info.sig_figs = o.sig_figs;
  info.num_threads = threads;
  info.num_unconstrained = static_cast<size_t>(dim);
  info.extra = {{"halo_version", HALO_VERSION}, {"model_library", o.model}};
  // From here on Ctrl-C is handled (interrupt.h), so no signal leaves a .part file behind. A
  // second Ctrl-C closes every file as it is and gives it its final name.
  std::atomic<bool> stop{false};
  auto close_now = [&chains] {
    for (auto& run : chains) {
      if (!run->writer) continue;
      run->writer->finish();
      std::rename(run->part_path.c_str(), run->csv_path.c_str());
    }
  };

  InterruptGuard guard(stop, close_now);
  for (auto& run : chains) {
    output::SampleRunInfo chain_info = info;
    chain_info.chain_id = run->chain_id;
    chain_info.output_file = run->csv_path;
    try {
      run->writer = std::make_unique<output::SampleCsvWriter>(run->part_path, chain_info, names);
    } catch (const output::OutputError& e) {
      for (auto& other : chains) {
        if (!other->writer) continue;
        other->writer.reset();
        ::unlink(other->part_path.c_str());
      }
      throw CliError(e.what());
    }
  }

  const bool show_progress = !o.quiet && is_terminal(stdout);
  Progress progress(o.chains, 1, o.warmup, o.samples, show_progress);

  nuts::RunControl control;
  control.stop = &stop;
  control.on_iteration = [&](const nuts::Draw& d) {
    chains[static_cast<size_t>(d.chain_id - 1)]->end_ns.store(now_ns(), std::memory_order_relaxed);
    progress.update(d.chain_id, d.iteration, d.warmup, d.transition.step_size, d.transition.divergent);
  };
  control.on_warmup_end = [&](int chain_id, double step_size, const nuts::Metric& metric) {
    ChainRun& run = *chains[static_cast<size_t>(chain_id - 1)];
    run.warmup_end_ns.store(now_ns());
    run.writer->write_adaptation(step_size, metric_values(metric));
  };
  auto on_draw = [&](const nuts::Draw& d) {
    ChainRun& run = *chains[static_cast<size_t>(d.chain_id - 1)];
    const nuts::Transition& t = d.transition;
    std::string error;
    if (!model.constrain(true, true, t.q.data(), run.values.data(), run.gq_rng->get(), error)) {
      // Generated quantities failed (a reject, a _rng argument out of range): keep the
      // parameters and write nan for what could not be computed, as Stan does.
      if (run.gq_failures++ == 0) run.first_gq_error = error;
      std::fill(run.values.begin(), run.values.end(), std::numeric_limits<double>::quiet_NaN());
      std::string ignored;
      model.constrain(true, false, t.q.data(), run.values.data(), nullptr, ignored);
    }
    output::SamplerStats stats;
    stats.lp = t.log_density;
    stats.accept_stat = t.accept_stat;
    stats.stepsize = t.step_size;
    stats.treedepth = t.tree_depth;
    stats.n_leapfrog = t.n_leapfrog;
    stats.divergent = t.divergent;
    stats.energy = t.energy;
    if (d.warmup)
      run.writer->write_warmup_draw(stats, run.values.data(), num_values);
    else
      run.writer->write_draw(stats, run.values.data(), num_values);
  };

  const auto start = Clock::now();
  std::vector<nuts::ChainResult> results;
  bool interrupted = false;
  {
    progress.start();
    try {
      results = nuts::run_chains(targets, inits, settings, o.chains, threads, on_draw, control);
    } catch (...) {
      progress.stop();
      for (auto& run : chains) {
        run->writer.reset();
        ::unlink(run->part_path.c_str());
      }
      throw;
    }
    progress.stop();
    interrupted = guard.interrupted();
  }
  const double wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // Close the files: complete chains get their timing block; interrupted ones are made valid
  // for the draws they have (SampleCsvWriter::finish); failed ones are removed.
  struct ChainFailure {
    int chain_id;
    std::string why;
    bool initialisation;
  };
  std::vector<ChainFailure> errors;
  std::vector<std::string> written;
  auto describe_failures = [](const std::vector<ChainFailure>& failures, size_t num_chains) {
    const ChainFailure& first = failures.front();
    bool all_init = std::all_of(failures.begin(), failures.end(),
                                [](const ChainFailure& f) { return f.initialisation; });
    bool same = std::all_of(failures.begin(), failures.end(),
                            [&](const ChainFailure& f) { return f.why == first.why; });
    const std::string chain = "chain " + std::to_string(first.chain_id) + ": ";
    if (num_chains == 1) return first.why;
    if (failures.size() == num_chains && same)
      return "all " + std::to_string(num_chains) + " chains failed: " + first.why;
    if (failures.size() == num_chains && all_init)
      return "no chain could be initialised; " + chain + first.why;
    return std::to_string(failures.size()) + " of " + std::to_string(num_chains) +
           " chains failed; " + chain + first.why;
  };
  for (size_t i = 0; i < chains.size(); ++i) {
    ChainRun& run = *chains[i];
    const nuts::ChainResult& r = results[i];
    if (!r.error.empty()) {
      std::string why = r.error;
      bool initialisation = false;
      try {
        if (r.exception) std::rethrow_exception(r.exception);
      } catch (const nuts::InitializationError& e) {
        why = describe_init_failure(model, e);
        initialisation = true;
      } catch (...) {
      }
      errors.push_back({run.chain_id, why, initialisation});
      run.status = "failed: " + why;
      run.writer.reset();
      ::unlink(run.part_path.c_str());
      continue;
    }
    if (r.interrupted && r.warmup_iterations == 0 && r.sampling_iterations == 0) {
      // Stopped before its first iteration (it was waiting for a thread): nothing to keep.
      run.status = "not started";
      run.writer.reset();
      ::unlink(run.part_path.c_str());
      continue;
    }
    const bool warmup_done = r.warmup_iterations == o.warmup;
    if (warmup_done) {
      const int64_t begin = run.target->first_evaluation_ns();
      const int64_t warm = run.warmup_end_ns.load();
      run.writer->write_timing(seconds_between(begin, warm), seconds_between(warm, run.end_ns.load()));
    }
    run.writer->finish();
    run.writer.reset();
    if (std::rename(run.part_path.c_str(), run.csv_path.c_str()) != 0)
      throw CliError("cannot rename '" + run.part_path + "' to '" + run.csv_path + "'");
    written.push_back(run.csv_path);
    run.status = r.interrupted ? "interrupted" : "complete";
    if (warmup_done) {
      output::write_metric_json(run.metric_path, r.step_size, nuts::metric_kind_name(r.metric.kind),
                                metric_values(r.metric));
    }
    if (run.gq_failures > 0) {
      std::fprintf(stderr,
                   "halo: warning: chain %d: the generated quantities failed in %ld draws (their "
                   "columns are nan there); the first failure: %s\n",
                   run.chain_id, run.gq_failures, run.first_gq_error.c_str());
    }
  }

  // The run configuration: everything needed to repeat the run, and what each chain did (not
  // written when no chain produced a file).
  if (written.empty()) {
    if (!errors.empty()) throw CliError(describe_failures(errors, chains.size()));
    std::printf("halo sample: interrupted before the first iteration; nothing was written\n");
    return kExitInterrupted;
  }
  ordered_json config;
  config["halo_version"] = HALO_VERSION;
  config["method"] = "sample";
  config["command"] = sample_command_line(o, seed);
  config["model"] = name;
  config["model_library"] = o.model;
  config["data_file"] = o.data;
  config["init"] = o.init;
  config["seed"] = seed;
  config["chains"] = o.chains;
  config["threads"] = threads;
  config["warmup"] = o.warmup;
  config["samples"] = o.samples;
  config["thin"] = o.thin;
  config["save_warmup"] = o.save_warmup;
  config["max_depth"] = o.max_depth;
  config["metric"] = nuts::metric_kind_name(settings.metric);
  config["metric_file"] = o.metric_file;
  config["step_size"] = o.step_size;
  config["step_size_jitter"] = o.step_size_jitter;
  config["sig_figs"] = o.sig_figs;
  config["adaptation"] = {{"delta", o.delta},
                          {"gamma", settings.adaptation.dual_averaging.gamma},
                          {"kappa", settings.adaptation.dual_averaging.kappa},
                          {"t0", settings.adaptation.dual_averaging.t0},
                          {"init_buffer", settings.adaptation.init_buffer},
                          {"term_buffer", settings.adaptation.term_buffer},
                          {"window", settings.adaptation.base_window}};
  config["lp"] = "log density without constant terms (propto), with the log-Jacobian";
  config["unconstrained_names"] = model.unconstrained_names();
  ordered_json per_chain = ordered_json::array();
  for (size_t i = 0; i < chains.size(); ++i) {
    const ChainRun& run = *chains[i];
    const nuts::ChainResult& r = results[i];
    ordered_json c;
    c["chain_id"] = run.chain_id;
    c["status"] = run.status;
    c["csv_file"] = run.csv_path;
    if (r.error.empty()) {
      c["initial_unconstrained"] = std::vector<double>(r.initial_position.data(),
                                                       r.initial_position.data() + r.initial_position.size());
      c["warmup_iterations"] = r.warmup_iterations;
      c["sampling_iterations"] = r.sampling_iterations;
      if (r.warmup_iterations == o.warmup) {
        c["step_size"] = r.step_size;
        c["metric_file"] = run.metric_path;
      }
      c["divergences"] = r.divergences;
      c["max_depth_hits"] = r.max_depth_hits;
      c["leapfrog_steps_warmup"] = r.leapfrog_steps_warmup;
      c["leapfrog_steps_sampling"] = r.leapfrog_steps_sampling;
      c["gradient_evaluations"] = run.target->evaluations();
      const int64_t begin = run.target->first_evaluation_ns();
      const int64_t warm = run.warmup_end_ns.load();
      c["warmup_seconds"] = seconds_between(begin, warm);
      c["sampling_seconds"] = seconds_between(warm, run.end_ns.load());
      if (run.gq_failures) c["generated_quantities_failures"] = run.gq_failures;
    }
    per_chain.push_back(std::move(c));
  }
  config["chain_results"] = std::move(per_chain);
  config["wall_seconds"] = wall_seconds;
  write_file_atomically(config_path(o.output_dir, name, "sample"), config.dump(2) + "\n");

  if (!errors.empty())
    throw CliError(describe_failures(errors, chains.size()) + " (the other chains' files were written)");

  long divergences = 0;
  for (const nuts::ChainResult& r : results) divergences += r.divergences;
  std::string files = written.size() == 1 ? written[0] : written.front() + " .. " + written.back();

  if (interrupted) {
    std::string counts;
    for (size_t i = 0; i < results.size(); ++i)
      counts += (i ? ", " : "") + std::to_string(results[i].sampling_iterations / o.thin +
                                                 (results[i].sampling_iterations % o.thin != 0));
    std::printf("halo sample: interrupted after %s; the files hold the draws completed (%s per "
                "chain) and are valid Stan CSV: %s\n",
                format_duration(wall_seconds).c_str(), counts.c_str(), files.c_str());
    return kExitInterrupted;
  }

  size_t warnings = 0;
  if (o.samples > 0) {
    std::vector<output::StanCsv> csvs;
    for (const std::string& f : written) csvs.push_back(output::read_stan_csv(f));
    output::RunSummary summary = output::summarize_run(csvs);
    summary.model = name;
    warnings = summary.warnings.size();
    if (!o.quiet) std::printf("%s\n", output::format_summary(summary).c_str());
  }
  std::printf("halo sample: %d chain%s x %d draws in %s; %ld divergence%s%s; output: %s\n", o.chains,
              o.chains == 1 ? "" : "s", (o.samples + o.thin - 1) / o.thin,
              format_duration(wall_seconds).c_str(), divergences, divergences == 1 ? "" : "s",
              warnings ? (", " + std::to_string(warnings) + " warning" + (warnings == 1 ? "" : "s") +
                          (o.quiet ? " (halo summary shows them)" : ""))
                             .c_str()
                       : "",
              files.c_str());
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace halo::cli
