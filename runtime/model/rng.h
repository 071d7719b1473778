// The random number generator behind bs_rng: xoshiro256++ (Blackman & Vigna 2021, "Scrambled
// linear pseudorandom number generators", ACM TOMS 47(4); https://prng.di.unimi.it/), seeded
// by splitmix64 (Steele, Lea & Flood 2014).
//
// The state is laid out exactly as the stdlib's `halo_rng` (stdlib/include/halo/stdlib.h:
// `uint64_t s[4]`, same algorithm): generated code receives the address of a ModelRng as the
// `rng` argument of generated_quantities and draws from it with the stdlib's _rng functions.
// When the stdlib's native library is linked into the runtime, this header can forward to
// halo_rng_seed / halo_rng_next instead; nothing else changes.
#pragma once
#include <cstdint>

namespace halo::model {

struct ModelRng {
  uint64_t s[4];
};

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline void rng_seed(ModelRng& rng, uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& word : rng.s) word = splitmix64(x);
}

inline uint64_t rng_next(ModelRng& rng) {
  uint64_t* s = rng.s;
  auto rotl = [](uint64_t v, int k) { return (v << k) | (v >> (64 - k)); };
  uint64_t result = rotl(s[0] + s[3], 23) + s[0];
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

}  // namespace halo::model
