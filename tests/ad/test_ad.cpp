// Reverse-mode AD by source transformation, checked end to end: hand-built IR -> ad ->
// codegen -> shared library; gradients against central finite differences of the value.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "ad/ad.h"
#include "ir/builder.h"
#include "support/compile_ir.h"

using namespace halo;
using namespace halo::ir;
using halo::testing::TestWorkspace;

namespace {

// Value and gradient of f(theta, extra...) through the compiled `name` and `name_grad`.
struct Checked {
  const testing::CompiledIr& lib;
  std::string name;
  std::vector<void*> extra;  // further arguments after theta

  double value(std::vector<double> theta) {
    TestWorkspace w;
    halo_tensor t = testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
    std::vector<void*> args = {&t};
    args.insert(args.end(), extra.begin(), extra.end());
    double r = 0;
    void* results[] = {&r};
    REQUIRE(lib.get(name)(&w.ws, args.data(), results) == 0);
    return r;
  }
  std::pair<double, std::vector<double>> gradient(std::vector<double> theta) {
    TestWorkspace w;
    halo_tensor t = testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
    std::vector<void*> args = {&t};
    args.insert(args.end(), extra.begin(), extra.end());
    double r = 0;
    std::vector<double> g(theta.size(), NAN);
    halo_tensor gt = testing::make_tensor(g, {static_cast<int64_t>(theta.size())});
    void* results[] = {&r, &gt};
    int32_t rc = lib.get(name + "_grad")(&w.ws, args.data(), results);
    INFO(w.error);
    REQUIRE(rc == 0);
    REQUIRE(gt.dims[0] == static_cast<int64_t>(theta.size()));
    const double* got = static_cast<const double*>(gt.data);
    g.assign(got, got + theta.size());
    return {r, g};
  }
  void check(const std::vector<double>& theta) {
    auto [v, g] = gradient(theta);
    CHECK(v == doctest::Approx(value(theta)).epsilon(1e-12));
    for (size_t k = 0; k < theta.size(); ++k) {
      double h = 1e-6 * std::max(1.0, std::fabs(theta[k]));
      std::vector<double> up = theta, down = theta;
      up[k] += h;
      down[k] -= h;
      double fd = (value(up) - value(down)) / (2 * h);
      CAPTURE(k);
      CHECK(g[k] == doctest::Approx(fd).epsilon(1e-6).scale(1.0));
    }
  }
};

Module with_gradient(Function f) {
  std::string error;
  auto g = ad::differentiate(f, 0, error);
  INFO(error);
  REQUIRE(g);
  Module m;
  m.model_name = "t";
  m.functions.push_back(std::move(f));
  m.functions.push_back(std::move(*g));
  if (std::getenv("HALO_DUMP_IR")) std::fputs(print(m).c_str(), stderr);
  return m;
}

}  // namespace

TEST_CASE("AD of a regression likelihood: map_sum over data with broadcast parameters") {
  Function f;
  f.name = "reg";
  f.param_types = {Type::vector(), Type::vector(), Type::vector()};
  f.result_types = {Type::f64()};
  Builder b(f, f.body);
  ValueId theta = b.param(0, Type::vector(), "theta");
  ValueId x = b.param(1, Type::vector(), "x");
  ValueId y = b.param(2, Type::vector(), "y");
  ValueId a = b.extract(theta, {b.const_i64(0)}, Type::f64());
  ValueId slope = b.extract(theta, {b.const_i64(1)}, Type::f64());
  ValueId s = b.call("exp", {b.extract(theta, {b.const_i64(2)}, Type::f64())});
  ValueId target = b.var(Type::f64(), {}, 0.0, "target");
  ValueId n = b.dim(x, 0);
  ValueId lp = b.map(true, {n}, {x, y, a, slope, s},
                     {Broadcast::Elementwise, Broadcast::Elementwise, Broadcast::Scalar, Broadcast::Scalar, Broadcast::Scalar},
                     Type::f64(), [&](const std::vector<ValueId>& v) {
                       ValueId mu = b.add(v[2], b.mul(v[3], v[0]));
                       return b.dist("normal_lpdf", {v[1], mu, v[4]}, 0, false)[0];
                     });
  b.accumulate(target, lp);
  b.accumulate(target, b.dist("normal_lpdf", {a, b.const_f64(0.0), b.const_f64(2.0)}, 0, false)[0]);
  b.ret({b.load(target)});
  Module m = with_gradient(std::move(f));
  auto lib = testing::compile_ir(m);
  std::vector<double> xs = {0.1, -0.7, 1.3, 2.2, -1.5, 0.4, 0.9};
  std::vector<double> ys = {1.0, 0.2, 2.1, 3.3, -0.8, 1.1, 1.9};
  halo_tensor xt = testing::make_tensor(xs, {7}), yt = testing::make_tensor(ys, {7});
  Checked c{*lib, "reg", {&xt, &yt}};
  c.check({0.3, 1.1, -0.4});
  c.check({-1.0, 0.0, 0.7});
}

TEST_CASE("AD through a loop recursion with element stores, a scalar var and pushes") {
  // ARMA(1,1)-like: e[t] = y[t] - (mu + phi*y[t-1] + th*e_prev); target += normal(e[t] | 0, 1)
  // then a map over the stored residual vector.
  Function f;
  f.name = "arma";
  f.param_types = {Type::vector(), Type::vector()};
  f.result_types = {Type::f64()};
  Builder b(f, f.body);
  ValueId theta = b.param(0, Type::vector(), "theta");
  ValueId y = b.param(1, Type::vector(), "y");
  ValueId mu = b.extract(theta, {b.const_i64(0)}, Type::f64());
  ValueId phi = b.extract(theta, {b.const_i64(1)}, Type::f64());
  ValueId th = b.extract(theta, {b.const_i64(2)}, Type::f64());
  ValueId n = b.dim(y, 0);
  ValueId target = b.var(Type::f64(), {}, 0.0, "target");
  ValueId prev = b.var(Type::f64(), {}, 0.0, "prev");
  ValueId evec = b.var(Type::vector(), {n}, 0.0, "e");
  ValueId one = b.const_i64(1);
  b.for_range(one, b.sub(n, one), [&](ValueId t) {
    ValueId ylag = b.extract(y, {b.sub(t, one)}, Type::f64());
    ValueId nu = b.add(b.add(mu, b.mul(phi, ylag)), b.mul(th, b.load(prev)));
    ValueId e = b.sub(b.extract(y, {t}, Type::f64()), nu);
    Op st = Op::make(OpKind::StoreElem, {evec, t, e});
    b.emit(std::move(st));
    b.store(prev, e);
    b.accumulate(target, b.dist("normal_lpdf", {e, b.const_f64(0.0), b.const_f64(1.5)}, 0, false)[0]);
  });
  ValueId es = b.load(evec);
  ValueId sq = b.map(true, {n}, {es}, {Broadcast::Elementwise}, Type::f64(),
                     [&](const std::vector<ValueId>& v) { return b.mul(v[0], b.mul(v[0], v[0])); });
  b.accumulate(target, b.mul(b.const_f64(0.01), sq));
  b.ret({b.load(target)});
  Module m = with_gradient(std::move(f));
  auto lib = testing::compile_ir(m);
  std::vector<double> ys;
  for (int t = 0; t < 40; ++t) ys.push_back(std::sin(0.3 * t) + 0.1 * t);
  halo_tensor yt = testing::make_tensor(ys, {static_cast<int64_t>(ys.size())});
  Checked c{*lib, "arma", {&yt}};
  c.check({0.2, 0.7, -0.3});
  c.check({-0.5, 0.95, 0.4});
}

TEST_CASE("AD through branches and a while loop") {
  Function f;
  f.name = "branchy";
  f.param_types = {Type::vector(), Type::vector()};
  f.result_types = {Type::f64()};
  Builder b(f, f.body);
  ValueId theta = b.param(0, Type::vector(), "theta");
  ValueId y = b.param(1, Type::vector(), "y");
  ValueId a = b.extract(theta, {b.const_i64(0)}, Type::f64());
  ValueId c = b.extract(theta, {b.const_i64(1)}, Type::f64());
  ValueId n = b.dim(y, 0);
  ValueId target = b.var(Type::f64(), {}, 0.0, "target");
  b.for_range(b.const_i64(0), b.sub(n, b.const_i64(1)), [&](ValueId t) {
    ValueId yt = b.extract(y, {t}, Type::f64());
    ValueId positive = b.cmp(CmpPred::Gt, yt, b.const_f64(0.0));
    Op branch = Op::make(OpKind::If, {positive});
    Region then_r, else_r;
    b.in(then_r, [&] { b.accumulate(target, b.mul(b.mul(a, a), yt)); });
    b.in(else_r, [&] { b.accumulate(target, b.mul(b.call("exp", {c}), yt)); });
    branch.regions.push_back(std::move(then_r));
    branch.regions.push_back(std::move(else_r));
    b.emit(std::move(branch));
  });
  // while (k < 3) { target += a * c; k += 1 }
  ValueId k = b.var(Type::i64(), {}, 0.0, "k");
  Op loop = Op::make(OpKind::While);
  Region cond, body;
  b.in(cond, [&] { b.emit(Op::make(OpKind::Yield, {b.cmp(CmpPred::Lt, b.load(k), b.const_i64(3))})); });
  b.in(body, [&] {
    b.accumulate(target, b.mul(a, c));
    b.store(k, b.add(b.load(k), b.const_i64(1)));
  });
  loop.regions.push_back(std::move(cond));
  loop.regions.push_back(std::move(body));
  b.emit(std::move(loop));
  b.ret({b.load(target)});
  Module m = with_gradient(std::move(f));
  auto lib = testing::compile_ir(m);
  std::vector<double> ys = {1.0, -2.0, 0.5, -0.1, 3.0};
  halo_tensor yt = testing::make_tensor(ys, {5});
  Checked ch{*lib, "branchy", {&yt}};
  ch.check({0.7, -0.2});
}

TEST_CASE("AD of a dense-layer-like map with a row broadcast and an elementwise result") {
  // H[i, j] = exp(X[i, j] * w + bias[j]); target = sum H.  bias = theta[1..K], w = theta[0].
  Function f;
  f.name = "dense";
  f.param_types = {Type::vector(), Type::matrix()};
  f.result_types = {Type::f64()};
  Builder b(f, f.body);
  ValueId theta = b.param(0, Type::vector(), "theta");
  ValueId X = b.param(1, Type::matrix(), "X");
  ValueId rows = b.dim(X, 0), cols = b.dim(X, 1);
  ValueId w = b.extract(theta, {b.const_i64(0)}, Type::f64());
  ValueId bias_var = b.var(Type::row_vector(), {cols}, 0.0, "bias");
  b.for_range(b.const_i64(0), b.sub(cols, b.const_i64(1)), [&](ValueId j) {
    ValueId v = b.extract(theta, {b.add(j, b.const_i64(1))}, Type::f64());
    b.emit(Op::make(OpKind::StoreElem, {bias_var, j, v}));
  });
  ValueId bias = b.load(bias_var);
  ValueId H = b.map(false, {rows, cols}, {X, bias, w}, {Broadcast::Elementwise, Broadcast::Rows, Broadcast::Scalar},
                    Type::matrix(), [&](const std::vector<ValueId>& v) {
                      return b.call("exp", {b.add(b.mul(v[0], v[2]), v[1])});
                    });
  ValueId total = b.map(true, {rows, cols}, {H}, {Broadcast::Elementwise}, Type::f64(),
                        [&](const std::vector<ValueId>& v) { return v[0]; });
  b.ret({total});
  Module m = with_gradient(std::move(f));
  auto lib = testing::compile_ir(m);
  std::vector<double> Xs = {0.1, -0.3, 0.5, 0.2, -0.1, 0.4, 0.0, 0.3, -0.2, 0.6, 0.1, -0.5};  // 4 x 3
  halo_tensor Xt = testing::make_tensor(Xs, {4, 3});
  Checked ch{*lib, "dense", {&Xt}};
  ch.check({0.8, 0.1, -0.2, 0.3});
}

TEST_CASE("AD of matrix products in every transposition") {
  // target = sum(exp(op(A) op(B) * 0.1)) with A = theta[0..5] as 2x3 (or 3x2), B data.
  for (int flags = 0; flags < 4; ++flags) {
    CAPTURE(flags);
    Function f;
    f.name = "mm";
    f.param_types = {Type::vector(), Type::matrix()};
    f.result_types = {Type::f64()};
    Builder b(f, f.body);
    ValueId theta = b.param(0, Type::vector(), "theta");
    ValueId B = b.param(1, Type::matrix(), "B");
    bool ta = flags & 1, tb = flags & 2;
    Op view = Op::make(OpKind::View, {theta, b.const_i64(0), b.const_i64(ta ? 3 : 2), b.const_i64(ta ? 2 : 3)});
    ValueId A = b.value(Type::matrix(), "A");
    view.results = {A};
    b.emit(std::move(view));
    Op mm = Op::make(OpKind::MatMul, {A, B});
    mm.i = flags;
    ValueId C = b.value(Type::matrix(), "C");
    mm.results = {C};
    b.emit(std::move(mm));
    ValueId total = b.map(true, {b.mul(b.dim(C, 0), b.dim(C, 1))}, {C}, {Broadcast::Elementwise}, Type::f64(),
                          [&](const std::vector<ValueId>& v) { return b.call("exp", {b.mul(v[0], b.const_f64(0.1))}); });
    b.ret({total});
    Module m = with_gradient(std::move(f));
    auto lib = testing::compile_ir(m);
    // op(B) must be 3 x 4: B is 3x4, or 4x3 when transposed.
    std::vector<double> Bs(12);
    for (int k = 0; k < 12; ++k) Bs[k] = 0.3 * std::sin(1.7 * k) + 0.1 * k;
    halo_tensor Bt = testing::make_tensor(Bs, {tb ? 4 : 3, tb ? 3 : 4});
    Checked ch{*lib, "mm", {&Bt}};
    ch.check({0.5, -0.2, 0.8, 0.1, -0.7, 0.3});
    // Value against a direct computation.
    std::vector<double> th = {0.5, -0.2, 0.8, 0.1, -0.7, 0.3};
    auto Aat = [&](int i, int k) { return ta ? th[k + 3 * i] : th[i + 2 * k]; };
    auto Bat = [&](int k, int j) { return tb ? Bs[j + 4 * k] : Bs[k + 3 * j]; };
    double expected = 0;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j) {
        double c = 0;
        for (int k = 0; k < 3; ++k) c += Aat(i, k) * Bat(k, j);
        expected += std::exp(0.1 * c);
      }
    CHECK(ch.value(th) == doctest::Approx(expected).epsilon(1e-13));
  }
}
