// IR -> LLVM -> model-like shared library -> dlopen -> call, for hand-built IR functions.
#include <doctest/doctest.h>
#include <dlfcn.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

#include "codegen/codegen.h"
#include "codegen/target.h"
#include "ir/builder.h"
#include "runtime/model/generated_abi.h"
#include "support/compile_ir.h"

using namespace halo;
using namespace halo::ir;

using halo::testing::TestWorkspace;
using halo::testing::compile_ir;
static halo_tensor tensor(std::vector<double>& data, std::vector<int64_t> dims) {
  return halo::testing::make_tensor(data, std::move(dims));
}

TEST_CASE("map_sum, loops over vars, element access and checks compile and run") {
  Module m;
  m.model_name = "t";
  {  // sum_sq(x) = sum exp(x_i) * x_i
    Function f;
    f.name = "sum_sq";
    Builder b(f, f.body);
    ValueId x = b.param(0, Type::vector(), "x");
    ValueId n = b.dim(x, 0);
    ValueId s = b.map(true, {n}, {x}, {Broadcast::Elementwise}, Type::f64(),
                      [&](const std::vector<ValueId>& a) { return b.mul(b.call("exp", {a[0]}), a[0]); });
    b.ret({s});
    m.functions.push_back(std::move(f));
  }
  {  // ar(y, a) = sum_{t=2..n} (y[t] - a*y[t-1])^2 with a checked index y[t]
    Function f;
    f.name = "ar";
    Builder b(f, f.body);
    ValueId y = b.param(0, Type::vector(), "y");
    ValueId a = b.param(1, Type::f64(), "a");
    ValueId n = b.dim(y, 0);
    ValueId acc = b.var(Type::f64(), {}, 0.0, "acc");
    ValueId one = b.const_i64(1);
    ValueId last = b.const_i64(100);  // deliberately beyond n for the failing call
    ValueId hi = b.param(2, Type::i64(), "hi");
    (void)last;
    b.for_range(one, hi, [&](ValueId t) {
      Op check = Op::make(OpKind::Check, {t, n});
      check.check = CheckKind::IndexBounds;
      check.text = "index {} out of range for size {}";
      b.emit(std::move(check));
      ValueId prev = b.sub(t, one);
      ValueId yt = b.extract(y, {t}, Type::f64());
      ValueId yp = b.extract(y, {prev}, Type::f64());
      ValueId e = b.sub(yt, b.mul(a, yp));
      b.accumulate(acc, b.mul(e, e));
    });
    b.ret({b.load(acc)});
    m.functions.push_back(std::move(f));
  }
  {  // bias(X, v) = X + v[j] (row broadcast), returned as a matrix
    Function f;
    f.name = "bias";
    Builder b(f, f.body);
    ValueId X = b.param(0, Type::matrix(), "X");
    ValueId v = b.param(1, Type::row_vector(), "v");
    ValueId r = b.dim(X, 0), c = b.dim(X, 1);
    ValueId out = b.map(false, {r, c}, {X, v}, {Broadcast::Elementwise, Broadcast::Rows}, Type::matrix(),
                        [&](const std::vector<ValueId>& a) { return b.add(a[0], a[1]); });
    b.ret({out});
    m.functions.push_back(std::move(f));
  }
  auto lib = compile_ir(m);
  TestWorkspace w{};

  std::vector<double> x = {0.5, -1.0, 2.0, 0.0};
  halo_tensor xt = tensor(x, {4});
  double result = 0;
  void* args[] = {&xt};
  void* results[] = {&result};
  REQUIRE(lib->get("sum_sq")(&w.ws, args, results) == 0);
  double expected = 0;
  for (double v : x) expected += std::exp(v) * v;
  CHECK(result == doctest::Approx(expected).epsilon(1e-14));

  std::vector<double> y = {1, 2, 4, 3};
  halo_tensor yt = tensor(y, {4});
  double a = 0.5;
  int64_t hi = 3;
  void* ar_args[] = {&yt, &a, &hi};
  REQUIRE(lib->get("ar")(&w.ws, ar_args, results) == 0);
  CHECK(result == doctest::Approx(1.5 * 1.5 + 3.0 * 3.0 + 1.0 * 1.0));
  hi = 4;  // y[4] (0-based) is out of range
  CHECK(lib->get("ar")(&w.ws, ar_args, results) == 1);
  CHECK(w.error == "index 5 out of range for size 4");

  std::vector<double> X = {1, 2, 3, 4, 5, 6};  // 3 x 2, column-major
  std::vector<double> v = {10, 20};
  std::vector<double> out(6);
  halo_tensor Xt = tensor(X, {3, 2}), vt = tensor(v, {2}), ot = tensor(out, {3, 2});
  void* b_args[] = {&Xt, &vt};
  void* b_results[] = {&ot};
  REQUIRE(lib->get("bias")(&w.ws, b_args, b_results) == 0);
  REQUIRE(ot.dims[0] == 3);
  REQUIRE(ot.dims[1] == 2);
  const double* got = static_cast<const double*>(ot.data);
  CHECK(std::vector<double>(got, got + 6) == std::vector<double>{11, 12, 13, 24, 25, 26});
}
