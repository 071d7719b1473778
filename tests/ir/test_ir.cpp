#include <doctest/doctest.h>

#include "ir/ir.h"

using namespace halo::ir;

namespace {
// f(x: vec, s: f64) = sum_i normal_lpdf(x[i] | 0, s)
Function make_normal_sum() {
  Function f;
  f.name = "normal_sum";
  f.param_types = {Type::vector(), Type::f64()};
  f.result_types = {Type::f64()};
  ValueId x = f.new_value(Type::vector(), "x");
  ValueId s = f.new_value(Type::f64(), "s");
  Op px = Op::make(OpKind::Param, {}, {x});
  px.i = 0;
  Op ps = Op::make(OpKind::Param, {}, {s});
  ps.i = 1;
  ValueId n = f.new_value(Type::i64(), "n");
  Op dim = Op::make(OpKind::Dim, {x}, {n});
  ValueId total = f.new_value(Type::f64(), "lp");
  Op map = Op::make(OpKind::MapSum, {n, x, s}, {total});
  map.i = 1;
  map.broadcasts = {Broadcast::Elementwise, Broadcast::Scalar};
  Region body;
  ValueId xi = f.new_value(Type::f64());
  ValueId si = f.new_value(Type::f64());
  body.args = {xi, si};
  ValueId zero = f.new_value(Type::f64());
  Op c = Op::make(OpKind::ConstF64, {}, {zero});
  c.f = 0;
  ValueId term = f.new_value(Type::f64());
  Op d = Op::make(OpKind::Dist, {xi, zero, si}, {term});
  d.name = "normal_lpdf";
  body.ops.push_back(std::move(c));
  body.ops.push_back(std::move(d));
  body.ops.push_back(Op::make(OpKind::Yield, {term}, {}));
  map.regions.push_back(std::move(body));
  f.body.ops.push_back(std::move(px));
  f.body.ops.push_back(std::move(ps));
  f.body.ops.push_back(std::move(dim));
  f.body.ops.push_back(std::move(map));
  f.body.ops.push_back(Op::make(OpKind::Return, {total}, {}));
  return f;
}
}  // namespace

TEST_CASE("the IR printer shows ops, regions and types") {
  Module m;
  m.model_name = "t";
  m.functions.push_back(make_normal_sum());
  std::string text = print(m);
  INFO(text);
  CHECK(text.find("func @normal_sum(vec, f64) -> (f64) {") != std::string::npos);
  CHECK(text.find("%3.lp = map_sum dims=1 [elt,scalar] %2.n, %0.x, %1.s : f64 {") != std::string::npos);
  CHECK(text.find("dist @normal_lpdf flags=0 %4, %6, %5 : f64") != std::string::npos);
  CHECK(verify(m).empty());
}

TEST_CASE("the verifier rejects uses before definition and values escaping their region") {
  Module m;
  m.model_name = "t";
  m.functions.push_back(make_normal_sum());
  Function& f = m.functions[0];
  // Return a value defined inside the map region: out of scope at the top level.
  f.body.ops.back().operands = {f.body.ops[3].regions[0].ops[1].results[0]};
  auto problems = verify(m);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("before its definition") != std::string::npos);
}

TEST_CASE("the verifier checks load/store types") {
  Function f;
  f.name = "mem";
  ValueId r = f.new_value(Type::f64().ref_to());
  Op var = Op::make(OpKind::Var, {}, {r});
  var.type = Type::f64().ref_to();
  ValueId k = f.new_value(Type::i64());
  Op c = Op::make(OpKind::ConstI64, {}, {k});
  f.body.ops.push_back(std::move(var));
  f.body.ops.push_back(std::move(c));
  f.body.ops.push_back(Op::make(OpKind::Store, {r, k}, {}));
  Module m;
  m.functions.push_back(std::move(f));
  auto problems = verify(m);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "@mem: store needs (ref<T>, T)");
}
