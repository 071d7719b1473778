#include "ad/ad.h"

#include <functional>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "ir/builder.h"

namespace halo::ad {

using namespace ir;

namespace {

struct AdError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool is_real(const Type& t) { return t.elem == Elem::F64; }

class Differentiator {
 public:
  Differentiator(const Function& f, int wrt) : f_(f), wrt_(wrt) {}

  Function run() {
    g_.name = f_.name + "_grad";
    g_.role = f_.role;
    g_.param_types = f_.param_types;
    g_.values = f_.values;
    if (f_.result_types.empty() || f_.result_types[0] != Type::f64())
      throw AdError("the function to differentiate must return an f64 first");
    if (wrt_ < 0 || static_cast<size_t>(wrt_) >= f_.param_types.size() ||
        f_.param_types[wrt_] != Type::vector())
      throw AdError("the parameter to differentiate by must be a vector");
    g_.result_types = {Type::f64(), Type::vector()};

    record_definitions(f_.body, &f_.body);
    find_wrt();
    analyse_activity();
    find_target_var();

    // Forward sweep: f's body without its return, instrumented.
    const Op& ret = f_.body.ops.back();
    if (ret.kind != OpKind::Return || ret.operands.empty())
      throw AdError("the function must end in a return");
    g_.body = clone_region(f_.body, /*drop_return=*/true);
    map_regions(f_.body, g_.body);
    add_forward_partials(f_.body);

    // Reverse sweep.
    ValueId result = ret.operands[0];
    Region prologue, reverse;
    scopes_.push_back(Scope{&f_.body, &prologue, {}, {}, nullptr, {}});
    Builder rb(g_, reverse);
    ValueId one = rb.const_f64(1.0);
    if (active_[result]) rb.accumulate(adj(result), one);
    reverse_ops(f_.body, rb, /*skip_last=*/true);
    Builder end(g_, reverse);
    ValueId grad = end.load(adj(wrt_value_));
    end.ret({result, grad});
    scopes_.pop_back();
    for (Op& op : prologue.ops) g_.body.ops.push_back(std::move(op));
    for (Op& op : reverse.ops) g_.body.ops.push_back(std::move(op));
    return std::move(g_);
  }

 private:
  // ---------------------------------------------------------------------------------------
  // Definitions, activity

  void record_definitions(const Region& r, const Region* owner) {
    for (ValueId a : r.args) def_region_[a] = owner;
    for (const Op& o : r.ops) {
      for (const Region& sub : o.regions) {
        // Map bodies are handled by recomputation: their values never leave the map.
        record_definitions(sub, &sub);
      }
      for (ValueId v : o.results) {
        def_region_[v] = owner;
        def_op_[v] = &o;
      }
    }
  }

  void find_wrt() {
    for (const Op& o : f_.body.ops)
      if (o.kind == OpKind::Param && o.i == wrt_) wrt_value_ = o.results[0];
    if (wrt_value_ == kNoValue) throw AdError("the parameter to differentiate by is never read");
  }

  // The var the function returns the value of (target) when nothing but accumulations touch it
  // before that final load: its adjoint is then 1 everywhere, known before the reverse sweep.
  void find_target_var() {
    const Op& ret = f_.body.ops.back();
    if (ret.kind != OpKind::Return || ret.operands.empty()) return;
    auto def = def_op_.find(ret.operands[0]);
    if (def == def_op_.end() || def->second->kind != OpKind::Load) return;
    const Op* final_load = def->second;
    ValueId t = final_load->operands[0];
    bool only_accumulated = true;
    std::function<void(const Region&)> walk = [&](const Region& r) {
      for (const Op& o : r.ops) {
        for (size_t k = 0; k < o.operands.size(); ++k)
          if (o.operands[k] == t && &o != final_load && !(o.kind == OpKind::Accumulate && k == 0))
            only_accumulated = false;
        for (const Region& sub : o.regions) walk(sub);
      }
    };
    walk(f_.body);
    if (only_accumulated) target_var_ = t;
  }

  // A value is active if it is real and depends on the wrt parameter; a var is active once an
  // active value is stored into it. Iterated to a fixpoint because of loops.
  void analyse_activity() {
    active_.assign(f_.values.size(), false);
    active_[wrt_value_] = true;
    bool changed = true;
    auto mark = [&](ValueId v) {
      if (!active_[v] && is_real(f_.type_of(v))) {
        active_[v] = true;
        changed = true;
      }
    };
    std::function<void(const Region&)> walk = [&](const Region& r) {
      for (const Op& o : r.ops) {
        bool any = false;
        for (ValueId v : o.operands) any = any || active_[v];
        switch (o.kind) {
          case OpKind::Store:
          case OpKind::StoreElem:
          case OpKind::StoreSlice:
          case OpKind::Accumulate:
          case OpKind::AccumulateElem:
            if (active_[o.operands.back()]) mark(o.operands[0]);
            break;
          case OpKind::Map:
          case OpKind::MapSum: {
            const size_t nd = static_cast<size_t>(o.i);
            const Region& body = o.regions[0];
            for (size_t k = 0; k < o.broadcasts.size(); ++k)
              if (active_[o.operands[nd + k]]) mark(body.args[k]);
            walk(body);
            const Op& y = body.ops.back();
            for (size_t k = 0; k < o.results.size() && k < y.operands.size(); ++k)
              if (active_[y.operands[k]]) mark(o.results[k]);
            break;
          }
          case OpKind::Dim:
          case OpKind::Cmp:
          case OpKind::Check:
          case OpKind::Print:
          case OpKind::Reject:
            break;
          default:
            for (const Region& sub : o.regions) walk(sub);
            if (any)
              for (ValueId v : o.results) mark(v);
            break;
        }
      }
    };
    while (changed) {
      changed = false;
      walk(f_.body);
    }
  }

  bool region_has_active_effect(const Region& r) {
    for (const Op& o : r.ops) {
      for (ValueId v : o.results)
        if (active_[v]) return true;
      if ((o.kind == OpKind::Store || o.kind == OpKind::StoreElem || o.kind == OpKind::StoreSlice ||
           o.kind == OpKind::Accumulate ||
           o.kind == OpKind::AccumulateElem) &&
          active_[o.operands[0]])
        return true;
      for (const Region& sub : o.regions)
        if (region_has_active_effect(sub)) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------
  // Forward sweep

  Region clone_region(const Region& r, bool drop_return) {
    Region out;
    out.args = r.args;
    for (size_t k = 0; k < r.ops.size(); ++k) {
      const Op& o = r.ops[k];
      if (drop_return && k + 1 == r.ops.size() && o.kind == OpKind::Return) break;
      if ((o.kind == OpKind::Break || o.kind == OpKind::Continue))
        throw AdError("break/continue in differentiated code are not supported yet");
      if (o.kind == OpKind::While && region_has_active_effect(o.regions[1])) {
        // Count the iterations so that the reverse sweep can replay them.
        Builder b(g_, out);
        ValueId counter = b.var(Type::i64(), {}, 0.0, "trips");
        Op copy = clone_op(o);
        Region& body = copy.regions[1];
        Builder bb(g_, body);
        bb.store(counter, bb.add(bb.load(counter), bb.const_i64(1)));
        out.ops.push_back(std::move(copy));
        ValueId trips = b.load(counter);
        def_region_[trips] = nullptr;  // fixed below by the caller's region
        while_trips_[&o] = trips;
        pending_trips_.push_back(trips);
        continue;
      }
      out.ops.push_back(clone_op(o));
    }
    return out;
  }

  Op clone_op(const Op& o) {
    Op c = o;
    c.regions.clear();
    for (const Region& sub : o.regions) {
      if (o.kind == OpKind::Map || o.kind == OpKind::MapSum) c.regions.push_back(sub);
      else c.regions.push_back(clone_region(sub, false));
    }
    return c;
  }

  // Pairs each region of f with its copy in g (same shape, except extra ops).
  void map_regions(const Region& fr, Region& gr) {
    forward_copy_[&fr] = &gr;
    // The trip counters were defined in this region.
    size_t gi = 0;
    for (const Op& fo : fr.ops) {
      while (gi < gr.ops.size() && !same_op(fo, gr.ops[gi])) {
        for (ValueId v : gr.ops[gi].results)
          if (!def_region_.count(v) || def_region_[v] == nullptr) def_region_[v] = &fr;
        ++gi;
      }
      if (gi >= gr.ops.size()) break;
      Op& go = gr.ops[gi];
      if (fo.kind != OpKind::Map && fo.kind != OpKind::MapSum)
        for (size_t k = 0; k < fo.regions.size(); ++k) map_regions(fo.regions[k], go.regions[k]);
      forward_op_[&fo] = {&gr, gi};
      ++gi;
    }
    for (; gi < gr.ops.size(); ++gi)
      for (ValueId v : gr.ops[gi].results)
        if (!def_region_.count(v) || def_region_[v] == nullptr) def_region_[v] = &fr;
  }

  static bool same_op(const Op& a, const Op& b) {
    return a.kind == b.kind && a.results == b.results && a.operands == b.operands;
  }

  Op& forward_op(const Op& fo) {
    auto it = forward_op_.find(&fo);
    if (it == forward_op_.end()) throw AdError("internal: no forward copy of an op");
    return it->second.first->ops[it->second.second];
  }

  // The partials a map's forward copy stores (store_map_partials).
  struct StoredPartials {
    bool reduced = false;           // summed like their inputs (the output adjoint is a scalar)
    std::vector<ValueId> values;    // distinct stored partials: results of the forward copy
    std::vector<size_t> of_input;   // for each active input, in order: its index in values
  };

  // Dist and call ops outside maps with an active result get their partials in the forward
  // sweep (one per f64 argument): dists return them as extra results, calls are followed by a
  // call_grad. The reverse sweep only multiplies them by the result's adjoint.
  void add_forward_partials(const Region& r) {
    add_forward_partials_in(r);
    // Insert the calls' partials after their calls, from the back of each region so that
    // the indices of earlier insertions stay valid (forward_op_ is not used after this).
    for (auto it = call_partial_ops_.rbegin(); it != call_partial_ops_.rend(); ++it) {
      auto& [region, index, op] = *it;
      region->ops.insert(region->ops.begin() + static_cast<std::ptrdiff_t>(index) + 1, std::move(op));
    }
    call_partial_ops_.clear();
  }

  void add_forward_partials_in(const Region& r) {
    for (const Op& o : r.ops) {
      if (o.kind == OpKind::Map || o.kind == OpKind::MapSum) {
        if (!o.results.empty() && active_[o.results[0]] && stores_partials(o)) store_map_partials(o);
        continue;
      }
      for (const Region& sub : o.regions) add_forward_partials_in(sub);
      if (o.kind == OpKind::Call && active_[o.results[0]]) {
        // A scalar call's partials are computed right after it in the forward sweep and kept
        // for the reverse one, instead of its operands and result: after inlining, the
        // derivative shares the value's work (log_sum_exp's and log_mix's exp), and the
        // reverse sweep only multiplies.
        auto it = forward_op_.find(&o);
        if (it == forward_op_.end()) throw AdError("internal: no forward copy of an op");
        Op cg = Op::make(OpKind::CallGrad, o.operands);
        cg.operands.push_back(o.results[0]);
        cg.name = o.name;
        std::vector<ValueId> partials;
        for (ValueId a : o.operands) {
          if (!is_real(f_.type_of(a))) continue;
          ValueId p = g_.new_value(Type::f64(), "d");
          def_region_[p] = def_region_[o.results[0]];
          partials.push_back(p);
        }
        cg.results = partials;
        forward_partials_[&o] = partials;
        call_partial_ops_.push_back({it->second.first, it->second.second, std::move(cg)});
        continue;
      }
      if (o.kind != OpKind::Dist || !active_[o.results[0]]) continue;
      Op& go = forward_op(o);
      std::vector<ValueId> partials;
      for (ValueId a : o.operands) {
        if (!is_real(f_.type_of(a))) continue;
        ValueId p = g_.new_value(Type::f64(), "d");
        def_region_[p] = def_region_[o.results[0]];
        go.results.push_back(p);
        partials.push_back(p);
      }
      forward_partials_[&o] = partials;
    }
  }

  // A map whose body calls a function (an activation, a density) stores the partials of the
  // output with respect to its active inputs in the forward sweep, computed next to the value
  // (after inlining, log1p_exp and its derivative share one exp), so that the reverse sweep
  // multiplies by them instead of recomputing the body. Cheaper bodies are recomputed.
  bool stores_partials(const Op& o) const {
    if (o.results.size() != 1) return false;
    for (const Op& inner : o.regions[0].ops) {
      if (!inner.regions.empty()) return false;
      if (inner.kind == OpKind::Call || inner.kind == OpKind::Dist) return true;
    }
    return false;
  }

  static MapResult result_mode(const Op& o) {
    return !o.map_results.empty() ? o.map_results[0]
           : o.kind == OpKind::MapSum ? MapResult::Sum : MapResult::Elementwise;
  }

  // How the adjoint of an input with broadcast `bc` collects the per-element contributions.
  static MapResult reduction_of(Broadcast bc) {
    switch (bc) {
      case Broadcast::Elementwise: return MapResult::Elementwise;
      case Broadcast::Scalar: return MapResult::Sum;
      case Broadcast::Rows: return MapResult::SumOverRows;
      case Broadcast::Cols: return MapResult::SumOverCols;
    }
    return MapResult::Elementwise;
  }

  // The forward copy of map `o` also yields the partials of its output with respect to each
  // active input. When the output adjoint is one scalar (map_sum) they are reduced like their
  // inputs right away; otherwise they are kept per element. Equal partials are stored once.
  void store_map_partials(const Op& o) {
    const size_t nd = static_cast<size_t>(o.i);
    const Region& body = o.regions[0];
    const MapResult mode = result_mode(o);
    StoredPartials sp;
    sp.reduced = mode == MapResult::Sum;
    Region fb;
    std::unordered_map<ValueId, ValueId> rename;
    for (ValueId a : body.args) {
      ValueId na = g_.new_value(g_.type_of(a));
      rename[a] = na;
      fb.args.push_back(na);
    }
    Builder bb(g_, fb);
    ValueId one = bb.const_f64(1.0);
    std::vector<ValueId> input_adj = map_body_adjoint(o, bb, rename, one, /*seed_is_one=*/true);
    ValueId out = body.ops.back().operands.at(0);
    Op& go = forward_op(o);
    Op yield = Op::make(OpKind::Yield, {rename.count(out) ? rename.at(out) : out});
    go.map_results = {mode};
    std::vector<std::pair<ValueId, MapResult>> stored;  // (body value, how it is collected)
    for (size_t k = 0; k < o.broadcasts.size(); ++k) {
      ValueId input = o.operands[nd + k];
      if (!active_[input]) continue;
      ValueId d = input_adj[k] != kNoValue ? input_adj[k] : bb.const_f64(0.0);
      MapResult collect = sp.reduced ? reduction_of(o.broadcasts[k]) : MapResult::Elementwise;
      size_t slot = 0;
      while (slot < stored.size() && stored[slot] != std::make_pair(d, collect)) ++slot;
      if (slot == stored.size()) {
        stored.push_back({d, collect});
        Type t = collect == MapResult::Sum ? Type::f64()
                 : sp.reduced             ? f_.type_of(input)
                 : mode == MapResult::Elementwise ? f_.type_of(o.results[0])
                                                  : Type::matrix();  // a 2-d map reduced to a vector
        ValueId p = g_.new_value(t, "d");
        def_region_[p] = def_region_[o.results[0]];
        yield.operands.push_back(d);
        go.map_results.push_back(collect);
        go.results.push_back(p);
        sp.values.push_back(p);
      }
      sp.of_input.push_back(slot);
    }
    bb.emit(std::move(yield));
    go.regions[0] = std::move(fb);
    stored_partials_[&o] = std::move(sp);
  }

  // ---------------------------------------------------------------------------------------
  // Reverse sweep

  struct Scope {
    const Region* forward;  // the region of f being reversed
    Region* prologue;       // where its adjoint variables are created
    std::vector<ValueId> pushed;              // primal values, in push order
    std::unordered_map<ValueId, ValueId> popped;  // primal -> popped (or recomputed) copy
    Region* pops = nullptr;
    std::vector<Op> recomputed;  // ops recomputing cheap values, placed after the pops
  };

  Scope& scope_of(const Region* r) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (it->forward == r) return *it;
    throw AdError("internal: a value is used outside the region that defines it");
  }

  // The primal value `v` as the reverse sweep at the current point can use it: itself at the
  // top level, else recomputed at the start of the reverse region when that is cheap and safe
  // (index arithmetic on loop indices, reads of the function's immutable arguments), else
  // pushed by the forward region and popped by the reverse one.
  ValueId primal(ValueId v) {
    auto def = def_region_.find(v);
    if (def == def_region_.end() || def->second == &f_.body) return v;
    if (!fused_.empty() && !defined_in_nested_scope(def->second)) return v;
    Scope& s = scope_of(def->second);
    auto it = s.popped.find(v);
    if (it != s.popped.end()) return it->second;
    if (rematerializable(v)) {
      const Op& o = *def_op_.at(v);
      Op copy = Op::make(o.kind);
      copy.i = o.i;
      copy.f = o.f;
      copy.pred = o.pred;
      for (ValueId x : o.operands) copy.operands.push_back(primal(x));
      ValueId p = g_.new_value(g_.type_of(v));
      copy.results = {p};
      s.recomputed.push_back(std::move(copy));
      s.popped[v] = p;
      return p;
    }
    ValueId p = g_.new_value(g_.type_of(v));
    s.pushed.push_back(v);
    s.popped[v] = p;
    return p;
  }

  // A pushed tensor loaded whole from a var declared at the top level has that var's shape in
  // every iteration (a local vector of an HMM's K states): its pop names the var and takes the
  // dims from it. Read from the stack, they would chain each pop's stack pointer to a load.
  std::vector<ValueId> shape_source(ValueId pushed) {
    if (!f_.type_of(pushed).is_tensor()) return {};
    auto d = def_op_.find(pushed);
    if (d == def_op_.end() || d->second->kind != OpKind::Load) return {};
    const ValueId ref = d->second->operands[0];
    auto r = def_region_.find(ref);
    const bool top_level_var = r != def_region_.end() && r->second == &f_.body && def_op_.count(ref) &&
                               def_op_.at(ref)->kind == OpKind::Var;
    return top_level_var ? std::vector<ValueId>{ref} : std::vector<ValueId>{};
  }

  bool rematerializable(ValueId v) {
    auto memo = rematerializable_.find(v);
    if (memo != rematerializable_.end()) return memo->second;
    bool ok = false;
    auto def = def_region_.find(v);
    if (def == def_region_.end() || def->second == &f_.body) {
      ok = true;  // top-level values dominate the reverse sweep
    } else if (!fused_.empty() && !defined_in_nested_scope(def->second)) {
      ok = true;  // in scope: a fused loop's reverse runs inside its forward sweep
    } else if (def_op_.count(v) == 0) {
      // A region argument: usable when its scope maps it (a for loop's index).
      for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
        if (it->forward == def->second) ok = it->popped.count(v) > 0;
    } else {
      const Op& o = *def_op_.at(v);
      bool all = o.results.size() == 1;
      switch (o.kind) {
        case OpKind::ConstF64: case OpKind::ConstI64: case OpKind::ConstBool:
        case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Neg:
        case OpKind::IDiv: case OpKind::IMod: case OpKind::Cmp: case OpKind::And:
        case OpKind::Or: case OpKind::Not: case OpKind::Select: case OpKind::IToF:
        case OpKind::BoolToI:
          for (ValueId x : o.operands) all = all && f_.type_of(x).rank() == 0 && rematerializable(x);
          break;
        case OpKind::Dim: {
          auto d = def_region_.find(o.operands[0]);
          all = all && (d == def_region_.end() || d->second == &f_.body);
          break;
        }
        case OpKind::Extract: {
          // Only from the function's arguments (data), which nothing writes.
          auto t = def_op_.find(o.operands[0]);
          all = all && t != def_op_.end() && t->second->kind == OpKind::Param && f_.type_of(v).rank() == 0;
          for (size_t k = 1; k < o.operands.size(); ++k) all = all && rematerializable(o.operands[k]);
          break;
        }
        default: all = false;
      }
      ok = all;
    }
    rematerializable_[v] = ok;
    return ok;
  }

  // The adjoint variable of `v` (a value or a var), created on first use in the prologue of
  // the reverse region that mirrors v's definition.
  ValueId adj(ValueId v) {
    if (!fused_.empty()) {
      auto def = def_region_.find(v);
      const Region* owner = def == def_region_.end() ? &f_.body : def->second;
      if (!fused_.back().inside.count(owner)) return fused_adj(v);
    }
    auto it = adjoints_.find(v);
    if (it != adjoints_.end()) return it->second;
    auto def = def_region_.find(v);
    const Region* owner = def == def_region_.end() ? &f_.body : def->second;
    Scope& s = scope_of(owner);
    Builder pb(g_, *s.prologue);
    Type t = f_.type_of(v).value_type();
    ValueId a;
    if (t.rank() == 0) {
      a = pb.var(Type::f64(), {}, 0.0, "adj");
    } else {
      std::vector<ValueId> dims;
      if (f_.type_of(v).ref) {
        const Op* def_op = defining_op(v);
        for (ValueId d : def_op->operands) dims.push_back(primal(d));
      } else {
        ValueId pv = primal(v);
        for (int k = 0; k < t.rank(); ++k) dims.push_back(pb.dim(pv, k));
      }
      a = pb.var(Type{Elem::F64, t.array_rank, t.elem_rank, t.row, false}, dims, 0.0, "adj");
    }
    adjoints_[v] = a;
    return a;
  }

  const Op* defining_op(ValueId v) {
    const Op* found = nullptr;
    std::function<void(const Region&)> walk = [&](const Region& r) {
      for (const Op& o : r.ops) {
        for (ValueId x : o.results)
          if (x == v) found = &o;
        for (const Region& sub : o.regions) walk(sub);
      }
    };
    walk(f_.body);
    if (!found) throw AdError("internal: no definition of a var");
    return found;
  }

  ValueId g_of(Builder& b, ValueId v) { return b.load(adj(v)); }

  void reverse_ops(const Region& r, Builder& b, bool skip_last) {
    size_t n = r.ops.size() - (skip_last ? 1 : 0);
    for (size_t k = n; k-- > 0;) reverse_op(r.ops[k], b);
  }

  // Reverses a nested region (loop body, branch) into `out`: pops, adjoint vars, reverse ops.
  // Returns after appending pushes to the forward copy of the region.
  void reverse_nested(const Region& fr, Region& out, const std::vector<std::pair<ValueId, ValueId>>& seeded) {
    Region prologue, body;
    scopes_.push_back(Scope{&fr, &prologue, {}, {}, nullptr, {}});
    for (auto [primal_value, reverse_value] : seeded) scopes_.back().popped[primal_value] = reverse_value;
    Builder bb(g_, body);
    reverse_ops(fr, bb, false);
    Scope s = std::move(scopes_.back());
    scopes_.pop_back();
    // Pops at the start of the reverse region (reverse order of the pushes); pushes at the end
    // of the forward region, so the stack order nests correctly (docs/architecture.md).
    Region* forward = forward_copy_.at(&fr);
    for (ValueId v : s.pushed) forward->ops.push_back(Op::make(OpKind::Push, {v}));
    for (size_t k = s.pushed.size(); k-- > 0;)
      out.ops.push_back(Op::make(OpKind::Pop, shape_source(s.pushed[k]), {s.popped.at(s.pushed[k])}));
    for (Op& o : s.recomputed) out.ops.push_back(std::move(o));
    for (Op& o : prologue.ops) out.ops.push_back(std::move(o));
    for (Op& o : body.ops) out.ops.push_back(std::move(o));
  }

  // ---------------------------------------------------------------------------------------
  // Loops whose only effect is target += ...: reversed inside the forward sweep
  //
  // When a loop body writes nothing that outlives an iteration except accumulations into
  // target, whose adjoint is 1 throughout, each iteration's reverse can run right after its
  // forward part: no values are pushed and popped, and the adjoints of what the body reads
  // from outside (parameters, data-dependent arrays) collect in "pre-adjoints", created before
  // the loop and added to the real adjoints where the reverse sweep meets the loop. A later
  // write to something the body read is harmless: the contribution lands at the same point of
  // the reverse sweep as it would unfused.

  // One element of a tensor defined outside a fused body, read at an index the body does not
  // change (a group's mean mu[j] in the inner loop over its members): its contributions collect
  // in a scalar, which stays in a register, and join the tensor's adjoint after the loop.
  struct ElementPreAdjoint {
    ValueId tensor;              // the tensor read
    std::vector<ValueId> index;  // the index, as values usable before and after the loop
    std::vector<ValueId> index_in_body;  // the index as the body computes it (the lookup key)
    ValueId pre_adj;             // a scalar var created before the loop
  };

  struct FusedLoop {
    const Region* body = nullptr;          // the loop body being fused (null: not fusing)
    size_t scope_index = 0;                // its scope in scopes_
    std::unordered_set<const Region*> inside;  // body and the regions nested in it
    Region* pre = nullptr;                 // ops placed before the loop in the forward sweep
    ValueId one = kNoValue;                // target's adjoint: a var holding 1
    std::vector<std::pair<ValueId, ValueId>> outer;  // (value defined outside, pre-adjoint)
    std::vector<ElementPreAdjoint> elements;          // see element_pre_adjoint
  };

  static void collect_regions(const Region& r, std::unordered_set<const Region*>& out) {
    out.insert(&r);
    for (const Op& o : r.ops)
      for (const Region& sub : o.regions) collect_regions(sub, out);
  }

  // The outermost fused level whose body does not contain v's definition.
  size_t fused_level(ValueId v) const {
    auto def = def_region_.find(v);
    const Region* owner = def == def_region_.end() ? &f_.body : def->second;
    size_t level = 0;
    while (level + 1 < fused_.size() && fused_[level].inside.count(owner)) ++level;
    return level;
  }

  // Values a fused body computes from values defined outside it by integer arithmetic only
  // (an index like j - 1) are copied before the loop, where they are computed once; the copy
  // is returned, or kNoValue when v depends on the loop.
  ValueId loop_invariant_copy(ValueId v, const FusedLoop& fused, Builder& pre) {
    auto def = def_region_.find(v);
    const Region* owner = def == def_region_.end() ? &f_.body : def->second;
    if (!fused.inside.count(owner)) return v;
    auto d = def_op_.find(v);
    if (d == def_op_.end()) return kNoValue;  // a region argument: a loop index
    const Op& o = *d->second;
    if (o.kind != OpKind::ConstI64 && o.kind != OpKind::Add && o.kind != OpKind::Sub && o.kind != OpKind::Mul)
      return kNoValue;
    if (f_.type_of(v) != Type::i64()) return kNoValue;
    Op copy = Op::make(o.kind);
    copy.i = o.i;
    for (ValueId x : o.operands) {
      ValueId c = loop_invariant_copy(x, fused, pre);
      if (c == kNoValue) return kNoValue;
      copy.operands.push_back(c);
    }
    ValueId r = g_.new_value(Type::i64());
    copy.results = {r};
    pre.emit(std::move(copy));
    return r;
  }

  // The scalar pre-adjoint of tensor[index] when the innermost fused loop reads it at an index
  // it does not change, else kNoValue (the element goes to the tensor's pre-adjoint).
  ValueId element_pre_adjoint(ValueId tensor, const std::vector<ValueId>& index) {
    if (fused_.empty() || f_.type_of(tensor).ref) return kNoValue;
    FusedLoop& fused = fused_.back();
    auto def = def_region_.find(tensor);
    const Region* owner = def == def_region_.end() ? &f_.body : def->second;
    if (fused.inside.count(owner)) return kNoValue;
    for (ElementPreAdjoint& e : fused.elements)
      if (e.tensor == tensor && e.index_in_body == index) return e.pre_adj;
    Builder pb(g_, *fused.pre);
    std::vector<ValueId> copies;
    for (ValueId x : index) {
      ValueId c = loop_invariant_copy(x, fused, pb);
      if (c == kNoValue) return kNoValue;
      copies.push_back(c);
    }
    ValueId pre_adj = pb.var(Type::f64(), {}, 0.0, "preadj");
    fused.elements.push_back({tensor, copies, index, pre_adj});
    return pre_adj;
  }

  bool fusable(const Region& body) {
    if (target_var_ == kNoValue) return false;
    std::unordered_set<const Region*> inside;
    collect_regions(body, inside);
    bool ok = true;
    std::function<void(const Region&)> walk = [&](const Region& r) {
      for (const Op& o : r.ops) {
        switch (o.kind) {
          case OpKind::While: case OpKind::Return: case OpKind::Break: case OpKind::Continue:
            ok = false;
            break;
          case OpKind::Store: case OpKind::StoreElem: case OpKind::StoreSlice:
          case OpKind::Accumulate: case OpKind::AccumulateElem: {
            ValueId ref = o.operands[0];
            auto def = def_region_.find(ref);
            const Region* owner = def == def_region_.end() ? &f_.body : def->second;
            if (active_[ref] && !inside.count(owner) && !(o.kind == OpKind::Accumulate && ref == target_var_))
              ok = false;
            break;
          }
          default: break;
        }
        for (const Region& sub : o.regions) walk(sub);
      }
    };
    walk(body);
    return ok;
  }

  // Whether region r belongs to a scope opened inside the fused body (a nested loop's), whose
  // values are pushed and popped as usual.
  bool defined_in_nested_scope(const Region* r) const {
    for (size_t k = scopes_.size(); k-- > fused_.back().scope_index + 1;)
      if (scopes_[k].forward == r) return true;
    return false;
  }

  // The pre-adjoint of a value defined outside the innermost fused body: that of the outermost
  // fused loop whose body does not contain it (created before that loop, so a nested fused loop
  // adds into it directly instead of through a pre-adjoint of its own per outer iteration).
  ValueId fused_adj(ValueId v) {
    if (v == target_var_) return fused_.front().one;
    FusedLoop& fused = fused_[fused_level(v)];
    for (auto& [value, pre_adj] : fused.outer)
      if (value == v) return pre_adj;
    Builder pb(g_, *fused.pre);
    Type t = f_.type_of(v).value_type();
    ValueId a;
    if (t.rank() == 0) {
      a = pb.var(Type::f64(), {}, 0.0, "preadj");
    } else {
      std::vector<ValueId> dims;
      if (f_.type_of(v).ref) dims = defining_op(v)->operands;
      else
        for (int k = 0; k < t.rank(); ++k) dims.push_back(pb.dim(v, k));
      a = pb.var(Type{Elem::F64, t.array_rank, t.elem_rank, t.row, false}, dims, 0.0, "preadj");
    }
    fused.outer.push_back({v, a});
    return a;
  }

  void fuse_loop(const Op& loop, Builder& b) {
    const Region& body = loop.regions[0];
    Region pre, prologue, reversed;
    FusedLoop fused;
    fused.body = &body;
    collect_regions(body, fused.inside);
    fused.pre = &pre;
    fused.one = Builder(g_, pre).var(Type::f64(), {}, 1.0, "target_adj");
    fused.scope_index = scopes_.size();
    fused_.push_back(std::move(fused));
    rematerializable_.clear();  // its answers depend on which loops are being fused
    scopes_.push_back(Scope{&body, &prologue, {}, {}, nullptr, {}});
    Builder rb(g_, reversed);
    reverse_ops(body, rb, false);
    Scope s = std::move(scopes_.back());
    scopes_.pop_back();
    if (!s.pushed.empty() || !s.recomputed.empty()) throw AdError("internal: a fused loop pushes values");
    std::vector<std::pair<ValueId, ValueId>> outer = std::move(fused_.back().outer);
    std::vector<ElementPreAdjoint> elements = std::move(fused_.back().elements);
    fused_.pop_back();
    rematerializable_.clear();
    // Each iteration: its forward ops, then its adjoints and reverse ops.
    Region* forward = forward_copy_.at(&body);
    for (Op& op : prologue.ops) forward->ops.push_back(std::move(op));
    for (Op& op : reversed.ops) forward->ops.push_back(std::move(op));
    // The pre-adjoints are created right before the loop.
    auto [region, index] = find_forward_loop(g_.body, forward);
    if (region == nullptr) throw AdError("internal: no forward copy of a fused loop");
    region->ops.insert(region->ops.begin() + static_cast<std::ptrdiff_t>(index),
                       std::make_move_iterator(pre.ops.begin()), std::make_move_iterator(pre.ops.end()));
    // Where the reverse sweep meets the loop, its contributions join the adjoints.
    for (auto& [value, pre_adj] : outer) accumulate(b, value, b.load(pre_adj));
    // The elements' indices were checked only if the loop ran: guard their accumulations.
    if (!elements.empty()) {
      ValueId ran = b.cmp(CmpPred::Le, primal(loop.operands[0]), primal(loop.operands[1]));
      Op guard = Op::make(OpKind::If, {ran});
      guard.regions.resize(2);
      Builder gb(g_, guard.regions[0]);
      for (ElementPreAdjoint& e : elements) {
        Op acc = Op::make(OpKind::AccumulateElem, {adj(e.tensor)});
        acc.operands.insert(acc.operands.end(), e.index.begin(), e.index.end());
        acc.operands.push_back(gb.load(e.pre_adj));
        gb.emit(std::move(acc));
      }
      b.emit(std::move(guard));
    }
  }

  static std::pair<Region*, size_t> find_forward_loop(Region& r, const Region* body) {
    for (size_t k = 0; k < r.ops.size(); ++k) {
      for (Region& sub : r.ops[k].regions) {
        if (&sub == body) return {&r, k};
        auto found = find_forward_loop(sub, body);
        if (found.first != nullptr) return found;
      }
    }
    return {nullptr, 0};
  }

  void accumulate(Builder& b, ValueId target, ValueId contribution) {
    if (!active_[target]) return;
    b.accumulate(adj(target), contribution);
  }

  void reverse_op(const Op& o, Builder& b) {
    auto result_active = [&] { return !o.results.empty() && active_[o.results[0]]; };
    switch (o.kind) {
      case OpKind::Add:
      case OpKind::Sub:
      case OpKind::Neg:
      case OpKind::Mul:
      case OpKind::Div:
      case OpKind::Select:
      case OpKind::Call:
      case OpKind::Dist:
        if (!result_active()) return;
        scalar_reverse(o, b);
        return;
      case OpKind::Extract: {
        if (!result_active()) return;
        ValueId g = g_of(b, o.results[0]);
        if (f_.type_of(o.results[0]).rank() == 0) {
          std::vector<ValueId> index(o.operands.begin() + 1, o.operands.end());
          ValueId element = element_pre_adjoint(o.operands[0], index);
          if (element != kNoValue) {
            b.accumulate(element, g);
            return;
          }
        }
        Op acc = Op::make(OpKind::AccumulateElem, {adj(o.operands[0])});
        for (size_t k = 1; k < o.operands.size(); ++k) acc.operands.push_back(primal(o.operands[k]));
        acc.operands.push_back(g);
        b.emit(std::move(acc));
        return;
      }
      case OpKind::Load:
        if (!result_active()) return;
        b.accumulate(adj(o.operands[0]), g_of(b, o.results[0]));
        return;
      case OpKind::Slice: {
        if (!result_active()) return;
        Op acc = Op::make(OpKind::AccumulateSlice, {adj(o.operands[0])});
        for (size_t k = 1; k < o.operands.size(); ++k) acc.operands.push_back(primal(o.operands[k]));
        acc.operands.push_back(b.load(adj(o.results[0])));
        acc.i = o.i;
        b.emit(std::move(acc));
        return;
      }
      case OpKind::View:
        if (!result_active()) return;
        b.emit(Op::make(OpKind::AccumulateView,
                        {adj(o.operands[0]), primal(o.operands[1]), b.load(adj(o.results[0]))}));
        return;
      case OpKind::LoadElem: {
        if (!result_active()) return;
        ValueId g = g_of(b, o.results[0]);
        Op acc = Op::make(OpKind::AccumulateElem, {adj(o.operands[0])});
        for (size_t k = 1; k < o.operands.size(); ++k) acc.operands.push_back(primal(o.operands[k]));
        acc.operands.push_back(g);
        b.emit(std::move(acc));
        return;
      }
      case OpKind::Store: {
        ValueId ref = o.operands[0], v = o.operands[1];
        if (!active_[ref]) return;
        ValueId a = adj(ref);
        if (active_[v]) accumulate(b, v, b.load(a));
        store_zero(b, a, {});
        return;
      }
      case OpKind::StoreElem: {
        ValueId ref = o.operands[0], v = o.operands.back();
        if (!active_[ref]) return;
        ValueId a = adj(ref);
        std::vector<ValueId> idx;
        for (size_t k = 1; k + 1 < o.operands.size(); ++k) idx.push_back(primal(o.operands[k]));
        Type elem = element_type(f_.type_of(ref).value_type(), idx.size());
        if (active_[v]) {
          std::vector<ValueId> ops = {a};
          ops.insert(ops.end(), idx.begin(), idx.end());
          accumulate(b, v, b.emit1(OpKind::LoadElem, ops, elem));
        }
        store_zero(b, a, idx);
        return;
      }
      case OpKind::StoreSlice: {
        // adj_v += adj_ref[slice]; adj_ref[slice] = 0
        ValueId ref = o.operands[0], v = o.operands.back();
        if (!active_[ref]) return;
        ValueId a = adj(ref);
        std::vector<ValueId> ranges;
        for (size_t k = 1; k + 1 < o.operands.size(); ++k) ranges.push_back(primal(o.operands[k]));
        Op take = Op::make(OpKind::Slice, {a});
        take.operands.insert(take.operands.end(), ranges.begin(), ranges.end());
        take.i = o.i;
        Type st = f_.type_of(v);
        st.elem = Elem::F64;
        ValueId part = g_.new_value(st);
        take.results = {part};
        b.emit(std::move(take));
        if (active_[v]) accumulate(b, v, part);
        std::vector<ValueId> dims;
        for (int k = 0; k < st.rank(); ++k) dims.push_back(b.dim(part, k));
        ValueId zero = b.value(st);
        Op alloc = Op::make(OpKind::Alloc, dims, {zero});
        alloc.type = st;
        b.emit(std::move(alloc));
        Op put = Op::make(OpKind::StoreSlice, {a});
        put.operands.insert(put.operands.end(), ranges.begin(), ranges.end());
        put.operands.push_back(zero);
        put.i = o.i;
        b.emit(std::move(put));
        return;
      }
      case OpKind::Accumulate: {
        ValueId ref = o.operands[0], v = o.operands[1];
        if (!active_[ref] || !active_[v]) return;
        accumulate(b, v, b.load(adj(ref)));
        return;
      }
      case OpKind::AccumulateElem: {
        ValueId ref = o.operands[0], v = o.operands.back();
        if (!active_[ref] || !active_[v]) return;
        std::vector<ValueId> ops = {adj(ref)};
        for (size_t k = 1; k + 1 < o.operands.size(); ++k) ops.push_back(primal(o.operands[k]));
        Type elem = element_type(f_.type_of(ref).value_type(), ops.size() - 1);
        accumulate(b, v, b.emit1(OpKind::LoadElem, ops, elem));
        return;
      }
      case OpKind::For: {
        const Region& body = o.regions[0];
        if (!region_has_active_effect(body)) return;
        // A loop at the top level, or directly in a fused loop's body: there the reverse sweep
        // runs where the forward values are (a pre-adjoint inside a reversed region would have
        // to be pushed).
        const Region* parent = scopes_.back().forward;
        if ((parent == &f_.body || (!fused_.empty() && parent == fused_.back().body)) && fusable(body)) {
          fuse_loop(o, b);
          return;
        }
        Region reversed;
        ValueId i = g_.new_value(Type::i64(), "i");
        reversed.args = {i};
        ValueId lo = primal(o.operands[0]), hi = primal(o.operands[1]);
        reverse_nested(body, reversed, {{body.args[0], i}});
        Op loop = Op::make(OpKind::For, {lo, hi});
        loop.i = o.i ? 0 : 1;  // the other direction
        loop.regions.push_back(std::move(reversed));
        b.emit(std::move(loop));
        return;
      }
      case OpKind::While: {
        const Region& body = o.regions[1];
        if (!region_has_active_effect(body)) return;
        ValueId trips = primal(while_trips_.at(&o));
        Region reversed;
        ValueId i = g_.new_value(Type::i64(), "i");
        reversed.args = {i};
        reverse_nested(body, reversed, {});
        Op loop = Op::make(OpKind::For, {b.const_i64(1), trips});
        loop.i = 1;
        loop.regions.push_back(std::move(reversed));
        b.emit(std::move(loop));
        return;
      }
      case OpKind::If: {
        bool then_active = region_has_active_effect(o.regions[0]);
        bool else_active = o.regions.size() > 1 && region_has_active_effect(o.regions[1]);
        if (!then_active && !else_active) return;
        ValueId c = primal(o.operands[0]);
        Op branch = Op::make(OpKind::If, {c});
        branch.regions.resize(2);
        if (then_active) reverse_nested(o.regions[0], branch.regions[0], {});
        if (else_active) reverse_nested(o.regions[1], branch.regions[1], {});
        b.emit(std::move(branch));
        return;
      }
      case OpKind::Map:
      case OpKind::MapSum:
        if (!result_active()) return;
        map_reverse(o, b);
        return;
      case OpKind::MatMul: {
        if (!result_active()) return;
        // C = op(A) op(B): adj op(A) = G op(B)', adj op(B) = op(A)' G, transposed back when
        // A or B enter transposed.
        const bool ta = o.i & 1, tb = o.i & 2;
        ValueId A = o.operands[0], B = o.operands[1];
        ValueId G = b.load(adj(o.results[0]));
        auto mm = [&](ValueId x, ValueId y, bool tx, bool ty) {
          Op op = Op::make(OpKind::MatMul, {x, y});
          op.i = (tx ? 1 : 0) | (ty ? 2 : 0);
          ValueId r = g_.new_value(Type::matrix());
          op.results = {r};
          b.emit(std::move(op));
          return r;
        };
        if (active_[A]) {
          ValueId pb = primal(B);
          accumulate(b, A, ta ? mm(pb, G, tb, true) : mm(G, pb, false, !tb));
        }
        if (active_[B]) {
          ValueId pa = primal(A);
          accumulate(b, B, tb ? mm(G, pa, true, ta) : mm(pa, G, !ta, false));
        }
        return;
      }
      case OpKind::Kernel: {
        // The stdlib's reverse kernel <name>_rev takes (operands..., results..., result
        // adjoints...) and returns one adjoint contribution per real operand (ir.h).
        bool any = false;
        for (ValueId r : o.results) any = any || active_[r];
        if (!any) return;
        Op rev = Op::make(OpKind::Kernel);
        rev.name = o.name + "_rev";
        rev.i = o.i;
        rev.source_line = o.source_line;
        for (ValueId v : o.operands) rev.operands.push_back(primal(v));
        for (ValueId r : o.results) rev.operands.push_back(primal(r));
        for (ValueId r : o.results) rev.operands.push_back(g_of(b, r));
        std::vector<ValueId> targets;
        for (ValueId v : o.operands) {
          const Type t = f_.type_of(v).value_type();
          if (!is_real(t)) continue;
          targets.push_back(v);
          rev.results.push_back(g_.new_value(t));
        }
        std::vector<ValueId> contributions = rev.results;
        b.emit(std::move(rev));
        for (size_t k = 0; k < targets.size(); ++k) accumulate(b, targets[k], contributions[k]);
        return;
      }
      default:
        return;  // constants, ints, checks, prints, params: no adjoint
    }
  }

  static Type element_type(const Type& t, size_t nidx) {
    if (nidx >= static_cast<size_t>(t.rank())) return Type{t.elem, 0, 0, false, false};
    Type e = t;
    e.array_rank = static_cast<uint8_t>(t.array_rank - nidx);
    return e;
  }

  // adj[idx...] = 0 (the whole adjoint when idx is empty).
  void store_zero(Builder& b, ValueId adj_ref, const std::vector<ValueId>& idx) {
    Type t = g_.type_of(adj_ref).value_type();
    Type elem = element_type(t, idx.size());
    ValueId zero;
    if (elem.rank() == 0) {
      zero = b.const_f64(0.0);
    } else {
      std::vector<ValueId> dims;
      for (int k = 0; k < elem.rank(); ++k) dims.push_back(b.dim(adj_ref, static_cast<int>(idx.size()) + k));
      zero = b.value(elem);
      Op alloc = Op::make(OpKind::Alloc, dims, {zero});
      alloc.type = elem;
      b.emit(std::move(alloc));
    }
    if (idx.empty()) {
      b.store(adj_ref, zero);
      return;
    }
    Op st = Op::make(OpKind::StoreElem, {adj_ref});
    st.operands.insert(st.operands.end(), idx.begin(), idx.end());
    st.operands.push_back(zero);
    b.emit(std::move(st));
  }

  // Reverse of a scalar op outside maps: contributions accumulate into adjoint variables.
  void scalar_reverse(const Op& o, Builder& b) {
    ValueId g = g_of(b, o.results[0]);
    auto contrib = [&](ValueId operand, ValueId value) { accumulate(b, operand, value); };
    auto P = [&](size_t k) { return primal(o.operands[k]); };
    switch (o.kind) {
      case OpKind::Add:
        contrib(o.operands[0], g);
        contrib(o.operands[1], g);
        break;
      case OpKind::Sub:
        contrib(o.operands[0], g);
        if (active_[o.operands[1]]) contrib(o.operands[1], b.emit1(OpKind::Neg, {g}, Type::f64()));
        break;
      case OpKind::Neg:
        contrib(o.operands[0], b.emit1(OpKind::Neg, {g}, Type::f64()));
        break;
      case OpKind::Mul:
        if (active_[o.operands[0]]) contrib(o.operands[0], b.mul(g, P(1)));
        if (active_[o.operands[1]]) contrib(o.operands[1], b.mul(g, P(0)));
        break;
      case OpKind::Div: {
        ValueId q = b.div(g, P(1));
        if (active_[o.operands[0]]) contrib(o.operands[0], q);
        if (active_[o.operands[1]])
          contrib(o.operands[1], b.emit1(OpKind::Neg, {b.mul(q, primal(o.results[0]))}, Type::f64()));
        break;
      }
      case OpKind::Select: {
        ValueId zero = b.const_f64(0.0);
        ValueId c = P(0);
        if (active_[o.operands[1]]) contrib(o.operands[1], b.emit1(OpKind::Select, {c, g, zero}, Type::f64()));
        if (active_[o.operands[2]]) contrib(o.operands[2], b.emit1(OpKind::Select, {c, zero, g}, Type::f64()));
        break;
      }
      case OpKind::Call:
      case OpKind::Dist: {
        // Partials computed by the forward sweep (add_forward_partials_in).
        const std::vector<ValueId>& partials = forward_partials_.at(&o);
        size_t slot = 0;
        for (ValueId a : o.operands) {
          if (!is_real(f_.type_of(a))) continue;
          if (active_[a]) contrib(a, b.mul(g, primal(partials[slot])));
          ++slot;
        }
        break;
      }
      default:
        throw AdError("internal: scalar_reverse on a non-scalar op");
    }
  }

  // The adjoint of a map: one map over the same elements that recomputes the body and yields,
  // for each active input, its partial times the output adjoint; broadcast inputs reduce.
  void map_reverse(const Op& o, Builder& b) {
    const size_t nd = static_cast<size_t>(o.i);
    const Region& body = o.regions[0];
    if (o.results.size() != 1) throw AdError("maps with several results are not differentiable yet");
    const MapResult mode = result_mode(o);
    const bool sum = mode == MapResult::Sum;
    ValueId g = sum ? g_of(b, o.results[0]) : b.load(adj(o.results[0]));
    auto stored = stored_partials_.find(&o);
    if (stored != stored_partials_.end()) return map_reverse_stored(o, stored->second, g, b);
    // The output adjoint is indexed like the result: per element, one scalar, per column
    // (row sums: a row-vector-matrix product) or per row (column sums: matrix-vector).
    Broadcast g_broadcast = mode == MapResult::Elementwise ? Broadcast::Elementwise
                            : mode == MapResult::Sum       ? Broadcast::Scalar
                            : mode == MapResult::SumOverRows ? Broadcast::Rows
                                                             : Broadcast::Cols;

    Op rev = Op::make(OpKind::Map);
    rev.i = o.i;
    for (size_t k = 0; k < nd; ++k) rev.operands.push_back(primal(o.operands[k]));
    std::vector<size_t> active_inputs;
    for (size_t k = 0; k < o.broadcasts.size(); ++k) {
      rev.operands.push_back(primal(o.operands[nd + k]));
      rev.broadcasts.push_back(o.broadcasts[k]);
      if (active_[o.operands[nd + k]]) active_inputs.push_back(k);
    }
    rev.operands.push_back(g);
    rev.broadcasts.push_back(g_broadcast);

    // Body: fresh arguments, the forward body recomputed, then its scalar adjoint.
    Region rb;
    std::unordered_map<ValueId, ValueId> rename;
    for (ValueId a : body.args) {
      ValueId na = g_.new_value(g_.type_of(a));
      rename[a] = na;
      rb.args.push_back(na);
    }
    ValueId g_arg = g_.new_value(Type::f64(), "g");
    rb.args.push_back(g_arg);
    Builder bb(g_, rb);
    std::vector<ValueId> input_adj = map_body_adjoint(o, bb, rename, g_arg, /*seed_is_one=*/false);
    Op yield = Op::make(OpKind::Yield);
    for (size_t k : active_inputs) {
      yield.operands.push_back(input_adj[k] != kNoValue ? input_adj[k] : bb.const_f64(0.0));
      rev.map_results.push_back(reduction_of(o.broadcasts[k]));
      ValueId input = o.operands[nd + k];
      rev.results.push_back(g_.new_value(rev.map_results.back() == MapResult::Sum ? Type::f64() : f_.type_of(input)));
    }
    bb.emit(std::move(yield));
    rev.regions.push_back(std::move(rb));
    std::vector<ValueId> outs = rev.results;
    b.emit(std::move(rev));
    for (size_t j = 0; j < active_inputs.size(); ++j)
      accumulate(b, o.operands[nd + active_inputs[j]], outs[j]);
  }

  // The reverse of a map whose forward copy stored its partials (store_map_partials).
  void map_reverse_stored(const Op& o, const StoredPartials& sp, ValueId g, Builder& b) {
    const size_t nd = static_cast<size_t>(o.i);
    std::vector<size_t> active_inputs;
    for (size_t k = 0; k < o.broadcasts.size(); ++k)
      if (active_[o.operands[nd + k]]) active_inputs.push_back(k);
    if (sp.reduced) {
      // One scalar output adjoint: each input's adjoint is g times its reduced partials.
      for (size_t j = 0; j < active_inputs.size(); ++j) {
        ValueId input = o.operands[nd + active_inputs[j]];
        ValueId d = primal(sp.values[sp.of_input[j]]);
        const Type dt = g_.type_of(d);
        if (dt.rank() == 0) {
          accumulate(b, input, b.mul(g, d));
          continue;
        }
        ValueId n = b.dim(d, 0);
        for (int r = 1; r < dt.rank(); ++r) n = b.mul(n, b.dim(d, r));
        ValueId scaled = b.map(false, {n}, {g, d}, {Broadcast::Scalar, Broadcast::Elementwise}, dt,
                               [&](const std::vector<ValueId>& a) { return b.mul(a[0], a[1]); });
        accumulate(b, input, scaled);
      }
      return;
    }
    // Per-element partials: one map over the same elements multiplies them by the output
    // adjoint and reduces each product like its input.
    const MapResult mode = result_mode(o);
    Op rev = Op::make(OpKind::Map);
    rev.i = o.i;
    for (size_t k = 0; k < nd; ++k) rev.operands.push_back(primal(o.operands[k]));
    Region rb;
    for (ValueId p : sp.values) {
      rev.operands.push_back(primal(p));
      rev.broadcasts.push_back(Broadcast::Elementwise);
      rb.args.push_back(g_.new_value(Type::f64(), "d"));
    }
    rev.operands.push_back(g);
    rev.broadcasts.push_back(mode == MapResult::Elementwise   ? Broadcast::Elementwise
                             : mode == MapResult::SumOverRows ? Broadcast::Rows
                                                              : Broadcast::Cols);
    ValueId g_arg = g_.new_value(Type::f64(), "g");
    rb.args.push_back(g_arg);
    Builder bb(g_, rb);
    std::vector<ValueId> products(sp.values.size(), kNoValue);
    Op yield = Op::make(OpKind::Yield);
    for (size_t j = 0; j < active_inputs.size(); ++j) {
      size_t slot = sp.of_input[j];
      if (products[slot] == kNoValue) products[slot] = bb.mul(g_arg, rb.args[slot]);
      yield.operands.push_back(products[slot]);
      rev.map_results.push_back(reduction_of(o.broadcasts[active_inputs[j]]));
      ValueId input = o.operands[nd + active_inputs[j]];
      rev.results.push_back(g_.new_value(rev.map_results.back() == MapResult::Sum ? Type::f64() : f_.type_of(input)));
    }
    bb.emit(std::move(yield));
    rev.regions.push_back(std::move(rb));
    std::vector<ValueId> outs = rev.results;
    b.emit(std::move(rev));
    for (size_t j = 0; j < active_inputs.size(); ++j)
      accumulate(b, o.operands[nd + active_inputs[j]], outs[j]);
  }

  // Emits into `bb` the body of map `o` (`rename` maps its arguments to the emitted region's
  // and receives the emitted copies of its values; active dist ops also return their partials)
  // and then its scalar adjoint seeded with `seed`. Returns the adjoint of each body argument,
  // kNoValue where none arrives. With `seed_is_one` products with the seed are left out.
  std::vector<ValueId> map_body_adjoint(const Op& o, Builder& bb, std::unordered_map<ValueId, ValueId>& rename,
                                        ValueId seed, bool seed_is_one) {
    const Region& body = o.regions[0];
    std::vector<const Op*> order;
    std::unordered_map<const Op*, std::vector<ValueId>> partials;  // dist partials per op
    for (const Op& inner : body.ops) {
      if (inner.kind == OpKind::Yield) break;
      Op c = inner;
      for (ValueId& v : c.operands) v = rename.count(v) ? rename[v] : v;
      for (ValueId& v : c.results) {
        ValueId nv = g_.new_value(g_.type_of(v));
        rename[v] = nv;
        v = nv;
      }
      if (!c.regions.empty()) throw AdError("control flow inside a map body");
      if (c.kind == OpKind::Dist && active_[inner.results[0]]) {
        std::vector<ValueId> ps;
        for (ValueId a : c.operands)
          if (is_real(g_.type_of(a))) ps.push_back(g_.new_value(Type::f64()));
        c.results.insert(c.results.end(), ps.begin(), ps.end());
        partials[&inner] = ps;
      }
      bb.emit(std::move(c));
      order.push_back(&inner);
    }
    // Scalar adjoints as SSA values, summed as contributions arrive.
    std::unordered_map<ValueId, ValueId> sadj;
    auto add_adj = [&](ValueId v, ValueId contribution) {
      if (!active_[v]) return;
      auto it = sadj.find(v);
      sadj[v] = it == sadj.end() ? contribution : bb.add(it->second, contribution);
    };
    auto scaled = [&](ValueId ga, ValueId x) { return seed_is_one && ga == seed ? x : bb.mul(ga, x); };
    add_adj(body.ops.back().operands.at(0), seed);
    auto R = [&](ValueId v) { return rename.count(v) ? rename[v] : v; };
    for (size_t k = order.size(); k-- > 0;) {
      const Op& inner = *order[k];
      if (inner.results.empty() || !active_[inner.results[0]]) continue;
      auto it = sadj.find(inner.results[0]);
      if (it == sadj.end()) continue;
      ValueId ga = it->second;
      switch (inner.kind) {
        case OpKind::Add:
          add_adj(inner.operands[0], ga);
          add_adj(inner.operands[1], ga);
          break;
        case OpKind::Sub:
          add_adj(inner.operands[0], ga);
          add_adj(inner.operands[1], bb.emit1(OpKind::Neg, {ga}, Type::f64()));
          break;
        case OpKind::Neg:
          add_adj(inner.operands[0], bb.emit1(OpKind::Neg, {ga}, Type::f64()));
          break;
        case OpKind::Mul:
          add_adj(inner.operands[0], scaled(ga, R(inner.operands[1])));
          add_adj(inner.operands[1], scaled(ga, R(inner.operands[0])));
          break;
        case OpKind::Div: {
          ValueId q = bb.div(ga, R(inner.operands[1]));
          add_adj(inner.operands[0], q);
          add_adj(inner.operands[1], bb.emit1(OpKind::Neg, {bb.mul(q, R(inner.results[0]))}, Type::f64()));
          break;
        }
        case OpKind::Select: {
          ValueId zero = bb.const_f64(0.0);
          add_adj(inner.operands[1], bb.emit1(OpKind::Select, {R(inner.operands[0]), ga, zero}, Type::f64()));
          add_adj(inner.operands[2], bb.emit1(OpKind::Select, {R(inner.operands[0]), zero, ga}, Type::f64()));
          break;
        }
        case OpKind::Call: {
          std::vector<ValueId> args;
          for (ValueId a : inner.operands) args.push_back(R(a));
          args.push_back(R(inner.results[0]));
          Op cg = Op::make(OpKind::CallGrad, args);
          cg.name = inner.name;
          std::vector<ValueId> ps;
          for (ValueId a : inner.operands)
            if (is_real(f_.type_of(a))) ps.push_back(g_.new_value(Type::f64()));
          cg.results = ps;
          bb.emit(std::move(cg));
          size_t slot = 0;
          for (ValueId a : inner.operands) {
            if (!is_real(f_.type_of(a))) continue;
            add_adj(a, scaled(ga, ps[slot++]));
          }
          break;
        }
        case OpKind::Dist: {
          const auto& ps = partials.at(&inner);
          size_t slot = 0;
          for (ValueId a : inner.operands) {
            if (!is_real(f_.type_of(a))) continue;
            add_adj(a, scaled(ga, ps[slot++]));
          }
          break;
        }
        case OpKind::ConstF64:
        case OpKind::IToF:
          break;
        default:
          throw AdError(std::string("this op is not differentiable inside a map"));
      }
    }
    std::vector<ValueId> input_adj;
    for (ValueId a : body.args) {
      auto it = sadj.find(a);
      input_adj.push_back(it != sadj.end() ? it->second : kNoValue);
    }
    return input_adj;
  }

  const Function& f_;
  int wrt_;
  Function g_;
  ValueId wrt_value_ = kNoValue;
  std::vector<bool> active_;
  std::unordered_map<ValueId, const Region*> def_region_;
  std::unordered_map<ValueId, const Op*> def_op_;         // the op defining each value
  std::unordered_map<ValueId, bool> rematerializable_;    // memo of rematerializable()
  std::unordered_map<const Region*, Region*> forward_copy_;
  std::unordered_map<const Op*, std::pair<Region*, size_t>> forward_op_;
  std::unordered_map<const Op*, std::vector<ValueId>> forward_partials_;  // dists and calls
  std::vector<std::tuple<Region*, size_t, Op>> call_partial_ops_;     // pending insertions
  std::unordered_map<const Op*, StoredPartials> stored_partials_;  // maps of f that store them
  std::unordered_map<const Op*, ValueId> while_trips_;
  std::vector<ValueId> pending_trips_;
  std::unordered_map<ValueId, ValueId> adjoints_;
  std::vector<Scope> scopes_;
  ValueId target_var_ = kNoValue;  // see find_target_var
  std::vector<FusedLoop> fused_;  // the loops being fused, innermost last
};

// A tensor adjoint that receives a single contribution needs no memory of its own: when a
// region creates it (zero-filled), accumulates one value x into it and then only loads it,
// the loads are x. Saves the fill, the accumulation and the copy of each load: three passes
// over every layer-sized adjoint of a network.
void forward_single_contributions(Function& g) {
  // Uses of every ref: (region, op index) pairs.
  std::unordered_map<ValueId, std::vector<std::pair<Region*, size_t>>> uses;
  std::function<void(Region&)> collect = [&](Region& r) {
    for (size_t k = 0; k < r.ops.size(); ++k) {
      for (ValueId v : r.ops[k].operands)
        if (g.type_of(v).ref) uses[v].push_back({&r, k});
      for (Region& sub : r.ops[k].regions) collect(sub);
    }
  };
  collect(g.body);
  std::unordered_map<ValueId, ValueId> replace;  // load result -> the contribution
  std::unordered_map<Region*, std::vector<size_t>> dead;
  std::function<void(Region&)> find = [&](Region& r) {
    for (size_t k = 0; k < r.ops.size(); ++k) {
      const Op& o = r.ops[k];
      for (Region& sub : r.ops[k].regions) find(sub);
      if (o.kind != OpKind::Var || o.f != 0.0 || !o.type.value_type().is_tensor()) continue;
      const ValueId ref = o.results[0];
      size_t accumulate_at = SIZE_MAX;
      std::vector<size_t> loads;
      bool ok = true;
      for (auto [region, at] : uses[ref]) {
        const Op& u = region->ops[at];
        ok = ok && region == &r && at > k;
        if (!ok) break;
        if (u.kind == OpKind::Accumulate && u.operands[0] == ref && accumulate_at == SIZE_MAX &&
            g.type_of(u.operands[1]) == o.type.value_type())
          accumulate_at = at;
        else if (u.kind == OpKind::Load)
          loads.push_back(at);
        else
          ok = false;
      }
      if (!ok || accumulate_at == SIZE_MAX) continue;
      for (size_t at : loads) ok = ok && at > accumulate_at;
      if (!ok) continue;
      const ValueId x = r.ops[accumulate_at].operands[1];
      for (size_t at : loads) replace[r.ops[at].results[0]] = x;
      dead[&r].push_back(k);
      dead[&r].push_back(accumulate_at);
      for (size_t at : loads) dead[&r].push_back(at);
    }
  };
  find(g.body);
  if (replace.empty()) return;
  std::function<void(Region&)> rewrite = [&](Region& r) {
    auto d = dead.find(&r);
    if (d != dead.end()) {
      std::vector<bool> drop(r.ops.size(), false);
      for (size_t at : d->second) drop[at] = true;
      std::vector<Op> kept;
      for (size_t k = 0; k < r.ops.size(); ++k)
        if (!drop[k]) kept.push_back(std::move(r.ops[k]));
      r.ops = std::move(kept);
    }
    for (Op& o : r.ops) {
      for (ValueId& v : o.operands)
        for (auto it = replace.find(v); it != replace.end(); it = replace.find(v)) v = it->second;
      for (Region& sub : o.regions) rewrite(sub);
    }
  };
  rewrite(g.body);
}

}  // namespace

std::optional<Function> differentiate(const Function& f, int wrt, std::string& error) {
  try {
    Function g = Differentiator(f, wrt).run();
    forward_single_contributions(g);
    return g;
  } catch (const AdError& e) {
    error = e.what();
    return std::nullopt;
  }
}

}  // namespace halo::ad
