#include "nuts/rng.h"

#include <cmath>

namespace halo::nuts {

namespace {
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

uint64_t splitmix64_next(uint64_t& state) {
  // Constants from Steele, Lea & Flood (2014), as in https://prng.di.unimi.it/splitmix64.c.
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  uint64_t sm = seed;
  for (uint64_t& word : s_) word = splitmix64_next(sm);
  // splitmix64 is a bijection of its counter, so four consecutive outputs are never all zero
  // together in practice; guard anyway since the all-zero state is a fixed point.
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
}

Rng Rng::stream(uint64_t seed, uint64_t stream_id) {
  Rng rng(seed);
  for (uint64_t k = 0; k < stream_id; ++k) rng.jump();
  return rng;
}

Rng Rng::from_state(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3) {
  Rng rng;
  rng.s_[0] = s0;
  rng.s_[1] = s1;
  rng.s_[2] = s2;
  rng.s_[3] = s3;
  return rng;
}

uint64_t Rng::next_u64() {
  // xoshiro256++ 1.0 (rotation 23, shift 17, rotation 45 from the reference).
  const uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

void Rng::jump() {
  // The jump polynomial for 2^128 steps, from the reference implementation.
  static const uint64_t kJump[4] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                    0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
  uint64_t t[4] = {0, 0, 0, 0};
  for (uint64_t word : kJump) {
    for (int bit = 0; bit < 64; ++bit) {
      if (word & (uint64_t{1} << bit)) {
        for (int i = 0; i < 4; ++i) t[i] ^= s_[i];
      }
      next_u64();
    }
  }
  for (int i = 0; i < 4; ++i) s_[i] = t[i];
  has_spare_normal_ = false;
}

double Rng::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * factor;
  has_spare_normal_ = true;
  return u * factor;
}

void Rng::fill_normal(double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = normal();
}

uint64_t Rng::below(uint64_t n) {
  // Lemire (2019), "Fast random integer generation in an interval".
  unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next_u64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

bool Rng::operator==(const Rng& other) const {
  return s_[0] == other.s_[0] && s_[1] == other.s_[1] && s_[2] == other.s_[2] &&
         s_[3] == other.s_[3] && has_spare_normal_ == other.has_spare_normal_ &&
         (!has_spare_normal_ || spare_normal_ == other.spare_normal_);
}

}  // namespace halo::nuts
