// The exported C API (BridgeStan 2.7.0, runtime/model/bridgestan.h) and the runtime half of
// the generated-code ABI (generated_abi.h). Both live in this one translation unit so that
// linking the runtime archive for the halo_ws_* symbols that generated code references also
// brings in every bs_* function. No exception crosses either boundary.
#include "model/bridgestan.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "model/generated_abi.h"
#include "model/model.h"
#include "model/rng.h"
#include "model/workspace.h"

using halo::model::Model;
using halo::model::Workspace;

struct bs_model {
  explicit bs_model(const char* data) : model(halo::model::generated_entries(), data) {}
  Model model;
};

struct bs_rng {
  halo::model::ModelRng state;  // first: generated code receives the address as a halo_rng*
};

namespace {

void set_error(char** error_msg, const std::string& message) {
  if (error_msg != nullptr) *error_msg = strdup(message.c_str());
}

// BridgeStan's util.hpp::handle_errors: 0 on success, -1 and a strdup'ed
// "<function>() failed with exception: <what>\n" on failure.
template <typename F>
int guarded(const char* function, char** error_msg, F&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    set_error(error_msg, std::string(function) + "() failed with exception: " + e.what() + "\n");
  } catch (...) {
    set_error(error_msg, std::string(function) + "() failed with unknown exception\n");
  }
  return -1;
}

const Model& model_of(const bs_model* m) {
  if (m == nullptr) throw std::invalid_argument("the model pointer is NULL");
  return m->model;
}

// print() output: the callback from bs_set_print_callback, else stdout. One mutex orders the
// calls (BridgeStan guards its callback stream the same way); callbacks must not throw.
std::mutex g_print_mutex;
STREAM_CALLBACK g_print_callback = nullptr;  // guarded by g_print_mutex

void print_text(const std::string& text) {
  std::lock_guard<std::mutex> lock(g_print_mutex);
  if (g_print_callback != nullptr) {
    g_print_callback(text.data(), text.size());
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
}

}  // namespace

extern "C" {

const int bs_major_version = 2;
const int bs_minor_version = 7;
const int bs_patch_version = 0;

bs_model* bs_model_construct(const char* data, unsigned int seed, char** error_msg) {
  // `seed` would seed the RNG of the transformed data block; Halo's transformed data draws no
  // random numbers, so it is accepted and unused.
  (void)seed;
  bs_model* m = nullptr;
  guarded("bs_model_construct", error_msg, [&] { m = new bs_model(data); });
  return m;
}

void bs_model_destruct(bs_model* m) { delete m; }

void bs_free_error_msg(char* error_msg) { std::free(error_msg); }

const char* bs_name(const bs_model* m) { return m ? m->model.name().c_str() : nullptr; }

const char* bs_model_info(const bs_model* m) { return m ? m->model.info().c_str() : nullptr; }

const char* bs_param_names(const bs_model* m, bool include_tp, bool include_gq) {
  return m ? m->model.param_names(include_tp, include_gq).c_str() : nullptr;
}

const char* bs_param_unc_names(const bs_model* m) { return m ? m->model.param_unc_names().c_str() : nullptr; }

int bs_param_num(const bs_model* m, bool include_tp, bool include_gq) {
  return m ? m->model.param_num(include_tp, include_gq) : -1;
}

int bs_param_unc_num(const bs_model* m) { return m ? m->model.param_unc_num() : -1; }

int bs_param_constrain(const bs_model* m, bool include_tp, bool include_gq, const double* theta_unc, double* theta,
                       bs_rng* rng, char** error_msg) {
  return guarded("bs_param_constrain", error_msg, [&] {
    model_of(m).constrain(include_tp, include_gq, theta_unc, theta, rng ? &rng->state : nullptr);
  });
}

int bs_param_unconstrain(const bs_model* m, const double* theta, double* theta_unc, char** error_msg) {
  return guarded("bs_param_unconstrain", error_msg, [&] { model_of(m).unconstrain(theta, theta_unc); });
}

int bs_param_unconstrain_json(const bs_model* m, const char* json, double* theta_unc, char** error_msg) {
  return guarded("bs_param_unconstrain_json", error_msg, [&] { model_of(m).unconstrain_json(json, theta_unc); });
}

int bs_log_density(const bs_model* m, bool propto, bool jacobian, const double* theta_unc, double* lp,
                   char** error_msg) {
  return guarded("bs_log_density", error_msg, [&] { *lp = model_of(m).log_density(propto, jacobian, theta_unc); });
}

int bs_log_density_gradient(const bs_model* m, bool propto, bool jacobian, const double* theta_unc, double* val,
                            double* grad, char** error_msg) {
  return guarded("bs_log_density_gradient", error_msg,
                 [&] { *val = model_of(m).log_density_gradient(propto, jacobian, theta_unc, grad); });
}

int bs_log_density_hessian(const bs_model* m, bool propto, bool jacobian, const double* theta_unc, double* val,
                           double* grad, double* hessian, char** error_msg) {
  return guarded("bs_log_density_hessian", error_msg,
                 [&] { *val = model_of(m).log_density_hessian(propto, jacobian, theta_unc, grad, hessian); });
}

int bs_log_density_hessian_vector_product(const bs_model* m, bool propto, bool jacobian, const double* theta_unc,
                                          const double* vector, double* val, double* hvp, char** error_msg) {
  return guarded("bs_log_density_hessian_vector_product", error_msg, [&] {
    *val = model_of(m).log_density_hessian_vector_product(propto, jacobian, theta_unc, vector, hvp);
  });
}

bs_rng* bs_rng_construct(unsigned int seed, char** error_msg) {
  bs_rng* rng = nullptr;
  guarded("bs_rng_construct", error_msg, [&] {
    rng = new bs_rng;
    halo::model::rng_seed(rng->state, seed);
  });
  return rng;
}

void bs_rng_destruct(bs_rng* rng) { delete rng; }

int bs_set_print_callback(STREAM_CALLBACK callback, char** error_msg) {
  return guarded("bs_set_print_callback", error_msg, [&] {
    std::lock_guard<std::mutex> lock(g_print_mutex);
    g_print_callback = callback;
  });
}

const char* halo_model_metadata(const bs_model* m) { return m ? m->model.metadata().c_str() : nullptr; }

int halo_param_prior_draw(const bs_model* m, bs_rng* rng, double* theta_unc, char** error_msg) {
  return guarded("halo_param_prior_draw", error_msg, [&] {
    if (rng == nullptr) throw std::invalid_argument("the rng pointer is NULL");
    model_of(m).prior_draw(&rng->state, theta_unc);
  });
}

int halo_log_density_batch(const bs_model* m, bool jacobian, const double* theta_unc, const int64_t* rows,
                           size_t num_rows, double* val, double* grad, char** error_msg) {
  return guarded("halo_log_density_batch", error_msg,
                 [&] { *val = model_of(m).log_density_batch(jacobian, theta_unc, rows, num_rows, grad); });
}

// ---- the runtime half of generated_abi.h ----

void* halo_ws_grow(halo_ws* ws, int64_t bytes) {
  if (bytes < 0) return nullptr;
  return Workspace::from(ws).grow(static_cast<size_t>(bytes));
}

char* halo_ws_stack_grow(halo_ws* ws, int64_t bytes) {
  if (bytes < 0) return nullptr;
  return Workspace::from(ws).grow_stack(static_cast<size_t>(bytes));
}

int32_t halo_ws_fail(halo_ws* ws, const char* message, double a, double b) {
  try {
    double values[2] = {a, b};
    Workspace::from(ws).fail(halo::model::format_holes(message, values, 2));
  } catch (...) {
    // Out of memory while formatting: the call still fails, with the default message.
  }
  return 1;
}

void halo_ws_print(halo_ws* ws, const char* text, int64_t n, const double* values) {
  (void)ws;
  try {
    print_text(halo::model::format_holes(text, values, static_cast<size_t>(n)) + "\n");
  } catch (...) {
    // print() must not fail the model; output is lost only when memory is.
  }
}

int32_t halo_ws_reject(halo_ws* ws, const char* text, int64_t n, const double* values) {
  try {
    Workspace::from(ws).fail(halo::model::format_holes(text, values, static_cast<size_t>(n)));
  } catch (...) {
  }
  return 1;
}

}  // extern "C"
