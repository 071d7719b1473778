#include "cli/model_library.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <type_traits>
#include <utility>

namespace halo::cli {

namespace {

// Takes ownership of a BridgeStan error message.
std::string take_error(const BridgeStanApi& api, char* message, const char* fallback) {
  if (!message) return fallback;
  std::string text = strip_bridgestan_prefix(message);
  api.free_error_msg(message);
  return text.empty() ? std::string(fallback) : text;
}

}  // namespace

std::string strip_bridgestan_prefix(const std::string& message) {
  static const std::string marker = "failed with exception: ";
  std::string text = message;
  if (auto at = text.find(marker); at != std::string::npos) text = text.substr(at + marker.size());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

std::vector<std::string> split_names(const char* names) {
  std::vector<std::string> out;
  if (!names || !*names) return out;
  const char* start = names;
  for (const char* p = names;; ++p) {
    if (*p == ',' || *p == '\0') {
      out.emplace_back(start, p);
      if (*p == '\0') break;
      start = p + 1;
    }
  }
  return out;
}

ModelLibrary::ModelLibrary(const std::string& path) : path_(path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw CliError("cannot open the model library '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    throw CliError("'" + path + "' is a directory, not a model library (a .so written by haloc)");
  // dlopen searches the library path for names without a slash; a file given on the command
  // line is meant literally.
  std::string literal = path.find('/') == std::string::npos ? "./" + path : path;
  handle_ = ::dlopen(literal.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* why = ::dlerror();
    std::string hint =
        path.size() > 6 && path.compare(path.size() - 6, 6, ".model") == 0
            ? " (a .model file must be compiled first: `haloc " + path + "`, or use `halo run`)"
            : "";
    throw CliError("cannot load the model library '" + path + "': " + (why ? why : "dlopen failed") +
                   hint);
  }
  auto need = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle_, symbol));
    if (!fn) {
      ::dlclose(handle_);
      handle_ = nullptr;
      throw CliError("'" + path + "' is not a model library: it does not export " + symbol +
                     " (the BridgeStan C API; compile the model with haloc)");
    }
  };
  need(api_.model_construct, "bs_model_construct");
  need(api_.model_destruct, "bs_model_destruct");
  need(api_.free_error_msg, "bs_free_error_msg");
  need(api_.name, "bs_name");
  need(api_.param_names, "bs_param_names");
  need(api_.param_unc_names, "bs_param_unc_names");
  need(api_.param_num, "bs_param_num");
  need(api_.param_unc_num, "bs_param_unc_num");
  need(api_.param_constrain, "bs_param_constrain");
  need(api_.param_unconstrain, "bs_param_unconstrain");
  need(api_.log_density_gradient, "bs_log_density_gradient");
  need(api_.rng_construct, "bs_rng_construct");
  need(api_.rng_destruct, "bs_rng_destruct");
  api_.metadata = reinterpret_cast<decltype(api_.metadata)>(::dlsym(handle_, "halo_model_metadata"));
  api_.prior_draw =
      reinterpret_cast<decltype(api_.prior_draw)>(::dlsym(handle_, "halo_param_prior_draw"));
}

ModelLibrary::~ModelLibrary() {
  if (handle_) ::dlclose(handle_);
}

ModelRng::ModelRng(std::shared_ptr<const ModelLibrary> library, unsigned int seed)
    : library_(std::move(library)) {
  char* error = nullptr;
  rng_ = library_->api().rng_construct(seed, &error);
  if (!rng_)
    throw CliError("the model library could not make a random number generator: " +
                   take_error(library_->api(), error, "bs_rng_construct failed"));
}

ModelRng::~ModelRng() {
  if (rng_) library_->api().rng_destruct(rng_);
}

Model::Model(std::shared_ptr<const ModelLibrary> library, const std::string& data_path)
    : library_(std::move(library)) {
  const BridgeStanApi& api = library_->api();
  char* error = nullptr;
  // The seed only feeds random draws in transformed data, which Halo does not allow.
  model_ = api.model_construct(data_path.c_str(), 0, &error);
  if (!model_) {
    std::string why = take_error(api, error, "the model could not be constructed");
    throw CliError(data_path.empty() ? "the model needs data (give --data file.json): " + why
                                     : "the data in '" + data_path + "' do not fit the model: " + why);
  }
  num_unconstrained_ = api.param_unc_num(model_);
}

Model::~Model() {
  if (model_) library_->api().model_destruct(model_);
}

std::string Model::name() const {
  const char* n = library_->api().name(model_);
  return n ? n : "model";
}

int Model::num_params(bool include_tp, bool include_gq) const {
  return library_->api().param_num(model_, include_tp, include_gq);
}

std::vector<std::string> Model::param_names(bool include_tp, bool include_gq) const {
  return split_names(library_->api().param_names(model_, include_tp, include_gq));
}

std::vector<std::string> Model::unconstrained_names() const {
  return split_names(library_->api().param_unc_names(model_));
}

std::string Model::metadata() const {
  if (!library_->api().metadata) return "";
  const char* m = library_->api().metadata(model_);
  return m ? m : "";
}

bool Model::log_density_gradient(bool propto, bool jacobian, const double* theta_unc, double* lp,
                                 double* grad, std::string& error) const {
  char* message = nullptr;
  const BridgeStanApi& api = library_->api();
  if (api.log_density_gradient(model_, propto, jacobian, theta_unc, lp, grad, &message) == 0)
    return true;
  error = take_error(api, message, "the log density could not be evaluated");
  return false;
}

bool Model::constrain(bool include_tp, bool include_gq, const double* theta_unc, double* theta,
                      bs_rng* rng, std::string& error) const {
  char* message = nullptr;
  const BridgeStanApi& api = library_->api();
  if (api.param_constrain(model_, include_tp, include_gq, theta_unc, theta, rng, &message) == 0)
    return true;
  error = take_error(api, message, "the constrained values could not be computed");
  return false;
}

bool Model::unconstrain(const double* theta, double* theta_unc, std::string& error) const {
  char* message = nullptr;
  const BridgeStanApi& api = library_->api();
  if (api.param_unconstrain(model_, theta, theta_unc, &message) == 0) return true;
  error = take_error(api, message, "the values could not be unconstrained");
  return false;
}

bool Model::prior_draw(bs_rng* rng, double* theta_unc, std::string& error) const {
  const BridgeStanApi& api = library_->api();
  if (!api.prior_draw) {
    error = "the model library does not export halo_param_prior_draw";
    return false;
  }
  char* message = nullptr;
  if (api.prior_draw(model_, rng, theta_unc, &message) == 0) return true;
  error = take_error(api, message, "the prior draw failed");
  return false;
}

ModelLogDensity::ModelLogDensity(const Model& model, bool propto, bool jacobian)
    : nuts::LogDensity(model.num_unconstrained()), model_(model), propto_(propto),
      jacobian_(jacobian) {}

double ModelLogDensity::log_density_gradient(const double* q, double* grad) {
  if (evaluations_.fetch_add(1, std::memory_order_relaxed) == 0) {
    first_evaluation_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count(),
                               std::memory_order_relaxed);
  }
  double lp = 0;
  std::string error;
  if (!model_.log_density_gradient(propto_, jacobian_, q, &lp, grad, error))
    throw DomainError(error);
  return lp;
}

}  // namespace halo::cli
