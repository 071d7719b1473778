// Constraining transforms: unconstrain(constrain(u)) == u, the constrained value satisfies the
// constraint, the log-Jacobian equals log |det J| of the map (numerical Jacobian by Ridders'
// differences; Stan's definition where the map is not square), the reverse against finite
// differences of w . x + c log J, and out-of-support values rejected by unconstrain.
#include "check.h"

using namespace halo_test;
using V = std::vector<double>;

namespace {

// A transform as a map u -> (x, log J), plus the coordinates of x its Jacobian is taken in.
struct Transform {
  std::string name;
  int n_u = 0, n_x = 0;
  std::function<double(const V& u, V& x)> constrain;
  std::function<void(const V& u, const V& x, const V& x_adj, double lj_adj, V& u_adj)> rev;
  std::function<int(const V& x, V& u)> unconstrain;
  std::function<bool(const V& x)> satisfied;
  std::function<V(const V& x)> coordinates;  // empty: log J checked by `stan_lj` instead
  std::function<double(const V& u)> stan_lj;
};

double log_abs_det_numeric(const Transform& t, const V& u) {
  const int n = t.n_u;
  V J(n * n);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      auto fi = [&](double s) {
        V v = u, x(t.n_x);
        v[j] = s;
        t.constrain(v, x);
        return t.coordinates(x)[i];
      };
      double err = kInf, best = 0;
      for (double h : {0.1, 0.01, 0.001}) {
        double e;
        double r = ridders(fi, u[j], h, &e);
        if (e < err) {
          err = e;
          best = r;
        }
      }
      J[i + j * n] = best;
    }
  }
  V work(n * n + n);
  return halo_log_determinant(n, J.data(), work.data());
}

void check_transform(const Transform& t, const std::function<V(Draw&)>& sample, uint64_t seed, int points = 60) {
  Draw d(seed);
  for (int p = 0; p < points; ++p) {
    V u = sample(d), x(t.n_x);
    const double lj = t.constrain(u, x);
    REQUIRE_MESSAGE(std::isfinite(lj), t.name);
    CHECK_MESSAGE(t.satisfied(x), t.name << " at " << show(u) << ": " << show(x));
    V back(t.n_u);
    CHECK_MESSAGE(t.unconstrain(x, back) == HALO_TRANSFORM_OK, t.name);
    for (int i = 0; i < t.n_u; ++i)
      CHECK_MESSAGE(close_rel(back[i], u[i], 1e-8, 1e-9), t.name << " round trip " << show(u) << " -> " << show(back));
    if (t.coordinates) {
      const double num = log_abs_det_numeric(t, u);
      CHECK_MESSAGE(close_rel(lj, num, 1e-7, 1e-7), t.name << " log J " << lj << " vs numeric " << num << " at " << show(u));
    } else {
      CHECK_MESSAGE(close_rel(lj, t.stan_lj(u), 1e-13, 1e-14), t.name << " log J");
    }
    // Reverse: the gradient of w . x + c log J in u.
    V w = V(t.n_x);
    for (double& v : w) v = d.uniform(-1, 1);
    const double c = d.uniform(-1, 1);
    V g(t.n_u, 0.0);
    t.rev(u, x, w, c, g);
    Fn f = [&t, &w, c](const V& v) {
      V xv(t.n_x);
      double l = t.constrain(v, xv);
      double s = c * l;
      for (int i = 0; i < t.n_x; ++i) s += w[i] * xv[i];
      return s;
    };
    check_gradient(t.name + " rev", f, u, g, V(t.n_u, 0.05));
  }
}

V random_u(Draw& d, int n, double scale = 2.0) {
  V u(n);
  for (double& v : u) v = d.uniform(-scale, scale);
  return u;
}

}  // namespace

TEST_CASE("transforms: scalar bounds, offset and multiplier") {
  Draw d(8000);
  for (int p = 0; p < 200; ++p) {
    const double u = d.real(3, 20), lb = d.real(5, 1e3), w = d.positive(1e-3, 1e3), ub = lb + w;
    double x, back;
    // lower
    double lj = halo_lower_constrain(u, lb, &x);
    CHECK(x >= lb);
    CHECK(lj == u);  // log |dx/du| = u
    REQUIRE(halo_lower_unconstrain(x, lb, &back) == HALO_TRANSFORM_OK);
    if (std::fabs(u) < 30) CHECK(close_rel(back, u, 1e-9, 1e-9 * std::fmax(1.0, std::fabs(lb) * std::exp(-u))));
    double gu = 0, glb = 0;
    const double wx = d.uniform(-1, 1), c = d.uniform(-1, 1);
    halo_lower_constrain_rev(u, lb, wx, c, &gu, &glb);
    Fn fl = [wx, c](const V& v) {
      double xx;
      double l = halo_lower_constrain(v[0], v[1], &xx);
      return wx * xx + c * l;
    };
    check_gradient("lower rev", fl, {u, lb}, {gu, glb}, {0.1, 0.1 * std::fmax(1.0, std::fabs(lb))});
    // upper
    lj = halo_upper_constrain(u, ub, &x);
    CHECK(x <= ub);
    CHECK(lj == u);
    REQUIRE(halo_upper_unconstrain(x, ub, &back) == HALO_TRANSFORM_OK);
    gu = 0;
    double gub = 0;
    halo_upper_constrain_rev(u, ub, wx, c, &gu, &gub);
    Fn fu = [wx, c](const V& v) {
      double xx;
      double l = halo_upper_constrain(v[0], v[1], &xx);
      return wx * xx + c * l;
    };
    check_gradient("upper rev", fu, {u, ub}, {gu, gub}, {0.1, 0.1 * std::fmax(1.0, std::fabs(ub))});
    // lower and upper: inside the interval; log J against the derivative.
    const double uu = d.uniform(-12, 12);
    lj = halo_lower_upper_constrain(uu, lb, ub, &x);
    CHECK(x > lb);
    CHECK(x < ub);
    // log J does not depend on lb: differentiate with lb = 0, where x keeps its precision.
    double err;
    const double dxdu = ridders(
        [w](double s) {
          double xx;
          halo_lower_upper_constrain(s, 0.0, w, &xx);
          return xx;
        },
        uu, 0.1, &err);
    CHECK(close_rel(lj, std::log(dxdu), 1e-7, 1e-7));
    REQUIRE(halo_lower_upper_unconstrain(x, lb, ub, &back) == HALO_TRANSFORM_OK);
    CHECK(close_rel(back, uu, 1e-6, 1e-6 * std::fmax(1.0, std::fabs(lb) / w)));
    gu = glb = gub = 0;
    halo_lower_upper_constrain_rev(uu, lb, ub, wx, c, &gu, &glb, &gub);
    Fn flu = [wx, c](const V& v) {
      double xx;
      double l = halo_lower_upper_constrain(v[0], v[1], v[1] + v[2], &xx);
      return wx * xx + c * l;
    };
    // (parametrised by the width so that perturbing lb keeps the interval valid)
    check_gradient("lower_upper rev", flu, {uu, lb, w}, {gu, glb + gub, gub}, {0.1, 0.1 * w, 0.1 * w});
    // offset and multiplier
    const double off = d.real(), mult = d.positive(1e-3, 1e3);
    lj = halo_offset_multiplier_constrain(u, off, mult, &x);
    CHECK(lj == doctest::Approx(std::log(mult)));
    REQUIRE(halo_offset_multiplier_unconstrain(x, off, mult, &back) == HALO_TRANSFORM_OK);
    CHECK(close_rel(back, u, 1e-9, 1e-9 * (std::fabs(off) / mult + 1)));
    double go = 0, gm = 0;
    gu = 0;
    halo_offset_multiplier_constrain_rev(u, off, mult, wx, c, &gu, &go, &gm);
    Fn fo = [wx, c](const V& v) {
      double xx;
      double l = halo_offset_multiplier_constrain(v[0], v[1], v[2], &xx);
      return wx * xx + c * l;
    };
    check_gradient("offset_multiplier rev", fo, {u, off, mult}, {gu, go, gm}, {0.1, 0.1, 0.1 * mult});
  }
  double x, u;
  // Infinite bounds reduce to the identity or a one-sided transform.
  CHECK(halo_lower_constrain(1.5, -kInf, &x) == 0.0);
  CHECK(x == 1.5);
  CHECK(halo_lower_upper_constrain(0.3, -kInf, kInf, &x) == 0.0);
  CHECK(x == 0.3);
  CHECK(halo_lower_upper_constrain(0.3, 2.0, kInf, &x) == 0.3);
  CHECK(x == doctest::Approx(2.0 + std::exp(0.3)));
  // Saturation keeps the value strictly inside (Stan's lub_constrain).
  halo_lower_upper_constrain(50.0, 0.0, 1.0, &x);
  CHECK(x < 1.0);
  halo_lower_upper_constrain(-800.0, 0.0, 1.0, &x);
  CHECK(x > 0.0);
  // Out of support.
  CHECK(halo_lower_unconstrain(-1.0, 0.0, &u) == HALO_TRANSFORM_INVALID);
  CHECK(std::isnan(u));
  CHECK(halo_upper_unconstrain(2.0, 1.0, &u) == HALO_TRANSFORM_INVALID);
  CHECK(halo_lower_upper_unconstrain(1.5, 0.0, 1.0, &u) == HALO_TRANSFORM_INVALID);
  CHECK(halo_lower_upper_unconstrain(kNaN, 0.0, 1.0, &u) == HALO_TRANSFORM_INVALID);
  CHECK(halo_offset_multiplier_unconstrain(1.0, 0.0, -1.0, &u) == HALO_TRANSFORM_INVALID);
  CHECK(halo_lower_unconstrain(0.0, 0.0, &u) == HALO_TRANSFORM_OK);  // as Stan: the bound itself
  CHECK(u == -kInf);
}

TEST_CASE("transforms: vectors") {
  for (int K : {1, 2, 3, 5, 8}) {
    Transform simplex{"simplex", K - 1, K,
                      [K](const V& u, V& x) { return halo_simplex_constrain(K, u.data(), x.data()); },
                      [K](const V& u, const V& x, const V& xa, double la, V& ua) {
                        halo_simplex_constrain_rev(K, u.data(), x.data(), xa.data(), la, ua.data());
                      },
                      [K](const V& x, V& u) { return halo_simplex_unconstrain(K, x.data(), u.data()); },
                      [K](const V& x) {
                        double s = 0;
                        for (double v : x) {
                          if (!(v >= 0)) return false;
                          s += v;
                        }
                        return std::fabs(s - 1) < 1e-12;
                      },
                      [K](const V& x) { return V(x.begin(), x.begin() + (K - 1)); }, {}};
    if (K > 1) check_transform(simplex, [K](Draw& d) { return random_u(d, K - 1, 3.0); }, 8100 + K);
    Transform ordered{"ordered", K, K, [K](const V& u, V& x) { return halo_ordered_constrain(K, u.data(), x.data()); },
                      [K](const V& u, const V& x, const V& xa, double la, V& ua) {
                        halo_ordered_constrain_rev(K, u.data(), x.data(), xa.data(), la, ua.data());
                      },
                      [K](const V& x, V& u) { return halo_ordered_unconstrain(K, x.data(), u.data()); },
                      [](const V& x) {
                        for (size_t i = 1; i < x.size(); ++i)
                          if (!(x[i] > x[i - 1])) return false;
                        return true;
                      },
                      [](const V& x) { return x; }, {}};
    check_transform(ordered, [K](Draw& d) { return random_u(d, K, 3.0); }, 8200 + K);
    Transform pos_ordered{"positive_ordered", K, K,
                          [K](const V& u, V& x) { return halo_positive_ordered_constrain(K, u.data(), x.data()); },
                          [K](const V& u, const V& x, const V& xa, double la, V& ua) {
                            halo_positive_ordered_constrain_rev(K, u.data(), x.data(), xa.data(), la, ua.data());
                          },
                          [K](const V& x, V& u) { return halo_positive_ordered_unconstrain(K, x.data(), u.data()); },
                          [](const V& x) {
                            if (!(x[0] > 0)) return false;
                            for (size_t i = 1; i < x.size(); ++i)
                              if (!(x[i] > x[i - 1])) return false;
                            return true;
                          },
                          [](const V& x) { return x; }, {}};
    check_transform(pos_ordered, [K](Draw& d) { return random_u(d, K, 3.0); }, 8300 + K);
    Transform unit{"unit_vector", K, K,
                   [K](const V& u, V& x) { return halo_unit_vector_constrain(K, u.data(), x.data()); },
                   [K](const V& u, const V& x, const V& xa, double la, V& ua) {
                     halo_unit_vector_constrain_rev(K, u.data(), x.data(), xa.data(), la, ua.data());
                   },
                   [K](const V& x, V& u) { return halo_unit_vector_unconstrain(K, x.data(), u.data()); },
                   [](const V& x) {
                     double s = 0;
                     for (double v : x) s += v * v;
                     return std::fabs(s - 1) < 1e-12;
                   },
                   {}, [](const V& u) {
                     double s = 0;
                     for (double v : u) s += v * v;
                     return -0.5 * s;
                   }};
    // Round trip: the value is u / |u|, and unconstrain gives the point on the sphere.
    check_transform(unit,
                    [K](Draw& d) {
                      V u = random_u(d, K);
                      double s = 0;
                      for (double v : u) s += v * v;
                      for (double& v : u) v /= std::sqrt(s);
                      return u;
                    },
                    8400 + K, 20);
    {
      // Off the sphere: the same direction, and the reverse still matches finite differences.
      Draw d(8450 + K);
      V u = random_u(d, K, 3.0), x(K), w = random_u(d, K, 1.0), g(K, 0.0);
      unit.constrain(u, x);
      CHECK(unit.satisfied(x));
      unit.rev(u, x, w, 0.7, g);
      Fn f = [&unit, &w, K](const V& v) {
        V xv(K);
        double l = unit.constrain(v, xv);
        double s = 0.7 * l;
        for (int i = 0; i < K; ++i) s += w[i] * xv[i];
        return s;
      };
      check_gradient("unit_vector rev", f, u, g, V(K, 0.05));
    }
    Transform stz{"sum_to_zero", K - 1, K,
                  [K](const V& u, V& x) { return halo_sum_to_zero_constrain(K, u.data(), x.data()); },
                  [K](const V& u, const V& x, const V& xa, double la, V& ua) {
                    halo_sum_to_zero_constrain_rev(K, u.data(), x.data(), xa.data(), la, ua.data());
                  },
                  [K](const V& x, V& u) { return halo_sum_to_zero_unconstrain(K, x.data(), u.data()); },
                  [](const V& x) {
                    double s = 0, m = 0;
                    for (double v : x) {
                      s += v;
                      m = std::fmax(m, std::fabs(v));
                    }
                    return std::fabs(s) <= 1e-14 * std::fmax(1.0, m) * x.size();
                  },
                  {}, [](const V&) { return 0.0; }};
    if (K > 1) {
      check_transform(stz, [K](Draw& d) { return random_u(d, K - 1, 3.0); }, 8500 + K);
      // An isometry onto the zero-sum subspace: |x| = |u|, and orthogonal columns.
      Draw d(8550 + K);
      V u = random_u(d, K - 1), x(K);
      stz.constrain(u, x);
      double nu = 0, nx = 0;
      for (double v : u) nu += v * v;
      for (double v : x) nx += v * v;
      CHECK(nx == doctest::Approx(nu).epsilon(1e-13));
    }
  }
  // Out of support.
  V u(3);
  const double not_simplex[3] = {0.5, 0.4, 0.2}, negative[3] = {1.2, -0.1, -0.1};
  CHECK(halo_simplex_unconstrain(3, not_simplex, u.data()) == HALO_TRANSFORM_INVALID);
  CHECK(halo_simplex_unconstrain(3, negative, u.data()) == HALO_TRANSFORM_INVALID);
  const double unordered[3] = {1.0, 3.0, 2.0}, tie[3] = {1.0, 1.0, 2.0}, neg[3] = {-1.0, 1.0, 2.0};
  CHECK(halo_ordered_unconstrain(3, unordered, u.data()) == HALO_TRANSFORM_INVALID);
  CHECK(halo_ordered_unconstrain(3, tie, u.data()) == HALO_TRANSFORM_INVALID);
  CHECK(halo_positive_ordered_unconstrain(3, neg, u.data()) == HALO_TRANSFORM_INVALID);
  const double long_vec[3] = {1.0, 1.0, 0.0}, nonzero_sum[3] = {1.0, -0.5, 0.0};
  CHECK(halo_unit_vector_unconstrain(3, long_vec, u.data()) == HALO_TRANSFORM_INVALID);
  CHECK(halo_sum_to_zero_unconstrain(3, nonzero_sum, u.data()) == HALO_TRANSFORM_INVALID);
}

TEST_CASE("transforms: matrices") {
  for (int K : {1, 2, 3, 4, 5}) {
    const int nc = K * (K - 1) / 2;
    // cholesky_factor_corr: u -> strict lower triangle of L (row-major)
    auto strict_lower = [K](const V& m) {
      V c;
      for (int i = 0; i < K; ++i)
        for (int j = 0; j < i; ++j) c.push_back(m[i + j * K]);
      return c;
    };
    auto corr_factor_ok = [K](const V& L) {
      for (int i = 0; i < K; ++i) {
        double s = 0;
        for (int j = 0; j < K; ++j) {
          if (j > i && L[i + j * K] != 0.0) return false;
          s += L[i + j * K] * L[i + j * K];
        }
        if (!(L[i + i * K] > 0) || std::fabs(s - 1) > 1e-12) return false;
      }
      return true;
    };
    Transform corr_chol{"cholesky_factor_corr", nc, K * K,
                        [K](const V& u, V& x) { return halo_cholesky_factor_corr_constrain(K, u.data(), x.data()); },
                        [K](const V& u, const V& x, const V& xa, double la, V& ua) {
                          halo_cholesky_factor_corr_constrain_rev(K, u.data(), x.data(), xa.data(), la, ua.data());
                        },
                        [K](const V& x, V& u) { return halo_cholesky_factor_corr_unconstrain(K, x.data(), u.data()); },
                        corr_factor_ok, strict_lower, {}};
    if (nc > 0) check_transform(corr_chol, [nc](Draw& d) { return random_u(d, nc, 1.5); }, 8600 + K, 30);
    // corr_matrix: u -> strict lower triangle of Omega
    V work(K * K);
    Transform corr{"corr_matrix", nc, K * K,
                   [K, &work](const V& u, V& x) { return halo_corr_matrix_constrain(K, u.data(), x.data(), work.data()); },
                   [K, &work](const V& u, const V&, const V& xa, double la, V& ua) {
                     halo_corr_matrix_constrain_rev(K, u.data(), xa.data(), la, ua.data(), work.data());
                   },
                   [K, &work](const V& x, V& u) { return halo_corr_matrix_unconstrain(K, x.data(), u.data(), work.data()); },
                   [K](const V& O) {
                     V L(K * K), w(K * K);
                     for (int i = 0; i < K; ++i)
                       for (int j = 0; j < K; ++j)
                         if (O[i + j * K] != O[j + i * K] || (i == j && O[i + i * K] != 1.0)) return false;
                     return halo_cholesky_decompose(K, O.data(), L.data()) == 0;
                   },
                   strict_lower, {}};
    if (nc > 0) check_transform(corr, [nc](Draw& d) { return random_u(d, nc, 1.5); }, 8700 + K, 30);
    // cov_matrix: u -> lower triangle of Sigma including the diagonal
    const int nv = K * (K + 1) / 2;
    auto lower = [K](const V& m) {
      V c;
      for (int i = 0; i < K; ++i)
        for (int j = 0; j <= i; ++j) c.push_back(m[i + j * K]);
      return c;
    };
    Transform cov{"cov_matrix", nv, K * K,
                  [K, &work](const V& u, V& x) { return halo_cov_matrix_constrain(K, u.data(), x.data(), work.data()); },
                  [K, &work](const V& u, const V&, const V& xa, double la, V& ua) {
                    halo_cov_matrix_constrain_rev(K, u.data(), xa.data(), la, ua.data(), work.data());
                  },
                  [K, &work](const V& x, V& u) { return halo_cov_matrix_unconstrain(K, x.data(), u.data(), work.data()); },
                  [K](const V& S) {
                    V L(K * K);
                    for (int i = 0; i < K; ++i)
                      for (int j = 0; j < K; ++j)
                        if (S[i + j * K] != S[j + i * K]) return false;
                    return halo_cholesky_decompose(K, S.data(), L.data()) == 0;
                  },
                  lower, {}};
    check_transform(cov, [nv](Draw& d) { return random_u(d, nv, 1.5); }, 8800 + K, 30);
    // cholesky_factor_cov of an M x K matrix, M >= K: u -> the lower trapezoid (row-major)
    for (int M : {K, K + 2}) {
      const int nf = K * (K + 1) / 2 + (M - K) * K;
      auto trapezoid = [M, K](const V& m) {
        V c;
        for (int i = 0; i < M; ++i)
          for (int j = 0; j <= std::min(i, K - 1); ++j) c.push_back(m[i + j * M]);
        return c;
      };
      Transform chol_cov{"cholesky_factor_cov", nf, M * K,
                         [M, K](const V& u, V& x) { return halo_cholesky_factor_cov_constrain(M, K, u.data(), x.data()); },
                         [M, K](const V& u, const V& x, const V& xa, double la, V& ua) {
                           halo_cholesky_factor_cov_constrain_rev(M, K, u.data(), x.data(), xa.data(), la, ua.data());
                         },
                         [M, K](const V& x, V& u) { return halo_cholesky_factor_cov_unconstrain(M, K, x.data(), u.data()); },
                         [M, K](const V& L) {
                           for (int i = 0; i < M; ++i)
                             for (int j = 0; j < K; ++j) {
                               if (j > i && L[i + j * M] != 0.0) return false;
                               if (j == i && !(L[i + i * M] > 0)) return false;
                             }
                           return true;
                         },
                         trapezoid, {}};
      check_transform(chol_cov, [nf](Draw& d) { return random_u(d, nf, 1.5); }, 8900 + 10 * K + M, 20);
    }
  }
  // Out of support.
  V u(6), work(9);
  const double not_pd[4] = {1.0, 2.0, 2.0, 1.0}, asym[4] = {2.0, 0.5, 0.1, 2.0}, not_unit[4] = {2.0, 0.1, 0.1, 1.0};
  CHECK(halo_cov_matrix_unconstrain(2, not_pd, u.data(), work.data()) == HALO_TRANSFORM_INVALID);
  CHECK(halo_cov_matrix_unconstrain(2, asym, u.data(), work.data()) == HALO_TRANSFORM_INVALID);
  CHECK(halo_corr_matrix_unconstrain(2, not_unit, u.data(), work.data()) == HALO_TRANSFORM_INVALID);
  const double upper_nonzero[4] = {1.0, 0.0, 0.3, 1.0}, neg_diag[4] = {-1.0, 0.0, 0.0, 1.0};
  CHECK(halo_cholesky_factor_cov_unconstrain(2, 2, upper_nonzero, u.data()) == HALO_TRANSFORM_INVALID);
  CHECK(halo_cholesky_factor_cov_unconstrain(2, 2, neg_diag, u.data()) == HALO_TRANSFORM_INVALID);
  const double not_unit_rows[4] = {1.0, 0.5, 0.0, 0.5};
  CHECK(halo_cholesky_factor_corr_unconstrain(2, not_unit_rows, u.data()) == HALO_TRANSFORM_INVALID);
}
