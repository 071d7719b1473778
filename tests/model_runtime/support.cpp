#include "model_runtime/support.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "common/diagnostics.h"
#include "common/source.h"
#include "driver/compile.h"
#include "frontend/frontend.h"
#include "semantic/semantic.h"

namespace halo::model_test {

namespace {

// Model libraries and data files of this process, removed at exit.
struct ScratchDirectory {
  std::string path;
  ScratchDirectory() {
    char pattern[] = "/tmp/halo_model_runtime_tests_XXXXXX";
    const char* made = mkdtemp(pattern);
    if (made != nullptr) path = made;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

std::string scratch_directory() {
  static const ScratchDirectory dir;
  REQUIRE_MESSAGE(!dir.path.empty(), "cannot create a scratch directory in /tmp");
  return dir.path;
}

template <typename T>
void bind(void* lib, const char* symbol, T& function) {
  void* address = dlsym(lib, symbol);
  REQUIRE_MESSAGE(address != nullptr, "the model library does not export " << symbol);
  function = reinterpret_cast<T>(address);
}

}  // namespace

std::string scratch_file(const std::string& file_name, const std::string& text) {
  std::string path = scratch_directory() + "/" + file_name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string model_library(const std::string& name, const std::string& source) {
  static std::mutex mutex;
  static std::map<std::string, std::string> compiled;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = compiled.find(name);
  if (found != compiled.end()) return found->second;

  SourceFile file(name + ".model", source);
  Diagnostics diags;
  auto program = frontend::parse(file, diags);
  REQUIRE_MESSAGE(program != nullptr, render_all(diags, file));
  auto typed = semantic::check(std::move(program), diags);
  REQUIRE_MESSAGE(typed != nullptr, render_all(diags, file));
  driver::CompileOptions options;
  options.model_name = name;
  options.output = scratch_directory() + "/" + name + ".so";
  std::string error;
  int rc = driver::compile_model(*typed, options, diags, error);
  REQUIRE_MESSAGE(rc == 0, error << render_all(diags, file));
  compiled[name] = options.output;
  return options.output;
}

Client::Client(const std::string& path, int mode) {
  lib = dlopen(path.c_str(), mode);
  REQUIRE_MESSAGE(lib != nullptr, dlerror());
  // The order of BridgeStan's Python client (model.py, StanModel.__init__).
  bind(lib, "bs_model_construct", model_construct);
  bind(lib, "bs_free_error_msg", free_error_msg);
  bind(lib, "bs_set_print_callback", set_print_callback);
  for (const auto& version : {std::pair{"bs_major_version", &major}, {"bs_minor_version", &minor},
                               {"bs_patch_version", &patch}}) {
    const auto* p = static_cast<const int*>(dlsym(lib, version.first));
    REQUIRE_MESSAGE(p != nullptr, "the model library does not export " << version.first);
    *version.second = *p;
  }
  bind(lib, "bs_name", name);
  bind(lib, "bs_model_info", model_info);
  bind(lib, "bs_param_num", param_num);
  bind(lib, "bs_param_unc_num", param_unc_num);
  bind(lib, "bs_param_names", param_names);
  bind(lib, "bs_param_unc_names", param_unc_names);
  bind(lib, "bs_param_constrain", param_constrain);
  bind(lib, "bs_param_unconstrain", param_unconstrain);
  bind(lib, "bs_param_unconstrain_json", param_unconstrain_json);
  bind(lib, "bs_log_density", log_density);
  bind(lib, "bs_log_density_gradient", log_density_gradient);
  bind(lib, "bs_log_density_hessian", log_density_hessian);
  bind(lib, "bs_log_density_hessian_vector_product", log_density_hessian_vector_product);
  bind(lib, "bs_model_destruct", model_destruct);
  bind(lib, "bs_rng_construct", rng_construct);
  bind(lib, "bs_rng_destruct", rng_destruct);
  bind(lib, "halo_model_metadata", metadata);
}

Client::~Client() {
  if (lib != nullptr) dlclose(lib);
}

bs_model* Client::construct(const char* data, std::string* error) const {
  char* message = nullptr;
  bs_model* m = model_construct(data, 1234, &message);
  // No doctest assertions here: this runs on worker threads too.
  std::string text = take(message);
  if (error != nullptr) *error = m == nullptr ? text : "";
  return m;
}

std::string Client::take(char* message) const {
  if (message == nullptr) return "";
  std::string text = message;
  free_error_msg(message);
  return text;
}

Model::Model(const Client& c, const char* data) : client(c) {
  std::string error;
  model = c.construct(data, &error);
  REQUIRE_MESSAGE(model != nullptr, error);
}

Model::~Model() { client.model_destruct(model); }

std::vector<std::string> split_names(const char* csv) {
  std::vector<std::string> out;
  if (csv == nullptr || *csv == '\0') return out;
  std::stringstream in(csv);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

}  // namespace halo::model_test
