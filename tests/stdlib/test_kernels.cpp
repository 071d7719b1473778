// Container kernels: forward values against direct formulas, and every reverse kernel against
// finite differences of its forward kernel (through a random linear functional of the outputs
// where there are several), with random shapes and values.
#include <algorithm>
#include <numeric>

#include "check.h"

using namespace halo_test;
using V = std::vector<double>;

namespace {

V random_vec(Draw& d, int n, double scale = 1.0) {
  V x(n);
  for (double& v : x) v = d.uniform(-scale, scale);
  return x;
}
// A well-conditioned lower-triangular factor with positive diagonal.
V random_lower(Draw& d, int K) {
  V L(K * K, 0.0);
  for (int j = 0; j < K; ++j)
    for (int i = j; i < K; ++i) L[i + j * K] = i == j ? d.uniform(0.5, 2.0) : d.uniform(-0.5, 0.5);
  return L;
}
V spd(Draw& d, int K) {
  V L = random_lower(d, K), S(K * K);
  halo_multiply_lower_tri_self_transpose(K, K, L.data(), S.data());
  return S;
}
double weighted(const V& out, const V& w) { return std::inner_product(out.begin(), out.end(), w.begin(), 0.0); }
V steps_of(const V& x, double h = 1e-2) {
  V s(x.size());
  for (size_t i = 0; i < x.size(); ++i) s[i] = h * std::fmax(1.0, std::fabs(x[i]));
  return s;
}
// Concatenation helpers for functions of several arrays.
V cat(std::initializer_list<V> parts) {
  V r;
  for (const V& p : parts) r.insert(r.end(), p.begin(), p.end());
  return r;
}

}  // namespace

TEST_CASE("kernels: reductions and normalisers") {
  Draw d(7000);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = static_cast<int>(d.integer(1, 12));
    V x = random_vec(d, n, 5.0), w = random_vec(d, n);
    // log_sum_exp
    double lse = halo_log_sum_exp_vec(n, x.data());
    double m = *std::max_element(x.begin(), x.end()), s = 0;
    for (double v : x) s += std::exp(v - m);
    CHECK(lse == doctest::Approx(m + std::log(s)).epsilon(1e-14));
    V g(n, 0.0);
    halo_log_sum_exp_vec_rev(n, x.data(), lse, 1.0, g.data());
    check_gradient("log_sum_exp_vec", [n](const V& v) { return halo_log_sum_exp_vec(n, v.data()); }, x, g, steps_of(x));
    // softmax / log_softmax through w . out
    V out(n), adj(n, 0.0);
    halo_softmax(n, x.data(), out.data());
    CHECK(std::accumulate(out.begin(), out.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-14));
    halo_softmax_rev(n, out.data(), w.data(), adj.data());
    check_gradient("softmax", [n, &w](const V& v) { V o(n); halo_softmax(n, v.data(), o.data()); return weighted(o, w); },
                   x, adj, steps_of(x));
    std::fill(adj.begin(), adj.end(), 0.0);
    halo_log_softmax(n, x.data(), out.data());
    CHECK(out[0] == doctest::Approx(x[0] - lse).epsilon(1e-13));
    halo_log_softmax_rev(n, out.data(), w.data(), adj.data());
    check_gradient("log_softmax",
                   [n, &w](const V& v) { V o(n); halo_log_softmax(n, v.data(), o.data()); return weighted(o, w); }, x, adj,
                   steps_of(x));
    // dot product, variance, sd
    V y = random_vec(d, n, 3.0), gx(n, 0.0), gy(n, 0.0);
    CHECK(halo_dot_product(n, x.data(), y.data()) == doctest::Approx(weighted(x, y)).epsilon(1e-13));
    halo_dot_product_rev(n, x.data(), y.data(), 1.5, gx.data(), gy.data());
    check_gradient("dot_product", [n](const V& v) { return 1.5 * halo_dot_product(n, v.data(), v.data() + n); },
                   cat({x, y}), cat({gx, gy}), steps_of(cat({x, y})));
    if (n >= 2) {
      double var = halo_variance(n, x.data()), mean = std::accumulate(x.begin(), x.end(), 0.0) / n, ss = 0;
      for (double v : x) ss += (v - mean) * (v - mean);
      CHECK(var == doctest::Approx(ss / (n - 1)).epsilon(1e-13));
      V gv(n, 0.0), gs(n, 0.0);
      halo_variance_rev(n, x.data(), var, 1.0, gv.data());
      check_gradient("variance", [n](const V& v) { return halo_variance(n, v.data()); }, x, gv, steps_of(x));
      const double sd = halo_sd(n, x.data());
      halo_sd_rev(n, x.data(), sd, 1.0, gs.data());
      check_gradient("sd", [n](const V& v) { return halo_sd(n, v.data()); }, x, gs, steps_of(x));
    } else {  // one element: 0, and no gradient (Stan's convention)
      V gv(1, 0.0), gs(1, 0.0);
      CHECK(halo_variance(1, x.data()) == 0.0);
      CHECK(halo_sd(1, x.data()) == 0.0);
      halo_variance_rev(1, x.data(), 0.0, 1.0, gv.data());
      halo_sd_rev(1, x.data(), 0.0, 1.0, gs.data());
      CHECK(gv[0] == 0.0);
      CHECK(gs[0] == 0.0);
    }
    // cumulative sum
    V cs(n), gc(n, 0.0);
    halo_cumulative_sum(n, x.data(), cs.data());
    CHECK(cs[n - 1] == doctest::Approx(std::accumulate(x.begin(), x.end(), 0.0)).epsilon(1e-13));
    halo_cumulative_sum_rev(n, w.data(), gc.data());
    check_gradient("cumulative_sum",
                   [n, &w](const V& v) { V o(n); halo_cumulative_sum(n, v.data(), o.data()); return weighted(o, w); }, x,
                   gc, steps_of(x));
    // log_mix with a weight vector
    V theta(n), lambda = random_vec(d, n, 20.0);
    double tsum = 0;
    for (double& t : theta) tsum += t = d.uniform(0.05, 1.0);
    for (double& t : theta) t /= tsum;
    const double lm = halo_log_mix_vec(n, theta.data(), lambda.data());
    double ref = 0, mx = -kInf;
    for (int k = 0; k < n; ++k) mx = std::fmax(mx, std::log(theta[k]) + lambda[k]);
    for (int k = 0; k < n; ++k) ref += std::exp(std::log(theta[k]) + lambda[k] - mx);
    CHECK(lm == doctest::Approx(mx + std::log(ref)).epsilon(1e-13));
    V gt(n, 0.0), gl(n, 0.0);
    halo_log_mix_vec_rev(n, theta.data(), lambda.data(), lm, 1.0, gt.data(), gl.data());
    check_gradient("log_mix_vec", [n](const V& v) { return halo_log_mix_vec(n, v.data(), v.data() + n); },
                   cat({theta, lambda}), cat({gt, gl}), cat({V(n, 0.01 / n), steps_of(lambda)}));
  }
  // Extremes: large and infinite entries.
  const double big[3] = {1000.0, 1000.0, -kInf};
  CHECK(halo_log_sum_exp_vec(3, big) == doctest::Approx(1000.0 + std::log(2.0)));
  const double all_neg_inf[2] = {-kInf, -kInf};
  CHECK(halo_log_sum_exp_vec(2, all_neg_inf) == -kInf);
  CHECK(halo_log_sum_exp_vec(0, nullptr) == -kInf);
  // Two terms (the straight-line path): one -inf, a tie, +inf, NaN; the reverse's weights.
  const double one_neg_inf[2] = {-kInf, 3.0}, tie[2] = {1.0, 1.0}, pos_inf[2] = {2.0, kInf}, nan2[2] = {kNaN, 1.0};
  CHECK(halo_log_sum_exp_vec(2, one_neg_inf) == 3.0);
  CHECK(halo_log_sum_exp_vec(2, tie) == doctest::Approx(1.0 + std::log(2.0)).epsilon(1e-15));
  CHECK(halo_log_sum_exp_vec(2, pos_inf) == kInf);
  CHECK(std::isnan(halo_log_sum_exp_vec(2, nan2)));
  double w2[2] = {0.0, 0.0};
  halo_log_sum_exp_vec_rev(2, one_neg_inf, 3.0, 2.0, w2);
  CHECK(w2[0] == 0.0);
  CHECK(w2[1] == 2.0);
  double wt[2] = {0.0, 0.0};
  halo_log_sum_exp_vec_rev(2, tie, 1.0 + std::log(2.0), 1.0, wt);
  CHECK(wt[0] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(wt[1] == doctest::Approx(0.5).epsilon(1e-15));
  double sm[3];
  halo_softmax(3, big, sm);
  CHECK(sm[0] == doctest::Approx(0.5));
  CHECK(sm[2] == 0.0);
}

TEST_CASE("kernels: sorting") {
  Draw d(7100);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = static_cast<int>(d.integer(1, 15));
    V x = random_vec(d, n, 10.0);
    if (n > 3) x[2] = x[1];  // a tie: indices stay in input order
    V asc(n), desc(n);
    std::vector<int64_t> ia(n), id(n);
    halo_sort_asc(n, x.data(), asc.data());
    halo_sort_desc(n, x.data(), desc.data());
    halo_sort_indices_asc(n, x.data(), ia.data());
    halo_sort_indices_desc(n, x.data(), id.data());
    V ref = x;
    std::sort(ref.begin(), ref.end());
    for (int i = 0; i < n; ++i) {
      CHECK(asc[i] == ref[i]);
      CHECK(desc[i] == ref[n - 1 - i]);
      CHECK(x[ia[i] - 1] == asc[i]);
      CHECK(x[id[i] - 1] == desc[i]);
      if (i > 0 && asc[i] == asc[i - 1]) CHECK(ia[i] > ia[i - 1]);
      if (i > 0 && desc[i] == desc[i - 1]) CHECK(id[i] > id[i - 1]);
    }
    // The adjoint of a sort is the inverse permutation of the output adjoint.
    V w = random_vec(d, n), g(n, 0.0);
    halo_sort_rev(n, ia.data(), w.data(), g.data());
    for (int i = 0; i < n; ++i) CHECK(g[ia[i] - 1] == w[i]);
  }
  const double with_nan[4] = {3.0, kNaN, -1.0, 2.0};
  double out[4];
  halo_sort_asc(4, with_nan, out);
  CHECK(out[0] == -1.0);
  CHECK(std::isnan(out[3]));
  halo_sort_desc(4, with_nan, out);
  CHECK(std::isnan(out[0]));
  CHECK(out[1] == 3.0);
}

TEST_CASE("kernels: container distributions") {
  Draw d(7200);
  for (int trial = 0; trial < 25; ++trial) {
    const int K = static_cast<int>(d.integer(1, 6));
    // categorical_logit
    V beta = random_vec(d, K, 10.0), gb(K, 0.0);
    const int64_t y = d.integer(1, K);
    const double lp = halo_categorical_logit_lpmf(y, K, beta.data(), 0);
    CHECK(lp == doctest::Approx(beta[y - 1] - halo_log_sum_exp_vec(K, beta.data())).epsilon(1e-13));
    halo_categorical_logit_lpmf_rev(y, K, beta.data(), 0, 2.0, gb.data());
    check_gradient("categorical_logit", [K, y](const V& v) { return 2.0 * halo_categorical_logit_lpmf(y, K, v.data(), 0); },
                   beta, gb, steps_of(beta));
    CHECK(halo_categorical_logit_lpmf(K + 1, K, beta.data(), 0) == -kInf);
    CHECK(halo_categorical_logit_lpmf(y, K, beta.data(), HALO_PROPTO) == 0.0);
    // categorical on a simplex; the derivative along directions within the simplex.
    V theta(K);
    halo_softmax(K, beta.data(), theta.data());
    CHECK(halo_categorical_lpmf(y, K, theta.data(), 0) == doctest::Approx(std::log(theta[y - 1])).epsilon(1e-14));
    V gt(K, 0.0);
    halo_categorical_lpmf_rev(y, K, theta.data(), 0, 1.0, gt.data());
    CHECK(gt[y - 1] == doctest::Approx(1.0 / theta[y - 1]));
    V bad = theta;
    bad[0] += 0.01;
    CHECK(std::isnan(halo_categorical_lpmf(y, K, bad.data(), 0)));
    // dirichlet: alpha by finite differences, theta along simplex directions e_i - e_j.
    V alpha(K);
    for (double& a : alpha) a = d.positive(0.05, 20.0);
    const double dl = halo_dirichlet_lpdf(K, theta.data(), alpha.data(), 0);
    double a0 = std::accumulate(alpha.begin(), alpha.end(), 0.0), ref = std::lgamma(a0);
    for (int k = 0; k < K; ++k) ref += -std::lgamma(alpha[k]) + (alpha[k] - 1) * std::log(theta[k]);
    CHECK(dl == doctest::Approx(ref).epsilon(1e-12));
    V gth(K, 0.0), gal(K, 0.0);
    halo_dirichlet_lpdf_rev(K, theta.data(), alpha.data(), 0, 1.0, gth.data(), gal.data());
    check_gradient("dirichlet alpha", [K, &theta](const V& v) { return halo_dirichlet_lpdf(K, theta.data(), v.data(), 0); },
                   alpha, gal, steps_of(alpha, 1e-3));
    if (K >= 2) {
      const int i = 0, j = K - 1;
      auto along = [&](const V& t) {
        V th = theta;
        th[i] += t[0];
        th[j] -= t[0];
        return halo_dirichlet_lpdf(K, th.data(), alpha.data(), 0);
      };
      const double h = 0.2 * std::fmin(theta[i], theta[j]);
      check_gradient("dirichlet theta (tangent)", along, V{0.0}, V{gth[i] - gth[j]}, V{h});
    }
    // propto: with only theta varying, the lgamma terms go.
    const double dl_propto = halo_dirichlet_lpdf(K, theta.data(), alpha.data(), HALO_PROPTO | HALO_VARY(0));
    double terms = 0;
    for (int k = 0; k < K; ++k) terms += (alpha[k] - 1) * std::log(theta[k]);
    CHECK(dl_propto == doctest::Approx(terms).epsilon(1e-12));
  }
}

TEST_CASE("kernels: multivariate normal and LKJ") {
  Draw d(7300);
  for (int trial = 0; trial < 20; ++trial) {
    const int K = static_cast<int>(d.integer(1, 5));
    V L = random_lower(d, K), mu = random_vec(d, K, 3.0), y = random_vec(d, K, 3.0);
    V work(2 * K * K + 2 * K);
    // Reference: -K/2 log 2pi - sum log L_ii - |L^-1 (y - mu)|^2 / 2.
    V z(K);
    for (int i = 0; i < K; ++i) z[i] = y[i] - mu[i];
    halo_mdivide_left_tri_low(K, 1, L.data(), z.data(), z.data());
    double ref = -0.5 * K * std::log(2 * M_PI) - 0.5 * std::inner_product(z.begin(), z.end(), z.begin(), 0.0);
    for (int i = 0; i < K; ++i) ref -= std::log(L[i + i * K]);
    const double lp = halo_multi_normal_cholesky_lpdf(K, y.data(), mu.data(), L.data(), 0, work.data());
    CHECK(lp == doctest::Approx(ref).epsilon(1e-13));
    V gy(K, 0.0), gm(K, 0.0), gL(K * K, 0.0);
    halo_multi_normal_cholesky_lpdf_rev(K, y.data(), mu.data(), L.data(), 0, 1.0, gy.data(), gm.data(), gL.data(),
                                        work.data());
    auto f_chol = [K](const V& v) {
      V w(2 * K * K + 2 * K);
      return halo_multi_normal_cholesky_lpdf(K, v.data(), v.data() + K, v.data() + 2 * K, 0, w.data());
    };
    V all = cat({y, mu, L}), steps = steps_of(all, 1e-3);
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) steps[2 * K + i + j * K] = 0;  // upper triangle: not read
    check_gradient("multi_normal_cholesky", f_chol, all, cat({gy, gm, gL}), steps);
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) CHECK(gL[i + j * K] == 0.0);
    // multi_normal through Sigma = L L^T, the same density.
    V S(K * K);
    halo_multiply_lower_tri_self_transpose(K, K, L.data(), S.data());
    const double lp2 = halo_multi_normal_lpdf(K, y.data(), mu.data(), S.data(), 0, work.data());
    CHECK(lp2 == doctest::Approx(ref).epsilon(1e-12));
    V gy2(K, 0.0), gm2(K, 0.0), gS(K * K, 0.0);
    halo_multi_normal_lpdf_rev(K, y.data(), mu.data(), S.data(), 0, 1.0, gy2.data(), gm2.data(), gS.data(), work.data());
    auto f_mn = [K](const V& v) {
      V w(2 * K * K + 2 * K);
      return halo_multi_normal_lpdf(K, v.data(), v.data() + K, v.data() + 2 * K, 0, w.data());
    };
    V all2 = cat({y, mu, S}), steps2 = steps_of(all2, 1e-3);
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) steps2[2 * K + i + j * K] = 0;
    check_gradient("multi_normal", f_mn, all2, cat({gy2, gm2, gS}), steps2);
    // Propto drops the constant only; with only y varying also -1/2 log det.
    CHECK(halo_multi_normal_lpdf(K, y.data(), mu.data(), S.data(), HALO_PROPTO | HALO_VARY(2), work.data()) ==
          doctest::Approx(ref + 0.5 * K * std::log(2 * M_PI)).epsilon(1e-12));
    // LKJ on a random correlation factor.
    V Lc(K * K), u(K * (K - 1) / 2);
    for (double& v : u) v = d.uniform(-1.5, 1.5);
    halo_cholesky_factor_corr_constrain(K, u.data(), Lc.data());
    const double eta = d.positive(0.2, 20.0);
    const double lk = halo_lkj_corr_cholesky_lpdf(K, Lc.data(), eta, 0);
    CHECK(std::isfinite(lk));
    V gLc(K * K, 0.0);
    double geta = 0.0;
    halo_lkj_corr_cholesky_lpdf_rev(K, Lc.data(), eta, 0, 1.0, gLc.data(), &geta);
    auto f_lkj = [K](const V& v) { return halo_lkj_corr_cholesky_lpdf(K, v.data(), v[K * K], 0); };
    V all3 = Lc;
    all3.push_back(eta);
    V steps3(K * K + 1, 0.0);
    for (int i = 0; i < K; ++i) steps3[i + i * K] = 0.05 * Lc[i + i * K];
    steps3[K * K] = step_for(eta, 0.0);
    V g3 = gLc;
    g3.push_back(geta);
    check_gradient("lkj_corr_cholesky", f_lkj, all3, g3, steps3);
  }
  // The LKJ normalising constant: K = 2 integrates to one over the correlation r.
  for (double eta : {0.5, 1.0, 3.0}) {
    const int n = 200000;
    double total = 0;
    for (int i = 0; i < n; ++i) {
      // midpoint rule in t with r = sin(t) (smooths the endpoint behaviour); dr = cos t dt
      const double t = -M_PI / 2 + (i + 0.5) * M_PI / n, r = std::sin(t);
      const double L2[4] = {1.0, r, 0.0, std::sqrt(1 - r * r)};
      total += std::exp(halo_lkj_corr_cholesky_lpdf(2, L2, eta, 0)) * std::cos(t) * M_PI / n;
    }
    CHECK(total == doctest::Approx(1.0).epsilon(eta < 1 ? 1e-3 : 1e-8));
  }
  // At eta = 1 the general constant equals Stan's closed form (do_lkj_constant, eta == 1).
  for (int K : {2, 3, 4, 5, 6, 7}) {
    const int km1 = K - 1;
    double c = 0;
    for (int k = 1; k <= km1 / 2; ++k) c -= std::lgamma(2.0 * k);
    if (K % 2 == 1)
      c -= 0.25 * (K * K - 1) * std::log(M_PI) - 0.25 * (km1 * km1) * std::log(2.0) - km1 * std::lgamma(0.5 * (K + 1));
    else
      c -= 0.25 * K * (K - 2) * std::log(M_PI) + 0.25 * (3 * K * K - 4 * K) * std::log(2.0) + K * std::lgamma(0.5 * K) -
           km1 * std::lgamma(static_cast<double>(K));
    V I(K * K, 0.0);
    for (int i = 0; i < K; ++i) I[i + i * K] = 1.0;
    CHECK(halo_lkj_corr_cholesky_lpdf(K, I.data(), 1.0, 0) == doctest::Approx(c).epsilon(1e-12));
  }
}

TEST_CASE("kernels: normal mixture") {
  Draw d(7400);
  for (int trial = 0; trial < 40; ++trial) {
    const int K = static_cast<int>(d.integer(1, 6));
    const int64_t stride = d.chance(0.5) ? 1 : 3;
    V logits(K * stride, 0.0), mu(K * stride, 0.0), sigma(K * stride, 1.0);
    for (int k = 0; k < K; ++k) {
      logits[k * stride] = d.uniform(-5, 5);
      mu[k * stride] = d.uniform(-5, 5);
      sigma[k * stride] = d.positive(0.05, 5);
    }
    const double y = d.real(5, 100);
    const double lp = halo_normal_mixture_lpdf(y, K, logits.data(), mu.data(), sigma.data(), stride, 0);
    // Reference: log sum_k softmax(w)_k N(y | mu_k, sigma_k).
    V w(K), comp(K);
    for (int k = 0; k < K; ++k) w[k] = logits[k * stride];
    const double lw = halo_log_sum_exp_vec(K, w.data());
    double dd[3];
    for (int k = 0; k < K; ++k) comp[k] = w[k] - lw + halo_normal_lpdf(y, mu[k * stride], sigma[k * stride], 0, dd);
    CHECK(lp == doctest::Approx(halo_log_sum_exp_vec(K, comp.data())).epsilon(1e-12));
    // Partials of y, logits, mu and sigma (strided) by finite differences.
    V x = {y};
    for (int k = 0; k < K; ++k) x.insert(x.end(), {logits[k * stride], mu[k * stride], sigma[k * stride]});
    auto f = [K, stride](const V& v) {
      V lo(K * stride, 0.0), m(K * stride, 0.0), s(K * stride, 1.0);
      for (int k = 0; k < K; ++k) {
        lo[k * stride] = v[1 + 3 * k];
        m[k * stride] = v[2 + 3 * k];
        s[k * stride] = v[3 + 3 * k];
      }
      return halo_normal_mixture_lpdf(v[0], K, lo.data(), m.data(), s.data(), stride, 0);
    };
    double gy = 0;
    V gl(K * stride, 0.0), gm(K * stride, 0.0), gs(K * stride, 0.0);
    halo_normal_mixture_lpdf_rev(y, K, logits.data(), mu.data(), sigma.data(), stride, 0, 1.0, &gy, gl.data(),
                                 gm.data(), gs.data());
    V g = {gy};
    for (int k = 0; k < K; ++k) g.insert(g.end(), {gl[k * stride], gm[k * stride], gs[k * stride]});
    V steps(x.size());
    for (size_t i = 0; i < x.size(); ++i) steps[i] = 1e-2;
    for (int k = 0; k < K; ++k) steps[3 + 3 * k] = 0.05 * sigma[k * stride];
    double smin = 1e300;
    for (int k = 0; k < K; ++k) smin = std::fmin(smin, sigma[k * stride]);
    steps[0] = 0.05 * smin;
    for (int k = 0; k < K; ++k) steps[2 + 3 * k] = 0.05 * sigma[k * stride];
    check_gradient("normal_mixture", f, x, g, steps);
    // Only the slots of the layout are touched.
    for (size_t i = 0; i < gl.size(); ++i)
      if (i % stride != 0) CHECK(gl[i] == 0.0);
    CHECK(halo_normal_mixture_lpdf(y, K, logits.data(), mu.data(), sigma.data(), stride, HALO_PROPTO) ==
          doctest::Approx(lp + 0.5 * std::log(2 * M_PI)).epsilon(1e-12));
  }
}

TEST_CASE("kernels: matrix products") {
  Draw d(7500);
  for (int trial = 0; trial < 30; ++trial) {
    const int m = static_cast<int>(d.integer(1, 20)), n = static_cast<int>(d.integer(1, 20)),
              k = static_cast<int>(d.integer(1, 20));
    const int ta = static_cast<int>(d.integer(0, 1)), tb = static_cast<int>(d.integer(0, 1));
    const double alpha = d.uniform(-2, 2), beta = trial % 3 == 0 ? 0.0 : d.uniform(-2, 2);
    V A = random_vec(d, m * k), B = random_vec(d, k * n), C = random_vec(d, m * n), C0 = C;
    halo_gemm(ta, tb, m, n, k, alpha, A.data(), B.data(), beta, C.data());
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = 0;
        for (int p = 0; p < k; ++p) s += (ta ? A[p + i * k] : A[i + p * m]) * (tb ? B[j + p * n] : B[p + j * k]);
        CHECK(C[i + j * m] == doctest::Approx(alpha * s + beta * C0[i + j * m]).epsilon(1e-12));
      }
    V W = random_vec(d, m * n), gA(m * k, 0.0), gB(k * n, 0.0);
    halo_gemm_rev(ta, tb, m, n, k, alpha, A.data(), B.data(), W.data(), gA.data(), gB.data());
    auto f = [=, &W](const V& v) {
      V c(m * n, 0.0);
      halo_gemm(ta, tb, m, n, k, alpha, v.data(), v.data() + m * k, 0.0, c.data());
      return weighted(c, W);
    };
    V all = cat({A, B});
    check_gradient("gemm", f, all, cat({gA, gB}), V(all.size(), 0.1));
    // gemv both ways
    const int rows = m, cols = n, t = static_cast<int>(d.integer(0, 1));
    V M = random_vec(d, rows * cols), x = random_vec(d, t ? rows : cols), y = random_vec(d, t ? cols : rows), y0 = y;
    halo_gemv(t, rows, cols, alpha, M.data(), x.data(), beta, y.data());
    for (int i = 0; i < (t ? cols : rows); ++i) {
      double s = 0;
      for (int j = 0; j < (t ? rows : cols); ++j) s += (t ? M[j + i * rows] : M[i + j * rows]) * x[j];
      CHECK(y[i] == doctest::Approx(alpha * s + beta * y0[i]).epsilon(1e-12));
    }
    V wy = random_vec(d, t ? cols : rows), gM(rows * cols, 0.0), gx(x.size(), 0.0);
    halo_gemv_rev(t, rows, cols, alpha, M.data(), x.data(), wy.data(), gM.data(), gx.data());
    auto fv = [=, &wy](const V& v) {
      V o(t ? cols : rows, 0.0);
      halo_gemv(t, rows, cols, alpha, v.data(), v.data() + rows * cols, 0.0, o.data());
      return weighted(o, wy);
    };
    V allv = cat({M, x});
    check_gradient("gemv", fv, allv, cat({gM, gx}), V(allv.size(), 0.1));
  }
  // Larger shapes exercise the blocking (several KC and MC blocks, partial panels).
  for (auto shape : {std::array<int, 3>{131, 70, 300}, std::array<int, 3>{64, 6, 128}, std::array<int, 3>{9, 13, 257}}) {
    const int m = shape[0], n = shape[1], k = shape[2];
    V A = random_vec(d, m * k), B = random_vec(d, k * n), C(m * n, kNaN);
    halo_gemm(0, 1, m, n, k, 1.0, A.data(), B.data(), 0.0, C.data());  // beta = 0 ignores NaN in C
    double max_err = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = 0;
        for (int p = 0; p < k; ++p) s += A[i + p * m] * B[j + p * n];
        max_err = std::fmax(max_err, std::fabs(C[i + j * m] - s));
      }
    CHECK(max_err < 1e-12);
  }
  // Every path of halo_gemm, by shape: the unpacked tiles (8-row tiles of 4, 2 and 1 columns,
  // the overlapping last tile, fewer than 8 rows), outer products (k = 1), the dot products of
  // A' B (2 x 2 blocks, odd m, n, k), and the packed panels; with beta 0 (NaN in C ignored), 1
  // and another value.
  for (auto shape : {std::array<int, 3>{100, 10, 5}, std::array<int, 3>{100, 5, 10}, std::array<int, 3>{13, 7, 3},
                     std::array<int, 3>{1, 9, 33}, std::array<int, 3>{31, 1, 17}, std::array<int, 3>{70, 70, 70},
                     std::array<int, 3>{67, 65, 66}, std::array<int, 3>{5, 11, 130}, std::array<int, 3>{100, 10, 1},
                     std::array<int, 3>{3, 6, 1}}) {
    const int m = shape[0], n = shape[1], k = shape[2];
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (double beta : {0.0, 1.0, -0.5}) {
          V A = random_vec(d, m * k), B = random_vec(d, k * n), C = random_vec(d, m * n), C0 = C;
          if (beta == 0.0) C.assign(C.size(), kNaN);
          halo_gemm(ta, tb, m, n, k, 1.5, A.data(), B.data(), beta, C.data());
          double max_err = 0;
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
              double s = 0;
              for (int p = 0; p < k; ++p) s += (ta ? A[p + i * k] : A[i + p * m]) * (tb ? B[j + p * n] : B[p + j * k]);
              const double want = 1.5 * s + (beta == 0.0 ? 0.0 : beta * C0[i + j * m]);
              max_err = std::fmax(max_err, std::fabs(C[i + j * m] - want));
            }
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(beta);
          CHECK(max_err < 1e-12);
        }
  }
}

// The Cholesky factorisation's column updates run four rows per vector and 64 earlier columns
// per block: sizes that leave remainders in both, and more than one block.
TEST_CASE("kernels: cholesky_decompose of larger matrices (vector rows, blocks of columns)") {
  Draw d(7601);
  for (int K : {5, 9, 11, 64, 65, 150}) {
    V Lt = random_lower(d, K), A(K * K), L(K * K), LLt(K * K);
    halo_multiply_lower_tri_self_transpose(K, K, Lt.data(), A.data());
    REQUIRE(halo_cholesky_decompose(K, A.data(), L.data()) == 0);
    halo_multiply_lower_tri_self_transpose(K, K, L.data(), LLt.data());
    double scale = 0.0, err = 0.0, upper = 0.0;
    for (int i = 0; i < K * K; ++i) scale = std::fmax(scale, std::fabs(A[i]));
    for (int i = 0; i < K * K; ++i) err = std::fmax(err, std::fabs(LLt[i] - A[i]));
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) upper = std::fmax(upper, std::fabs(L[i + j * K]));
    CAPTURE(K);
    CHECK(err <= 1e-13 * scale * K);
    CHECK(upper == 0.0);
    // A pivot that is not positive half way through fails, leaving NaN.
    V B = A;
    const int m = K / 2;
    for (int i = 0; i < K; ++i) B[i + m * K] = B[m + i * K] = i == m ? -1.0 : 0.0;
    CHECK(halo_cholesky_decompose(K, B.data(), L.data()) == 1);
    CHECK(std::isnan(L[0]));
  }
}

TEST_CASE("kernels: factorisations, solves and determinants") {
  Draw d(7600);
  for (int trial = 0; trial < 25; ++trial) {
    const int K = static_cast<int>(d.integer(1, 7)), n = static_cast<int>(d.integer(1, 4));
    V A = spd(d, K), L(K * K), work(2 * K * K + 2 * K);
    REQUIRE(halo_cholesky_decompose(K, A.data(), L.data()) == 0);
    V LLt(K * K);
    halo_multiply_lower_tri_self_transpose(K, K, L.data(), LLt.data());
    for (int i = 0; i < K * K; ++i) CHECK(LLt[i] == doctest::Approx(A[i]).epsilon(1e-12));
    // Cholesky reverse: through W . L, over the lower triangle of A (the only part read).
    V W = random_vec(d, K * K), gA(K * K, 0.0);
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) W[i + j * K] = 0;
    halo_cholesky_decompose_rev(K, L.data(), W.data(), gA.data(), work.data());
    auto f_chol = [K, &W](const V& a) {
      V l(K * K);
      halo_cholesky_decompose(K, a.data(), l.data());
      return weighted(l, W);
    };
    V steps = steps_of(A, 1e-3);
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) steps[i + j * K] = 0;
    check_gradient("cholesky_decompose", f_chol, A, gA, steps);
    // Triangular solves.
    V B = random_vec(d, K * n), X(K * n), WX = random_vec(d, K * n), gL(K * K, 0.0), gB(K * n, 0.0);
    halo_mdivide_left_tri_low(K, n, L.data(), B.data(), X.data());
    V LX(K * n, 0.0);
    halo_gemm(0, 0, K, n, K, 1.0, L.data(), X.data(), 0.0, LX.data());
    for (int i = 0; i < K * n; ++i) CHECK(LX[i] == doctest::Approx(B[i]).epsilon(1e-11));
    halo_mdivide_left_tri_low_rev(K, n, L.data(), X.data(), WX.data(), gL.data(), gB.data(), work.data());
    auto f_left = [K, n, &WX](const V& v) {
      V x(K * n);
      halo_mdivide_left_tri_low(K, n, v.data(), v.data() + K * K, x.data());
      return weighted(x, WX);
    };
    V lb = cat({L, B}), steps_lb = steps_of(lb, 1e-3);
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) steps_lb[i + j * K] = 0;
    check_gradient("mdivide_left_tri_low", f_left, lb, cat({gL, gB}), steps_lb);
    V Br = random_vec(d, n * K), Xr(n * K), WXr = random_vec(d, n * K), gLr(K * K, 0.0), gBr(n * K, 0.0);
    halo_mdivide_right_tri_low(n, K, Br.data(), L.data(), Xr.data());
    V XL(n * K, 0.0);
    halo_gemm(0, 0, n, K, K, 1.0, Xr.data(), L.data(), 0.0, XL.data());
    for (int i = 0; i < n * K; ++i) CHECK(XL[i] == doctest::Approx(Br[i]).epsilon(1e-11));
    halo_mdivide_right_tri_low_rev(n, K, L.data(), Xr.data(), WXr.data(), gLr.data(), gBr.data(), work.data());
    auto f_right = [K, n, &WXr](const V& v) {
      V x(n * K);
      halo_mdivide_right_tri_low(n, K, v.data() + K * K, v.data(), x.data());
      return weighted(x, WXr);
    };
    V lbr = cat({L, Br}), steps_lbr = steps_of(lbr, 1e-3);
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < j; ++i) steps_lbr[i + j * K] = 0;
    check_gradient("mdivide_right_tri_low", f_right, lbr, cat({gLr, gBr}), steps_lbr);
    // General matrix: log|det|, det, inverse.
    V G = random_vec(d, K * K, 2.0);
    for (int i = 0; i < K; ++i) G[i + i * K] += d.sign() * 3.0;
    const double ld = halo_log_determinant(K, G.data(), work.data());
    const double det = halo_determinant(K, G.data(), work.data());
    CHECK(std::fabs(det) == doctest::Approx(std::exp(ld)).epsilon(1e-12));
    V gG(K * K, 0.0), gD(K * K, 0.0);
    halo_log_determinant_rev(K, G.data(), 1.0, gG.data(), work.data());
    check_gradient("log_determinant", [K](const V& v) { V w(2 * K * K + K); return halo_log_determinant(K, v.data(), w.data()); },
                   G, gG, steps_of(G, 1e-3));
    halo_determinant_rev(K, G.data(), det, 1.0, gD.data(), work.data());
    check_gradient("determinant", [K](const V& v) { V w(2 * K * K + K); return halo_determinant(K, v.data(), w.data()); }, G,
                   gD, steps_of(G, 1e-3));
    V inv(K * K), I(K * K, 0.0), Winv = random_vec(d, K * K), gI(K * K, 0.0);
    REQUIRE(halo_inverse(K, G.data(), inv.data(), work.data()) == 0);
    halo_gemm(0, 0, K, K, K, 1.0, G.data(), inv.data(), 0.0, I.data());
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < K; ++i) CHECK(I[i + j * K] == doctest::Approx(i == j ? 1.0 : 0.0).epsilon(1e-11).scale(1.0));
    halo_inverse_rev(K, inv.data(), Winv.data(), gI.data(), work.data());
    check_gradient("inverse",
                   [K, &Winv](const V& v) {
                     V o(K * K), w(K * K + K);
                     halo_inverse(K, v.data(), o.data(), w.data());
                     return weighted(o, Winv);
                   },
                   G, gI, steps_of(G, 1e-3));
    // General solve by LU: A X = B, and its gradient in A and B.
    const int nb = static_cast<int>(d.integer(1, 3));
    V Bg = random_vec(d, K * nb), Xs(K * nb), R(K * nb), Wx = random_vec(d, K * nb);
    V solve_work(K * K + K + K * nb);
    REQUIRE(halo_mdivide_left(K, nb, G.data(), Bg.data(), Xs.data(), solve_work.data()) == 0);
    halo_gemm(0, 0, K, nb, K, 1.0, G.data(), Xs.data(), 0.0, R.data());
    for (int i = 0; i < K * nb; ++i) CHECK(R[i] == doctest::Approx(Bg[i]).epsilon(1e-11).scale(1.0));
    V gGs(K * K, 0.0), gBs(K * nb, 0.0);
    halo_mdivide_left_rev(K, nb, G.data(), Xs.data(), Wx.data(), gGs.data(), gBs.data(), solve_work.data());
    auto solved = [K, nb, &Wx](const V& a, const V& b) {
      V o(K * nb), w(K * K + K);
      halo_mdivide_left(K, nb, a.data(), b.data(), o.data(), w.data());
      return weighted(o, Wx);
    };
    check_gradient("mdivide_left (A)", [&](const V& v) { return solved(v, Bg); }, G, gGs, steps_of(G, 1e-3));
    check_gradient("mdivide_left (B)", [&](const V& v) { return solved(G, v); }, Bg, gBs, steps_of(Bg, 1e-3));
    // SPD log determinant over the lower triangle.
    const double lds = halo_log_determinant_spd(K, A.data(), work.data());
    CHECK(lds == doctest::Approx(halo_log_determinant(K, A.data(), work.data())).epsilon(1e-12));
    V gS(K * K, 0.0);
    halo_log_determinant_spd_rev(K, A.data(), 1.0, gS.data(), work.data());
    check_gradient("log_determinant_spd",
                   [K](const V& v) { V w(2 * K * K); return halo_log_determinant_spd(K, v.data(), w.data()); }, A, gS,
                   steps);
    // Not positive definite / singular.
    V N(K * K, 0.0);
    CHECK(halo_cholesky_decompose(K, N.data(), L.data()) == 1);
    CHECK(std::isnan(L[0]));
    CHECK(halo_log_determinant(K, N.data(), work.data()) == -kInf);
    CHECK(halo_inverse(K, N.data(), inv.data(), work.data()) == 1);
    CHECK(halo_mdivide_left(K, nb, N.data(), Bg.data(), Xs.data(), solve_work.data()) == 1);
    CHECK(std::isnan(Xs[0]));
  }
}

// An LU solve keeps the residual at rounding level where an explicit inverse does not: the
// 10 x 10 Hilbert matrix (condition number ~1.6e13).
TEST_CASE("kernels: mdivide_left solves an ill-conditioned system without forming the inverse") {
  const int K = 10;
  V H(K * K), x_true(K), b(K, 0.0), x(K), work(K * K + K + K);
  for (int j = 0; j < K; ++j)
    for (int i = 0; i < K; ++i) H[i + j * K] = 1.0 / (i + j + 1);
  for (int i = 0; i < K; ++i) x_true[i] = 1.0 + 0.1 * i;
  for (int j = 0; j < K; ++j)
    for (int i = 0; i < K; ++i) b[i] += H[i + j * K] * x_true[j];
  REQUIRE(halo_mdivide_left(K, 1, H.data(), b.data(), x.data(), work.data()) == 0);
  V inv(K * K), x_inv(K, 0.0);
  REQUIRE(halo_inverse(K, H.data(), inv.data(), work.data()) == 0);
  for (int j = 0; j < K; ++j)
    for (int i = 0; i < K; ++i) x_inv[i] += inv[i + j * K] * b[j];
  auto residual = [&](const V& y) {
    double r = 0;
    for (int i = 0; i < K; ++i) {
      double s = -b[i];
      for (int j = 0; j < K; ++j) s += H[i + j * K] * y[j];
      r = std::max(r, std::fabs(s));
    }
    return r;
  };
  CHECK(residual(x) < 1e-14);
  CHECK(residual(x) < 0.1 * residual(x_inv));
}

TEST_CASE("kernels: structured products and the squared-exponential kernel") {
  Draw d(7700);
  for (int trial = 0; trial < 25; ++trial) {
    const int m = static_cast<int>(d.integer(1, 6)), n = static_cast<int>(d.integer(1, 6));
    // multiply_lower_tri_self_transpose of an m x n lower trapezoid.
    V L = random_vec(d, m * n), out(m * m), W = random_vec(d, m * m), gL(m * n, 0.0);
    halo_multiply_lower_tri_self_transpose(m, n, L.data(), out.data());
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        double s = 0;
        for (int k = 0; k < n && k <= std::min(i, j); ++k) s += L[i + k * m] * L[j + k * m];
        CHECK(out[i + j * m] == doctest::Approx(s).epsilon(1e-13));
      }
    halo_multiply_lower_tri_self_transpose_rev(m, n, L.data(), W.data(), gL.data());
    V stepsL(m * n, 0.1);
    for (int k = 0; k < n; ++k)
      for (int i = 0; i < m; ++i)
        if (i < k) stepsL[i + k * m] = 0;
    check_gradient("multiply_lower_tri_self_transpose",
                   [m, n, &W](const V& v) {
                     V o(m * m);
                     halo_multiply_lower_tri_self_transpose(m, n, v.data(), o.data());
                     return weighted(o, W);
                   },
                   L, gL, stepsL);
    // quad_form(A, B) = B^T A B and its vector form.
    const int K = m;
    V A = random_vec(d, K * K), B = random_vec(d, K * n), Q(n * n), work(2 * K * n), WQ = random_vec(d, n * n);
    halo_quad_form(K, n, A.data(), B.data(), Q.data(), work.data());
    V gA(K * K, 0.0), gB(K * n, 0.0);
    halo_quad_form_rev(K, n, A.data(), B.data(), WQ.data(), gA.data(), gB.data(), work.data());
    check_gradient("quad_form",
                   [K, n, &WQ](const V& v) {
                     V q(n * n), w(2 * K * n);
                     halo_quad_form(K, n, v.data(), v.data() + K * K, q.data(), w.data());
                     return weighted(q, WQ);
                   },
                   cat({A, B}), cat({gA, gB}), V(K * K + K * n, 0.1));
    V v = random_vec(d, K), gA2(K * K, 0.0), gv(K, 0.0);
    const double qv = halo_quad_form_vec(K, A.data(), v.data());
    V Bv(v);
    double Qv;
    halo_quad_form(K, 1, A.data(), Bv.data(), &Qv, work.data());
    CHECK(qv == doctest::Approx(Qv).epsilon(1e-13));
    halo_quad_form_vec_rev(K, A.data(), v.data(), 1.0, gA2.data(), gv.data());
    check_gradient("quad_form_vec", [K](const V& x) { return halo_quad_form_vec(K, x.data(), x.data() + K * K); },
                   cat({A, v}), cat({gA2, gv}), V(K * K + K, 0.1));
    // diag_pre_multiply / diag_post_multiply
    V M = random_vec(d, m * n), dv = random_vec(d, m), dv2 = random_vec(d, n), o(m * n), WM = random_vec(d, m * n);
    V gv1(m, 0.0), gM1(m * n, 0.0), gM2(m * n, 0.0), gv2(n, 0.0);
    halo_diag_pre_multiply(m, n, dv.data(), M.data(), o.data());
    CHECK(o[m * n - 1] == doctest::Approx(dv[m - 1] * M[m * n - 1]));
    halo_diag_pre_multiply_rev(m, n, dv.data(), M.data(), WM.data(), gv1.data(), gM1.data());
    check_gradient("diag_pre_multiply",
                   [m, n, &WM](const V& x) {
                     V r(m * n);
                     halo_diag_pre_multiply(m, n, x.data(), x.data() + m, r.data());
                     return weighted(r, WM);
                   },
                   cat({dv, M}), cat({gv1, gM1}), V(m + m * n, 0.1));
    halo_diag_post_multiply(m, n, M.data(), dv2.data(), o.data());
    CHECK(o[m * n - 1] == doctest::Approx(M[m * n - 1] * dv2[n - 1]));
    halo_diag_post_multiply_rev(m, n, M.data(), dv2.data(), WM.data(), gM2.data(), gv2.data());
    check_gradient("diag_post_multiply",
                   [m, n, &WM](const V& x) {
                     V r(m * n);
                     halo_diag_post_multiply(m, n, x.data(), x.data() + m * n, r.data());
                     return weighted(r, WM);
                   },
                   cat({M, dv2}), cat({gM2, gv2}), V(m * n + n, 0.1));
    // gp_exp_quad_cov: N points of dimension D.
    const int N = n, D = static_cast<int>(d.integer(1, 3));
    V x = random_vec(d, N * D, 2.0), Kc(N * N), WK = random_vec(d, N * N), gx(N * D, 0.0);
    const double alpha = d.positive(0.1, 5), rho = d.positive(0.2, 5);
    halo_gp_exp_quad_cov(N, D, x.data(), alpha, rho, Kc.data());
    double d2 = 0;
    for (int k = 0; k < D; ++k) d2 += (x[k] - x[(N - 1) * D + k]) * (x[k] - x[(N - 1) * D + k]);
    CHECK(Kc[(N - 1) * N] == doctest::Approx(alpha * alpha * std::exp(-d2 / (2 * rho * rho))).epsilon(1e-13));
    double ga = 0, gr = 0;
    halo_gp_exp_quad_cov_rev(N, D, x.data(), alpha, rho, Kc.data(), WK.data(), gx.data(), &ga, &gr);
    V all = x;
    all.push_back(alpha);
    all.push_back(rho);
    V g = gx;
    g.push_back(ga);
    g.push_back(gr);
    check_gradient("gp_exp_quad_cov",
                   [N, D, &WK](const V& p) {
                     V k(N * N);
                     halo_gp_exp_quad_cov(N, D, p.data(), p[N * D], p[N * D + 1], k.data());
                     return weighted(k, WK);
                   },
                   all, g, steps_of(all, 1e-2));
    // Points as data (no x adjoint): the same alpha and rho adjoints (one-dimensional points
    // have their own summation).
    double ga_data = 0, gr_data = 0;
    halo_gp_exp_quad_cov_rev(N, D, x.data(), alpha, rho, Kc.data(), WK.data(), nullptr, &ga_data, &gr_data);
    CHECK(ga_data == doctest::Approx(ga).epsilon(1e-12));
    CHECK(gr_data == doctest::Approx(gr).epsilon(1e-12));
  }
}

TEST_CASE("kernels: QR decomposition (thin and full, Stan's signs)") {
  Draw d(7100);
  for (int trial = 0; trial < 30; ++trial) {
    const int m = static_cast<int>(d.integer(1, 7)), n = static_cast<int>(d.integer(1, 7));
    const int k = std::min(m, n);
    V A = random_vec(d, m * n, 3.0), work(m * n + m + n);
    for (int thin = 0; thin < 2; ++thin) {
      const int qc = thin ? k : m, rr = thin ? k : m;
      V Q(m * qc), R(rr * n);
      halo_qr(m, n, A.data(), thin, Q.data(), R.data(), work.data());
      CAPTURE(m);
      CAPTURE(n);
      CAPTURE(thin);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {  // Q R = A
          double s = 0;
          for (int p = 0; p < std::min(qc, rr); ++p) s += Q[i + p * m] * R[p + j * rr];
          CHECK(s == doctest::Approx(A[i + j * m]).epsilon(1e-12).scale(1.0));
        }
      for (int a = 0; a < qc; ++a)
        for (int b = 0; b < qc; ++b) {  // Q'Q = I
          double s = 0;
          for (int i = 0; i < m; ++i) s += Q[i + a * m] * Q[i + b * m];
          CHECK(s == doctest::Approx(a == b ? 1.0 : 0.0).epsilon(1e-12).scale(1.0));
        }
      for (int r = 0; r < rr; ++r)
        for (int c = 0; c < n; ++c) {
          if (c < r) CHECK(R[r + c * rr] == 0.0);
          if (c == r) CHECK(R[r + c * rr] >= 0.0);
        }
    }
  }
}

TEST_CASE("kernels: symmetric eigendecomposition (Jacobi) and its reverse") {
  Draw d(7900);
  for (int trial = 0; trial < 30; ++trial) {
    const int K = static_cast<int>(d.integer(1, 6));
    // Eigenvalues spread apart (the eigenvector derivatives divide by their gaps): Q diag Q'
    // with Q orthogonal from a Cholesky-free Gram-Schmidt of a random matrix.
    V Q = random_vec(d, K * K);
    for (int j = 0; j < K; ++j) {
      for (int p = 0; p < j; ++p) {
        double s = 0;
        for (int i = 0; i < K; ++i) s += Q[i + j * K] * Q[i + p * K];
        for (int i = 0; i < K; ++i) Q[i + j * K] -= s * Q[i + p * K];
      }
      double n = 0;
      for (int i = 0; i < K; ++i) n += Q[i + j * K] * Q[i + j * K];
      for (int i = 0; i < K; ++i) Q[i + j * K] /= std::sqrt(n);
    }
    V lambda(K);
    for (int k = 0; k < K; ++k) lambda[k] = (k - 2.0) * 1.3 + d.uniform(-0.4, 0.4);
    V A(K * K, 0.0);
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j)
        for (int k = 0; k < K; ++k) A[i + j * K] += Q[i + k * K] * lambda[k] * Q[j + k * K];
    // Only the lower triangle is read: garbage above it must not matter.
    V Ag = A;
    for (int j = 1; j < K; ++j)
      for (int i = 0; i < j; ++i) Ag[i + j * K] = 99.0;
    V values(K), vectors(K * K), work(2 * K * K);
    halo_eigen_sym(K, Ag.data(), values.data(), vectors.data(), work.data());
    std::sort(lambda.begin(), lambda.end());
    for (int k = 0; k < K; ++k) CHECK(values[k] == doctest::Approx(lambda[k]).epsilon(1e-12).scale(1.0));
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        double r = 0, o = 0;
        for (int k = 0; k < K; ++k) {
          r += vectors[i + k * K] * values[k] * vectors[j + k * K];
          o += vectors[k + i * K] * vectors[k + j * K];
        }
        CHECK(r == doctest::Approx(A[i + j * K]).epsilon(1e-12).scale(1.0));
        CHECK(o == doctest::Approx(i == j ? 1.0 : 0.0).epsilon(1e-12).scale(1.0));
      }
    // Reverse through a random linear functional of the values and the vectors.
    V wv = random_vec(d, K), wV = random_vec(d, K * K), gA(K * K, 0.0);
    halo_eigen_sym_rev(K, values.data(), vectors.data(), wv.data(), wV.data(), gA.data(), work.data());
    V steps(K * K, 0.0);
    for (int j = 0; j < K; ++j)
      for (int i = j; i < K; ++i) steps[i + j * K] = 1e-3;
    check_gradient("eigen_sym",
                   [K, &wv, &wV](const V& a) {
                     V val(K), vec(K * K), w(K * K);
                     halo_eigen_sym(K, a.data(), val.data(), vec.data(), w.data());
                     return weighted(val, wv) + weighted(vec, wV);
                   },
                   A, gA, steps);
    for (int j = 1; j < K; ++j)
      for (int i = 0; i < j; ++i) CHECK(gA[i + j * K] == 0.0);
  }
}
