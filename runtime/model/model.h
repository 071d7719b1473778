// A constructed model: its data and transformed data, its sizes and names, and the calls into
// generated code. Immutable after construction, so one Model serves any number of threads;
// each call runs in the calling thread's workspace. Failures throw (std::exception); the C API
// (bridgestan_api.cpp) turns them into BridgeStan's error messages.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/entries.h"
#include "model/layout.h"
#include "model/rng.h"

namespace halo::model {

class Workspace;

// A failure reported by generated code (halo_ws_fail / reject), or a misuse of the API.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One variable as it is handed to generated code: an f64 / i64 scalar or a halo_tensor whose
// storage (Halo's layout) this object owns.
struct Input {
  bool is_int = false;
  int rank = 0;
  double real_scalar = 0.0;
  int64_t int_scalar = 0;
  std::vector<double> reals;
  std::vector<int64_t> ints;
  halo_tensor tensor{};
  // The address for args[]; valid while this Input is neither copied nor moved.
  void* arg();
};

// A reported variable (parameter, transformed parameter, generated quantity) with its sizes.
struct Shape {
  const VariableLayout* layout = nullptr;
  std::vector<int64_t> dims;  // array dims, then element dims
  int64_t size = 0;           // constrained size: the product of dims
  int64_t unconstrained_size = 0;  // parameters only
};

class Model {
 public:
  // `data`: CmdStan JSON text, a path ending in ".json", or ""/nullptr for none.
  Model(const GeneratedEntries& generated, const char* data);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelLayout& layout() const { return layout_; }
  const std::string& name() const { return layout_.name; }
  const std::string& info() const { return info_; }
  const std::string& metadata() const { return metadata_; }
  const std::string& param_names(bool include_tp, bool include_gq) const {
    return names_[(include_tp ? 1 : 0) + (include_gq ? 2 : 0)];
  }
  const std::string& param_unc_names() const { return unc_names_; }
  int param_num(bool include_tp, bool include_gq) const {
    return counts_[(include_tp ? 1 : 0) + (include_gq ? 2 : 0)];
  }
  int param_unc_num() const { return unc_num_; }

  void constrain(bool include_tp, bool include_gq, const double* theta_unc, double* theta, ModelRng* rng) const;
  void unconstrain(const double* theta, double* theta_unc) const;
  void unconstrain_json(const char* json, double* theta_unc) const;
  double log_density(bool propto, bool jacobian, const double* theta_unc) const;
  double log_density_gradient(bool propto, bool jacobian, const double* theta_unc, double* grad) const;
  // theta_unc drawn from the priors (halo_gen_prior_draw).
  void prior_draw(ModelRng* rng, double* theta_unc) const;
  // The minibatch log density over `rows` (0-based) of the batch dimension; grad may be null.
  double log_density_batch(bool jacobian, const double* theta_unc, const int64_t* rows, size_t num_rows,
                           double* grad) const;
  // Central finite differences of the gradient (Stan Math's finite_diff_hessian_auto and
  // finite_diff_hessian_times_vector_auto, the ones BridgeStan uses by default).
  double log_density_hessian(bool propto, bool jacobian, const double* theta_unc, double* grad,
                             double* hessian) const;
  double log_density_hessian_vector_product(bool propto, bool jacobian, const double* theta_unc,
                                            const double* vector, double* hvp) const;

 private:
  void read_data(const char* data);
  void compute_sizes();
  void build_names();
  // args[] for an entry: `leading` values, then every data and transformed data input.
  void** arguments(Workspace& ws, std::initializer_list<void*> leading) const;
  void call(Workspace& ws, Entry entry, void* const* args, void* const* results) const;
  double gradient_in(Workspace& ws, bool propto, bool jacobian, const double* theta_unc, double* grad) const;
  void unconstrain_halo_layout(Workspace& ws, double* params, double* theta_unc) const;

  GeneratedEntries entries_;
  ModelLayout layout_;
  std::vector<Input> inputs_;    // data, then transformed data
  std::vector<void*> input_args_;
  std::vector<Shape> params_, tparams_, gqs_;
  int64_t params_size_ = 0, tparams_size_ = 0, gqs_size_ = 0;
  int unc_num_ = 0;
  int counts_[4] = {0, 0, 0, 0};
  std::string names_[4];
  std::string unc_names_;
  std::string info_;
  std::string metadata_;
};

}  // namespace halo::model
