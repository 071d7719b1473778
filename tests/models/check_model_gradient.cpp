// Compiles one .model file with haloc's pipeline into a model library (runtime linked in),
// loads it with dlopen, constructs it with its data through the BridgeStan C API, and checks
// the gradient against central finite differences at random unconstrained points: every
// coordinate when there are at most 200, else 20 random coordinates plus the directional
// derivative along a random direction (which involves every coordinate).
//
// usage: check_model_gradient <model.model> <data.json> [points]
// Exit status 0 when every checked derivative agrees; the mismatches are printed.
#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/diagnostics.h"
#include "common/source.h"
#include "driver/compile.h"
#include "frontend/frontend.h"
#include "model/bridgestan.h"
#include "semantic/semantic.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Api {
  decltype(&bs_model_construct) construct;
  decltype(&bs_model_destruct) destruct;
  decltype(&bs_param_unc_num) unc_num;
  decltype(&bs_log_density) density;
  decltype(&bs_log_density_gradient) gradient;
  decltype(&bs_free_error_msg) free_error;
};

template <typename T>
bool bind(void* lib, const char* name, T& f) {
  f = reinterpret_cast<T>(dlsym(lib, name));
  if (!f) std::fprintf(stderr, "missing symbol %s\n", name);
  return f != nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s model.model data.json [points]\n", argv[0]);
    return 2;
  }
  const std::string model_path = argv[1], data_path = argv[2];
  const int points = argc > 3 ? std::atoi(argv[3]) : 3;
  halo::SourceFile file(model_path, read_file(model_path));
  halo::Diagnostics diags;
  auto program = halo::frontend::parse(file, diags);
  if (program) program = halo::semantic::check(std::move(program), diags);
  if (!program) {
    std::fprintf(stderr, "%s", halo::render_all(diags, file).c_str());
    return 1;
  }
  const std::string so = "/tmp/halo_check_gradient_" + std::to_string(::getpid()) + ".so";
  halo::driver::CompileOptions options;
  options.model_name = "check";
  options.output = so;
  std::string error;
  if (halo::driver::compile_model(*program, options, diags, error) != 0) {
    std::fprintf(stderr, "compile failed: %s\n%s", error.c_str(), halo::render_all(diags, file).c_str());
    return 1;
  }
  void* lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::remove(so.c_str());
  if (!lib) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  Api api{};
  if (!bind(lib, "bs_model_construct", api.construct) || !bind(lib, "bs_model_destruct", api.destruct) ||
      !bind(lib, "bs_param_unc_num", api.unc_num) || !bind(lib, "bs_log_density", api.density) ||
      !bind(lib, "bs_log_density_gradient", api.gradient) || !bind(lib, "bs_free_error_msg", api.free_error))
    return 1;
  char* message = nullptr;
  bs_model* model = api.construct(data_path.c_str(), 0, &message);
  if (!model) {
    std::fprintf(stderr, "construct: %s\n", message ? message : "?");
    return 1;
  }
  const int n = api.unc_num(model);
  std::mt19937_64 rng(20261123);
  std::uniform_real_distribution<double> uniform(-1.5, 1.5);
  int checked = 0, failed = 0, skipped = 0;
  auto density = [&](const std::vector<double>& x) {
    double v = std::nan("");
    char* msg = nullptr;
    if (api.density(model, false, true, x.data(), &v, &msg) != 0) {
      api.free_error(msg);
      return std::nan("");
    }
    return v;
  };
  for (int p = 0; p < points; ++p) {
    std::vector<double> x(n), g(n);
    for (double& v : x) v = uniform(rng);
    double lp = NAN;
    char* msg = nullptr;
    if (api.gradient(model, false, true, x.data(), &lp, g.data(), &msg) != 0 || !std::isfinite(lp)) {
      if (msg) api.free_error(msg);
      ++skipped;  // outside the support (or a rejection): try another point
      if (skipped > 20) break;
      --p;
      continue;
    }
    auto compare = [&](const char* what, int k, double analytic, double numeric) {
      ++checked;
      double tol = 1e-5 * std::fmax(1.0, std::fmax(std::fabs(analytic), std::fabs(numeric))) + 1e-9 * std::fabs(lp);
      if (std::fabs(analytic - numeric) <= tol) return;
      ++failed;
      std::printf("point %d %s %d: gradient %.10g, finite difference %.10g\n", p, what, k, analytic, numeric);
    };
    std::vector<int> coords;
    if (n <= 200) {
      for (int k = 0; k < n; ++k) coords.push_back(k);
    } else {
      std::uniform_int_distribution<int> pick(0, n - 1);
      for (int k = 0; k < 20; ++k) coords.push_back(pick(rng));
    }
    for (int k : coords) {
      double h = 1e-6 * std::fmax(1.0, std::fabs(x[k]));
      std::vector<double> up = x, down = x;
      up[k] += h;
      down[k] -= h;
      compare("coordinate", k, g[k], (density(up) - density(down)) / (2 * h));
    }
    if (n > 200) {
      std::normal_distribution<double> normal;
      std::vector<double> v(n), up = x, down = x;
      double dot = 0, norm = 0;
      for (double& e : v) {
        e = normal(rng);
        norm += e * e;
      }
      norm = std::sqrt(norm);
      const double h = 1e-6;
      for (int k = 0; k < n; ++k) {
        v[k] /= norm;
        dot += g[k] * v[k];
        up[k] += h * v[k];
        down[k] -= h * v[k];
      }
      compare("direction", 0, dot, (density(up) - density(down)) / (2 * h));
    }
  }
  api.destruct(model);
  std::printf("%s: %d dimensions, %d derivatives checked, %d mismatches, %d points skipped\n", model_path.c_str(), n,
              checked, failed, skipped);
  return failed == 0 && checked > 0 ? 0 : 1;
}
