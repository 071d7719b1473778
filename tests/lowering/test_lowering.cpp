// Whole-model compilation: .model text -> front end -> lowering -> AD -> codegen -> .so, then
// the generated entry points are called directly (the BridgeStan layer is tested elsewhere):
// log densities against closed forms, gradients against finite differences.
#include <doctest/doctest.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "driver/compile.h"
#include "frontend/frontend.h"
#include "semantic/semantic.h"
#include "support/compile_ir.h"

using halo::testing::TestWorkspace;

namespace {

struct Model {
  void* lib = nullptr;
  std::string path;
  ~Model() {
    if (lib) dlclose(lib);
    std::remove(path.c_str());
  }
  halo::testing::Entry get(const std::string& name) const {
    auto* f = reinterpret_cast<halo::testing::Entry>(dlsym(lib, ("halo_gen_" + name).c_str()));
    REQUIRE_MESSAGE(reinterpret_cast<void*>(f) != nullptr, name);
    return f;
  }
};

std::unique_ptr<Model> build(const std::string& source) {
  halo::SourceFile file("test.model", source);
  halo::Diagnostics diags;
  auto program = halo::frontend::parse(file, diags);
  if (program) program = halo::semantic::check(std::move(program), diags);
  INFO(halo::render_all(diags, file));
  REQUIRE(program);
  static int counter = 0;
  auto m = std::make_unique<Model>();
  m->path = "/tmp/halo_lowering_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".so";
  halo::driver::CompileOptions options;
  options.model_name = "test";
  options.output = m->path;
  options.link_runtime = false;  // the test executable provides the workspace functions
  std::string error;
  int code = halo::driver::compile_model(*program, options, diags, error);
  INFO(error);
  INFO(halo::render_all(diags, file));
  REQUIRE(code == 0);
  m->lib = dlopen(m->path.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE_MESSAGE(m->lib, dlerror());
  return m;
}

// Calls log_density(_grad) with theta and the given data arguments.
struct Density {
  const Model& model;
  std::vector<void*> data;
  bool propto = false;
  int64_t jacobian = 1;

  double value(std::vector<double> theta) {
    TestWorkspace w;
    halo_tensor t = halo::testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
    std::vector<void*> args = {&t, &jacobian};
    args.insert(args.end(), data.begin(), data.end());
    double lp = 0;
    void* results[] = {&lp};
    int32_t rc = model.get(propto ? "log_density_propto" : "log_density")(&w.ws, args.data(), results);
    INFO(w.error);
    REQUIRE(rc == 0);
    return lp;
  }
  std::vector<double> gradient(std::vector<double> theta, double* lp_out = nullptr) {
    TestWorkspace w;
    halo_tensor t = halo::testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
    std::vector<void*> args = {&t, &jacobian};
    args.insert(args.end(), data.begin(), data.end());
    double lp = 0;
    halo_tensor g{};
    void* results[] = {&lp, &g};
    int32_t rc = model.get(propto ? "log_density_propto_grad" : "log_density_grad")(&w.ws, args.data(), results);
    INFO(w.error);
    REQUIRE(rc == 0);
    if (lp_out) *lp_out = lp;
    const double* gp = static_cast<const double*>(g.data);
    return std::vector<double>(gp, gp + theta.size());
  }
  void check_gradient(const std::vector<double>& theta) {
    double lp = 0;
    std::vector<double> g = gradient(theta, &lp);
    CHECK(lp == doctest::Approx(value(theta)).epsilon(1e-12));
    for (size_t k = 0; k < theta.size(); ++k) {
      double h = 1e-6 * std::max(1.0, std::fabs(theta[k]));
      std::vector<double> up = theta, down = theta;
      up[k] += h;
      down[k] -= h;
      CAPTURE(k);
      CHECK(g[k] == doctest::Approx((value(up) - value(down)) / (2 * h)).epsilon(1e-6).scale(1.0));
    }
  }
};

const double kLogSqrt2Pi = 0.91893853320467274178;

}  // namespace

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
