// Times the log density and its gradient of a compiled model library through the BridgeStan C
// API, as any client would call it:
//   bench_gradient_time model.so data.json [seconds]
// Prints the median over rounds of the mean time per call (ns) for the log density and the
// gradient, at a point drawn uniformly in (-1, 1) on the unconstrained scale.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

struct bs_model;
using construct_fn = bs_model* (*)(const char*, unsigned, char**);
using unc_num_fn = int (*)(const bs_model*);
using density_fn = int (*)(const bs_model*, bool, bool, const double*, double*, char**);
using gradient_fn = int (*)(const bs_model*, bool, bool, const double*, double*, double*, char**);

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s model.so data.json [seconds]\n", argv[0]);
    return 2;
  }
  double seconds = argc > 3 ? std::atof(argv[3]) : 2.0;
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 1;
  }
  auto construct = reinterpret_cast<construct_fn>(dlsym(lib, "bs_model_construct"));
  auto unc_num = reinterpret_cast<unc_num_fn>(dlsym(lib, "bs_param_unc_num"));
  auto density = reinterpret_cast<density_fn>(dlsym(lib, "bs_log_density"));
  auto gradient = reinterpret_cast<gradient_fn>(dlsym(lib, "bs_log_density_gradient"));
  char* error = nullptr;
  bs_model* model = construct(argv[2], 0, &error);
  if (!model) {
    std::fprintf(stderr, "%s", error ? error : "construct failed\n");
    return 1;
  }
  int n = unc_num(model);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> unif(-1, 1);
  std::vector<double> theta(n), grad(n);
  for (double& x : theta) x = unif(rng);
  double lp = 0;
  auto time_calls = [&](bool with_gradient) {
    std::vector<double> rounds;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds / 2);
    while (std::chrono::steady_clock::now() < deadline || rounds.size() < 5) {
      const int calls = 200;
      auto start = std::chrono::steady_clock::now();
      for (int k = 0; k < calls; ++k) {
        int rc = with_gradient ? gradient(model, true, true, theta.data(), &lp, grad.data(), nullptr)
                               : density(model, true, true, theta.data(), &lp, nullptr);
        if (rc != 0) {
          std::fprintf(stderr, "call failed\n");
          std::exit(1);
        }
      }
      auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
      rounds.push_back(ns / calls);
    }
    std::sort(rounds.begin(), rounds.end());
    return rounds[rounds.size() / 2];
  };
  double t_density = time_calls(false);
  double t_gradient = time_calls(true);
  std::printf("dims %d  log_density %.0f ns  gradient %.0f ns  ratio %.2f\n", n, t_density, t_gradient,
              t_gradient / t_density);
  return 0;
}
