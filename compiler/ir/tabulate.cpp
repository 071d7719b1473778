#include "ir/tabulate.h"

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "ir/builder.h"

namespace halo::ir {

namespace {

// Ops without effects whose result depends only on their operands (Extract reads an immutable
// SSA tensor; Call is a stdlib scalar function).
bool pure(const Op& o) {
  switch (o.kind) {
    case OpKind::ConstF64: case OpKind::ConstI64: case OpKind::ConstBool:
    case OpKind::Neg: case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Div:
    case OpKind::IDiv: case OpKind::IMod: case OpKind::Cmp: case OpKind::And: case OpKind::Or:
    case OpKind::Not: case OpKind::Select: case OpKind::IToF: case OpKind::BoolToI:
    case OpKind::Dim: case OpKind::Call: case OpKind::Extract:
      return o.results.size() == 1;
    default:
      return false;
  }
}

class Tabulator {
 public:
  explicit Tabulator(Function& f) : f_(f) {}

  int run() {
    visit(f_.body);
    return count_;
  }

 private:
  void visit(Region& r) {
    for (size_t k = 0; k < r.ops.size(); ++k) {
      if (r.ops[k].kind == OpKind::For) {
        std::vector<Op> before = tabulate_in(r.ops[k]);
        if (!before.empty()) {
          const size_t n = before.size();
          r.ops.insert(r.ops.begin() + static_cast<std::ptrdiff_t>(k), std::make_move_iterator(before.begin()),
                       std::make_move_iterator(before.end()));
          k += n;
        }
      }
      for (Region& sub : r.ops[k].regions) visit(sub);
    }
  }

  // The definitions inside `outer` (ops and region arguments).
  void index_outer(Op& outer) {
    defined_in_outer_.clear();
    def_.clear();
    std::function<void(Region&)> walk = [&](Region& r) {
      for (ValueId a : r.args) defined_in_outer_.insert(a);
      for (Op& o : r.ops) {
        for (ValueId v : o.results) {
          defined_in_outer_.insert(v);
          def_[v] = &o;
        }
        for (Region& sub : o.regions) walk(sub);
      }
    };
    for (Region& sub : outer.regions) walk(sub);
    invariant_.clear();
  }

  // Invariant in the outer loop: defined outside it, or a pure op of invariant operands.
  bool invariant(ValueId v) {
    if (!defined_in_outer_.count(v)) return true;
    auto memo = invariant_.find(v);
    if (memo != invariant_.end()) return memo->second;
    invariant_[v] = false;  // region arguments, and cycles through vars, are not
    auto d = def_.find(v);
    bool ok = d != def_.end() && pure(*d->second) && d->second->kind != OpKind::Call;
    if (ok)
      for (ValueId x : d->second->operands) ok = ok && invariant(x);
    invariant_[v] = ok;
    return ok;
  }

  // Computable from invariants and the nest's indices by pure ops; `uses_index` is set when an
  // index is reached.
  bool available(ValueId v, const std::unordered_set<ValueId>& indices, bool& uses_index) {
    if (indices.count(v)) {
      uses_index = true;
      return true;
    }
    if (invariant(v)) return true;
    auto d = def_.find(v);
    if (d == def_.end() || !pure(*d->second)) return false;
    for (ValueId x : d->second->operands)
      if (!available(x, indices, uses_index)) return false;
    return true;
  }

  std::vector<Op> tabulate_in(Op& outer) {
    index_outer(outer);
    std::vector<Op> before;
    std::vector<Op*> chain;
    search(outer.regions[0], chain, outer, before);
    return before;
  }

  // Looks for calls in the bodies of loops nested directly in `r` (the outer loop's body or a
  // nested loop's), with invariant bounds.
  void search(Region& r, std::vector<Op*>& chain, Op& outer, std::vector<Op>& before) {
    for (size_t k = 0; k < r.ops.size(); ++k) {
      Op& o = r.ops[k];
      if (o.kind != OpKind::For || !invariant(o.operands[0]) || !invariant(o.operands[1])) continue;
      chain.push_back(&o);
      Region& body = o.regions[0];
      std::unordered_set<ValueId> indices;
      for (Op* l : chain) indices.insert(l->regions[0].args[0]);
      for (size_t x = 0; x < body.ops.size(); ++x) {
        Op& call = body.ops[x];
        if (call.kind != OpKind::Call || call.results.size() != 1 || f_.type_of(call.results[0]) != Type::f64())
          continue;
        bool uses_index = false;
        bool ok = true;
        for (ValueId a : call.operands) ok = ok && available(a, indices, uses_index);
        if (!ok || !uses_index) continue;
        x += tabulate(call, body, x, chain, outer, before);
      }
      search(body, chain, outer, before);
      chain.pop_back();
    }
  }

  // Emits into `out` a copy of the pure ops computing `v` (memoised in `copies`), with the
  // nest's indices renamed; values defined outside the outer loop are used as they are.
  ValueId copy_of(ValueId v, Builder& out, std::unordered_map<ValueId, ValueId>& copies) {
    if (!defined_in_outer_.count(v)) return v;
    auto c = copies.find(v);
    if (c != copies.end()) return c->second;
    const Op& d = *def_.at(v);
    Op op = d;
    op.regions.clear();
    for (ValueId& x : op.operands) x = copy_of(x, out, copies);
    ValueId r = f_.new_value(f_.type_of(v), f_.values[v].name);
    op.results = {r};
    out.emit(std::move(op));
    copies[v] = r;
    return r;
  }

  // Replaces body.ops[at] (the call) by a read of a table filled before the outer loop.
  // Returns the number of ops inserted before the read.
  size_t tabulate(const Op& call, Region& body, size_t at, const std::vector<Op*>& chain, Op& outer,
                  std::vector<Op>& before) {
    Region pre;
    Builder b(f_, pre);
    std::unordered_map<ValueId, ValueId> outside;  // copies of invariants, before the outer loop
    // The table's extents, zero when the outer loop does not run.
    ValueId runs = b.cmp(CmpPred::Le, outer.operands[0], outer.operands[1]);
    ValueId one = b.const_i64(1), zero = b.const_i64(0);
    std::vector<ValueId> lo, hi, extent;
    for (Op* l : chain) {
      ValueId l_lo = copy_of(l->operands[0], b, outside), l_hi = copy_of(l->operands[1], b, outside);
      ValueId h = b.emit1(OpKind::Select, {runs, l_hi, b.sub(l_lo, one)}, Type::i64());
      ValueId n = b.add(b.sub(h, l_lo), one);
      lo.push_back(l_lo);
      hi.push_back(h);
      extent.push_back(b.emit1(OpKind::Select, {b.cmp(CmpPred::Gt, n, zero), n, zero}, Type::i64()));
    }
    const Type table_type{Elem::F64, static_cast<uint8_t>(chain.size()), 0, false, false};
    ValueId table = b.var(table_type.ref_to(), extent, 0.0, "table");
    // The nest that fills it: the inner loops' index checks, then the call's operands and the call.
    std::function<void(size_t, std::unordered_map<ValueId, ValueId>&)> level =
        [&](size_t depth, std::unordered_map<ValueId, ValueId>& copies) {
          if (depth == chain.size()) {
            std::unordered_set<ValueId> indices;
            for (Op* l : chain) indices.insert(l->regions[0].args[0]);
            for (Op* l : chain)
              for (const Op& o : l->regions[0].ops) {
                if (o.kind != OpKind::Check || o.check != CheckKind::IndexBounds) continue;
                bool uses_index = false, ok = true;
                for (ValueId x : o.operands) ok = ok && available(x, indices, uses_index);
                if (!ok) continue;
                Op check = o;
                for (ValueId& x : check.operands) x = copy_of(x, b, copies);
                b.emit(std::move(check));
              }
            Op c = call;
            for (ValueId& x : c.operands) x = copy_of(x, b, copies);
            ValueId value = f_.new_value(Type::f64(), f_.values[call.results[0]].name);
            c.results = {value};
            b.emit(std::move(c));
            Op put = Op::make(OpKind::StoreElem, {table});
            for (size_t k = 0; k < chain.size(); ++k)
              put.operands.push_back(b.sub(copies.at(chain[k]->regions[0].args[0]), lo[k]));
            put.operands.push_back(value);
            b.emit(std::move(put));
            return;
          }
          b.for_range(lo[depth], hi[depth], [&](ValueId i) {
            std::unordered_map<ValueId, ValueId> inner = copies;
            inner[chain[depth]->regions[0].args[0]] = i;
            level(depth + 1, inner);
          });
        };
    std::unordered_map<ValueId, ValueId> copies = outside;
    level(0, copies);
    ValueId values = b.load(table);
    for (Op& o : pre.ops) before.push_back(std::move(o));
    // The call becomes a read of the table at the nest's indices less the lower bounds.
    std::vector<Op> read;
    std::vector<ValueId> idx = {values};
    for (size_t k = 0; k < chain.size(); ++k) {
      ValueId d = f_.new_value(Type::i64());
      read.push_back(Op::make(OpKind::Sub, {chain[k]->regions[0].args[0], chain[k]->operands[0]}, {d}));
      idx.push_back(d);
    }
    Op get = Op::make(OpKind::Extract, idx, call.results);
    get.source_line = call.source_line;
    const size_t inserted = read.size();
    body.ops[at] = std::move(get);
    body.ops.insert(body.ops.begin() + static_cast<std::ptrdiff_t>(at), std::make_move_iterator(read.begin()),
                    std::make_move_iterator(read.end()));
    ++count_;
    // The call's operands that nothing else uses (theta[j, k] read for the log) go too: left in
    // place, their adjoint code would still run (adding zeros) in the reverse sweep.
    remove_unused_pure_ops(outer.regions[0]);
    index_outer(outer);  // the body's ops moved
    return inserted;
  }

  // Pure ops whose results nothing uses, in `r` and the regions nested in it, to a fixpoint.
  static void remove_unused_pure_ops(Region& r) {
    for (bool changed = true; changed;) {
      changed = false;
      std::unordered_set<ValueId> used;
      std::function<void(const Region&)> uses = [&](const Region& x) {
        for (const Op& o : x.ops) {
          for (ValueId v : o.operands) used.insert(v);
          for (const Region& sub : o.regions) uses(sub);
        }
      };
      uses(r);
      std::function<void(Region&)> sweep = [&](Region& x) {
        for (size_t k = x.ops.size(); k-- > 0;) {
          for (Region& sub : x.ops[k].regions) sweep(sub);
          if (pure(x.ops[k]) && !used.count(x.ops[k].results[0])) {
            x.ops.erase(x.ops.begin() + static_cast<std::ptrdiff_t>(k));
            changed = true;
          }
        }
      };
      sweep(r);
    }
  }

  Function& f_;
  int count_ = 0;
  std::unordered_set<ValueId> defined_in_outer_;
  std::unordered_map<ValueId, const Op*> def_;
  std::unordered_map<ValueId, bool> invariant_;
};

}  // namespace

int tabulate_invariant_calls(Function& f) { return Tabulator(f).run(); }

}  // namespace halo::ir
