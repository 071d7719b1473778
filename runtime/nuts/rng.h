// The sampler's random number generator: xoshiro256++ seeded through splitmix64.
//
// xoshiro256++ 1.0 (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2021;
// reference code https://prng.di.unimi.it/xoshiro256plusplus.c): 256 bits of state, period
// 2^256 - 1, passes BigCrush, a few cycles per draw. Its authors recommend filling the state
// from a splitmix64 sequence (Steele, Lea & Flood 2014), which we do.
//
// Independent streams: `Rng::stream(seed, k)` is the seeded generator advanced by k jumps of
// 2^128 draws (the reference's jump()), so streams never overlap unless a chain draws 2^128
// numbers. A chain's draws depend only on (seed, chain id), never on the number of threads.
#pragma once
#include <cstddef>
#include <cstdint>

namespace halo::nuts {

// One step of splitmix64: advances `state` and returns the next output.
uint64_t splitmix64_next(uint64_t& state);

class Rng {
 public:
  // The four state words are the first four splitmix64 outputs from `seed`.
  explicit Rng(uint64_t seed);
  // Stream `stream_id` of `seed` (stream 0 is Rng(seed)).
  static Rng stream(uint64_t seed, uint64_t stream_id);
  // A generator with the given raw state (not all zero); for tests against the reference.
  static Rng from_state(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3);

  uint64_t next_u64();
  // Advances the state by 2^128 draws.
  void jump();

  // Uniform on [0, 1) with 53 random bits (the top bits of one draw).
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform on [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by Marsaglia's polar method (exact; one log and one sqrt per pair; the
  // second value of a pair is kept for the next call).
  double normal();
  void fill_normal(double* out, std::size_t n);
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection: unbiased).
  uint64_t below(uint64_t n);

  bool operator==(const Rng& other) const;
  bool operator!=(const Rng& other) const { return !(*this == other); }

 private:
  Rng() = default;
  uint64_t s_[4] = {0, 0, 0, 0};
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

}  // namespace halo::nuts
