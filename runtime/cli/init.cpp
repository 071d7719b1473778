#include "cli/init.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/cmdstan_json.h"
#include "nuts/hamiltonian.h"
#include "nuts/rng.h"

namespace halo::cli {

InitChoice parse_init(const std::string& text) {
  InitChoice choice;
  if (text == "prior") {
    choice.kind = InitChoice::Kind::Prior;
    return choice;
  }
  if (text.size() > 5 && text.compare(text.size() - 5, 5, ".json") == 0) {
    choice.kind = InitChoice::Kind::File;
    choice.file = text;
    return choice;
  }
  char* end = nullptr;
  double r = std::strtod(text.c_str(), &end);
  if (text.empty() || !end || *end != '\0' || !std::isfinite(r) || r < 0)
    throw UsageError("--init: expected a radius >= 0, 'prior', or a .json file, got '" + text + "'");
  choice.radius = r;
  return choice;
}

unsigned int derived_seed(uint64_t seed, uint64_t purpose, uint64_t chain_id) {
  uint64_t state = seed ^ (0x9E3779B97F4A7C15ULL * (purpose + 1));
  nuts::splitmix64_next(state);
  state ^= 0xD1B54A32D192ED03ULL * (chain_id + 1);
  return static_cast<unsigned int>(nuts::splitmix64_next(state) >> 32);
}

nuts::InitOptions init_from_file(const Model& model, const std::string& path, double radius) {
  DataSet values;
  try {
    values = read_cmdstan_json_file(path);
  } catch (const std::exception& e) {
    throw CliError("cannot read the init file '" + path + "': " + e.what());
  }
  std::string metadata = model.metadata();
  if (metadata.empty())
    throw CliError("--init " + path + ": this model library has no halo_model_metadata, which "
                   "init files need (recompile it with haloc)");
  nlohmann::json meta = nlohmann::json::parse(metadata);

  const int n_unc = model.num_unconstrained();
  const int n_con = model.num_params(false, false);
  // Start from the constrained image of the origin, a valid value for every parameter, and
  // overwrite the parameters the file gives.
  std::vector<double> zero(static_cast<size_t>(n_unc), 0.0), theta(static_cast<size_t>(n_con));
  std::string error;
  if (!model.constrain(false, false, zero.data(), theta.data(), nullptr, error))
    throw CliError("--init " + path + ": " + error);

  std::vector<bool> given(static_cast<size_t>(n_unc), false);
  size_t con_offset = 0, unc_offset = 0;
  int found = 0;
  for (const auto& p : meta.at("parameters")) {
    const std::string name = p.at("name").get<std::string>();
    const size_t size = p.at("size").get<size_t>();
    const size_t unc_size = p.at("unconstrained_size").get<size_t>();
    if (const Variable* v = values.find(name)) {
      std::vector<size_t> dims = p.at("dims").get<std::vector<size_t>>();
      if (v->size() != size || (v->dims != dims && !(size == 1 && v->size() == 1))) {
        std::ostringstream shape;
        for (size_t i = 0; i < dims.size(); ++i) shape << (i ? " x " : "") << dims[i];
        std::ostringstream got;
        for (size_t i = 0; i < v->dims.size(); ++i) got << (i ? " x " : "") << v->dims[i];
        throw CliError("init file '" + path + "': parameter '" + name + "' should be " +
                       (dims.empty() ? std::string("a scalar") : shape.str()) + ", found " +
                       (v->dims.empty() ? std::string("a scalar") : got.str()));
      }
      for (size_t i = 0; i < size; ++i) theta[con_offset + i] = v->values[i];
      for (size_t i = 0; i < unc_size; ++i) given[unc_offset + i] = true;
      ++found;
    } else if (const std::string* problem = values.problem(name)) {
      throw CliError("init file '" + path + "': " + *problem);
    }
    con_offset += size;
    unc_offset += unc_size;
  }
  if (found == 0)
    throw CliError("init file '" + path + "' gives none of the model's parameters");

  std::vector<double> theta_unc(static_cast<size_t>(n_unc));
  if (!model.unconstrain(theta.data(), theta_unc.data(), error))
    throw CliError("init file '" + path + "': " + error);
  nuts::InitOptions init;
  init.radius = radius;
  init.values = std::move(theta_unc);
  init.given = std::move(given);
  return init;
}

namespace {

std::string failure_text(const Model& model, const nuts::EvaluationFailure& failure) {
  std::string text = failure.message;
  if (failure.component >= 0) {
    std::vector<std::string> names = model.unconstrained_names();
    if (static_cast<size_t>(failure.component) < names.size())
      text += " (the gradient with respect to '" + names[static_cast<size_t>(failure.component)] +
              "' on the unconstrained scale)";
  }
  return text;
}

}  // namespace

std::vector<double> draw_prior_init(const Model& model, nuts::LogDensity& target, unsigned int seed,
                                    int max_attempts) {
  if (!model.has_prior_draw())
    throw CliError("--init prior: this model library does not export halo_param_prior_draw (the "
                   "prior sampler haloc generates; recompile the model with a current haloc, or "
                   "use --init 2)");
  ModelRng rng(model.library_ptr(), seed);
  nuts::PhasePoint z(model.num_unconstrained());
  nuts::EvaluationFailure failure;
  std::string error;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    if (!model.prior_draw(rng.get(), z.q.data(), error)) {
      failure.message = error;
      failure.component = -1;
      continue;
    }
    if (nuts::evaluate(target, z, &failure))
      return std::vector<double>(z.q.data(), z.q.data() + z.q.size());
  }
  throw CliError("--init prior: no draw from the priors gave a finite log density and gradient in " +
                 std::to_string(max_attempts) + " attempts; last failure: " +
                 failure_text(model, failure));
}

std::string describe_init_failure(const Model& model, const nuts::InitializationError& error) {
  std::ostringstream msg;
  const nuts::EvaluationFailure& f = error.last_failure;
  if (error.attempts == 1)
    msg << "the initial values are not a valid starting point: ";
  else
    msg << "initialisation failed after " << error.attempts
        << " attempts (uniform values on the unconstrained scale); the last failure: ";
  msg << failure_text(model, f);
  msg << ". Give initial values (--init file.json), a smaller radius (--init 0.5), or check "
         "the model";
  return msg.str();
}

}  // namespace halo::cli
