#include "ir/recurrences.h"

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace halo::ir {

namespace {

class Carrier {
 public:
  explicit Carrier(Function& f) : f_(f) {}

  int run() {
    visit(f_.body);
    return count_;
  }

 private:
  void visit(Region& r) {
    for (size_t k = 0; k < r.ops.size(); ++k) {
      for (Region& sub : r.ops[k].regions) visit(sub);
      if (r.ops[k].kind != OpKind::For || r.ops[k].i != 0) continue;  // loops counting up only
      std::vector<Op> before;
      carry_in(r.ops[k], before);
      r.ops.insert(r.ops.begin() + static_cast<std::ptrdiff_t>(k), std::make_move_iterator(before.begin()),
                   std::make_move_iterator(before.end()));
      k += before.size();
    }
  }

  // Integer constants and t + c, through the body's top-level adds and subtractions.
  std::optional<int64_t> constant(ValueId v) const {
    auto d = def_.find(v);
    if (d == def_.end()) return std::nullopt;
    const Op& o = *d->second;
    if (o.kind == OpKind::ConstI64) return o.i;
    if (o.kind != OpKind::Add && o.kind != OpKind::Sub) return std::nullopt;
    auto a = constant(o.operands[0]), b = constant(o.operands[1]);
    if (!a || !b) return std::nullopt;
    return o.kind == OpKind::Add ? *a + *b : *a - *b;
  }
  std::optional<int64_t> offset_from_index(ValueId v) const {
    if (v == index_) return 0;
    auto d = def_.find(v);
    if (d == def_.end() || f_.type_of(v) != Type::i64()) return std::nullopt;
    const Op& o = *d->second;
    if (o.kind != OpKind::Add && o.kind != OpKind::Sub) return std::nullopt;
    if (auto a = offset_from_index(o.operands[0]))
      if (auto c = constant(o.operands[1])) return o.kind == OpKind::Add ? *a + *c : *a - *c;
    if (o.kind == OpKind::Add)
      if (auto c = constant(o.operands[0]))
        if (auto b = offset_from_index(o.operands[1])) return *b + *c;
    return std::nullopt;
  }

  void carry_in(Op& loop, std::vector<Op>& before) {
    Region& body = loop.regions[0];
    index_ = body.args[0];
    def_.clear();
    for (const Op& o : body.ops)
      for (ValueId v : o.results) def_[v] = &o;
    std::unordered_set<ValueId> defined_in_loop;
    std::function<void(const Region&)> collect = [&](const Region& r) {
      for (ValueId a : r.args) defined_in_loop.insert(a);
      for (const Op& o : r.ops) {
        for (ValueId v : o.results) defined_in_loop.insert(v);
        for (const Region& sub : o.regions) collect(sub);
      }
    };
    collect(body);
    for (size_t s = 0; s < body.ops.size(); ++s) {
      const Op& store = body.ops[s];
      if (store.kind != OpKind::StoreElem || store.operands.size() != 3) continue;
      const ValueId array = store.operands[0];
      if (defined_in_loop.count(array)) continue;
      auto root = def_.find(store.operands[2]);
      if (root == def_.end() || root->second->kind != OpKind::Call || root->second->name != "sqrt" ||
          root->second->operands.size() != 1)
        continue;
      auto store_offset = offset_from_index(store.operands[1]);
      if (!store_offset) continue;
      int writes_to_array = 0;
      std::function<void(const Region&)> count = [&](const Region& r) {
        for (const Op& o : r.ops) {
          writes_to_array += written_var(o) == array;
          for (const Region& sub : o.regions) count(sub);
        }
      };
      count(body);
      if (writes_to_array != 1) continue;
      // Loads of the element the previous iteration stored, before the store; their squares
      // before the store.
      std::vector<size_t> squares;
      for (size_t l = 0; l < s; ++l) {
        const Op& load = body.ops[l];
        if (load.kind != OpKind::LoadElem || load.operands.size() != 2 || load.operands[0] != array) continue;
        auto load_offset = offset_from_index(load.operands[1]);
        if (!load_offset || *load_offset != *store_offset - 1) continue;
        const ValueId x = load.results[0];
        for (size_t q = l + 1; q < s; ++q)
          if (body.ops[q].kind == OpKind::Mul && body.ops[q].operands[0] == x && body.ops[q].operands[1] == x)
            squares.push_back(q);
      }
      if (squares.empty()) continue;
      load_offset_ = *store_offset - 1;
      rewrite(loop, s, squares, before);
      return;  // one array per loop: the body's ops have moved
    }
  }

  void rewrite(Op& loop, size_t store_at, const std::vector<size_t>& squares, std::vector<Op>& before) {
    Region& body = loop.regions[0];
    const ValueId radicand = def_.at(body.ops[store_at].operands[2])->operands[0];
    // The carried value: NaN until the first store.
    ValueId carried = f_.new_value(Type::f64().ref_to(), "carried");
    Op decl = Op::make(OpKind::Var, {}, {carried});
    decl.type = Type::f64().ref_to();
    decl.f = std::numeric_limits<double>::quiet_NaN();
    before.push_back(std::move(decl));
    // After the store: carried = v >= 0 ? v : NaN (square(sqrt(v)) for every v up to rounding).
    std::vector<Op> after_store;
    ValueId zero = f_.new_value(Type::f64()), nan = f_.new_value(Type::f64());
    ValueId ok = f_.new_value(Type::boolean()), kept = f_.new_value(Type::f64());
    Op c0 = Op::make(OpKind::ConstF64, {}, {zero});
    c0.f = 0.0;
    Op cn = Op::make(OpKind::ConstF64, {}, {nan});
    cn.f = std::numeric_limits<double>::quiet_NaN();
    Op ge = Op::make(OpKind::Cmp, {radicand, zero}, {ok});
    ge.pred = CmpPred::Ge;
    after_store.push_back(std::move(c0));
    after_store.push_back(std::move(cn));
    after_store.push_back(std::move(ge));
    after_store.push_back(Op::make(OpKind::Select, {ok, radicand, nan}, {kept}));
    after_store.push_back(Op::make(OpKind::Store, {carried, kept}));
    body.ops.insert(body.ops.begin() + static_cast<std::ptrdiff_t>(store_at) + 1,
                    std::make_move_iterator(after_store.begin()), std::make_move_iterator(after_store.end()));
    // Before the loop, when it runs and the first element read is in range, carried starts as
    // that element's square (out of range, the loop's own index check fails as before).
    ValueId array = body.ops[store_at].operands[0];
    auto emit = [&](std::vector<Op>& ops, OpKind kind, std::vector<ValueId> operands, Type t) {
      ValueId v = f_.new_value(t);
      ops.push_back(Op::make(kind, std::move(operands), {v}));
      return v;
    };
    auto int_const = [&](std::vector<Op>& ops, int64_t c) {
      ValueId v = f_.new_value(Type::i64());
      Op op = Op::make(OpKind::ConstI64, {}, {v});
      op.i = c;
      ops.push_back(std::move(op));
      return v;
    };
    auto compare = [&](std::vector<Op>& ops, CmpPred p, ValueId a, ValueId b) {
      ValueId v = f_.new_value(Type::boolean());
      Op op = Op::make(OpKind::Cmp, {a, b}, {v});
      op.pred = p;
      ops.push_back(std::move(op));
      return v;
    };
    const ValueId lo = loop.operands[0], hi = loop.operands[1];
    ValueId first = emit(before, OpKind::Add, {lo, int_const(before, load_offset_)}, Type::i64());
    Op size = Op::make(OpKind::Dim, {array}, {f_.new_value(Type::i64())});
    const ValueId n = size.results[0];
    before.push_back(std::move(size));
    ValueId in_range = emit(before, OpKind::And,
                            {compare(before, CmpPred::Le, lo, hi), compare(before, CmpPred::Ge, first, int_const(before, 0))},
                            Type::boolean());
    in_range = emit(before, OpKind::And, {in_range, compare(before, CmpPred::Lt, first, n)}, Type::boolean());
    Region then, otherwise;
    ValueId x0 = emit(then.ops, OpKind::LoadElem, {array, first}, Type::f64());
    then.ops.push_back(Op::make(OpKind::Store, {carried, emit(then.ops, OpKind::Mul, {x0, x0}, Type::f64())}));
    Op branch = Op::make(OpKind::If, {in_range});
    branch.regions.push_back(std::move(then));
    branch.regions.push_back(std::move(otherwise));
    before.push_back(std::move(branch));
    // Each square x * x in the loop becomes a read of carried, from the back so that the
    // earlier positions stay valid.
    for (auto it = squares.rbegin(); it != squares.rend(); ++it) {
      const size_t q = *it;
      const ValueId square = body.ops[q].results[0];
      ValueId previous = f_.new_value(Type::f64());
      body.ops.insert(body.ops.begin() + static_cast<std::ptrdiff_t>(q) + 1, Op::make(OpKind::Load, {carried}, {previous}));
      std::function<void(Region&)> rename = [&](Region& r) {
        for (Op& o : r.ops) {
          for (ValueId& v : o.operands)
            if (v == square) v = previous;
          for (Region& sub : o.regions) rename(sub);
        }
      };
      rename(body);
      ++count_;
    }
    // The squares, and then the loads, that nothing uses any more (the loads' index checks
    // are separate ops and stay).
    for (int pass = 0; pass < 2; ++pass) {
      std::unordered_set<ValueId> used;
      std::function<void(const Region&)> uses = [&](const Region& r) {
        for (const Op& o : r.ops) {
          for (ValueId v : o.operands) used.insert(v);
          for (const Region& sub : o.regions) uses(sub);
        }
      };
      uses(body);
      const OpKind dead_kind = pass == 0 ? OpKind::Mul : OpKind::LoadElem;
      for (size_t k = body.ops.size(); k-- > 0;) {
        const Op& o = body.ops[k];
        if (o.kind == dead_kind && o.results.size() == 1 && !used.count(o.results[0]) &&
            (pass == 1 ? o.operands[0] == array : o.operands[0] == o.operands[1]))
          body.ops.erase(body.ops.begin() + static_cast<std::ptrdiff_t>(k));
      }
    }
  }

  Function& f_;
  int count_ = 0;
  ValueId index_ = kNoValue;
  int64_t load_offset_ = 0;  // the loads' index is t + load_offset_
  std::unordered_map<ValueId, const Op*> def_;
};

}  // namespace

int carry_squared_roots(Function& f) { return Carrier(f).run(); }

}  // namespace halo::ir
