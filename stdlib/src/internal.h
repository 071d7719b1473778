// Internal helpers shared by the stdlib's translation units (not part of the public header).
//
// Every .cpp of the stdlib includes this file first: it fixes Boost.Math's configuration
// before any Boost header is seen. All error policies are `ignore_error`, so a bad argument
// gives NaN or +-inf and never a throw, an errno write or a trap (the stdlib is compiled with
// -fno-exceptions and inlined into generated code that must not unwind). Double arithmetic is
// kept in double (no promotion to long double, which is x87 code that does not vectorise).
#pragma once

#define BOOST_MATH_DOMAIN_ERROR_POLICY ignore_error
#define BOOST_MATH_POLE_ERROR_POLICY ignore_error
#define BOOST_MATH_OVERFLOW_ERROR_POLICY ignore_error
#define BOOST_MATH_UNDERFLOW_ERROR_POLICY ignore_error
#define BOOST_MATH_DENORM_ERROR_POLICY ignore_error
#define BOOST_MATH_EVALUATION_ERROR_POLICY ignore_error
#define BOOST_MATH_ROUNDING_ERROR_POLICY ignore_error
#define BOOST_MATH_INDETERMINATE_RESULT_ERROR_POLICY ignore_error
#define BOOST_MATH_PROMOTE_DOUBLE_POLICY false
#ifndef BOOST_DISABLE_ASSERTS
#define BOOST_DISABLE_ASSERTS
#endif

#include <boost/throw_exception.hpp>
// Boost.Math throws directly (bypassing the policies) only where it deems a path impossible,
// e.g. the default of owens_t's method switch (its index comes from a fixed table, NaN
// included); say so to the optimiser instead of pulling in std::logic_error.
#undef BOOST_THROW_EXCEPTION
#define BOOST_THROW_EXCEPTION(x) __builtin_unreachable()

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "halo/stdlib.h"
#include "softplus_table.h"

namespace halo::stdlib {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = std::numeric_limits<double>::epsilon();

constexpr double kPi = 3.14159265358979323846264338327950288;
constexpr double kLogPi = 1.14472988584940017414342735135305871;
constexpr double kLogTwo = 0.693147180559945309417232121458176568;
constexpr double kLogTwoPi = 1.83787706640934548356065947281123527;
constexpr double kHalfLogTwoPi = 0.918938533204672741780329736405617639;  // log sqrt(2 pi)
constexpr double kLogSqrtPi = 0.572364942924700087071713675676529356;
constexpr double kSqrtTwo = 1.41421356237309504880168872420969808;
constexpr double kInvSqrtTwo = 0.707106781186547524400844362104849039;
constexpr double kSqrtPi = 1.77245385090551602729816748334114518;
constexpr double kTwoOverSqrtPi = 1.12837916709551257389615890312154517;
constexpr double kInvSqrtTwoPi = 0.398942280401432677939946059934381868;
constexpr double kSqrtTwoPi = 2.50662827463100050241576528481104525;
constexpr double kLogTen = 2.30258509299404568401799145468436421;

// Whether a term that depends on the arguments in `mask` (HALO_VARY bits) is kept: Stan's
// include_summand<propto, T...>: always without propto, else only when one of them varies.
// With `flags` a constant at the call site this folds away after inlining.
inline bool include(int flags, int mask) { return !(flags & HALO_PROPTO) || (flags & mask); }

inline double square(double x) { return x * x; }

// x * log(y) with 0 * log(0) = 0 (Stan's multiply_log).
inline double xlogy(double x, double y) { return x == 0.0 ? 0.0 : x * std::log(y); }

// The logistic family (inv_logit, log1p_exp and their kin) is the hot path of networks'
// activations: these helpers and the scalar functions built on them are always inlined, into
// each other and into generated code, whose loops then vectorise; with the polynomial exp and
// log1p below they are over the inliner's threshold (an out-of-line log1p_exp made the BNN's
// gradient 5x slower). Clang only, for the bitcode (GCC warns on always_inline without inline).
#if defined(__clang__)
#define HALO_ALWAYS_INLINE __attribute__((always_inline))
#else
#define HALO_ALWAYS_INLINE
#endif

// Loops over a small matrix's columns and rows (the Cholesky factorisation and its reverse, a
// GP's kernel matrix: a dozen each) are left rolled. Unrolled, first by the bitcode's -O2 for
// baseline x86-64 and again by haloc's O3 for the host, the short loops ran 25% slower (rolled,
// gp_pois_regr's gradient is 13% faster). Only clang (the bitcode) knows the pragma.
#if defined(__clang__)
#define HALO_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define HALO_NO_UNROLL
#endif

// e^x for x <= 0 (NaN gives NaN), inline and branch-free so that a loop over it vectorises
// without a library call (the logistic family is the hot path of networks' activations).
// Cody and Waite's reduction x = k ln 2 + r, |r| <= ln 2 / 2, then e^r by its Taylor polynomial
// of degree 13 (truncation below 1e-17 relative), scaled by 2^k in two factors so that results
// down to the smallest subnormal are rounded once. Measured error <= 1 ulp.
HALO_ALWAYS_INLINE inline double exp_nonpositive(double x) {
  constexpr double kLog2e = 1.44269504088896340736;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // fdlibm's split: k kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const double xc = x < -746.0 ? -746.0 : x;  // e^-746 rounds to 0; keeps 2^k in range
  double k = std::rint(xc * kLog2e);
  k = k == k ? k : 0.0;  // NaN: any scale, r carries the NaN
  const double r = (xc - k * kLn2Hi) - k * kLn2Lo;
  // Estrin's scheme instead of Horner's: the polynomial's latency is 4 multiply-add levels
  // instead of 13 dependent ones, which matters where exp sits on a recursion (an HMM's forward
  // algorithm); vectorised loops pay 3 extra multiplies.
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double q01 = 1.0 + r, q23 = 0.5 + r * (1.0 / 6.0), q45 = 1.0 / 24.0 + r * (1.0 / 120.0),
               q67 = 1.0 / 720.0 + r * (1.0 / 5040.0), q89 = 1.0 / 40320.0 + r * (1.0 / 362880.0),
               q1011 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0), q1213 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
  const double s03 = q01 + r2 * q23, s47 = q45 + r2 * q67, s811 = q89 + r2 * q1011;
  const double t07 = s03 + r4 * s47, t813 = s811 + r4 * q1213;
  const double p = t07 + r8 * t813;
  const int64_t ki = static_cast<int64_t>(k);  // in [-1076, 0]
  const int64_t k1 = ki >> 1, k2 = ki - k1;    // each >= -538: normal powers of two
  const uint64_t bits1 = static_cast<uint64_t>(k1 + 1023) << 52, bits2 = static_cast<uint64_t>(k2 + 1023) << 52;
  double scale1, scale2;
  std::memcpy(&scale1, &bits1, sizeof scale1);
  std::memcpy(&scale2, &bits2, sizeof scale2);
  return p * scale1 * scale2;
}

// log(1 + e) for e in [0, 1] (NaN gives NaN), inline and branch-free: fdlibm's log1p kernel
// (s_log1p.c: log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f), |f| <= sqrt 2 - 1)
// with 1 + e = 2^k (1 + f), k in {0, 1}. Measured error about 1 ulp.
HALO_ALWAYS_INLINE inline double log1p_unit(double e) {
  constexpr double kLp1 = 6.666666666666735130e-01, kLp2 = 3.999999999940941908e-01,
                   kLp3 = 2.857142874366239149e-01, kLp4 = 2.222219843214978396e-01,
                   kLp5 = 1.818357216161805012e-01, kLp6 = 1.531383769920937332e-01,
                   kLp7 = 1.479819860511658591e-01;
  // Below 2^-54, log1p(e) rounds to e. Evaluating the kernel there would square e into
  // subnormals (z^4 ~ e^8), which cost a microcode assist per operation: a two-component
  // mixture with well-separated components hits this on most points. So the kernel sees e no
  // smaller than 2^-54 and the tiny case is selected at the end (branch-free, vectorisable).
  const bool tiny = e < 0x1p-54;
  const double et = tiny ? 0x1p-54 : e;
  const double u = 1.0 + et;
  const bool halve = u > 1.41421356237309504880;
  const double f = halve ? 0.5 * u - 1.0 : et;  // exact (Sterbenz)
  // The rounding error of u, relative to u: 1 / u = 0.5 / (1 + f) ~ 0.5 (1 - f) is ample for a
  // correction below one ulp, and saves a division.
  const double c = halve ? (et - (u - 1.0)) * (0.5 - 0.5 * f) : 0.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  // Estrin's scheme (see exp_nonpositive): z (Lp1 + Lp2 z + ... + Lp7 z^6).
  const double z2 = z * z, z4 = z2 * z2;
  const double R = z * ((kLp1 + z * kLp2) + z2 * (kLp3 + z * kLp4) + z4 * ((kLp5 + z * kLp6) + z2 * kLp7));
  const double half_f2 = 0.5 * f * f;
  const double log1p_f = f - (half_f2 - s * (half_f2 + R));
  return tiny ? e : halve ? kLogTwo + (log1p_f + c) : log1p_f;
}

HALO_ALWAYS_INLINE inline double inv_logit(double x) {
  // exp of a non-positive number only: no overflow for either sign.
  double e = exp_nonpositive(-std::fabs(x));
  return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

// log(1 + exp(x)) without overflow or loss of precision for either sign.
HALO_ALWAYS_INLINE inline double log1p_exp(double x) { return std::fmax(x, 0.0) + log1p_unit(exp_nonpositive(-std::fabs(x))); }

// log(1 - exp(x)) for x <= 0 (Maechler 2012, "Accurately computing log(1 - exp(-|a|))": the
// switch at -log 2 keeps both branches accurate).
inline double log1m_exp(double x) {
  return x > -kLogTwo ? std::log(-std::expm1(x)) : std::log1p(-std::exp(x));
}

// log(1 + e^-d) for d >= 0 (NaN gives NaN). Where log_sum_exp lies on a recursion (an HMM's
// forward algorithm) its latency is the model's speed, and libm's exp followed by its log1p is
// about twice that of a table: below 64, segment i = round(2d) holds a degree-13 polynomial in
// t = 2d - i (scripts/gen-softplus-table.py, 16 KB), so an add, a load and Estrin's four
// multiply-add levels. From 64 on the value is e^-d (the next term, e^-2d / 2, is below 1e-28
// relative). Branch-free: both are computed and one is selected, which measured faster than a
// branch in the gradients of an HMM and of a two-component mixture. Measured error below 3 ulp
// (tests/stdlib/test_scalar.cpp, all segments).
HALO_ALWAYS_INLINE inline const double* softplus_neg_segment(double d, double* t) {
  // 2d rounded to the nearest integer i by adding 1.5 * 2^52 (exact for 0 <= 2d < 2^51): i lands
  // in the sum's low bits and is read from there, without a float-to-int conversion's latency.
  constexpr double kShift = 0x1.8p52;
  const double s = 2.0 * d;
  const double shifted = s + kShift;
  *t = s - (shifted - kShift);  // exact, in [-1/2, 1/2]
  uint64_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return kSoftplusNegTable[bits & 0xff];  // i <= 128 below 64.25
}
HALO_ALWAYS_INLINE inline double log1p_exp_neg(double d) {
  const bool near = d < 64.0;  // false for NaN
  double t;
  const double* c = softplus_neg_segment(near ? d : 0.0, &t);
  const double t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
  const double p01 = c[0] + t * c[1], p23 = c[2] + t * c[3], p45 = c[4] + t * c[5],
               p67 = c[6] + t * c[7], p89 = c[8] + t * c[9], p1011 = c[10] + t * c[11],
               p1213 = c[12] + t * c[13];
  const double p03 = p01 + t2 * p23, p47 = p45 + t2 * p67, p811 = p89 + t2 * p1011;
  const double p = (p03 + t4 * p47) + t8 * (p811 + t4 * p1213);
  return near ? p : exp_nonpositive(-d);
}
// e^-d / (1 + e^-d) = -d/dd log(1 + e^-d): the weight of the smaller term in log_sum_exp. Off any
// recursion, so throughput counts: libm's exp and a division measured faster than the
// derivative of the table's polynomial and than the inline exp (a mixture's gradient -8%).
HALO_ALWAYS_INLINE inline double log1p_exp_neg_slope(double d) {
  const double u = std::exp(-d);
  return u / (1.0 + u);
}

// log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|), and its weights (e^(a - r), e^(b - r)): the
// smaller is the slope above, the larger 1 minus it (>= 1/2, so within an ulp), in the order of
// a and b. Always inlined (so are log_mix and the stdlib entry points built on them): out of
// line, a mixture's loop-invariant log(theta) is no longer hoisted (3x slower). a - b is NaN for a NaN or for equal infinities (the result is that infinity, and the
// weights are 1/2, the limit of the symmetric case).
HALO_ALWAYS_INLINE inline double log_sum_exp(double a, double b) {
  const double d = a - b;
  const double r = std::fmax(a, b) + log1p_exp_neg(std::fabs(d));
  return d == d ? r : a == b ? a : kNaN;
}
HALO_ALWAYS_INLINE inline void log_sum_exp_weights(double a, double b, double* wa, double* wb) {
  const double d = a - b;
  const double small = log1p_exp_neg_slope(std::fabs(d)), big = 1.0 - small;
  const double tie = a == b ? 0.5 : kNaN;
  *wa = d == d ? (d >= 0.0 ? big : small) : tie;
  *wb = d == d ? (d >= 0.0 ? small : big) : tie;
}

// log(erfc(t)) and its derivative (*dt), accurate for all t: below 25 directly (erfc(25) ~ 8e-274
// is still a normal double); above, the asymptotic series
// erfc(t) = exp(-t^2) / (t sqrt(pi)) * sum_k (-1)^k (2k-1)!! / (2 t^2)^k (Abramowitz & Stegun
// 7.1.23), whose next term is below 3e-17 relative at t = 25.
inline double log_erfc(double t, double* dt) {
  if (t < 25.0) {
    double e = std::erfc(t);
    *dt = -kTwoOverSqrtPi * std::exp(-t * t) / e;
    return std::log(e);
  }
  double u = 0.5 / (t * t);
  double s = 1.0 + u * (-1.0 + u * (3.0 + u * (-15.0 + u * (105.0 + u * (-945.0 + u * 10395.0)))));
  *dt = -2.0 * t / s;
  return -t * t - std::log(t * kSqrtPi) + std::log(s);
}

// log Phi(z) and d/dz log Phi(z) for the standard normal cdf Phi.
inline double log_Phi(double z, double* dz) {
  double dt;
  double r = log_erfc(-z * kInvSqrtTwo, &dt) - kLogTwo;
  *dz = -dt * kInvSqrtTwo;
  return r;
}

// Four doubles as one vector (GCC/Clang vector extension): explicit vector code for the kernels
// whose loops are reductions (which the vectorisers may not reorder without fast-math) and for
// the matrix-product micro-kernel. Wider hosts run two of them per instruction pair; SSE2-only
// hosts split them.
#if defined(__clang__) || defined(__AVX__)
typedef double v4d __attribute__((vector_size(32)));
#else
// GCC lowers 32-byte vectors element by element through memory when AVX is off (1 GFLOP/s in
// the matrix product); two 16-byte halves keep it in SSE registers.
typedef double v2d __attribute__((vector_size(16)));
struct v4d {
  v2d lo, hi;
  v4d() = default;
  v4d(double a, double b, double c, double d) : lo{a, b}, hi{c, d} {}
  double operator[](int i) const { return i < 2 ? lo[i] : hi[i - 2]; }
};
inline v4d operator*(v4d a, v4d b) {
  a.lo *= b.lo;
  a.hi *= b.hi;
  return a;
}
inline v4d operator*(v4d a, double s) {
  a.lo *= s;
  a.hi *= s;
  return a;
}
inline v4d operator+(v4d a, v4d b) {
  a.lo += b.lo;
  a.hi += b.hi;
  return a;
}
inline v4d& operator+=(v4d& a, v4d b) {
  a.lo += b.lo;
  a.hi += b.hi;
  return a;
}
#endif
inline v4d load4(const double* p) {
  v4d v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(double* p, v4d v) { __builtin_memcpy(p, &v, sizeof v); }
inline double hsum(v4d v) { return (v[0] + v[2]) + (v[1] + v[3]); }

// sum_i x[i] y[i] with eight partial sums (a fixed, deterministic order).
inline double dot(int64_t n, const double* x, const double* y) {
  v4d a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a0 += load4(x + i) * load4(y + i);
    a1 += load4(x + i + 4) * load4(y + i + 4);
  }
  double s = hsum(a0 + a1);
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}
// y[i] += a * x[i]
inline void axpy(int64_t n, double a, const double* x, double* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// Boost.Math special functions under the policy above (defined in special.cpp, so that the
// heavy Boost headers are compiled once).
double log_gamma(double x);
double digamma(double x);
double trigamma(double x);
double tetragamma(double x);  // polygamma(2, x)
double gamma_function(double x);
double erfc_inv(double x);
double owens_t(double h, double a);
double bessel_i0(double x);
double bessel_i1(double x);

// psi(a + b) - psi(a), accurate also when |b| << a (a > 0, a + b > 0).
double digamma_diff(double a, double b);
// log B(a, b), accurate for large arguments (Stan's lbeta: Stirling differences).
double lbeta(double a, double b);
// log binomial coefficient for real arguments (Stan's binomial_coefficient_log).
double lchoose(double n, double k);
// The standard normal quantile, Wichura's AS241 (PPND16), relative error about 1e-16.
double inv_Phi(double p);
// log I0(x) and d/dx log I0(x) = I1(x)/I0(x) for x >= 0, without overflow for large x.
double log_bessel_i0(double x, double* d);

// The regularised incomplete gamma functions P(a, x) and Q(a, x) = 1 - P in log space, with
// the partials of both logs w.r.t. a and x (series for x < a + 1, Legendre's continued fraction
// otherwise, each differentiated in a alongside its evaluation, so the partials are as accurate
// as the values).
struct IncGamma {
  double log_p, log_q;
  double dlog_p_da, dlog_q_da;
  double dlog_p_dx, dlog_q_dx;
};
IncGamma inc_gamma(double a, double x);

// The regularised incomplete beta function I_x(a, b) and 1 - I_x(a, b) in log space with the
// partials w.r.t. a, b and x. `xc` must be 1 - x, computed by the caller without cancellation.
struct IncBeta {
  double log_i, log_ic;
  double dlog_i_da, dlog_i_db, dlog_i_dx;
  double dlog_ic_da, dlog_ic_db, dlog_ic_dx;
};
IncBeta inc_beta(double a, double b, double x, double xc);

}  // namespace halo::stdlib
