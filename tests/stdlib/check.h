// Test helpers for the stdlib: derivatives by Ridders' extrapolation of central differences,
// gradient comparison with a documented tolerance, and random points.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "halo/stdlib.h"

namespace halo_test {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Ridders (1982), as in Numerical Recipes 5.7 (dfridr): central differences at steps h, h/1.4,
// ... extrapolated to step 0 (Neville tableau); *err is the estimate's error.
inline double ridders(const std::function<double(double)>& f, double x, double h, double* err) {
  constexpr int kTab = 12;
  constexpr double kCon = 1.4, kCon2 = kCon * kCon, kSafe = 2.0;
  double a[kTab][kTab];
  // The difference quotient over the steps actually taken (x +- h rounded), so that arguments
  // near 1 or of large magnitude do not bias it.
  auto quotient = [&](double step) {
    const double xp = x + step, xm = x - step;
    return (f(xp) - f(xm)) / (xp - xm);
  };
  double hh = h;
  a[0][0] = quotient(hh);
  double ans = a[0][0];
  *err = std::numeric_limits<double>::max();
  for (int i = 1; i < kTab; ++i) {
    hh /= kCon;
    a[0][i] = quotient(hh);
    double fac = kCon2;
    for (int j = 1; j <= i; ++j) {
      a[j][i] = (a[j - 1][i] * fac - a[j - 1][i - 1]) / (fac - 1.0);
      fac *= kCon2;
      double errt = std::fmax(std::fabs(a[j][i] - a[j - 1][i]), std::fabs(a[j][i] - a[j - 1][i - 1]));
      if (errt <= *err) {
        *err = errt;
        ans = a[j][i];
      }
    }
    if (std::fabs(a[i][i] - a[i - 1][i - 1]) >= kSafe * *err) break;
  }
  return ans;
}

inline std::string show(const std::vector<double>& x) {
  std::ostringstream os;
  os.precision(17);
  os << "(";
  for (size_t i = 0; i < x.size(); ++i) os << (i ? ", " : "") << x[i];
  os << ")";
  return os.str();
}

// Whether an analytic partial agrees with the numerical one: relative 1e-6, plus the
// numerical estimate's own error and the rounding floor of a difference quotient of f
// (1e-13 |f| / h: a function evaluated to ~1e-15 relative, divided by a step).
inline bool partial_ok(double analytic, double numeric, double err, double f, double h, double rtol = 1e-6) {
  if (std::isnan(analytic) || std::isnan(numeric)) return false;
  const double tol = rtol * std::fmax(std::fabs(analytic), std::fabs(numeric)) + 4.0 * err +
                     1e-13 * (std::fabs(f) + 1e-300) / h;
  return std::fabs(analytic - numeric) <= tol;
}

using Fn = std::function<double(const std::vector<double>&)>;

// Compares `grad` with Ridders' estimates of the partials of f at x; h0[i] is the initial step
// of argument i (the caller keeps x +- h0 inside the domain). `noise_scale` is the magnitude
// that f's rounding error is relative to: |f| unless f is a sum of larger terms that cancel
// (then their size). Reports the first mismatch.
inline bool check_gradient(const std::string& name, const Fn& f, const std::vector<double>& x,
                           const std::vector<double>& grad, const std::vector<double>& h0, double rtol = 1e-6,
                           double noise_scale = -1.0) {
  const double fx = f(x);
  const double noise = noise_scale >= 0.0 ? std::fmax(noise_scale, std::fabs(fx)) : fx;
  for (size_t i = 0; i < x.size(); ++i) {
    if (h0[i] <= 0.0) continue;  // argument not differentiated here
    std::vector<double> xi = x;
    auto fi = [&](double t) {
      xi[i] = t;
      return f(xi);
    };
    // Ridders' tableau can stop early with an optimistic error when the first step is coarse
    // for the function: start from three steps and keep the estimate with the smallest error.
    double err = kInf, numeric = kNaN;
    for (double scale : {1.0, 0.1, 0.01}) {
      double e;
      const double n = ridders(fi, x[i], h0[i] * scale, &e);
      if (e < err) {
        err = e;
        numeric = n;
      }
    }
    if (!partial_ok(grad[i], numeric, err, noise, h0[i], rtol)) {
      std::ostringstream os;
      os.precision(15);
      os << name << ": d/dx" << i << " at " << show(x) << ": analytic " << grad[i] << ", numeric " << numeric
         << " (+- " << err << "), f = " << fx;
      FAIL_CHECK(os.str());
      return false;
    }
  }
  return true;
}

// Relative closeness for values.
inline bool close_rel(double a, double b, double rtol, double atol = 0.0) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= rtol * std::fmax(std::fabs(a), std::fabs(b)) + atol;
}

// Random draws for test points.
struct Draw {
  std::mt19937_64 gen;
  explicit Draw(uint64_t seed) : gen(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen); }
  // Log-uniform on [lo, hi], lo > 0: covers every scale in the range.
  double log_uniform(double lo, double hi) { return std::exp(uniform(std::log(lo), std::log(hi))); }
  double sign() { return uniform(0.0, 1.0) < 0.5 ? -1.0 : 1.0; }
  int64_t integer(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); }
  bool chance(double p) { return uniform(0.0, 1.0) < p; }
  // A real number: mostly moderate, sometimes of any magnitude up to `big` (either sign).
  double real(double typical = 5.0, double big = 1e6) {
    return chance(0.7) ? uniform(-typical, typical) : sign() * log_uniform(1e-8, big);
  }
  // A positive number: mostly moderate, sometimes tiny or huge.
  double positive(double lo = 1e-6, double hi = 1e6) {
    return chance(0.6) ? log_uniform(0.1, 10.0) : log_uniform(lo, hi);
  }
  // In (0, 1), sometimes within 1e-10 of either end.
  double unit() {
    if (chance(0.7)) return uniform(0.01, 0.99);
    double e = log_uniform(1e-10, 1e-2);
    return chance(0.5) ? e : 1.0 - e;
  }
};

// The initial Ridders step for an argument at x whose domain is (lo, hi) and whose natural
// scale is `scale`: a tenth of the larger of |x| and the scale, and at most a quarter of the way
// to either boundary.
inline double step_for(double x, double lo = -kInf, double hi = kInf, double scale = 1.0) {
  double h = 0.1 * std::fmax(std::fabs(x), scale);
  h = std::fmin(h, 0.25 * (x - lo));
  h = std::fmin(h, 0.25 * (hi - x));
  return h;
}

}  // namespace halo_test
