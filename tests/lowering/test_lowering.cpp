// Whole-model compilation: .model text -> front end -> lowering -> AD -> codegen -> .so, then
// the generated entry points are called directly (the BridgeStan layer is tested elsewhere):
// log densities against closed forms, gradients against finite differences.
#include "model_harness.h"

#include "ir/lower.h"

#include <random>

using namespace halo::model_harness;

TEST_CASE("eight schools (non-centred): density, Jacobian, propto and gradient") {
  auto m = build(R"(
data {
  int<lower=0> J;
  array[J] real y;
  array[J] real<lower=0> sigma;
}
parameters {
  vector[J] theta_trans;
  real mu;
  real<lower=0> tau;
}
transformed parameters {
  vector[J] theta = theta_trans * tau + mu;
}
model {
  theta_trans ~ normal(0, 1);
  y ~ normal(theta, sigma);
  mu ~ normal(0, 5);
  tau ~ cauchy(0, 5);
}
)");
  int64_t J = 8;
  std::vector<double> y = {28, 8, -3, 7, -1, 1, 18, 12};
  std::vector<double> sigma = {15, 10, 16, 11, 9, 11, 10, 18};
  halo_tensor yt = halo::testing::make_tensor(y, {8}), st = halo::testing::make_tensor(sigma, {8});
  Density d{*m, {&J, &yt, &st}};
  std::vector<double> theta = {0.1, -0.3, 0.5, 1.2, -0.8, 0.0, 0.4, -1.1, 4.0, std::log(3.0)};
  // Closed form, with all constants.
  double mu = theta[8], tau = std::exp(theta[9]);
  double expected = 0;
  auto normal = [](double x, double m, double s) {
    double z = (x - m) / s;
    return -0.5 * z * z - std::log(s) - kLogSqrt2Pi;
  };
  for (int j = 0; j < 8; ++j) {
    expected += normal(theta[j], 0, 1);
    expected += normal(y[j], theta[j] * tau + mu, sigma[j]);
  }
  expected += normal(mu, 0, 5);
  expected += -std::log(M_PI * 5.0 * (1 + (tau / 5.0) * (tau / 5.0)));  // cauchy(0, 5)
  double log_jacobian = theta[9];
  CHECK(d.value(theta) == doctest::Approx(expected + log_jacobian).epsilon(1e-12));
  d.jacobian = 0;
  CHECK(d.value(theta) == doctest::Approx(expected).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient(theta);
  // propto drops constants only: the difference does not depend on the parameters.
  d.propto = true;
  std::vector<double> other = theta;
  other[3] += 0.7;
  other[9] -= 0.4;
  double diff1 = d.value(theta) - Density{*m, {&J, &yt, &st}}.value(theta);
  double diff2 = d.value(other) - Density{*m, {&J, &yt, &st}}.value(other);
  CHECK(diff1 == doctest::Approx(diff2).epsilon(1e-10));
  CHECK(diff1 > 0);
  d.check_gradient(theta);
}

TEST_CASE("loops, element assignment and a parameter-dependent bound (GARCH)") {
  auto m = build(R"(
data {
  int<lower=0> T;
  array[T] real y;
  real<lower=0> sigma1;
}
parameters {
  real mu;
  real<lower=0> alpha0;
  real<lower=0, upper=1> alpha1;
  real<lower=0, upper=(1 - alpha1)> beta1;
}
model {
  array[T] real sigma;
  sigma[1] = sigma1;
  for (t in 2:T) {
    sigma[t] = sqrt(alpha0 + alpha1 * square(y[t - 1] - mu) + beta1 * square(sigma[t - 1]));
  }
  y ~ normal(mu, sigma);
}
)");
  int64_t T = 30;
  std::vector<double> y;
  for (int t = 0; t < T; ++t) y.push_back(std::sin(0.7 * t) + 0.05 * t);
  double sigma1 = 0.5;
  halo_tensor yt = halo::testing::make_tensor(y, {T});
  Density d{*m, {&T, &yt, &sigma1}};
  d.check_gradient({0.2, std::log(0.3), 0.4, -0.2});
  d.check_gradient({-0.1, std::log(0.1), -1.0, 1.5});
}

// Loops whose only effect is target += ... are reversed inside the forward sweep (ad.cpp,
// "fused" loops). Each loop below exercises one way that could go wrong: an outer array that a
// later statement overwrites after the loop read it, a nested loop (whose values are pushed),
// a local vector and a branch in the body, a loop that is not fusable (it writes an outer
// array) next to one that is, and a loop that reads a transformed parameter.
TEST_CASE("loops that only add to target: reversed inside the forward sweep, gradients") {
  auto m = build(R"(
data {
  int<lower=1> N;
  vector[N] y;
}
parameters {
  vector[2] mu;
  real<lower=0> sigma;
  real<lower=0, upper=1> theta;
}
transformed parameters {
  vector[N] shift = mu[1] * y;
}
model {
  vector[N] z = mu[2] + 0.5 * y;
  array[N] real w;
  for (n in 1:N) {
    target += log_mix(theta, normal_lpdf(y[n] | mu[1], sigma), normal_lpdf(y[n] | z[n], sigma));
  }
  z = -z * mu[1];  // overwrites what the loop above read
  for (n in 1:N) {
    vector[2] local = [z[n], shift[n]]';
    real acc = 0;
    for (k in 1:2) acc += square(local[k] - mu[k]);
    if (y[n] > 0) target += -acc / sigma;
    else target += log_sum_exp(local[1], local[2] * theta);
  }
  for (n in 1:N) w[n] = z[n] * sigma;  // writes an outer array: not fused
  target += normal_lpdf(to_vector(w) | 0, 3);
}
)");
  int64_t N = 7;
  std::vector<double> y;
  for (int n = 0; n < N; ++n) y.push_back(std::sin(1.3 * n) - 0.2);
  halo_tensor yt = halo::testing::make_tensor(y, {N});
  Density d{*m, {&N, &yt}};
  d.check_gradient({0.3, -0.4, std::log(0.8), 0.2});
  d.check_gradient({-1.1, 0.9, std::log(1.7), -1.3});
}

TEST_CASE("slices of vectors and matrices, with their gradients") {
  auto m = build(R"(
data {
  int<lower=2> N;
  matrix[N, 3] X;
  vector[N] y;
}
parameters {
  vector[5] b;
  real<lower=0> s;
}
model {
  vector[3] head3 = b[1:3];
  b[2:] ~ normal(0, 2);
  y ~ normal(X[:, 1] * b[4] + X[:, 2:3] * head3[2:3] + b[5], s);
  target += -sum(b[:2] .* b[:2]);
}
)");
  int64_t N = 6;
  std::vector<double> X, y;
  for (int k = 0; k < 18; ++k) X.push_back(std::cos(0.9 * k));
  for (int k = 0; k < 6; ++k) y.push_back(0.3 * k - 0.5);
  halo_tensor Xt = halo::testing::make_tensor(X, {6, 3}), yt = halo::testing::make_tensor(y, {6});
  Density d{*m, {&N, &Xt, &yt}};
  d.check_gradient({0.1, -0.4, 0.7, 1.2, -0.3, std::log(0.8)});
}

TEST_CASE("assignment to slices, with the gradient flowing through them") {
  auto m = build(R"(
parameters {
  vector[4] b;
  real c;
}
model {
  vector[4] v;
  matrix[2, 3] M = rep_matrix(0, 2, 3);
  v[1:2] = b[1:2] * c;
  v[3:] = b[3:4] .* b[1:2];
  M[:, 2] = v[2:3];
  M[1, :] = b[1:3]';
  target += -dot_self(v) - 0.5 * sum(M .* M) - square(c - 1);
}
)");
  Density d{*m, {}};
  d.check_gradient({0.3, -0.7, 1.1, 0.4, 0.8});
}

TEST_CASE("ordered and positive_ordered parameters: transform, Jacobian, gradient") {
  auto m = build(R"(
parameters {
  ordered[3] mu;
  positive_ordered[2] s;
}
model {
  mu ~ normal(0, 3);
  s ~ exponential(1);
}
)");
  Density d{*m, {}};
  std::vector<double> u = {0.2, -0.5, 0.3, -0.1, 0.4};
  double mu[3] = {u[0], u[0] + std::exp(u[1]), u[0] + std::exp(u[1]) + std::exp(u[2])};
  double s[2] = {std::exp(u[3]), std::exp(u[3]) + std::exp(u[4])};
  double expected = 0;
  for (double x : mu) expected += -0.5 * (x / 3) * (x / 3) - std::log(3.0) - kLogSqrt2Pi;
  for (double x : s) expected += -x;
  double log_jacobian = u[1] + u[2] + u[3] + u[4];
  CHECK(d.value(u) == doctest::Approx(expected + log_jacobian).epsilon(1e-12));
  d.check_gradient(u);
}

TEST_CASE("simplex parameters: stick-breaking transform, Jacobian, gradient") {
  auto m = build(R"(
parameters {
  simplex[4] th;
}
model {
  target += 2 * log(th[1]) + log(th[3]) + 0.5 * log(th[4]);
}
)");
  Density d{*m, {}};
  std::vector<double> u = {0.3, -0.8, 0.5};
  // Stan's stick-breaking, written out.
  double x[4], stick = 1, log_jacobian = 0;
  for (int k = 0; k < 3; ++k) {
    double a = u[k] - std::log(3.0 - k);
    double z = 1 / (1 + std::exp(-a));
    x[k] = stick * z;
    log_jacobian += std::log(z) + std::log(1 - z) + std::log(stick);
    stick -= x[k];
  }
  x[3] = stick;
  double expected = 2 * std::log(x[0]) + std::log(x[2]) + 0.5 * std::log(x[3]);
  CHECK(d.value(u) == doctest::Approx(expected + log_jacobian).epsilon(1e-12));
  d.jacobian = 0;
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient(u);
}

namespace {
// Cholesky factor of a small symmetric positive definite matrix (row-major n x n), for the
// closed forms below.
std::vector<double> cholesky(const std::vector<double>& A, int n) {
  std::vector<double> L(n * n, 0.0);
  for (int j = 0; j < n; ++j) {
    double d = A[j * n + j];
    for (int k = 0; k < j; ++k) d -= L[j * n + k] * L[j * n + k];
    L[j * n + j] = std::sqrt(d);
    for (int i = j + 1; i < n; ++i) {
      double s = A[i * n + j];
      for (int k = 0; k < j; ++k) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / L[j * n + j];
    }
  }
  return L;
}
// log N(f | 0, L L'), L row-major lower triangular.
double mvn_cholesky_log_density(const std::vector<double>& f, const std::vector<double>& L, int n) {
  std::vector<double> z(n);
  double log_det = 0;
  for (int i = 0; i < n; ++i) {
    double s = f[i];
    for (int k = 0; k < i; ++k) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
    log_det += std::log(L[i * n + i]);
  }
  double q = 0;
  for (double v : z) q += v * v;
  return -0.5 * q - log_det - n * kLogSqrt2Pi;
}
}  // namespace

TEST_CASE("kernels: gp_exp_quad_cov, add_diag, cholesky_decompose, multi_normal(_cholesky)") {
  auto m = build(R"(
parameters {
  real<lower=0> rho;
  real<lower=0> alpha;
  vector[3] f;
}
model {
  array[3] real x = {0.1, 0.7, 1.5};
  matrix[3, 3] K = add_diag(gp_exp_quad_cov(x, alpha, rho), 0.1);
  matrix[3, 3] L = cholesky_decompose(K);
  f ~ multi_normal_cholesky(rep_vector(0, 3), L);
  f ~ multi_normal(rep_vector(0, 3), K);
  array[2] vector[3] fs = {f, 2 * f};
  fs ~ multi_normal_cholesky(rep_vector(0, 3), L);
}
)");
  Density d{*m, {}};
  d.jacobian = 0;
  double rho = 0.8, alpha = 1.3;
  std::vector<double> f = {0.3, -0.5, 1.1}, f2 = {0.6, -1.0, 2.2};
  double x[3] = {0.1, 0.7, 1.5};
  std::vector<double> K(9);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      K[i * 3 + j] = alpha * alpha * std::exp(-(x[i] - x[j]) * (x[i] - x[j]) / (2 * rho * rho)) + (i == j ? 0.1 : 0);
  std::vector<double> L = cholesky(K, 3);
  double expected = 3 * mvn_cholesky_log_density(f, L, 3) + mvn_cholesky_log_density(f2, L, 3);
  std::vector<double> u = {std::log(rho), std::log(alpha), f[0], f[1], f[2]};
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient(u);
  d.check_gradient({-0.4, 0.9, 1.5, 0.2, -2.0});
}

TEST_CASE("kernels: dirichlet, categorical, categorical_logit, array and row-vector expressions") {
  auto m = build(R"(
parameters {
  simplex[3] th;
  vector[3] beta;
}
model {
  array[4] int y = {1, 3, 3, 2};
  th ~ dirichlet([2, 3, 4]');
  y ~ categorical(th);
  y ~ categorical_logit(beta);
  y[2] ~ categorical_logit(beta);
}
)");
  Density d{*m, {}};
  std::vector<double> u = {0.2, -0.4, 0.5, -1.0, 0.3};
  // The simplex by stick-breaking, as Stan does it.
  double th[3], stick = 1, log_jacobian = 0;
  for (int k = 0; k < 2; ++k) {
    double z = 1 / (1 + std::exp(-(u[k] - std::log(2.0 - k))));
    th[k] = stick * z;
    log_jacobian += std::log(z) + std::log(1 - z) + std::log(stick);
    stick -= th[k];
  }
  th[2] = stick;
  const double* beta = &u[2];
  double lse = std::log(std::exp(beta[0]) + std::exp(beta[1]) + std::exp(beta[2]));
  double dirichlet = std::lgamma(9.0) - std::lgamma(2.0) - std::lgamma(3.0) - std::lgamma(4.0) +
                     1 * std::log(th[0]) + 2 * std::log(th[1]) + 3 * std::log(th[2]);
  int y[4] = {1, 3, 3, 2};
  double cat = 0, cat_logit = 0;
  for (int n : y) {
    cat += std::log(th[n - 1]);
    cat_logit += beta[n - 1] - lse;
  }
  cat_logit += beta[2] - lse;
  CHECK(d.value(u) == doctest::Approx(dirichlet + cat + cat_logit + log_jacobian).epsilon(1e-12));
  d.check_gradient(u);
}

TEST_CASE("kernels: normal_mixture of one y and over the rows of matrices") {
  auto m = build(R"(
parameters {
  matrix[2, 3] lg;
  matrix[2, 3] mu;
  matrix<lower=0>[2, 3] s;
  real y0;
}
model {
  vector[2] y = [0.5, -1]';
  y ~ normal_mixture(lg, mu, s);
  y0 ~ normal_mixture(lg[1]', mu[2]', s[1]');
}
)");
  Density d{*m, {}};
  d.jacobian = 0;
  std::vector<double> u = {0.1, -0.2, 0.4, 0.0, -0.7, 0.3,   // lg, column-major
                           0.2, -0.9, 1.0, 0.4, -0.1, 0.8,   // mu
                           -0.3, 0.2, 0.1, -0.5, 0.6, 0.0,   // log s
                           0.35};
  auto lg = [&](int i, int k) { return u[k * 2 + i]; };
  auto mu = [&](int i, int k) { return u[6 + k * 2 + i]; };
  auto s = [&](int i, int k) { return std::exp(u[12 + k * 2 + i]); };
  auto mixture = [&](double y, auto logit, auto loc, auto scale) {
    double z = 0, total = 0;
    for (int k = 0; k < 3; ++k) z += std::exp(logit(k));
    for (int k = 0; k < 3; ++k) {
      double r = (y - loc(k)) / scale(k);
      total += std::exp(logit(k)) / z * std::exp(-0.5 * r * r) / (scale(k) * std::sqrt(2 * M_PI));
    }
    return std::log(total);
  };
  double yv[2] = {0.5, -1};
  double expected = 0;
  for (int i = 0; i < 2; ++i)
    expected += mixture(yv[i], [&](int k) { return lg(i, k); }, [&](int k) { return mu(i, k); },
                        [&](int k) { return s(i, k); });
  expected += mixture(u[18], [&](int k) { return lg(0, k); }, [&](int k) { return mu(1, k); },
                      [&](int k) { return s(0, k); });
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient(u);
}

TEST_CASE("kernels: lkj_corr_cholesky on a 2 x 2 factor") {
  auto m = build(R"(
parameters {
  real<lower=-1, upper=1> r;
  real<lower=0> eta;
}
model {
  matrix[2, 2] L = [[1, 0], [r, sqrt(1 - r^2)]];
  L ~ lkj_corr_cholesky(eta);
}
)");
  Density d{*m, {}};
  d.jacobian = 0;
  // log density = (K - k + 2 eta - 2) log L_kk summed over k = 2..K, plus a constant in eta.
  double eta = 1.7;
  // lower=-1, upper=1: r = tanh(u / 2)
  auto at = [&](double r) { return d.value({2 * std::atanh(r), std::log(eta)}); };
  auto log_l22 = [](double r) { return 0.5 * std::log(1 - r * r); };
  CHECK(at(0.6) - at(-0.2) == doctest::Approx((2 * eta - 2) * (log_l22(0.6) - log_l22(-0.2))).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient({0.3, 0.2});
  d.check_gradient({-1.1, -0.6});
}

TEST_CASE("kernels: an int literal where a density takes a real (lkj_corr_cholesky(2), wishart(4, S))") {
  // The literal is converted: it used to reach code generation as an int and crash haloc.
  auto with_int = build(R"(
parameters { cholesky_factor_corr[3] L; }
model { L ~ lkj_corr_cholesky(2); }
)");
  auto with_real = build(R"(
parameters { cholesky_factor_corr[3] L; }
model { L ~ lkj_corr_cholesky(2.0); }
)");
  Density a{*with_int, {}}, b{*with_real, {}};
  std::vector<double> u = {0.3, -0.5, 0.8};
  CHECK(a.value(u) == doctest::Approx(b.value(u)).epsilon(1e-14));
  a.check_gradient(u);
  // The same through the library densities (wishart's nu: invalid IR before).
  auto w_int = build(R"(
parameters { cov_matrix[2] S; }
model { S ~ wishart(4, diag_matrix(rep_vector(1, 2))); }
)");
  auto w_real = build(R"(
parameters { cov_matrix[2] S; }
model { S ~ wishart(4.0, diag_matrix(rep_vector(1, 2))); }
)");
  Density c{*w_int, {}}, e{*w_real, {}};
  CHECK(c.value(u) == doctest::Approx(e.value(u)).epsilon(1e-14));
  c.check_gradient(u);
}

TEST_CASE("structured parameters: arrays, every transform, round trip through constrain and unconstrain") {
  auto m = build(R"(
parameters {
  array[2] simplex[3] s;
  unit_vector[3] uv;
  sum_to_zero_vector[4] z;
  cholesky_factor_corr[3] Lc;
  cholesky_factor_cov[4, 3] Lv;
  corr_matrix[3] R;
  cov_matrix[3] S;
  array[2] ordered[2] o;
}
model {
  target += log(s[1, 1]) + 2 * log(s[2, 3]) + uv[2] + z[3] * z[1] + Lc[3, 2] + Lv[4, 1] * Lv[2, 2];
  target += R[1, 3] - 0.5 * S[2, 2] + S[3, 1] + o[2, 2] - square(o[1, 1]);
}
)");
  // Free sizes: 2*2 + 3 + 3 + 3 + (6 + 3) + 3 + 6 + 2*2 = 35.
  std::vector<double> u(35);
  for (size_t k = 0; k < u.size(); ++k) u[k] = 0.7 * std::sin(1.3 * k + 0.4);
  Density d{*m, {}};
  d.check_gradient(u);

  // constrain -> the constrained values (Halo's layout), checked against each type's rules.
  TestWorkspace w;
  halo_tensor ut = halo::testing::make_tensor(u, {35});
  std::vector<void*> args = {&ut};
  halo_tensor params{}, tparams{};
  void* results[] = {&params, &tparams};
  INFO(w.error);
  REQUIRE(m->get("constrain")(&w.ws, args.data(), results) == 0);
  // The constrained values, flat, one parameter after the other.
  const int64_t sizes[8] = {6, 3, 4, 9, 12, 9, 9, 4};
  REQUIRE(params.dims[0] == 56);
  auto at = [&](int k) {
    const double* p = static_cast<const double*>(params.data);
    for (int j = 0; j < k; ++j) p += sizes[j];
    return p;
  };
  // Arrays of vectors come out in Stan's order (array index fastest): s[a, j] at a + 2 j.
  for (int a = 0; a < 2; ++a) CHECK(at(0)[a] + at(0)[a + 2] + at(0)[a + 4] == doctest::Approx(1.0));
  CHECK(at(1)[0] * at(1)[0] + at(1)[1] * at(1)[1] + at(1)[2] * at(1)[2] == doctest::Approx(1.0));
  CHECK(at(2)[0] + at(2)[1] + at(2)[2] + at(2)[3] == doctest::Approx(0.0).scale(1.0));
  for (int i = 0; i < 3; ++i) {  // Lc: rows of unit length, upper triangle zero (column-major)
    double norm = 0;
    for (int j = 0; j < 3; ++j) norm += at(3)[j * 3 + i] * at(3)[j * 3 + i];
    CHECK(norm == doctest::Approx(1.0));
    for (int j = i + 1; j < 3; ++j) CHECK(at(3)[j * 3 + i] == 0.0);
    CHECK(at(5)[i * 3 + i] == doctest::Approx(1.0));  // R: unit diagonal
    CHECK(at(6)[i * 3 + i] > 0.0);                      // S: positive diagonal
    CHECK(at(4)[i * 4 + i] > 0.0);                      // Lv: positive diagonal
  }
  CHECK(at(5)[1] == doctest::Approx(at(5)[3]));  // symmetric
  CHECK(at(6)[2] == doctest::Approx(at(6)[6]));
  CHECK(at(7)[2] > at(7)[0]);
  CHECK(at(7)[3] > at(7)[1]);

  // unconstrain(constrain(u)) == u.
  std::vector<double> flat;
  for (int k = 0; k < 8; ++k) {
    if (k == 0 || k == 7) {  // back to Halo's layout (each array element contiguous)
      const int64_t len = sizes[k] / 2;
      for (int a = 0; a < 2; ++a)
        for (int64_t j = 0; j < len; ++j) flat.push_back(at(k)[a + 2 * j]);
    } else {
      flat.insert(flat.end(), at(k), at(k) + sizes[k]);
    }
  }
  TestWorkspace w2;
  halo_tensor xt = halo::testing::make_tensor(flat, {static_cast<int64_t>(flat.size())});
  std::vector<void*> uargs = {&xt};
  halo_tensor back{};
  void* uresults[] = {&back};
  INFO(w2.error);
  REQUIRE(m->get("unconstrain")(&w2.ws, uargs.data(), uresults) == 0);
  const double* bp = static_cast<const double*>(back.data);
  // unit_vector's free values are only determined up to scale: unconstrain gives x = u / |u|.
  double norm = std::sqrt(u[4] * u[4] + u[5] * u[5] + u[6] * u[6]);
  for (size_t k = 0; k < u.size(); ++k) {
    CAPTURE(k);
    double expected = k >= 4 && k <= 6 ? u[k] / norm : u[k];
    CHECK(bp[k] == doctest::Approx(expected).epsilon(1e-9).scale(1.0));
  }

  // An invalid value is refused, naming the parameter.
  flat[6] = 2.0;  // uv no longer has unit length
  TestWorkspace w3;
  halo_tensor bad = halo::testing::make_tensor(flat, {static_cast<int64_t>(flat.size())});
  std::vector<void*> bargs = {&bad};
  CHECK(m->get("unconstrain")(&w3.ws, bargs.data(), uresults) != 0);
  CHECK(w3.error.find("'uv'") != std::string::npos);
}

TEST_CASE("matrix transposes, multi-indexes and truncated distributions") {
  auto m = build(R"(
parameters {
  real mu;
  real<lower=0> sigma;
  matrix[2, 3] A;
  vector[4] v;
}
model {
  array[3] int idx = {2, 4, 2};
  matrix[3, 2] At = A';
  target += 2 * At[3, 1] + At[1, 2];
  vector[3] g = v[idx];
  target += g[1] * g[2] + g[3];
  matrix[2, 2] cols = A[:, {3, 1}];
  target += cols[1, 1] - 3 * cols[2, 2];
  target += sum(A[2, {1, 3}]) * v[4];
  1.5 ~ normal(mu, sigma) T[0, 3];
  2.5 ~ normal(mu, sigma) T[0, ];
  0.5 ~ normal(mu, sigma) T[, 1];
  3 ~ poisson(sigma) T[1, 10];
  2 ~ poisson(sigma) T[2, ];
}
)");
  Density d{*m, {}};
  d.jacobian = 0;
  std::vector<double> u = {0.4, std::log(1.3), 0.1, -0.2, 0.3, 0.5, -0.7, 0.9, 1.1, -1.2, 0.6, 0.8};
  double mu = u[0], sigma = 1.3;
  auto A = [&](int i, int j) { return u[2 + (j - 1) * 2 + (i - 1)]; };
  auto v = [&](int i) { return u[8 + i - 1]; };
  double expected = 2 * A(1, 3) + A(2, 1) + v(2) * v(4) + v(2) + A(1, 3) - 3 * A(2, 1) + (A(2, 1) + A(2, 3)) * v(4);
  auto Phi = [&](double x) { return 0.5 * std::erfc(-(x - mu) / (sigma * std::sqrt(2.0))); };
  auto normal_lpdf = [&](double y) { return -0.5 * std::pow((y - mu) / sigma, 2) - std::log(sigma) - kLogSqrt2Pi; };
  expected += normal_lpdf(1.5) - std::log(Phi(3) - Phi(0));
  expected += normal_lpdf(2.5) - std::log(1 - Phi(0));
  expected += normal_lpdf(0.5) - std::log(Phi(1));
  auto pmf = [&](int n) { return std::exp(n * std::log(sigma) - sigma - std::lgamma(n + 1.0)); };
  auto cdf = [&](int n) {
    double c = 0;
    for (int k = 0; k <= n; ++k) c += pmf(k);
    return c;
  };
  expected += std::log(pmf(3)) - std::log(cdf(10) - cdf(0));
  expected += std::log(pmf(2)) - std::log(1 - cdf(1));
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-10));
  d.jacobian = 1;
  d.check_gradient(u);
}

TEST_CASE("truncation: a value outside the bounds has zero density, an index out of range fails") {
  auto m = build(R"(
parameters {
  real mu;
}
model {
  4 ~ normal(mu, 1) T[0, 3];
}
)");
  Density d{*m, {}};
  CHECK(d.value({0.2}) == -HUGE_VAL);
}

TEST_CASE("user-defined functions: inlined, with early returns, loops, _lpdf, _lp and void functions") {
  auto m = build(R"(
functions {
  real sq(real x) {
    return x * x;
  }
  vector affine(vector v, real a, real b) {
    vector[rows(v)] out = a * v + b;
    return out;
  }
  real piecewise(real x) {
    if (x > 0) return 2 * x;
    else if (x > -1) return x;
    return -1 + 0.5 * (x + 1);
  }
  real first_above(vector v, real cut) {
    for (i in 1:rows(v)) {
      for (j in 1:1) {
        if (v[i] > cut) return v[i];
      }
    }
    return cut;
  }
  real my_normal_lpdf(real y, real mu, real s) {
    return -0.5 * sq((y - mu) / s) - log(s);
  }
  void add_prior_lp(real x) {
    target += -0.5 * x * x;
  }
  int twice(int n) {
    return 2 * n;
  }
}
parameters {
  real a;
  real<lower=0> s;
  vector[3] v;
}
model {
  vector[3] w = affine(v, a, 1.5);
  target += sq(a) * 0.1 + piecewise(a) + piecewise(v[1]) + piecewise(v[2] - 2);
  target += first_above(w, 1.0) + first_above(v, 100);
  1.2 ~ my_normal(a, s);
  target += my_normal_lpdf(0.3 | v[3], s);
  add_prior_lp(v[2]);
  target += twice(3) * v[1];
}
)");
  Density d{*m, {}};
  d.jacobian = 0;
  std::vector<double> u = {0.7, std::log(0.9), -0.5, 0.3, 1.2};
  double a = u[0], s = 0.9;
  double v[3] = {u[2], u[3], u[4]};
  auto piecewise = [](double x) { return x > 0 ? 2 * x : x > -1 ? x : -1 + 0.5 * (x + 1); };
  auto first_above = [](const double* x, double cut) {
    for (int i = 0; i < 3; ++i)
      if (x[i] > cut) return x[i];
    return cut;
  };
  double w[3];
  for (int i = 0; i < 3; ++i) w[i] = a * v[i] + 1.5;
  auto my_normal = [](double y, double mu, double sd) { return -0.5 * ((y - mu) / sd) * ((y - mu) / sd) - std::log(sd); };
  double expected = 0.1 * a * a + piecewise(a) + piecewise(v[0]) + piecewise(v[1] - 2) + first_above(w, 1.0) +
                    first_above(v, 100) + my_normal(1.2, a, s) + my_normal(0.3, v[2], s) - 0.5 * v[1] * v[1] + 6 * v[0];
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient(u);
  d.check_gradient({-0.4, 0.1, -1.5, 2.5, 0.2});
}

TEST_CASE("break and continue in differentiated code (for, while, nested loops)") {
  auto m = build(R"(
parameters {
  vector[5] v;
}
model {
  real s = 0;
  for (i in 1:5) {
    if (i == 2) continue;
    if (i == 4) break;
    s += v[i] * i;
  }
  int k = 1;
  while (1) {
    s += v[k]^2;
    k += 1;
    if (k > 3) break;
  }
  for (i in 1:3) {
    for (j in 1:3) {
      if (j > i) break;
      s += 0.1 * v[i] * v[j];
    }
  }
  target += s;
}
)");
  Density d{*m, {}};
  std::vector<double> u = {0.3, -0.7, 1.1, 0.4, 2.0};
  double expected = u[0] + 3 * u[2] + u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j <= i; ++j) expected += 0.1 * u[i] * u[j];
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(u);
}

TEST_CASE("minibatch log density: priors plus N / B times the likelihood of the batch's rows") {
  auto m = build(R"(
data {
  batch int<lower=1> N;
  int<lower=1> D;
  matrix[N, D] X;
  vector[N] y;
  array[N] int g;
}
parameters {
  vector[D] beta;
  real<lower=0> sigma;
  real a;
}
model {
  vector[N] mu = X * beta;
  beta ~ normal(0, 1);
  sigma ~ lognormal(0, 1);
  a ~ normal(0, 2);
  y ~ normal(mu, sigma);
  for (n in 1:N) target += a * g[n];
}
)");
  int64_t N = 5, D = 2;
  std::vector<double> X = {0.1, -0.4, 0.8, 1.2, -0.3,   // column-major N x D
                           0.5, 0.2, -0.9, 0.4, 1.1};
  std::vector<double> y = {0.3, -0.2, 1.4, 0.9, -0.5};
  std::vector<int64_t> g = {1, 0, 2, 1, 3};
  halo_tensor Xt = halo::testing::make_tensor(X, {N, D}), yt = halo::testing::make_tensor(y, {N});
  halo_tensor gt{};
  gt.data = g.data();
  gt.dims[0] = N;
  std::vector<double> theta = {0.4, -0.6, std::log(0.8), 0.3};
  double beta[2] = {0.4, -0.6}, sigma = 0.8, a = 0.3;
  auto loglik = [&](int n) {
    double mu = X[n] * beta[0] + X[N + n] * beta[1];
    return -0.5 * std::pow((y[n] - mu) / sigma, 2) - std::log(sigma) - kLogSqrt2Pi + a * g[n];
  };
  double prior = -0.5 * (beta[0] * beta[0] + beta[1] * beta[1]) - 2 * kLogSqrt2Pi -
                 0.5 * std::pow(std::log(sigma), 2) - std::log(sigma) - kLogSqrt2Pi -
                 0.5 * (a / 2) * (a / 2) - std::log(2.0) - kLogSqrt2Pi + std::log(sigma);  // + log-Jacobian
  auto batch = [&](std::vector<int64_t> rows, std::vector<double> th, std::vector<double>* grad = nullptr) {
    TestWorkspace w;
    halo_tensor t = halo::testing::make_tensor(th, {4});
    int64_t jacobian = 1;
    halo_tensor rt{};
    rt.data = rows.data();
    rt.dims[0] = static_cast<int64_t>(rows.size());
    void* args[] = {&t, &jacobian, &N, &D, &Xt, &yt, &gt, &rt};
    double lp = 0;
    halo_tensor gr{};
    void* results[] = {&lp, &gr};
    int32_t rc = m->get(grad ? "log_density_batch_grad" : "log_density_batch")(&w.ws, args, results);
    INFO(w.error);
    REQUIRE(rc == 0);
    if (grad) grad->assign(static_cast<double*>(gr.data), static_cast<double*>(gr.data) + 4);
    return lp;
  };
  double full = prior;
  for (int n = 0; n < N; ++n) full += loglik(n);
  CHECK(batch({0, 1, 2, 3, 4}, theta) == doctest::Approx(full).epsilon(1e-12));
  CHECK(batch({3, 1}, theta) == doctest::Approx(prior + 2.5 * (loglik(3) + loglik(1))).epsilon(1e-12));
  CHECK(batch({2, 2, 2}, theta) == doctest::Approx(prior + 5 * loglik(2)).epsilon(1e-12));
  std::vector<double> grad;
  double lp = batch({4, 0}, theta, &grad);
  CHECK(lp == doctest::Approx(batch({4, 0}, theta)).epsilon(1e-14));
  for (size_t k = 0; k < theta.size(); ++k) {
    std::vector<double> up = theta, down = theta;
    up[k] += 1e-6;
    down[k] -= 1e-6;
    CAPTURE(k);
    CHECK(grad[k] == doctest::Approx((batch({4, 0}, up) - batch({4, 0}, down)) / 2e-6).epsilon(1e-6));
  }
  // A row out of range fails with a message.
  TestWorkspace w;
  halo_tensor t = halo::testing::make_tensor(theta, {4});
  int64_t jacobian = 1;
  std::vector<int64_t> bad = {1, 5};
  halo_tensor rt{};
  rt.data = bad.data();
  rt.dims[0] = 2;
  void* args[] = {&t, &jacobian, &N, &D, &Xt, &yt, &gt, &rt};
  double out = 0;
  void* results[] = {&out};
  CHECK(m->get("log_density_batch")(&w.ws, args, results) != 0);
  CHECK(w.error.find("minibatch row") != std::string::npos);
}

TEST_CASE("prior draws: univariate priors in dependency order, reflection at bounds, uniform fallback") {
  auto m = build(R"(
parameters {
  vector[3] theta;
  real mu;
  real<lower=0> sigma;
  simplex[3] w;
  real<lower=0, upper=1> p;
}
model {
  theta ~ normal(mu, sigma);
  mu ~ normal(5, 0.1);
  sigma ~ normal(0, 0.5);
  p ~ beta(2, 2);
}
)");
  struct { uint64_t s[4]; } rng = {{0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull, 42}};
  int64_t handle = static_cast<int64_t>(reinterpret_cast<intptr_t>(&rng));
  const int n = 4000;
  double sum_mu = 0, sum_sigma = 0, sum_theta = 0, sum_p = 0, sum_p2 = 0;
  bool all_inside = true;
  for (int k = 0; k < n; ++k) {
    TestWorkspace w;
    void* args[] = {&handle};
    halo_tensor theta{};
    void* results[] = {&theta};
    INFO(w.error);
    REQUIRE(m->get("prior_draw")(&w.ws, args, results) == 0);
    REQUIRE(theta.dims[0] == 8);
    const double* u = static_cast<const double*>(theta.data);  // theta(3), mu, log sigma, w(2), logit p
    sum_theta += u[0] + u[1] + u[2];
    sum_mu += u[3];
    sum_sigma += std::exp(u[4]);
    double pk = 1 / (1 + std::exp(-u[7]));
    sum_p += pk;
    sum_p2 += pk * pk;
    all_inside = all_inside && std::isfinite(u[4]) && std::fabs(u[5]) < 2 && std::fabs(u[6]) < 2;
  }
  CHECK(all_inside);
  // Means within 5 standard errors: mu ~ N(5, 0.1); sigma half-normal(0.5): mean 0.5 sqrt(2/pi),
  // sd 0.5 sqrt(1 - 2/pi); theta ~ N(mu, sigma): sd sqrt(0.01 + 0.25); p ~ beta(2, 2): 1/2, 1/20.
  CHECK(std::fabs(sum_mu / n - 5) < 5 * 0.1 / std::sqrt(n));
  CHECK(std::fabs(sum_sigma / n - 0.5 * std::sqrt(2 / M_PI)) < 5 * 0.5 * std::sqrt(1 - 2 / M_PI) / std::sqrt(n));
  CHECK(std::fabs(sum_theta / (3 * n) - 5) < 5 * std::sqrt(0.26) / std::sqrt(n));
  CHECK(std::fabs(sum_p / n - 0.5) < 5 * std::sqrt(0.05 / n));
  CHECK(std::fabs(sum_p2 / n - (0.05 + 0.25)) < 0.01);
}

TEST_CASE("structured data and transformed parameters are validated, naming the variable") {
  auto m = build(R"(
data {
  simplex[3] s;
  cov_matrix[2] S;
}
parameters {
  real a;
}
transformed parameters {
  simplex[2] q = [a, 1 - a]';
}
model {
  a ~ normal(0.5, 1);
}
)");
  auto data_error = [&](std::vector<double> s, std::vector<double> S) {
    TestWorkspace w;
    halo_tensor st = halo::testing::make_tensor(s, {3}), mt = halo::testing::make_tensor(S, {2, 2});
    void* args[] = {&st, &mt};
    int32_t rc = m->get("data")(&w.ws, args, nullptr);
    return rc == 0 ? std::string() : w.error;
  };
  CHECK(data_error({0.2, 0.3, 0.5}, {2, 0.5, 0.5, 1}) == "");
  CHECK(data_error({0.2, 0.3, 0.6}, {2, 0.5, 0.5, 1}).find("data 's' is not a valid simplex") != std::string::npos);
  CHECK(data_error({0.2, 0.3, 0.5}, {1, 2, 2, 1}).find("data 'S' is not a valid cov_matrix") != std::string::npos);

  std::vector<double> s = {0.2, 0.3, 0.5}, S = {2, 0.5, 0.5, 1};
  halo_tensor st = halo::testing::make_tensor(s, {3}), mt = halo::testing::make_tensor(S, {2, 2});
  auto density_error = [&](double a) {
    TestWorkspace w;
    std::vector<double> theta = {a};
    halo_tensor t = halo::testing::make_tensor(theta, {1});
    int64_t jacobian = 1;
    void* args[] = {&t, &jacobian, &st, &mt};
    double lp = 0;
    void* results[] = {&lp};
    int32_t rc = m->get("log_density")(&w.ws, args, results);
    return rc == 0 ? std::string() : w.error;
  };
  CHECK(density_error(0.3) == "");
  CHECK(density_error(1.5).find("transformed parameter 'q' is not a valid simplex") != std::string::npos);
}

TEST_CASE("data-only computations are hoisted into the data entry and passed back in") {
  auto m = build(R"(
data {
  int N;
  vector[N] y;
  matrix[N, 2] X;
}
parameters {
  real mu;
  vector[2] b;
}
model {
  vector[N] log_y = log(y);
  log_y ~ normal(mu + X[:, 1] * b[1], 1);
  target += -0.5 * sum(square(X[:, 2])) * b[2] ^ 2;
}
)");
  auto* text = static_cast<const char*>(dlsym(m->lib, "halo_model_layout"));
  auto layout = nlohmann::json::parse(text);
  // Hoisted: log(y), X[:, 1] and sum(square(X[:, 2])) (each a computation on data containers).
  REQUIRE(layout.at("transformed_data").size() == 3);
  CHECK(layout["transformed_data"][0]["name"] == "__hoisted1");
  int64_t N = 3;
  std::vector<double> y = {0.5, 1.5, 2.5}, X = {0.1, 0.2, 0.3, -1.0, 0.5, 2.0};
  halo_tensor yt = halo::testing::make_tensor(y, {3}), Xt = halo::testing::make_tensor(X, {3, 2});
  Density d{*m, {&N, &yt, &Xt}};
  std::vector<double> u = {0.2, 0.7, -0.4};
  double expected = 0;
  for (int n = 0; n < 3; ++n) expected += -0.5 * std::pow(std::log(y[n]) - u[0] - X[n] * u[1], 2) - kLogSqrt2Pi;
  expected += -0.5 * (1.0 + 0.25 + 4.0) * u[2] * u[2];
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(u);
}

TEST_CASE("multi-dimensional arrays are reported in Stan's order (first index fastest)") {
  auto m = build(R"(
parameters {
  array[2, 3] real a;
  array[2] matrix[2, 2] M;
}
model {
  for (i in 1:2) for (j in 1:3) a[i, j] ~ normal(i, j);
}
)");
  std::vector<double> u(14);
  for (size_t k = 0; k < u.size(); ++k) u[k] = static_cast<double>(k);  // Halo's layout: row-major arrays
  TestWorkspace w;
  halo_tensor ut = halo::testing::make_tensor(u, {14});
  void* args[] = {&ut};
  halo_tensor params{}, tparams{};
  void* results[] = {&params, &tparams};
  REQUIRE(m->get("constrain")(&w.ws, args, results) == 0);
  const double* p = static_cast<const double*>(params.data);
  std::vector<double> got(p, p + 14);
  // a.1.1, a.2.1, a.1.2, ...; then M.1.1.1, M.2.1.1, M.1.2.1, M.2.2.1, M.1.1.2, ...
  std::vector<double> expected = {0, 3, 1, 4, 2, 5, 6, 10, 7, 11, 8, 12, 9, 13};
  CHECK(got == expected);
}

TEST_CASE("assignment through nested indexes and multi-indexes (scatter)") {
  auto m = build(R"(
parameters {
  array[2] vector[3] v;
  vector[4] z;
}
model {
  array[2] vector[3] w;
  vector[4] q = rep_vector(0, 4);
  array[2] int idx = {4, 2};
  w[1, 2] = v[1, 1];
  w[2] = v[2];
  w[1][1] = 1;
  w[1][3] = 0;
  w[1][3] += 2 * v[2, 3];
  q[idx] = v[1, 2:3];
  q[{1}] = z[{3}];
  target += sum(w[1]) * sum(w[2]) - dot_self(q) - dot_self(z);
}
)");
  Density d{*m, {}};
  std::vector<double> u = {0.3, -0.5, 0.8, 1.1, -0.2, 0.4, 0.9, -0.6, 0.25, 0.7};
  const double* v1 = &u[0];
  const double* v2 = &u[3];
  const double* z = &u[6];
  double w1 = 1 + v1[0] + 2 * v2[2];
  double w2 = v2[0] + v2[1] + v2[2];
  double q[4] = {z[2], v1[2], 0, v1[1]};
  double expected = w1 * w2 - (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]) -
                    (z[0] * z[0] + z[1] * z[1] + z[2] * z[2] + z[3] * z[3]);
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(u);
}

TEST_CASE("container bounds: parameters and data checked and transformed elementwise") {
  auto m = build(R"(
data {
  vector[3] L;
  vector[3] U;
  vector<lower=L>[3] d;
}
parameters {
  vector<lower=L, upper=U>[3] x;
  vector<lower=L>[3] y;
}
model {
  target += -dot_self(x) - dot_self(y);
}
)");
  std::vector<double> L = {-1.0, 0.5, 2.0}, dv = {0.0, 0.5, 3.0};
  std::vector<double> U = {1, 2, 5};
  halo_tensor Lt = halo::testing::make_tensor(L, {3}), dt = halo::testing::make_tensor(dv, {3});
  halo_tensor Ut = halo::testing::make_tensor(U, {3});
  Density d{*m, {&Lt, &Ut, &dt}};
  std::vector<double> u = {0.3, -0.7, 1.2, 0.1, -0.4, 0.9};
  double expected = 0;
  for (int k = 0; k < 3; ++k) {
    double z = 1 / (1 + std::exp(-u[k]));
    double x = L[k] + (U[k] - L[k]) * z;
    double y = L[k] + std::exp(u[3 + k]);
    expected += -x * x - y * y + std::log(U[k] - L[k]) + std::log(z) + std::log(1 - z) + u[3 + k];
  }
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(u);
  // Data below its elementwise bound.
  std::vector<double> bad = {0.0, 0.4, 3.0};
  halo_tensor bt = halo::testing::make_tensor(bad, {3});
  TestWorkspace w;
  void* args[] = {&Lt, &Ut, &bt};
  CHECK(m->get("data")(&w.ws, args, nullptr) != 0);
  CHECK(w.error.find("data 'd': element 2 is below its lower bound L") != std::string::npos);
}

TEST_CASE("sum of an int array is an exact int") {
  auto m = build(R"(
data {
  array[4] int y;
}
parameters {
  real<lower=0> lambda;
}
model {
  int total = sum(y);
  target += total * log(lambda) - 4 * lambda;
}
)");
  std::vector<int64_t> y = {3, 0, 5, 2};
  halo_tensor yt{};
  yt.data = y.data();
  yt.dims[0] = 4;
  Density d{*m, {&yt}};
  d.jacobian = 0;
  CHECK(d.value({std::log(2.0)}) == doctest::Approx(10 * std::log(2.0) - 8).epsilon(1e-14));
  d.jacobian = 1;
  d.check_gradient({0.3});
}

TEST_CASE("GLM densities: normal_id_glm, bernoulli_logit_glm, poisson_log_glm, neg_binomial_2_log_glm") {
  auto m = build(R"(
data {
  int N;
  matrix[N, 2] X;
  vector[N] y;
  array[N] int k;
  array[N] int c;
}
parameters {
  real alpha;
  vector[2] beta;
  real<lower=0> sigma;
  vector[N] a;
  real<lower=0> phi;
}
model {
  y ~ normal_id_glm(X, alpha, beta, sigma);
  k ~ bernoulli_logit_glm(X, a, beta);
  target += poisson_log_glm_lpmf(c | X, alpha, beta);
  c ~ neg_binomial_2_log_glm(X, alpha, beta, phi);
}
)");
  int64_t N = 3;
  std::vector<double> X = {0.5, -1.0, 0.2, 1.5, 0.3, -0.7}, y = {0.1, 1.2, -0.4};
  std::vector<int64_t> k = {1, 0, 1}, c = {3, 0, 5};
  halo_tensor Xt = halo::testing::make_tensor(X, {3, 2}), yt = halo::testing::make_tensor(y, {3});
  halo_tensor kt{}, ct{};
  kt.data = k.data();
  kt.dims[0] = 3;
  ct.data = c.data();
  ct.dims[0] = 3;
  Density d{*m, {&N, &Xt, &yt, &kt, &ct}};
  d.jacobian = 0;
  std::vector<double> u = {0.3, 0.5, -0.8, std::log(0.7), 0.1, -0.2, 0.4, std::log(2.5)};
  double alpha = u[0], b0 = u[1], b1 = u[2], sigma = 0.7, phi = 2.5;
  double expected = 0;
  for (int n = 0; n < 3; ++n) {
    double eta = b0 * X[n] + b1 * X[3 + n];
    double mu = alpha + eta;
    expected += -0.5 * std::pow((y[n] - mu) / sigma, 2) - std::log(sigma) - kLogSqrt2Pi;
    double lk = u[4 + n] + eta;
    expected += k[n] * lk - std::log1p(std::exp(lk));
    expected += c[n] * mu - std::exp(mu) - std::lgamma(c[n] + 1.0);
    double m_n = std::exp(mu);
    expected += std::lgamma(c[n] + phi) - std::lgamma(c[n] + 1.0) - std::lgamma(phi) + phi * std::log(phi / (m_n + phi)) +
                c[n] * std::log(m_n / (m_n + phi));
  }
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-10));
  d.jacobian = 1;
  d.check_gradient(u);
}

TEST_CASE("QR reparameterisation in transformed data (qr_thin_Q, qr_thin_R)") {
  auto m = build(R"(
data {
  int N;
  matrix[N, 2] X;
  vector[N] y;
}
transformed data {
  matrix[N, 2] Q = qr_thin_Q(X) * sqrt(N - 1);
  matrix[2, 2] R = qr_thin_R(X) / sqrt(N - 1);
  matrix[2, 2] R_inv = [[1 / R[1, 1], -R[1, 2] / (R[1, 1] * R[2, 2])], [0, 1 / R[2, 2]]];
}
parameters {
  vector[2] theta;
}
model {
  y ~ normal(Q * theta, 1);
}
generated quantities {
  vector[2] beta = R_inv * theta;
}
)");
  int64_t N = 4;
  std::vector<double> X = {1.0, 2.0, 0.5, -1.0, 0.3, -0.7, 1.1, 0.4}, y = {0.2, 1.0, -0.3, 0.8};
  halo_tensor Xt = halo::testing::make_tensor(X, {4, 2}), yt = halo::testing::make_tensor(y, {4});
  Density d{*m, {&N, &Xt, &yt}};
  // Q theta = X R^-1 theta = X beta: the density in terms of beta = R^-1 theta.
  std::vector<double> theta = {0.4, -0.9};
  TestWorkspace w;
  TransformedData td(*m, &w.ws, {&N, &Xt, &yt});
  const double* R = static_cast<const double*>(td.tensors[1].data);  // column-major 2 x 2
  CHECK(R[1] == 0.0);
  CHECK(R[0] > 0);
  CHECK(R[3] > 0);
  double beta1 = theta[1] / R[3], beta0 = (theta[0] - R[2] * beta1) / R[0];
  double expected = 0;
  for (int n = 0; n < 4; ++n) {
    double mu = X[n] * beta0 + X[4 + n] * beta1;
    expected += -0.5 * (y[n] - mu) * (y[n] - mu) - kLogSqrt2Pi;
  }
  CHECK(d.value(theta) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(theta);
}

namespace {

// A network's reference forward pass: layer l reads W (out x in, column-major) and then b from
// theta at `offset`, and maps the rows of H (N x in, column-major) to act(H W' + b').
double activate(const std::string& a, double z) {
  if (a == "relu") return z > 0 ? z : 0.0;
  if (a == "tanh") return std::tanh(z);
  if (a == "softplus") return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
  if (a == "sigmoid") return 1.0 / (1.0 + std::exp(-z));
  if (a == "elu") return z > 0 ? z : std::expm1(z);
  if (a == "gelu") return 0.5 * z * std::erfc(-z / std::sqrt(2.0));
  if (a == "leaky_relu") return z > 0 ? z : 0.01 * z;
  return z;  // identity
}

std::vector<double> mlp_rows(const std::vector<double>& theta, size_t& offset, const std::vector<int>& widths,
                             const std::vector<std::string>& activations, std::vector<double> H, int N) {
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const int in = widths[l], out = widths[l + 1];
    const double* W = theta.data() + offset;
    const double* b = W + out * in;
    offset += static_cast<size_t>(out * in + out);
    std::vector<double> next(static_cast<size_t>(N * out));
    for (int n = 0; n < N; ++n)
      for (int j = 0; j < out; ++j) {
        double z = b[j];
        for (int i = 0; i < in; ++i) z += H[n + i * N] * W[j + i * out];
        next[n + j * N] = activate(activations[l], z);
      }
    H = std::move(next);
  }
  return H;
}

// The gradient along a few random directions against central differences: covers every
// coordinate of a large parameter vector at the cost of two densities per direction.
void check_directional_derivatives(Density& d, const std::vector<double>& theta, int directions, unsigned seed) {
  std::vector<double> g = d.gradient(theta);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int k = 0; k < directions; ++k) {
    std::vector<double> v(theta.size()), up = theta, down = theta;
    double along = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] = normal(rng);
      along += g[i] * v[i];
    }
    const double h = 1e-6;
    for (size_t i = 0; i < v.size(); ++i) {
      up[i] += h * v[i];
      down[i] -= h * v[i];
    }
    CAPTURE(k);
    CHECK(along == doctest::Approx((d.value(up) - d.value(down)) / (2 * h)).epsilon(1e-6).scale(1.0));
  }
}

}  // namespace

TEST_CASE("networks: every activation, rows of a matrix, one vector, width-1 rows, density and gradient") {
  auto m = build(R"(
data {
  int N;
  matrix[N, 3] X;
  vector[N] x1;
  vector[3] v;
  vector[N] y;
}
parameters {
  mlp(3 -> 4 -> 4 -> 4 -> 4 -> 4 -> 4 -> 4 -> 4 -> 1, relu, tanh, softplus, sigmoid, elu, gelu, leaky_relu, identity) all;
  mlp(1 -> 5 -> 3 -> 1, softplus, tanh) narrow;
  mlp(3 -> 4 -> 2, sigmoid, identity) single;
}
model {
  all ~ normal(0, 1);
  narrow ~ normal(0, 1);
  single ~ normal(0, 1);
  y ~ normal(all(X), 0.5);
  y ~ normal(narrow(x1), 0.7);
  vector[2] s = single(v);
  s ~ normal(0.3, 2);
}
)");
  const int N = 7;
  int64_t n64 = N;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> X(N * 3), x1(N), v(3), y(N);
  for (double& x : X) x = normal(rng);
  for (double& x : x1) x = normal(rng);
  for (double& x : v) x = normal(rng);
  for (double& x : y) x = normal(rng);
  halo_tensor Xt = halo::testing::make_tensor(X, {N, 3}), x1t = halo::testing::make_tensor(x1, {N}),
              vt = halo::testing::make_tensor(v, {3}), yt = halo::testing::make_tensor(y, {N});
  Density d{*m, {&n64, &Xt, &x1t, &vt, &yt}};
  const std::vector<int> all_widths = {3, 4, 4, 4, 4, 4, 4, 4, 4, 1}, narrow_widths = {1, 5, 3, 1},
                         single_widths = {3, 4, 2};
  size_t count = 0;
  for (auto* w : {&all_widths, &narrow_widths, &single_widths})
    for (size_t l = 0; l + 1 < w->size(); ++l) count += static_cast<size_t>((*w)[l] * (*w)[l + 1] + (*w)[l + 1]);
  REQUIRE(count == 161 + 32 + 26);
  std::vector<double> theta(count);
  for (double& t : theta) t = 0.8 * normal(rng);

  auto logn = [](double x, double mu, double s) { return -0.5 * (x - mu) * (x - mu) / (s * s) - std::log(s) - kLogSqrt2Pi; };
  double expected = 0;
  for (double t : theta) expected += logn(t, 0, 1);
  size_t offset = 0;
  std::vector<double> out = mlp_rows(theta, offset, all_widths,
                                     {"relu", "tanh", "softplus", "sigmoid", "elu", "gelu", "leaky_relu", "identity", "identity"}, X, N);
  for (int n = 0; n < N; ++n) expected += logn(y[n], out[n], 0.5);
  out = mlp_rows(theta, offset, narrow_widths, {"softplus", "tanh", "identity"}, x1, N);
  for (int n = 0; n < N; ++n) expected += logn(y[n], out[n], 0.7);
  out = mlp_rows(theta, offset, single_widths, {"sigmoid", "identity"}, v, 1);
  for (double s : out) expected += logn(s, 0.3, 2);
  CHECK(d.value(theta) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(theta);
  d.propto = true;
  d.check_gradient(theta);
}

TEST_CASE("networks: wide layers (products through the packed and the unpacked kernels), gradient") {
  // 70 x 70 layers on 70 rows: the hidden products are large enough for halo_gemm's packed
  // panels, forward and in both adjoint products; the first layer (k = 20) and the read-out take
  // the unpacked tiles.
  auto m = build(R"(
data {
  int N;
  matrix[N, 20] X;
  vector[N] y;
}
parameters {
  mlp(20 -> 70 -> 70 -> 1, tanh, softplus) net;
  real<lower=0> sigma;
}
model {
  net ~ normal(0, 1);
  sigma ~ lognormal(0, 1);
  y ~ normal(net(X), sigma);
}
)");
  const int N = 70;
  int64_t n64 = N;
  std::mt19937_64 rng(12);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> X(N * 20), y(N);
  for (double& x : X) x = normal(rng);
  for (double& x : y) x = normal(rng);
  halo_tensor Xt = halo::testing::make_tensor(X, {N, 20}), yt = halo::testing::make_tensor(y, {N});
  Density d{*m, {&n64, &Xt, &yt}};
  std::vector<double> theta(20 * 70 + 70 + 70 * 70 + 70 + 70 + 1 + 1);
  for (double& t : theta) t = 0.2 * normal(rng);
  theta.back() = 0.3;  // log sigma
  double expected = 0;
  auto logn = [](double x, double mu, double s) { return -0.5 * (x - mu) * (x - mu) / (s * s) - std::log(s) - kLogSqrt2Pi; };
  for (size_t k = 0; k + 1 < theta.size(); ++k) expected += logn(theta[k], 0, 1);
  const double sigma = std::exp(theta.back());
  expected += logn(std::log(sigma), 0, 1) - std::log(sigma) + theta.back();  // lognormal, Jacobian
  size_t offset = 0;
  std::vector<double> out = mlp_rows(theta, offset, {20, 70, 70, 1}, {"tanh", "softplus", "identity"}, X, N);
  for (int n = 0; n < N; ++n) expected += logn(y[n], out[n], sigma);
  CHECK(d.value(theta) == doctest::Approx(expected).epsilon(1e-11));
  check_directional_derivatives(d, theta, 6, 13);
  d.propto = true;
  check_directional_derivatives(d, theta, 3, 14);
  d.propto = false;
  // A sample of single coordinates in every tensor: the layers' weights and biases, sigma.
  double lp = 0;
  std::vector<double> g = d.gradient(theta, &lp);
  for (size_t k : {size_t{0}, size_t{777}, size_t{1405}, size_t{1470}, size_t{3000}, size_t{6369}, size_t{6400},
                   size_t{6440}, size_t{6510}, theta.size() - 1}) {
    const double h = 1e-6;
    std::vector<double> up = theta, down = theta;
    up[k] += h;
    down[k] -= h;
    CAPTURE(k);
    CHECK(g[k] == doctest::Approx((d.value(up) - d.value(down)) / (2 * h)).epsilon(1e-6).scale(1.0));
  }
}

TEST_CASE("maps that store their partials inside loops and branches (pushed and popped), gradient") {
  // Each iteration applies softplus and inv_logit maps (partials stored by the forward sweep) to
  // a parameter-dependent vector; the reverse sweep pops them per iteration.
  auto m = build(R"(
data {
  int G;
  int K;
  array[G] vector[K] y;
}
parameters {
  vector[K] w;
  real<lower=0> s;
}
model {
  w ~ normal(0, 1);
  s ~ lognormal(0, 1);
  for (g in 1:G) {
    vector[K] h = log1p_exp(w * g - 1);
    if (g % 2 == 0) {
      y[g] ~ normal(inv_logit(h) * 3, s);
    } else {
      y[g] ~ normal(h, s);
    }
  }
}
)");
  int64_t G = 3, K = 5;
  std::vector<double> y = {0.1, 0.5, -0.3, 1.2, 0.8, 0.9, 1.1, 2.0, 1.5, 0.2, -0.4, 0.3, 0.7, 1.9, 2.2};
  halo_tensor yt = halo::testing::make_tensor(y, {3, 5});
  Density d{*m, {&G, &K, &yt}};
  std::vector<double> theta = {0.3, -0.8, 1.1, 0.05, -1.4, std::log(0.7)};
  double expected = 0;
  auto logn = [](double x, double mu, double s) { return -0.5 * (x - mu) * (x - mu) / (s * s) - std::log(s) - kLogSqrt2Pi; };
  const double s = std::exp(theta[5]);
  for (int k = 0; k < 5; ++k) expected += logn(theta[k], 0, 1);
  expected += logn(std::log(s), 0, 1) - std::log(s) + theta[5];
  for (int g = 1; g <= 3; ++g)
    for (int k = 0; k < 5; ++k) {
      const double h = std::log1p(std::exp(theta[k] * g - 1));
      const double mu = g % 2 == 0 ? 3.0 / (1.0 + std::exp(-h)) : h;
      expected += logn(y[(g - 1) * 5 + k], mu, s);
    }
  CHECK(d.value(theta) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(theta);
  d.propto = true;
  d.check_gradient(theta);
}

TEST_CASE("minibatch with hoisted data-only code: the batch is recomputed from its rows") {
  auto m = build(R"(
data {
  batch int<lower=1> N;
  vector<lower=0>[N] y;
}
parameters {
  real mu;
}
model {
  mu ~ normal(0, 1);
  log(y) ~ normal(mu, 1);
}
)");
  int64_t N = 4;
  std::vector<double> y = {0.5, 1.5, 2.5, 4.0};
  halo_tensor yt = halo::testing::make_tensor(y, {4});
  TestWorkspace w;
  TransformedData td(*m, &w.ws, {&N, &yt});
  REQUIRE(td.args.size() == 1);  // log(y), hoisted
  std::vector<double> theta = {0.3};
  halo_tensor t = halo::testing::make_tensor(theta, {1});
  int64_t jacobian = 1;
  std::vector<int64_t> rows = {2, 0};
  halo_tensor rt{};
  rt.data = rows.data();
  rt.dims[0] = 2;
  void* args[] = {&t, &jacobian, &N, &yt, td.args[0], &rt};
  double lp = 0;
  void* results[] = {&lp};
  INFO(w.error);
  REQUIRE(m->get("log_density_batch")(&w.ws, args, results) == 0);
  auto normal = [](double x, double mean) { return -0.5 * (x - mean) * (x - mean) - kLogSqrt2Pi; };
  double expected = normal(0.3, 0) + 2.0 * (normal(std::log(2.5), 0.3) + normal(std::log(0.5), 0.3));
  CHECK(lp == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("conditional expressions evaluate only the chosen side") {
  // y[n - 1] at n = 1 would be out of range, and x * log(x) at x = 0 would put an infinite
  // partial into the gradient: Stan evaluates only the side chosen, and so must we.
  auto m = build(R"(
data {
  int<lower=1> N;
  vector[N] y;
}
parameters {
  real mu;
  real<lower=0> x;
}
model {
  for (n in 1:N) {
    real prev = n > 1 ? y[n - 1] : 0;
    y[n] ~ normal(mu + 0.5 * prev, 1);
  }
  target += x == 0 ? 0 : x * log(x);
  target += mu > 0 ? mu : -2 * mu;  // eager sides: a select
  target += -x;
}
)");
  int64_t N = 3;
  std::vector<double> y = {1.0, 2.0, 3.5};
  halo_tensor yt = halo::testing::make_tensor(y, {N});
  Density d{*m, {&N, &yt}};
  d.jacobian = 0;
  const double mu = 0.3, x = 1.7;
  double expected = 0;
  for (int n = 0; n < N; ++n) {
    const double prev = n > 0 ? y[n - 1] : 0.0;
    const double z = y[n] - (mu + 0.5 * prev);
    expected += -0.5 * z * z - 0.5 * std::log(2 * M_PI);
  }
  expected += x * std::log(x) + mu - x;
  CHECK(d.value({mu, std::log(x)}) == doctest::Approx(expected).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient({mu, std::log(x)});
  d.check_gradient({-0.8, -0.4});
  // x = 0 exactly (exp(-800) underflows): the chosen side is 0, and the gradient stays finite.
  std::vector<double> g = d.gradient({0.1, -800.0});
  CHECK(std::isfinite(g[0]));
  CHECK(std::isfinite(g[1]));
}

TEST_CASE("reduce_sum and reduce_sum_static: the partial sum over the whole array, profile blocks") {
  auto m = build(R"(
functions {
  real partial_sum_lpmf(array[] int slice, int start, int end, vector lambda) {
    return poisson_lupmf(slice | lambda[start:end]);
  }
  real partial_normal(array[] real slice, int start, int end, real mu) {
    return normal_lpdf(slice | mu, 1);
  }
}
data {
  int<lower=1> N;
  array[N] int<lower=0> cnt;
  array[N] real y;
}
parameters {
  vector<lower=0>[N] lambda;
  real mu;
}
model {
  profile("likelihood") {
    target += reduce_sum(partial_sum_lpmf, cnt, 1, lambda);
    target += reduce_sum_static(partial_normal, y, 2, mu);
  }
}
)");
  int64_t N = 4;
  std::vector<int64_t> cnt = {0, 3, 1, 7};
  std::vector<double> y = {0.5, -1.0, 2.0, 0.25};
  halo_tensor ct{};
  ct.data = cnt.data();
  ct.dims[0] = N;
  halo_tensor yt = halo::testing::make_tensor(y, {N});
  Density d{*m, {&N, &ct, &yt}};
  d.jacobian = 0;
  std::vector<double> u = {0.1, -0.3, 1.2, 0.7, 0.4};
  double expected = 0;
  for (int n = 0; n < N; ++n) {
    const double lambda = std::exp(u[n]), mu = u[4];
    expected += cnt[n] * std::log(lambda) - lambda - std::lgamma(cnt[n] + 1.0);
    expected += -0.5 * (y[n] - mu) * (y[n] - mu) - 0.5 * std::log(2 * M_PI);
  }
  CHECK(d.value(u) == doctest::Approx(expected).epsilon(1e-12));
  d.jacobian = 1;
  d.check_gradient(u);
}

TEST_CASE("conditional expressions over containers whose sides are variables or literals") {
  auto m = build(R"(
data {
  int<lower=1> N;
  vector[N] x;
  vector[N + 1] z;
  int flip;
}
parameters {
  real mu;
  vector[2] b;
}
model {
  vector[flip ? N : N + 1] w = flip ? x : z;   // the chosen side's size
  array[3] int idx = flip > 0 ? {1, 2, 3} : {3, 2, 1};
  vector[2] bb = mu > 0 ? b : [1.0, 2.0]';
  w ~ normal(mu + bb[1], 1);
  target += idx[1] * b[2];
}
)");
  int64_t N = 2;
  std::vector<double> x = {0.5, 1.5}, z = {-1.0, 0.25, 2.0};
  halo_tensor xt = halo::testing::make_tensor(x, {N}), zt = halo::testing::make_tensor(z, {N + 1});
  auto expected = [&](bool flip, double mu, double b1, double b2) {
    const std::vector<double>& w = flip ? x : z;
    const double shift = mu + (mu > 0 ? b1 : 1.0);
    double lp = 0;
    for (double v : w) lp += -0.5 * (v - shift) * (v - shift) - 0.5 * std::log(2 * M_PI);
    return lp + (flip ? 1 : 3) * b2;
  };
  for (int64_t flip : {1, 0}) {
    CAPTURE(flip);
    Density d{*m, {&N, &xt, &zt, &flip}};
    for (std::vector<double> u : {std::vector<double>{0.7, -0.2, 0.4}, std::vector<double>{-0.6, 0.3, -1.1}}) {
      CHECK(d.value(u) == doctest::Approx(expected(flip == 1, u[0], u[1], u[2])).epsilon(1e-12));
      d.check_gradient(u);
    }
  }
}

TEST_CASE("conditional expressions over computed containers: a located back-end error") {
  halo::SourceFile file("cond.model", R"(
data { vector[3] x; }
parameters { real mu; }
model {
  vector[3] w = mu > 0 ? x : exp(x);
  target += sum(w);
}
)");
  halo::Diagnostics diags;
  auto program = halo::frontend::parse(file, diags);
  if (program) program = halo::semantic::check(std::move(program), diags);
  REQUIRE(program);
  halo::driver::CompileOptions options;
  options.model_name = "cond";
  options.output = "/tmp/halo_cond_" + std::to_string(::getpid()) + ".so";
  options.link_runtime = false;
  std::string error;
  CHECK(halo::driver::compile_model(*program, options, diags, error) != 0);
  const std::string text = halo::render_all(diags, file) + error;
  CHECK(text.find("cond.model:5:17") != std::string::npos);
  CHECK(text.find("a conditional expression of a container type whose sides are not variables or literals") !=
        std::string::npos);
}

namespace {
// The number of values with the given name hint in the lowered log density: the tables of
// tabulate_invariant_calls, the carried scalars of carry_squared_roots.
int values_named_in_log_density(const std::string& source, const std::string& name) {
  halo::SourceFile file("test.model", source);
  halo::Diagnostics diags;
  auto program = halo::frontend::parse(file, diags);
  if (program) program = halo::semantic::check(std::move(program), diags);
  REQUIRE(program);
  auto lowered = halo::ir::lower(*program, "test", diags);
  REQUIRE(lowered);
  for (const auto& f : lowered->module.functions)
    if (f.name == "log_density") {
      int n = 0;
      for (const auto& v : f.values) n += v.name == name;
      return n;
    }
  FAIL("no log_density");
  return -1;
}
int tables_in_log_density(const std::string& source) { return values_named_in_log_density(source, "table"); }

// An optimised model against its reference (the same density, written so that the optimisation
// does not apply): equal values and gradients, and the gradient against finite differences.
void check_same_density(Density& d, Density& reference, const std::vector<double>& theta) {
  CHECK(d.value(theta) == doctest::Approx(reference.value(theta)).epsilon(1e-13));
  std::vector<double> g = d.gradient(theta), gr = reference.gradient(theta);
  for (size_t k = 0; k < g.size(); ++k) CHECK(g[k] == doctest::Approx(gr[k]).epsilon(1e-12));
  d.check_gradient(theta);
}
}  // namespace

// A call that varies with inner loops' indices only is computed once into a table before the
// outer loop (ir/tabulate.cpp). The same model with the call made to depend on t (so that it
// stays in the loop) is the reference; calls under a branch, depending on t, or in a loop whose
// bounds vary are left alone.
TEST_CASE("loop-invariant calls tabulated over inner loops: values, gradients, empty loops, checks") {
  const std::string tabulated = R"(
data {
  int<lower=1> N;
  int<lower=1> K;
  vector[N] y;
}
parameters {
  matrix<lower=0>[K, K] a;
  real<lower=0> s;
}
model {
  matrix[N, K] f;
  for (k in 1:K) f[1, k] = normal_lpdf(y[1] | k, s);
  for (t in 2:N) {
    for (k in 1:K) {
      real acc = 0;
      for (j in 1:K) {
        acc += exp(f[t - 1, j] / 10) * log1p(a[j, k]);
        if (y[t] > 0) acc += lgamma(a[j, k] + 1);
        acc += log(a[j, k] + t);
      }
      for (j in 1:k) acc += sqrt(a[j, k]);
      f[t, k] = acc / 100 + normal_lpdf(y[t] | k, s);
    }
  }
  target += sum(f[N]);
  s ~ normal(0, 1);
}
)";
  std::string reference = tabulated;
  const std::string call = "log1p(a[j, k])";
  reference.replace(reference.find(call), call.size(), "log1p(a[j, k] + 0 * t)");
  CHECK(tables_in_log_density(tabulated) == 1);
  CHECK(tables_in_log_density(reference) == 0);
  auto m = build(tabulated);
  auto r = build(reference);
  int64_t K = 3;
  for (int64_t N : {6, 1}) {  // N = 1: the outer loop does not run, the table is empty
    CAPTURE(N);
    std::vector<double> y;
    for (int64_t n = 0; n < N; ++n) y.push_back(std::sin(1.1 * n) + 0.3);
    halo_tensor yt = halo::testing::make_tensor(y, {N});
    Density d{*m, {&N, &K, &yt}}, dr{*r, {&N, &K, &yt}};
    for (int point = 0; point < 2; ++point) {
      std::vector<double> theta;
      for (int k = 0; k < 10; ++k) theta.push_back(0.3 * std::cos(1.7 * k + point));
      check_same_density(d, dr, theta);
    }
  }
}

TEST_CASE("loop-invariant calls tabulated: an index out of range fails as before, unless the loop is empty") {
  const std::string source = R"(
data {
  int<lower=0> T;
  int<lower=0> J;
}
parameters {
  vector<lower=0>[2] w;
}
model {
  for (t in 1:T) {
    for (j in 1:J) target += log(w[j]);
  }
}
)";
  CHECK(tables_in_log_density(source) == 1);
  auto m = build(source);
  std::vector<double> theta = {0.2, -0.4};  // unconstrained: w = exp(theta)
  auto run = [&](int64_t T, int64_t J, double* lp, std::string* error) {
    TestWorkspace w;
    halo_tensor t = halo::testing::make_tensor(theta, {2});
    int64_t jacobian = 0;
    void* args[] = {&t, &jacobian, &T, &J};
    void* results[] = {lp};
    int32_t rc = m->get("log_density")(&w.ws, args, results);
    *error = w.error;
    return rc;
  };
  double lp = 0;
  std::string error;
  REQUIRE(run(3, 2, &lp, &error) == 0);
  CHECK(lp == doctest::Approx(3 * (0.2 - 0.4)).epsilon(1e-14));
  CHECK(run(3, 3, &lp, &error) != 0);
  CHECK(error.find("index 3 out of range for 'w' of size 2") != std::string::npos);
  REQUIRE(run(0, 3, &lp, &error) == 0);  // the loop that would fail never runs
  CHECK(lp == 0.0);
}


// square(s[t - 1]) of a root stored by the previous step is read from a carried scalar
// (ir/recurrences.cpp). The reference squares the root with two fabs calls (not the pattern).
// Same values and gradients, an empty loop, and a negative radicand that fails as before.
TEST_CASE("squares of roots stored by a recursion's previous step are carried: values, gradients, NaN") {
  const std::string carried = R"(
data {
  int<lower=1> T;
  vector[T] y;
}
parameters {
  real a;
  real<lower=0, upper=1> b;
  real mu;
}
model {
  vector[T] s;
  s[1] = 1;
  for (t in 2:T) {
    s[t] = sqrt(a + b * square(s[t - 1]) + 0.1 * square(y[t - 1] - mu));
  }
  y ~ normal(mu, s);
}
)";
  std::string reference = carried;
  const std::string square = "square(s[t - 1])";
  reference.replace(reference.find(square), square.size(), "fabs(s[t - 1]) * fabs(s[t - 1])");
  CHECK(values_named_in_log_density(carried, "carried") == 1);
  CHECK(values_named_in_log_density(reference, "carried") == 0);
  auto m = build(carried);
  auto r = build(reference);
  for (int64_t T : {40, 1}) {  // T = 1: the loop does not run
    CAPTURE(T);
    std::vector<double> y;
    for (int64_t t = 0; t < T; ++t) y.push_back(std::sin(0.9 * t) * (1 + 0.02 * t));
    halo_tensor yt = halo::testing::make_tensor(y, {T});
    Density d{*m, {&T, &yt}}, dr{*r, {&T, &yt}};
    for (const std::vector<double>& theta : {std::vector<double>{0.3, -0.2, 0.1}, {1.2, 0.8, -0.4}}) {
      check_same_density(d, dr, theta);
    }
  }
  // a = -5: the radicand turns negative and s[t] is NaN; the density is NaN in both (or fails
  // the same way).
  int64_t T = 10;
  std::vector<double> y(T, 0.5);
  halo_tensor yt = halo::testing::make_tensor(y, {T});
  auto density = [&](const Model& model, std::string* error) {
    TestWorkspace w;
    std::vector<double> theta = {-5.0, 0.0, 0.0};
    halo_tensor t = halo::testing::make_tensor(theta, {3});
    int64_t jacobian = 1;
    void* args[] = {&t, &jacobian, &T, &yt};
    double lp = 0;
    void* results[] = {&lp};
    const int32_t rc = model.get("log_density")(&w.ws, args, results);
    *error = rc == 0 ? "" : w.error;
    return rc == 0 ? lp : 0.0;
  };
  std::string error, error_reference;
  const double lp = density(*m, &error), lp_reference = density(*r, &error_reference);
  CHECK(error == error_reference);
  if (error.empty()) {
    CHECK(std::isnan(lp));
    CHECK(std::isnan(lp_reference));
  }
}

// Tabulation at two levels of a nest: a call invariant in the outermost loop over four inner
// levels, and one inside it over three: the same values and gradients as the reference.
TEST_CASE("loop-invariant calls tabulated at two levels of a nest, over up to four inner loops") {
  const std::string tabulated = R"(
data {
  int<lower=1> N;
}
parameters {
  array[2, 3, 2] real<lower=0> w;
  real mu;
}
model {
  real acc = 0;
  for (r in 1:2) {
    for (t in 1:N) {
      for (i in 1:2) {
        for (j in 1:3) {
          for (k in 1:2) {
            acc += log(w[i, j, k] + r) * (t + mu) / 100;
            acc += lgamma(w[i, j, k] + t) / 1000;
          }
        }
      }
    }
  }
  target += acc;
  mu ~ normal(0, 1);
}
)";
  std::string reference = tabulated;
  const std::string call = "log(w[i, j, k] + r)";
  reference.replace(reference.find(call), call.size(), "log(w[i, j, k] + r + 0 * t)");
  // lgamma(w[i, j, k] + t) does not depend on r: tabulated over (t, i, j, k) before r's loop;
  // log(w[i, j, k] + r) over (i, j, k) before t's loop, inside r's (not in the reference).
  CHECK(tables_in_log_density(tabulated) == 2);
  CHECK(tables_in_log_density(reference) == 1);
  auto m = build(tabulated);
  auto r = build(reference);
  int64_t N = 3;
  Density d{*m, {&N}}, dr{*r, {&N}};
  std::vector<double> theta;
  for (int k = 0; k < 13; ++k) theta.push_back(0.2 * std::sin(1.3 * k));
  check_same_density(d, dr, theta);
}

// Where the carried square does not apply: a loop counting down, the root read after the
// store, a second write to the array, a two-dimensional array. Two squares of one load share
// the carried value.
TEST_CASE("squares of roots carried: only for the pattern's conditions") {
  auto count = [](const std::string& loop) {
    return values_named_in_log_density(R"(
data {
  int<lower=2> T;
}
parameters {
  real<lower=0> a;
}
model {
  array[T] real s;
  array[T, 2] real m;
  s[1] = 1;
  m[1, 1] = 1;
)" + loop + R"(
  target += -a + sum(s);
}
)", "carried");
  };
  CHECK(count("for (t in 2:T) s[t] = sqrt(a + square(s[t - 1]));") == 1);
  CHECK(count("for (t in 2:T) s[t] = sqrt(a + square(s[t - 1]) + square(s[t - 1]));") == 1);
  CHECK(count("for (t in 2:T) { s[t] = sqrt(a + square(s[t - 1])); s[t] += 0; }") == 0);
  CHECK(count("for (t in 2:T) { s[t] = sqrt(a); s[t] += square(s[t - 1]); }") == 0);
  CHECK(count("for (t in 2:T) s[t] = sqrt(a + square(s[t - 2 + 1]) * 0.5);") == 1);
  CHECK(count("for (t in 2:T) s[t] = sqrt(a + square(s[t]));") == 0);
  CHECK(count("for (t in 2:T) m[t, 1] = sqrt(a + square(m[t - 1, 1]));") == 0);
  auto m = build(R"(
data {
  int<lower=2> T;
}
parameters {
  real<lower=0> a;
}
model {
  array[T] real s;
  s[1] = 0.5;
  for (t in 2:T) s[t] = sqrt(a + 0.3 * square(s[t - 1]) + 0.2 * square(s[t - 1]));
  target += -a + log(s[T]);
}
)");
  int64_t T = 12;
  Density d{*m, {&T}};
  // s converges to the fixed point of s^2 = a + 0.5 s^2: s[T] ~ sqrt(2 a).
  const double a = 0.7;
  double s = 0.5;
  for (int t = 2; t <= T; ++t) s = std::sqrt(a + 0.5 * s * s);
  CHECK(d.value({std::log(a)}) == doctest::Approx(-a + std::log(s) + std::log(a)).epsilon(1e-14));
  d.check_gradient({std::log(a)});
}

// Loops nested in a fused loop are fused too, and an element read at an index the inner loop
// does not change (alpha[j]) collects its adjoint in a scalar. The reference writes an outer
// array in the outer loop, which keeps both loops from being fused.
TEST_CASE("loops that only add to target, nested: fused with scalar pre-adjoints, gradients") {
  const std::string fused = R"(
data {
  int<lower=1> J;
  int<lower=1> N;
  array[J, N] real y;
  array[J, N] int<lower=0, upper=1> z;
}
parameters {
  vector[J] alpha;
  vector[N] beta;
  real<lower=0> sigma;
}
model {
  array[J] real unused;
  alpha ~ normal(0, 1);
  beta ~ normal(0, 1);
  sigma ~ normal(0, 1);
  for (j in 1:J) {
    for (n in 1:N) {
      y[j, n] ~ normal(alpha[j] + beta[n], sigma);
      z[j, n] ~ bernoulli_logit(alpha[j] - beta[n]);
    }
    for (n in 1:2) target += -square(alpha[j] * beta[n + 1]) / 10;
  }
}
)";
  std::string reference = fused;
  const std::string loop = "  for (j in 1:J) {\n";
  reference.replace(reference.find(loop), loop.size(), loop + "    unused[j] = alpha[j];\n");
  auto m = build(fused);
  auto r = build(reference);
  int64_t J = 4, N = 5;
  std::vector<double> y, z_real;
  std::vector<int64_t> z;
  // Row-major [J, N] as the data arrays are laid out.
  for (int64_t k = 0; k < J * N; ++k) {
    y.push_back(std::sin(0.7 * k));
    z.push_back(k % 3 == 0 ? 1 : 0);
  }
  halo_tensor yt = halo::testing::make_tensor(y, {J, N});
  halo_tensor zt{};
  zt.data = z.data();
  zt.dims[0] = J;
  zt.dims[1] = N;
  Density d{*m, {&J, &N, &yt, &zt}}, dr{*r, {&J, &N, &yt, &zt}};
  std::vector<double> theta;
  for (int k = 0; k < 10; ++k) theta.push_back(0.3 * std::cos(1.1 * k));
  check_same_density(d, dr, theta);
}

// The scalar pre-adjoint of mu[K] joins mu's adjoint only if the loop ran: with no iterations
// the index was never checked, and K is far out of range here (an unguarded write would land
// 800 MB past the adjoint).
TEST_CASE("loops that only add to target: an element pre-adjoint of a loop that never runs") {
  auto m = build(R"(
data {
  int<lower=0> N;
  int K;
  vector[N] y;
}
parameters {
  vector[2] mu;
}
model {
  mu ~ normal(0, 1);
  for (n in 1:N) target += normal_lpdf(y[n] | mu[K], 1);
}
)");
  int64_t N = 0, K = 100000000;
  std::vector<double> y;
  halo_tensor yt = halo::testing::make_tensor(y, {0});
  Density d{*m, {&N, &K, &yt}};
  std::vector<double> g = d.gradient({0.5, -0.25});
  CHECK(g[0] == doctest::Approx(-0.5).epsilon(1e-14));
  CHECK(g[1] == doctest::Approx(0.25).epsilon(1e-14));
}

// A matrix-vector product is a map with column sums, run eight columns per pass over the rows
// (codegen): every column count around the block size against the same sums written as loops.
TEST_CASE("matrix-vector products: column blocks and their remainders against explicit sums") {
  const std::string product = R"(
data {
  int<lower=0> N;
  int<lower=0> K;
  matrix[N, K] X;
  vector[N] y;
}
parameters {
  vector[K] beta;
  real<lower=0> sigma;
}
model {
  beta ~ normal(0, 1);
  sigma ~ normal(0, 1);
  y ~ normal(X * beta, sigma);
}
)";
  std::string loops = product;
  const std::string vectorised = "  y ~ normal(X * beta, sigma);\n";
  loops.replace(loops.find(vectorised), vectorised.size(), R"(  for (n in 1:N) {
    real mu = 0;
    for (k in 1:K) mu += X[n, k] * beta[k];
    y[n] ~ normal(mu, sigma);
  }
)");
  auto m = build(product);
  auto r = build(loops);
  for (int64_t K : {1, 3, 7, 8, 9, 16, 19}) {
    CAPTURE(K);
    int64_t N = 13;
    std::vector<double> X, y;
    for (int64_t k = 0; k < N * K; ++k) X.push_back(std::sin(0.37 * k + 0.1));
    for (int64_t n = 0; n < N; ++n) y.push_back(std::cos(0.9 * n));
    halo_tensor Xt = halo::testing::make_tensor(X, {N, K}), yt = halo::testing::make_tensor(y, {N});
    Density d{*m, {&N, &K, &Xt, &yt}}, dr{*r, {&N, &K, &Xt, &yt}};
    std::vector<double> theta;
    for (int64_t k = 0; k <= K; ++k) theta.push_back(0.4 * std::cos(1.3 * k));
    check_same_density(d, dr, theta);
  }
}

// A vector declared at the top level and pushed whole in every iteration is popped with the
// var's dims (not read back from the stack); the reverse kernels of log_sum_exp, softmax,
// log_softmax and cumulative_sum add straight into the adjoint var (codegen). Against the same
// density written with sums of exponentials, for two states (log_sum_exp's own path) and three.
TEST_CASE("vectors pushed in a loop and reverse kernels that add into the adjoint: against sums of exps") {
  const std::string kernels = R"(
data {
  int<lower=1> N;
  int<lower=1> K;
  vector[N] y;
}
parameters {
  vector[K] mu;
}
model {
  vector[K] acc;
  vector[K] w;
  mu ~ normal(0, 2);
  for (n in 1:N) {
    for (k in 1:K) acc[k] = -square(y[n] - mu[k]) + 0.1 * k;
    target += log_sum_exp(acc);
    w = softmax(acc);
    target += 0.5 * w[1];
    target += 0.1 * sum(log_softmax(acc));
    target += 0.01 * sum(cumulative_sum(acc));
  }
}
)";
  std::string sums = kernels;
  sums.replace(sums.find("  vector[K] acc;\n"), std::string::npos, R"(  mu ~ normal(0, 2);
  for (n in 1:N) {
    vector[K] acc;
    for (k in 1:K) acc[k] = -square(y[n] - mu[k]) + 0.1 * k;
    real total = sum(exp(acc));
    target += log(total);
    target += 0.5 * exp(acc[1]) / total;
    target += 0.1 * (sum(acc) - K * log(total));
    for (k in 1:K) target += 0.01 * (K - k + 1) * acc[k];
  }
}
)");
  auto m = build(kernels);
  auto r = build(sums);
  for (int64_t K : {2, 3}) {
    CAPTURE(K);
    int64_t N = 7;
    std::vector<double> y;
    for (int64_t n = 0; n < N; ++n) y.push_back(1.5 * std::sin(1.3 * n));
    halo_tensor yt = halo::testing::make_tensor(y, {N});
    Density d{*m, {&N, &K, &yt}}, dr{*r, {&N, &K, &yt}};
    std::vector<double> theta;
    for (int64_t k = 0; k < K; ++k) theta.push_back(0.7 * std::cos(2.1 * k + 0.4));
    check_same_density(d, dr, theta);
  }
}

// gp_exp_quad_cov of points that are parameters: their adjoint is computed (codegen skips it only
// where nothing reads it, for data), in one and two dimensions, against finite differences.
TEST_CASE("gp_exp_quad_cov of parameter points: the points' gradient") {
  auto m = build(R"(
parameters {
  array[4] real x;
  array[3] vector[2] p;
  real<lower=0> rho;
}
model {
  matrix[4, 4] K1 = gp_exp_quad_cov(x, 1.3, rho);
  matrix[3, 3] K2 = gp_exp_quad_cov(p, 0.8, rho);
  target += sum(K1) + 0.7 * sum(K2) + normal_lpdf(rho | 1, 1);
}
)");
  Density d{*m, {}};
  std::vector<double> theta;
  for (int k = 0; k < 11; ++k) theta.push_back(0.6 * std::sin(1.9 * k + 0.3));
  std::vector<double> g = d.gradient(theta);
  for (int k = 0; k < 10; ++k) CHECK(g[k] != 0.0);  // every point moves the density
  d.check_gradient(theta);
}
