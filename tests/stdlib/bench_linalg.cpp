// Matrix-product throughput of the stdlib kernels: a 1000x128 by 128x128 product (halo_gemm)
// and a 5000x20 matrix-vector product (halo_gemv, both orientations). Built from the stdlib
// bitcode for the host CPU, as haloc compiles models (target halo_stdlib_bench), or natively.
// Prints GFLOP/s of the median and of the best of 7 rounds (the machine is shared: the best
// round is the one least disturbed). Not a test: run it by hand.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "halo/stdlib.h"

namespace {

struct Timing {
  double median, best;
};

template <class F>
Timing seconds(F f, int reps) {
  std::vector<double> rounds;
  f();  // warm caches and pages
  for (int r = 0; r < 7; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) f();
    auto t1 = std::chrono::steady_clock::now();
    rounds.push_back(std::chrono::duration<double>(t1 - t0).count() / reps);
  }
  std::sort(rounds.begin(), rounds.end());
  return {rounds[3], rounds[0]};
}

void report(const char* what, Timing t, double flops) {
  std::printf("%-42s %9.2f us  %6.2f GFLOP/s (best %6.2f)\n", what, t.median * 1e6, flops / t.median * 1e-9,
              flops / t.best * 1e-9);
}

}  // namespace

int main() {
  std::mt19937_64 gen(1);
  std::uniform_real_distribution<double> u(-1, 1);
  auto fill = [&](std::vector<double>& v) {
    for (double& x : v) x = u(gen);
  };
  {
    const int m = 1000, k = 128, n = 128;
    std::vector<double> A(m * k), B(k * n), C(m * n);
    fill(A);
    fill(B);
    const double flops = 2.0 * m * n * k;
    report("gemm 1000x128 * 128x128", seconds([&] { halo_gemm(0, 0, m, n, k, 1.0, A.data(), B.data(), 0.0, C.data()); }, 20),
           flops);
    report("gemm 1000x128 * (128x128)^T",
           seconds([&] { halo_gemm(0, 1, m, n, k, 1.0, A.data(), B.data(), 0.0, C.data()); }, 20), flops);
    std::vector<double> Cadj(m * n), Aadj(m * k, 0.0), Badj(k * n, 0.0);
    fill(Cadj);
    report("gemm_rev (both adjoints: 2 products)",
           seconds([&] { halo_gemm_rev(0, 0, m, n, k, 1.0, A.data(), B.data(), Cadj.data(), Aadj.data(), Badj.data()); }, 10),
           2 * flops);
  }
  {
    const int m = 5000, n = 20;
    std::vector<double> A(m * n), x(n), y(m), xt(m), yt(n);
    fill(A);
    fill(x);
    fill(xt);
    const double flops = 2.0 * m * n;
    report("gemv 5000x20 * x", seconds([&] { halo_gemv(0, m, n, 1.0, A.data(), x.data(), 0.0, y.data()); }, 200), flops);
    report("gemv (5000x20)^T * x", seconds([&] { halo_gemv(1, m, n, 1.0, A.data(), xt.data(), 0.0, yt.data()); }, 200),
           flops);
  }
  return 0;
}
