// Test support: compiles Halo models with haloc's pipeline into model libraries, and a client
// that loads one with dlopen and reaches it only through the exported C API (dlsym), as
// BridgeStan's Python, Julia and Rust clients do.
#pragma once
#include <dlfcn.h>

#include <string>
#include <vector>

#include "model/bridgestan.h"

namespace halo::model_test {

// Compiles `source` as model `name` (once per process; later calls return the same path).
// Fails the current test case with the diagnostics when the program does not compile.
std::string model_library(const std::string& name, const std::string& source);

// A file in this process's scratch directory holding `text`; returns its path.
std::string scratch_file(const std::string& file_name, const std::string& text);

struct Client {
  explicit Client(const std::string& path, int mode = RTLD_NOW | RTLD_LOCAL);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void* lib = nullptr;
  int major = -1, minor = -1, patch = -1;
  decltype(&::bs_model_construct) model_construct = nullptr;
  decltype(&::bs_model_destruct) model_destruct = nullptr;
  decltype(&::bs_free_error_msg) free_error_msg = nullptr;
  decltype(&::bs_name) name = nullptr;
  decltype(&::bs_model_info) model_info = nullptr;
  decltype(&::bs_param_names) param_names = nullptr;
  decltype(&::bs_param_unc_names) param_unc_names = nullptr;
  decltype(&::bs_param_num) param_num = nullptr;
  decltype(&::bs_param_unc_num) param_unc_num = nullptr;
  decltype(&::bs_param_constrain) param_constrain = nullptr;
  decltype(&::bs_param_unconstrain) param_unconstrain = nullptr;
  decltype(&::bs_param_unconstrain_json) param_unconstrain_json = nullptr;
  decltype(&::bs_log_density) log_density = nullptr;
  decltype(&::bs_log_density_gradient) log_density_gradient = nullptr;
  decltype(&::bs_log_density_hessian) log_density_hessian = nullptr;
  decltype(&::bs_log_density_hessian_vector_product) log_density_hessian_vector_product = nullptr;
  decltype(&::bs_rng_construct) rng_construct = nullptr;
  decltype(&::bs_rng_destruct) rng_destruct = nullptr;
  decltype(&::bs_set_print_callback) set_print_callback = nullptr;
  decltype(&::halo_model_metadata) metadata = nullptr;

  // Constructs a model; on failure returns nullptr and stores the message in `error`.
  bs_model* construct(const char* data, std::string* error = nullptr) const;
  // Takes ownership of a message from the library: returns it and frees it there.
  std::string take(char* message) const;
};

// A model that is destructed with its client's bs_model_destruct.
struct Model {
  Model(const Client& client, const char* data);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  const Client& client;
  bs_model* model;
};

std::vector<std::string> split_names(const char* csv);

}  // namespace halo::model_test
