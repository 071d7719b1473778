// The harness of the whole-model tests (test_lowering.cpp, test_functions.cpp): a .model text
// compiled by haloc's pipeline into a library that the test loads, and calls of its generated
// entry points (log density and gradient, with the transformed data the runtime would pass).
#pragma once
#include <doctest/doctest.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "driver/compile.h"
#include "frontend/frontend.h"
#include "semantic/semantic.h"
#include "support/compile_ir.h"

#include <nlohmann/json.hpp>

namespace halo::model_harness {

using halo::testing::TestWorkspace;


struct Model {
  void* lib = nullptr;
  std::string path;
  ~Model() {
    if (lib) dlclose(lib);
    std::remove(path.c_str());
  }
  halo::testing::Entry get(const std::string& name) const {
    auto* f = reinterpret_cast<halo::testing::Entry>(dlsym(lib, ("halo_gen_" + name).c_str()));
    REQUIRE_MESSAGE(reinterpret_cast<void*>(f) != nullptr, name);
    return f;
  }
};

inline std::unique_ptr<Model> build(const std::string& source) {
  halo::SourceFile file("test.model", source);
  halo::Diagnostics diags;
  auto program = halo::frontend::parse(file, diags);
  if (program) program = halo::semantic::check(std::move(program), diags);
  INFO(halo::render_all(diags, file));
  REQUIRE(program);
  static int counter = 0;
  auto m = std::make_unique<Model>();
  m->path = "/tmp/halo_lowering_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".so";
  halo::driver::CompileOptions options;
  options.model_name = "test";
  options.output = m->path;
  options.link_runtime = false;  // the test executable provides the workspace functions
  std::string error;
  int code = halo::driver::compile_model(*program, options, diags, error);
  INFO(error);
  INFO(halo::render_all(diags, file));
  REQUIRE(code == 0);
  m->lib = dlopen(m->path.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE_MESSAGE(m->lib, dlerror());
  return m;
}

// The results of the `data` entry (transformed data, including hoisted data-only values), as
// the runtime passes them after the data: storage for each, from the model's layout JSON.
struct TransformedData {
  std::vector<double> reals;
  std::vector<int64_t> ints;
  std::vector<halo_tensor> tensors;
  std::vector<void*> args;
  TransformedData(const Model& model, halo_ws* ws, const std::vector<void*>& data) {
    auto* text = static_cast<const char*>(dlsym(model.lib, "halo_model_layout"));
    REQUIRE(text != nullptr);
    auto layout = nlohmann::json::parse(text);
    const auto& td = layout.at("transformed_data");
    reals.resize(td.size());
    ints.resize(td.size());
    tensors.resize(td.size());
    std::vector<void*> results;
    for (size_t k = 0; k < td.size(); ++k) {
      bool scalar = td[k].at("array_rank").get<int>() + td[k].at("elem_rank").get<int>() == 0;
      bool is_int = td[k].at("elem").get<std::string>() == "int";
      results.push_back(!scalar ? static_cast<void*>(&tensors[k]) : is_int ? static_cast<void*>(&ints[k]) : &reals[k]);
    }
    if (!td.empty()) {
      int32_t rc = model.get("data")(ws, data.data(), results.data());
      REQUIRE(rc == 0);
    }
    args = results;
  }
};

// Calls log_density(_grad) with theta, the given data arguments and the transformed data.
struct Density {
  const Model& model;
  std::vector<void*> data;
  bool propto = false;
  int64_t jacobian = 1;

  double value(std::vector<double> theta) {
    TestWorkspace w;
    TransformedData td(model, &w.ws, data);
    halo_tensor t = halo::testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
    std::vector<void*> args = {&t, &jacobian};
    args.insert(args.end(), data.begin(), data.end());
    args.insert(args.end(), td.args.begin(), td.args.end());
    double lp = 0;
    void* results[] = {&lp};
    int32_t rc = model.get(propto ? "log_density_propto" : "log_density")(&w.ws, args.data(), results);
    INFO(w.error);
    REQUIRE(rc == 0);
    return lp;
  }
  std::vector<double> gradient(std::vector<double> theta, double* lp_out = nullptr) {
    TestWorkspace w;
    TransformedData td(model, &w.ws, data);
    halo_tensor t = halo::testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
    std::vector<void*> args = {&t, &jacobian};
    args.insert(args.end(), data.begin(), data.end());
    args.insert(args.end(), td.args.begin(), td.args.end());
    double lp = 0;
    halo_tensor g{};
    void* results[] = {&lp, &g};
    int32_t rc = model.get(propto ? "log_density_propto_grad" : "log_density_grad")(&w.ws, args.data(), results);
    INFO(w.error);
    REQUIRE(rc == 0);
    if (lp_out) *lp_out = lp;
    const double* gp = static_cast<const double*>(g.data);
    return std::vector<double>(gp, gp + theta.size());
  }
  void check_gradient(const std::vector<double>& theta) {
    double lp = 0;
    std::vector<double> g = gradient(theta, &lp);
    CHECK(lp == doctest::Approx(value(theta)).epsilon(1e-12));
    for (size_t k = 0; k < theta.size(); ++k) {
      double h = 1e-6 * std::max(1.0, std::fabs(theta[k]));
      std::vector<double> up = theta, down = theta;
      up[k] += h;
      down[k] -= h;
      CAPTURE(k);
      CHECK(g[k] == doctest::Approx((value(up) - value(down)) / (2 * h)).epsilon(1e-6).scale(1.0));
    }
  }
};

constexpr double kLogSqrt2Pi = 0.91893853320467274178;


}  // namespace halo::model_harness
