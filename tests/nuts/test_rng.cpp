#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "nuts/rng.h"

using halo::nuts::Rng;
using halo::nuts::splitmix64_next;

TEST_CASE("splitmix64 matches the reference outputs from state 0") {
  uint64_t state = 0;
  CHECK(splitmix64_next(state) == 0xe220a8397b1dcdafULL);
  CHECK(splitmix64_next(state) == 0x6e789e6aa1b965f4ULL);
  CHECK(splitmix64_next(state) == 0x06c45d188009454fULL);
}

TEST_CASE("xoshiro256++ matches the reference outputs from state {1, 2, 3, 4}") {
  // Values from the reference C code (https://prng.di.unimi.it/xoshiro256plusplus.c).
  Rng rng = Rng::from_state(1, 2, 3, 4);
  CHECK(rng.next_u64() == 41943041ULL);
  CHECK(rng.next_u64() == 58720359ULL);
  CHECK(rng.next_u64() == 3588806011781223ULL);
  CHECK(rng.next_u64() == 3591011842654386ULL);
}

TEST_CASE("a seed fills the state from splitmix64") {
  uint64_t sm = 42;
  const uint64_t a = splitmix64_next(sm), b = splitmix64_next(sm), c = splitmix64_next(sm),
                 d = splitmix64_next(sm);
  Rng expected = Rng::from_state(a, b, c, d);
  Rng seeded(42);
  CHECK(seeded == expected);
  for (int i = 0; i < 10; ++i) CHECK(seeded.next_u64() == expected.next_u64());
}

TEST_CASE("streams: jumps commute with steps, stream k is k jumps, streams differ") {
  // A jump is a polynomial in the state transition, so it commutes with next_u64().
  Rng a(7), b(7);
  a.next_u64();
  a.jump();
  b.jump();
  b.next_u64();
  CHECK(a == b);

  Rng s2 = Rng::stream(7, 2);
  Rng manual(7);
  manual.jump();
  manual.jump();
  CHECK(s2 == manual);
  CHECK(Rng::stream(7, 0) == Rng(7));

  // Same (seed, stream) reproduces; a different stream or seed does not.
  Rng x = Rng::stream(123, 3), y = Rng::stream(123, 3), z = Rng::stream(123, 4),
      w = Rng::stream(124, 3);
  int same_z = 0, same_w = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t vx = x.next_u64();
    CHECK(vx == y.next_u64());
    same_z += vx == z.next_u64();
    same_w += vx == w.next_u64();
  }
  CHECK(same_z == 0);
  CHECK(same_w == 0);
}

TEST_CASE("uniform draws: range and moments") {
  Rng rng(1);
  const int n = 400000;
  double sum = 0, sum_sq = 0, min = 1, max = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum_sq += u * u;
    min = std::min(min, u);
    max = std::max(max, u);
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  CHECK(std::abs(mean - 0.5) < 4 * std::sqrt(1.0 / 12 / n));
  CHECK(std::abs(var - 1.0 / 12) < 0.002);
  CHECK(min < 1e-4);
  CHECK(max > 1 - 1e-4);
  for (int i = 0; i < 1000; ++i) {
    const double v = rng.uniform(-2, 3);
    REQUIRE(v >= -2);
    REQUIRE(v < 3);
  }
}

TEST_CASE("normal draws: moments and the distribution function") {
  Rng rng(2);
  const int n = 400000;
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  // P(Z <= z) at a few points, from the normal CDF.
  const double points[] = {-2.0, -1.0, 0.0, 0.5, 1.96};
  int below[5] = {0, 0, 0, 0, 0};
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    m1 += z;
    m2 += z * z;
    m3 += z * z * z;
    m4 += z * z * z * z;
    for (int k = 0; k < 5; ++k) below[k] += z <= points[k];
  }
  m1 /= n;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  // Standard errors: sqrt(1/n), sqrt(2/n), sqrt(15/n), sqrt(96/n).
  CHECK(std::abs(m1) < 4 * std::sqrt(1.0 / n));
  CHECK(std::abs(m2 - 1) < 4 * std::sqrt(2.0 / n));
  CHECK(std::abs(m3) < 4 * std::sqrt(15.0 / n));
  CHECK(std::abs(m4 - 3) < 4 * std::sqrt(96.0 / n));
  for (int k = 0; k < 5; ++k) {
    const double p = 0.5 * std::erfc(-points[k] / std::sqrt(2.0));
    CHECK(std::abs(below[k] / double(n) - p) < 4 * std::sqrt(p * (1 - p) / n));
  }
  std::vector<double> filled(5);
  Rng a(9), b(9);
  a.fill_normal(filled.data(), filled.size());
  for (double v : filled) CHECK(v == b.normal());
}

TEST_CASE("below(n) draws integers uniformly below n") {
  Rng rng(3);
  const int n = 7, draws = 70000;
  int counts[n] = {};
  for (int i = 0; i < draws; ++i) {
    const uint64_t k = rng.below(n);
    REQUIRE(k < static_cast<uint64_t>(n));
    ++counts[k];
  }
  // Chi-square with 6 degrees of freedom: P(> 22.46) = 0.001.
  const double expected = draws / double(n);
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 22.46);
}
