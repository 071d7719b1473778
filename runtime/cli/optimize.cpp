#include "cli/optimize.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <random>

#include "cli/files.h"
#include "cli/init.h"
#include "cli/lbfgs.h"
#include "cli/model_library.h"
#include "cli/progress.h"
#include "nuts/initialize.h"
#include "nuts/rng.h"
#include "output/stan_csv_writer.h"

namespace halo::cli {

namespace {

constexpr uint64_t kSeedGeneratedQuantities = 1;
constexpr uint64_t kSeedPriorInit = 2;

}  // namespace

std::string optimize_csv_path(const std::string& dir, const std::string& name) {
  return join_path(dir, name + "-optimize.csv");
}

int run_optimize(const OptimizeOptions& o, const std::string& name_override) {
  validate(o);
  if (!o.data.empty()) require_readable_file(o.data, "data file");
  const InitChoice init_choice = parse_init(o.init);
  if (init_choice.kind == InitChoice::Kind::File) require_readable_file(init_choice.file, "init file");

  auto library = std::make_shared<const ModelLibrary>(o.model);
  Model model(library, o.data);
  const std::string name = name_override.empty() ? model.name() : name_override;
  const int dim = model.num_unconstrained();
  if (dim == 0) throw CliError("the model has no parameters to optimise");
  const uint64_t seed = o.seed ? *o.seed : (std::random_device{}() & 0x7fffffffu);

  // The objective is -log p with constants dropped, as Stan's ModelAdaptor (log_prob_propto).
  ModelLogDensity target(model, true, o.jacobian);
  std::vector<double> start;
  {
    nuts::InitOptions init;
    switch (init_choice.kind) {
      case InitChoice::Kind::Radius: init.radius = init_choice.radius; break;
      case InitChoice::Kind::File: init = init_from_file(model, init_choice.file); break;
      case InitChoice::Kind::Prior:
        init.values = draw_prior_init(model, target, derived_seed(seed, kSeedPriorInit, 1));
        break;
    }
    nuts::Rng rng = nuts::Rng::stream(seed, 1);
    try {
      nuts::PhasePoint z = nuts::initialize(target, rng, init);
      start.assign(z.q.data(), z.q.data() + z.q.size());
    } catch (const nuts::InitializationError& e) {
      throw CliError(describe_init_failure(model, e));
    }
  }

  Objective objective = [&](const Eigen::VectorXd& x, double& f, Eigen::VectorXd& g) {
    double lp = 0;
    std::string error;
    g.resize(dim);
    if (!model.log_density_gradient(true, o.jacobian, x.data(), &lp, g.data(), error)) return false;
    f = -lp;
    g = -g;
    return true;
  };
  LbfgsSettings settings;
  settings.max_iterations = o.iterations;
  settings.init_alpha = o.init_alpha;
  settings.tol_obj = o.tol_obj;
  settings.tol_rel_obj = o.tol_rel_obj;
  settings.tol_grad = o.tol_grad;
  settings.tol_rel_grad = o.tol_rel_grad;
  settings.tol_param = o.tol_param;
  settings.history_size = o.history_size;

  Eigen::VectorXd x0 = Eigen::Map<const Eigen::VectorXd>(start.data(), dim);
  if (!o.quiet) {
    double f0 = 0;
    Eigen::VectorXd g0;
    objective(x0, f0, g0);
    std::printf("Initial log joint density = %g\n", -f0);
    std::printf("%8s %16s %12s %12s\n", "Iter", "log density", "||grad||", "evaluations");
  }
  IterationCallback on_iteration = [&](const LbfgsResult& s) {
    // A line every 100 iterations, as CmdStan's refresh = 100.
    if (!o.quiet && s.iterations % 100 == 0)
      std::printf("%8d %16.6g %12.4g %12ld\n", s.iterations, -s.f, s.grad.norm(), s.evaluations);
  };
  const auto t0 = std::chrono::steady_clock::now();
  LbfgsResult result;
  try {
    result = minimize_lbfgs(objective, x0, settings, on_iteration);
  } catch (const std::domain_error& e) {
    throw CliError(std::string("the optimiser could not start: ") + e.what());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.quiet)
    std::printf("%8d %16.6g %12.4g %12ld\n%s\n", result.iterations, -result.f, result.grad.norm(),
                result.evaluations, describe(result.status));

  const std::vector<std::string> names = model.param_names(true, true);
  std::vector<double> values(names.size());
  ModelRng gq_rng(library, derived_seed(seed, kSeedGeneratedQuantities, 1));
  std::string error;
  if (!model.constrain(true, true, result.x.data(), values.data(), gq_rng.get(), error)) {
    std::fprintf(stderr, "halo: warning: the generated quantities failed at the mode (written as nan): %s\n",
                 error.c_str());
    std::fill(values.begin(), values.end(), std::numeric_limits<double>::quiet_NaN());
    model.constrain(true, false, result.x.data(), values.data(), nullptr, error);
  }

  make_directories(o.output_dir);
  output::OptimizeRunInfo info;
  info.model = name;
  info.jacobian = o.jacobian;
  info.iter = o.iterations;
  info.init_alpha = o.init_alpha;
  info.tol_obj = o.tol_obj;
  info.tol_rel_obj = o.tol_rel_obj;
  info.tol_grad = o.tol_grad;
  info.tol_rel_grad = o.tol_rel_grad;
  info.tol_param = o.tol_param;
  info.history_size = o.history_size;
  info.data_file = o.data;
  info.init = o.init;
  info.seed = seed;
  const std::string path = optimize_csv_path(o.output_dir, name);
  info.output_file = path;
  info.sig_figs = o.sig_figs;
  info.extra = {{"halo_version", HALO_VERSION},
                {"model_library", o.model},
                {"termination", describe(result.status)},
                {"iterations", std::to_string(result.iterations)}};
  try {
    output::write_optimize_csv(path, info, names, -result.f, values);
  } catch (const output::OutputError& e) {
    throw CliError(e.what());
  }

  if (!o.quiet) {
    size_t width = 4;
    for (const std::string& n : names) width = std::max(width, n.size());
    std::printf("\n%-*s  %s\n", static_cast<int>(width), "", "mode");
    std::printf("%-*s  %.6g\n", static_cast<int>(width), "lp__", -result.f);
    for (size_t i = 0; i < names.size(); ++i)
      std::printf("%-*s  %.6g\n", static_cast<int>(width), names[i].c_str(), values[i]);
    std::printf("\n");
  }
  const char* what = o.jacobian ? "mode on the unconstrained scale" : "posterior mode";
  if (result.status == LbfgsStatus::LineSearchFailed) {
    std::fprintf(stderr,
                 "halo optimize: error: %s after %d iterations; the last point was written to %s, "
                 "but it may not be the %s: the density may have no maximum (an improper "
                 "posterior), or the optimiser may need other initial values or a looser "
                 "--tol-rel-grad\n",
                 describe(result.status), result.iterations, path.c_str(), what);
    return kExitFailure;
  }
  std::printf("halo optimize: %s%s after %d iterations (%ld gradient evaluations, %s); lp__ = %.6g; "
              "output: %s\n",
              what, converged(result.status) ? " found" : " not certain: iteration limit reached",
              result.iterations, result.evaluations, format_duration(seconds).c_str(), -result.f,
              path.c_str());
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace halo::cli
