// A small helper to emit IR ops into a region, used by lowering, AD and tests.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace halo::ir {

class Builder {
 public:
  Builder(Function& f, Region& r) : f_(f), r_(&r) {}

  Function& function() { return f_; }
  Region& region() { return *r_; }
  // Emits into another region for the duration of `body`.
  void in(Region& r, const std::function<void()>& body) {
    Region* saved = r_;
    r_ = &r;
    body();
    r_ = saved;
  }

  ValueId value(Type t, std::string name = {}) { return f_.new_value(t, std::move(name)); }

  Op& emit(Op op) {
    r_->ops.push_back(std::move(op));
    return r_->ops.back();
  }
  // One-result op of the given result type.
  ValueId emit1(OpKind kind, std::vector<ValueId> operands, Type result, std::string name = {}) {
    ValueId v = value(result, std::move(name));
    emit(Op::make(kind, std::move(operands), {v}));
    return v;
  }

  ValueId param(int index, Type t, std::string name = {}) {
    ValueId v = value(t, std::move(name));
    Op op = Op::make(OpKind::Param, {}, {v});
    op.i = index;
    emit(std::move(op));
    return v;
  }
  ValueId const_f64(double x) {
    ValueId v = value(Type::f64());
    Op op = Op::make(OpKind::ConstF64, {}, {v});
    op.f = x;
    emit(std::move(op));
    return v;
  }
  ValueId const_i64(int64_t x) {
    ValueId v = value(Type::i64());
    Op op = Op::make(OpKind::ConstI64, {}, {v});
    op.i = x;
    emit(std::move(op));
    return v;
  }
  ValueId binary(OpKind kind, ValueId a, ValueId b) { return emit1(kind, {a, b}, f_.type_of(a)); }
  ValueId add(ValueId a, ValueId b) { return binary(OpKind::Add, a, b); }
  ValueId sub(ValueId a, ValueId b) { return binary(OpKind::Sub, a, b); }
  ValueId mul(ValueId a, ValueId b) { return binary(OpKind::Mul, a, b); }
  ValueId div(ValueId a, ValueId b) { return binary(OpKind::Div, a, b); }
  ValueId cmp(CmpPred p, ValueId a, ValueId b) {
    ValueId v = value(Type::boolean());
    Op op = Op::make(OpKind::Cmp, {a, b}, {v});
    op.pred = p;
    emit(std::move(op));
    return v;
  }
  ValueId call(const std::string& name, std::vector<ValueId> args) {
    ValueId v = value(Type::f64());
    Op op = Op::make(OpKind::Call, std::move(args), {v});
    op.name = name;
    emit(std::move(op));
    return v;
  }
  // dist: results are the value and, if with_partials, one partial per f64 argument.
  std::vector<ValueId> dist(const std::string& name, std::vector<ValueId> args, int flags,
                            bool with_partials) {
    std::vector<ValueId> results = {value(Type::f64())};
    if (with_partials)
      for (ValueId a : args)
        if (f_.type_of(a).elem == Elem::F64) results.push_back(value(Type::f64()));
    Op op = Op::make(OpKind::Dist, std::move(args), results);
    op.name = name;
    op.i = flags;
    emit(std::move(op));
    return results;
  }
  ValueId dim(ValueId t, int k) {
    ValueId v = value(Type::i64());
    Op op = Op::make(OpKind::Dim, {t}, {v});
    op.i = k;
    emit(std::move(op));
    return v;
  }
  ValueId var(Type t, std::vector<ValueId> dims, double fill, std::string name = {}) {
    ValueId v = value(t.ref_to(), std::move(name));
    Op op = Op::make(OpKind::Var, std::move(dims), {v});
    op.type = t.ref_to();
    op.f = fill;
    emit(std::move(op));
    return v;
  }
  ValueId load(ValueId ref) { return emit1(OpKind::Load, {ref}, f_.type_of(ref).value_type()); }
  void store(ValueId ref, ValueId v) { emit(Op::make(OpKind::Store, {ref, v})); }
  void accumulate(ValueId ref, ValueId v) { emit(Op::make(OpKind::Accumulate, {ref, v})); }
  ValueId extract(ValueId t, std::vector<ValueId> idx, Type result) {
    idx.insert(idx.begin(), t);
    return emit1(OpKind::Extract, std::move(idx), result);
  }
  // for (i in lo..hi inclusive) body(i)
  void for_range(ValueId lo, ValueId hi, const std::function<void(ValueId)>& body) {
    Region r;
    ValueId i = value(Type::i64(), "i");
    r.args = {i};
    in(r, [&] { body(i); });
    Op op = Op::make(OpKind::For, {lo, hi});
    op.regions.push_back(std::move(r));
    emit(std::move(op));
  }
  // map / map_sum with a scalar body; `body` gets one scalar per input and returns the yield.
  ValueId map(bool sum, std::vector<ValueId> dims, std::vector<ValueId> inputs,
              std::vector<Broadcast> broadcasts, Type result,
              const std::function<ValueId(const std::vector<ValueId>&)>& body) {
    Op op = Op::make(sum ? OpKind::MapSum : OpKind::Map);
    op.i = static_cast<int64_t>(dims.size());
    op.operands = dims;
    op.operands.insert(op.operands.end(), inputs.begin(), inputs.end());
    op.broadcasts = std::move(broadcasts);
    ValueId out = value(sum ? Type::f64() : result);
    op.results = {out};
    Region r;
    std::vector<ValueId> args;
    for (ValueId in : inputs) {
      Type t = f_.type_of(in);
      ValueId a = value(Type{t.elem, 0, 0, false, false});
      args.push_back(a);
    }
    r.args = args;
    in(r, [&] {
      ValueId y = body(args);
      emit(Op::make(OpKind::Yield, {y}));
    });
    op.regions.push_back(std::move(r));
    emit(std::move(op));
    return out;
  }
  void ret(std::vector<ValueId> values) { emit(Op::make(OpKind::Return, std::move(values))); }

 private:
  Function& f_;
  Region* r_;
};

}  // namespace halo::ir
