// A model library (model.so written by haloc, or any library exporting the BridgeStan 2.7.0 C
// API) loaded with dlopen, and a model constructed from it with data. The library is
// self-contained (docs/abi.md): every symbol is looked up in it alone (RTLD_LOCAL).
//
// Errors come back as CliError with the model's own message, stripped of BridgeStan's
// "<function>() failed with exception: " prefix.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/errors.h"
#include "model/bridgestan.h"
#include "nuts/log_density.h"

namespace halo::cli {

// The functions of the C API that the driver calls. `prior_draw` is Halo's optional
// `halo_param_prior_draw` (NULL in libraries that do not export it).
struct BridgeStanApi {
  decltype(&bs_model_construct) model_construct = nullptr;
  decltype(&bs_model_destruct) model_destruct = nullptr;
  decltype(&bs_free_error_msg) free_error_msg = nullptr;
  decltype(&bs_name) name = nullptr;
  decltype(&bs_param_names) param_names = nullptr;
  decltype(&bs_param_unc_names) param_unc_names = nullptr;
  decltype(&bs_param_num) param_num = nullptr;
  decltype(&bs_param_unc_num) param_unc_num = nullptr;
  decltype(&bs_param_constrain) param_constrain = nullptr;
  decltype(&bs_param_unconstrain) param_unconstrain = nullptr;
  decltype(&bs_log_density_gradient) log_density_gradient = nullptr;
  decltype(&bs_rng_construct) rng_construct = nullptr;
  decltype(&bs_rng_destruct) rng_destruct = nullptr;
  decltype(&halo_model_metadata) metadata = nullptr;          // optional (Halo's extra)
  decltype(&halo_param_prior_draw) prior_draw = nullptr;      // optional (Halo's extra)
};

class ModelLibrary {
 public:
  // dlopen(RTLD_NOW | RTLD_LOCAL). Throws CliError when the file is missing, is not a shared
  // library, or lacks a required function.
  explicit ModelLibrary(const std::string& path);
  ~ModelLibrary();
  ModelLibrary(const ModelLibrary&) = delete;
  ModelLibrary& operator=(const ModelLibrary&) = delete;

  const BridgeStanApi& api() const { return api_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* handle_ = nullptr;
  BridgeStanApi api_;
};

// Owns a bs_rng of a library.
class ModelRng {
 public:
  ModelRng(std::shared_ptr<const ModelLibrary> library, unsigned int seed);
  ~ModelRng();
  ModelRng(const ModelRng&) = delete;
  ModelRng& operator=(const ModelRng&) = delete;
  bs_rng* get() const { return rng_; }

 private:
  std::shared_ptr<const ModelLibrary> library_;
  bs_rng* rng_ = nullptr;
};

// A model constructed with its data. Immutable and thread-safe (as the library is).
class Model {
 public:
  // `data_path`: a CmdStan JSON file, or "" for a model without data. Throws CliError with the
  // model's message when the data do not fit.
  Model(std::shared_ptr<const ModelLibrary> library, const std::string& data_path);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelLibrary& library() const { return *library_; }
  std::shared_ptr<const ModelLibrary> library_ptr() const { return library_; }
  const bs_model* handle() const { return model_; }

  std::string name() const;
  int num_unconstrained() const { return num_unconstrained_; }
  // Constrained quantities: parameters, then (tp) transformed parameters, then (gq) generated
  // quantities; Stan's names (`theta.1`), first index fastest.
  int num_params(bool include_tp, bool include_gq) const;
  std::vector<std::string> param_names(bool include_tp, bool include_gq) const;
  std::vector<std::string> unconstrained_names() const;
  // halo_model_metadata's JSON, or "" when the library does not export it.
  std::string metadata() const;
  bool has_prior_draw() const { return library_->api().prior_draw != nullptr; }

  // Each returns false and sets `error` (the model's message) when the call fails.
  bool log_density_gradient(bool propto, bool jacobian, const double* theta_unc, double* lp,
                            double* grad, std::string& error) const;
  bool constrain(bool include_tp, bool include_gq, const double* theta_unc, double* theta,
                 bs_rng* rng, std::string& error) const;
  bool unconstrain(const double* theta, double* theta_unc, std::string& error) const;
  bool prior_draw(bs_rng* rng, double* theta_unc, std::string& error) const;

 private:
  std::shared_ptr<const ModelLibrary> library_;
  bs_model* model_ = nullptr;
  int num_unconstrained_ = 0;
};

// BridgeStan's "<function>() failed with exception: <what>\n" -> "<what>".
std::string strip_bridgestan_prefix(const std::string& message);
// Splits BridgeStan's comma-separated name list ("" -> no names).
std::vector<std::string> split_names(const char* names);

// The sampling and optimisation target: log p(theta_unc) of a model with propto and jacobian
// fixed. A failed evaluation (a reject(), an argument outside its domain) throws
// halo::DomainError, which NUTS treats as a point of zero density (a divergence when a
// trajectory reaches it), never as a crash. Reentrant; counts its gradient evaluations.
class ModelLogDensity final : public nuts::LogDensity {
 public:
  ModelLogDensity(const Model& model, bool propto, bool jacobian);
  double log_density_gradient(const double* q, double* grad) override;
  long evaluations() const { return evaluations_.load(std::memory_order_relaxed); }
  // steady_clock nanoseconds of the first evaluation (0 before it): when a chain started.
  int64_t first_evaluation_ns() const { return first_evaluation_ns_.load(std::memory_order_relaxed); }

 private:
  const Model& model_;
  bool propto_;
  bool jacobian_;
  std::atomic<long> evaluations_{0};
  std::atomic<int64_t> first_evaluation_ns_{0};
};

}  // namespace halo::cli
