#include "ir/lower.h"


#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "ir/builder.h"
#include "ir/lower_functions.h"
#include "ir/recurrences.h"
#include "ir/tabulate.h"
#include "semantic/signatures.h"

namespace halo::ir {

// Whether a signature parameter takes scalars, vectorised elementwise over containers (reals,
// ints, int, real), as opposed to a vector / matrix argument of a multivariate function.
bool takes_scalars(const semantic::ParamSpec& p) {
  return p.cls == semantic::ParamClass::Reals || p.cls == semantic::ParamClass::Ints ||
         (p.cls == semantic::ParamClass::Type && p.array_dims == 0 &&
          (p.base == ast::BaseKind::Int || p.base == ast::BaseKind::Real));
}

// The stdlib's HALO_VARY(i): argument i of a density varies (is not data).
constexpr int vary_flag(int i) { return 1 << (i + 1); }

namespace {

using ast::BaseKind;
using ast::ExprKind;
using ast::StmtKind;

// A construct the back end does not support yet: reported at its place, lowering stops.
struct Unsupported : std::runtime_error {
  Span span;
  Unsupported(Span s, const std::string& what) : std::runtime_error(what), span(s) {}
};

// Stan's constant 0.5 * log(2 pi) etc. live in the stdlib; lowering needs none of its own.

Type ir_type(const ast::Type& t) {
  Type r;
  switch (t.base) {
    case BaseKind::Int: r.elem = Elem::I64; break;
    case BaseKind::Real: r.elem = Elem::F64; break;
    case BaseKind::Vector: r.elem_rank = 1; break;
    case BaseKind::RowVector: r.elem_rank = 1; r.row = true; break;
    case BaseKind::Matrix: r.elem_rank = 2; break;
    default: break;
  }
  r.array_rank = static_cast<uint8_t>(t.array_dims);
  return r;
}

bool is_container(const ast::Type& t) { return t.array_dims > 0 || t.element_rank() > 0; }
bool is_tensor_kind(const ast::Type& t) {
  return t.base == BaseKind::Vector || t.base == BaseKind::RowVector || t.base == BaseKind::Matrix;
}

// Stan's elementwise math functions of one real argument that the stdlib provides as
// halo_<name> with halo_<name>_grad.
const std::set<std::string>& unary_math() {
  static const std::set<std::string> names = {
      "exp", "log", "log1p", "expm1", "sqrt", "cbrt", "inv_sqrt", "inv_square", "fabs", "abs",
      "lgamma", "digamma", "trigamma", "tgamma", "erf", "erfc", "Phi", "Phi_approx", "inv_Phi",
      "logit", "inv_logit", "log_inv_logit", "log1m_inv_logit", "log1m", "log1p_exp", "log1m_exp",
      "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
      "atanh", "exp2", "log2", "log10", "softplus", "sigmoid", "relu", "gelu", "elu",
      "leaky_relu", "inv_cloglog",
      // piecewise constant: the stdlib's derivatives are 0
      "floor", "ceil", "round", "trunc", "step"};
  return names;
}
const std::set<std::string>& binary_math() {
  static const std::set<std::string> names = {"pow", "fmin", "fmax", "atan2", "hypot",
                                              "log_diff_exp", "lbeta", "lchoose", "fdim",
                                              "binomial_coefficient_log", "owens_t", "fmod",
                                              "lmultiply", "multiply_log", "log_inv_logit_diff",
                                              "log_falling_factorial", "log_rising_factorial"};
  return names;
}

// A short Stan-like rendering of an expression, for run-time messages.
std::string source_text(const ast::Expr& e) {
  switch (e.kind) {
    case ExprKind::IntLit: return static_cast<const ast::IntLit&>(e).text;
    case ExprKind::RealLit: return static_cast<const ast::RealLit&>(e).text;
    case ExprKind::Variable: return static_cast<const ast::Variable&>(e).name;
    case ExprKind::Binary: {
      const auto& b = static_cast<const ast::Binary&>(e);
      return source_text(*b.lhs) + " " + ast::to_string(b.op) + " " + source_text(*b.rhs);
    }
    case ExprKind::Unary: {
      const auto& u = static_cast<const ast::Unary&>(e);
      return std::string(ast::to_string(u.op)) + source_text(*u.operand);
    }
    case ExprKind::Call: {
      const auto& c = static_cast<const ast::Call&>(e);
      std::string s = c.name + "(";
      for (size_t k = 0; k < c.args.size(); ++k) s += (k ? ", " : "") + source_text(*c.args[k]);
      return s + ")";
    }
    default: return "...";
  }
}

// A network's weights as lowered values: per layer (W, b) and the activation.
struct NetworkValue {
  struct Layer {
    ValueId W = kNoValue, b = kNoValue;
    std::string activation;
  };
  std::vector<Layer> layers;
  bool input_width_one = false;  // the input width is the literal 1
  ValueId all = kNoValue;        // every weight and bias in one flat view, where they are contiguous
};

struct Binding {
  enum class Kind { Value, Ref, Network } kind = Kind::Value;
  ValueId id = kNoValue;
  ast::Type type;
  NetworkValue network;
};

// Lowers statements and expressions into one IR function.
class FunctionLowerer {
 public:
  FunctionLowerer(Function& f, bool propto) : f_(f), b_(f, f.body), propto_(propto) {}

  Builder& builder() { return b_; }

  void bind_value(const std::string& name, ValueId v, const ast::Type& t) {
    scopes_.back()[name] = Binding{Binding::Kind::Value, v, t, {}};
  }
  void bind_ref(const std::string& name, ValueId ref, const ast::Type& t) {
    scopes_.back()[name] = Binding{Binding::Kind::Ref, ref, t, {}};
  }
  void set_target(ValueId target) { target_ = target; }
  void set_rng(ValueId rng) { rng_ = rng; }
  // Data-only expressions computed once by `data` and passed in as hidden transformed data.
  void set_hoisted(std::map<const ast::Expr*, std::string> h) { hoisted_ = std::move(h); }
  ValueId rng() const { return rng_; }
  void bind_network(const std::string& name, NetworkValue net) {
    Binding bnd;
    bnd.kind = Binding::Kind::Network;
    bnd.network = std::move(net);
    scopes_.back()[name] = bnd;
  }

  // ---- expressions ----

  ValueId expr(const ast::Expr& e) {
    if (!hoisted_.empty()) {
      auto h = hoisted_.find(&e);
      if (h != hoisted_.end()) return lookup(h->second, e.span).id;
    }
    switch (e.kind) {
      case ExprKind::IntLit: return b_.const_i64(static_cast<const ast::IntLit&>(e).value);
      case ExprKind::RealLit: return b_.const_f64(static_cast<const ast::RealLit&>(e).value);
      case ExprKind::Variable: return variable(static_cast<const ast::Variable&>(e));
      case ExprKind::Unary:
      case ExprKind::Binary:
        if (elementwise_node(e)) return fused_map(e);
        return e.kind == ExprKind::Unary ? unary_scalar(static_cast<const ast::Unary&>(e))
                                         : binary(static_cast<const ast::Binary&>(e));
      case ExprKind::Conditional: {
        const auto& c = static_cast<const ast::Conditional&>(e);
        if (is_container(e.type)) return container_conditional(c);
        auto branch_value = [&](const ast::Expr& x) {
          ValueId v = expr(x);
          return e.type.is_real() ? to_real(v) : v;
        };
        if (eager_safe(*c.then_expr) && eager_safe(*c.else_expr)) {
          // Both sides are cheap and cannot fail: a branch-free select.
          ValueId cond = truth(expr(*c.cond));
          ValueId a = branch_value(*c.then_expr), bb = branch_value(*c.else_expr);
          return b_.emit1(OpKind::Select, {cond, a, bb}, f_.type_of(a));
        }
        // Only the chosen side is evaluated, as in Stan: `n > 1 ? y[n - 1] : 0` must not index
        // y[0], and the side not taken must not put its (possibly infinite) partials into the
        // gradient (`x == 0 ? 0 : x * log(x)` at x = 0).
        ValueId result = b_.var(e.type.is_real() ? Type::f64() : Type::i64(), {}, 0.0);
        Op branch = Op::make(OpKind::If, {truth(expr(*c.cond))});
        Region then_r, else_r;
        b_.in(then_r, [&] { b_.store(result, branch_value(*c.then_expr)); });
        b_.in(else_r, [&] { b_.store(result, branch_value(*c.else_expr)); });
        branch.regions.push_back(std::move(then_r));
        branch.regions.push_back(std::move(else_r));
        b_.emit(std::move(branch));
        return b_.load(result);
      }
      case ExprKind::Index: return index(static_cast<const ast::Index&>(e));
      case ExprKind::Transpose: {
        const auto& t = static_cast<const ast::Transpose&>(e);
        if (t.operand->type.base == BaseKind::Matrix) {
          Op op = Op::make(OpKind::Kernel, {expr(*t.operand)}, {b_.value(Type::matrix())});
          op.name = "transpose";
          ValueId out = op.results[0];
          b_.emit(std::move(op));
          return out;
        }
        // vector <-> row vector: the same elements, retyped (a view).
        ValueId x = expr(*t.operand);
        Op view = Op::make(OpKind::View, {x, b_.const_i64(0), b_.dim(x, 0)});
        ValueId out = b_.value(ir_type(e.type));
        view.results = {out};
        b_.emit(std::move(view));
        return out;
      }
      case ExprKind::Member: {
        std::vector<ValueId> tensors = network_tensors(e);
        if (tensors.size() != 1) throw Unsupported(e.span, "a whole network or layer as a value");
        return tensors[0];
      }
      case ExprKind::Call:
        if (elementwise_node(e)) return fused_map(e);
        return call(static_cast<const ast::Call&>(e));
      case ExprKind::ArrayLit: return array_literal(static_cast<const ast::ArrayLit&>(e));
      case ExprKind::RowVectorLit: return row_vector_literal(static_cast<const ast::RowVectorLit&>(e));
      default:
        break;
    }
    throw Unsupported(e.span, "this kind of expression");
  }

  // {a, b, ...}: an array of the elements' type (ints promoted when the array is real); the
  // elements' own sizes must agree.
  ValueId array_literal(const ast::ArrayLit& a) {
    const Type t = ir_type(a.type);
    std::vector<ValueId> elems;
    for (const auto& e : a.elements) {
      ValueId v = expr(*e);
      elems.push_back(t.elem == Elem::F64 ? to_real(v) : v);
    }
    std::vector<ValueId> dims = {b_.const_i64(static_cast<int64_t>(elems.size()))};
    const Type et = f_.type_of(elems[0]);
    for (int k = 0; k < et.rank(); ++k) dims.push_back(b_.dim(elems[0], k));
    for (size_t k = 1; k < elems.size(); ++k)
      for (int d = 0; d < et.rank(); ++d)
        size_check_dims(b_.dim(elems[k], d), dims[1 + d], a.elements[k]->span,
                        "array expression: an element has size {} where the first has {}");
    ValueId out = b_.var(t, dims, 0.0);
    for (size_t k = 0; k < elems.size(); ++k)
      b_.emit(Op::make(OpKind::StoreElem, {out, b_.const_i64(static_cast<int64_t>(k)), elems[k]}));
    return b_.load(out);
  }

  // [a, b, ...]: a row vector of scalars, or a matrix whose rows are the row vectors given.
  ValueId row_vector_literal(const ast::RowVectorLit& r) {
    const Type t = ir_type(r.type);
    std::vector<ValueId> elems;
    for (const auto& e : r.elements) elems.push_back(to_real(expr(*e)));
    ValueId n = b_.const_i64(static_cast<int64_t>(elems.size()));
    if (t.elem_rank == 1) {
      ValueId out = b_.var(t, {n}, 0.0);
      for (size_t k = 0; k < elems.size(); ++k)
        b_.emit(Op::make(OpKind::StoreElem, {out, b_.const_i64(static_cast<int64_t>(k)), elems[k]}));
      return b_.load(out);
    }
    ValueId cols = b_.dim(elems[0], 0);
    ValueId out = b_.var(t, {n, cols}, 0.0);
    for (size_t k = 0; k < elems.size(); ++k) {
      if (k > 0)
        size_check_dims(b_.dim(elems[k], 0), cols, r.elements[k]->span,
                        "matrix expression: a row has {} elements where the first has {}");
      ValueId row = b_.const_i64(static_cast<int64_t>(k));
      ValueId x = elems[k];
      b_.for_range(b_.const_i64(0), b_.sub(cols, b_.const_i64(1)), [&](ValueId j) {
        b_.emit(Op::make(OpKind::StoreElem, {out, row, j, b_.extract(x, {j}, Type::f64())}));
      });
    }
    return b_.load(out);
  }

  // c ? A : B over containers whose sides are variables or literals (evaluating both cannot fail
  // or cost much): both are evaluated, the result takes the chosen side's shape, and a branch
  // copies it. Other container sides would need a result whose shape is known only inside the
  // branch, which the IR's variables do not have yet.
  ValueId container_conditional(const ast::Conditional& c) {
    const ast::Expr& e = c;
    if (!eager_safe_container(*c.then_expr) || !eager_safe_container(*c.else_expr))
      throw Unsupported(e.span, "a conditional expression of a container type whose sides are not variables or literals");
    ValueId cond = truth(expr(*c.cond));
    ValueId a = expr(*c.then_expr), bb = expr(*c.else_expr);
    const Type t = ir_type(e.type);
    if (!(f_.type_of(a) == t) || !(f_.type_of(bb) == t))
      throw Unsupported(e.span, "a conditional expression whose sides have different element types");
    std::vector<ValueId> dims;
    for (int k = 0; k < t.rank(); ++k)
      dims.push_back(b_.emit1(OpKind::Select, {cond, b_.dim(a, k), b_.dim(bb, k)}, Type::i64()));
    ValueId result = b_.var(t, dims, 0.0);
    Op branch = Op::make(OpKind::If, {cond});
    Region then_r, else_r;
    b_.in(then_r, [&] { b_.store(result, a); });
    b_.in(else_r, [&] { b_.store(result, bb); });
    branch.regions.push_back(std::move(then_r));
    branch.regions.push_back(std::move(else_r));
    b_.emit(std::move(branch));
    return b_.load(result);
  }
  static bool eager_safe_container(const ast::Expr& e) {
    switch (e.kind) {
      case ExprKind::Variable: return true;
      case ExprKind::Transpose: return eager_safe_container(*static_cast<const ast::Transpose&>(e).operand);
      case ExprKind::ArrayLit:
        for (const auto& x : static_cast<const ast::ArrayLit&>(e).elements)
          if (!(is_container(x->type) ? eager_safe_container(*x) : eager_safe(*x))) return false;
        return true;
      case ExprKind::RowVectorLit:
        for (const auto& x : static_cast<const ast::RowVectorLit&>(e).elements)
          if (!(is_container(x->type) ? eager_safe_container(*x) : eager_safe(*x))) return false;
        return true;
      default: return false;
    }
  }

  // A side of a conditional that may be evaluated whether or not it is chosen: literals,
  // scalar variables, and +, -, * of such (no indexing, division or call that could fail or
  // have infinite partials).
  static bool eager_safe(const ast::Expr& e) {
    switch (e.kind) {
      case ExprKind::IntLit:
      case ExprKind::RealLit: return true;
      case ExprKind::Variable: return !is_container(e.type);
      case ExprKind::Unary: {
        const auto& u = static_cast<const ast::Unary&>(e);
        return (u.op == ast::UnaryOp::Neg || u.op == ast::UnaryOp::Plus) && eager_safe(*u.operand);
      }
      case ExprKind::Binary: {
        const auto& b = static_cast<const ast::Binary&>(e);
        return (b.op == ast::BinaryOp::Add || b.op == ast::BinaryOp::Sub || b.op == ast::BinaryOp::Mul) &&
               eager_safe(*b.lhs) && eager_safe(*b.rhs);
      }
      default: return false;
    }
  }

  ValueId to_real(ValueId v) {
    const Type t = f_.type_of(v);  // a copy: emitting ops grows the value table
    if (t.is_scalar() && t.elem == Elem::I64) return b_.emit1(OpKind::IToF, {v}, Type::f64());
    if (t.is_scalar() && t.elem == Elem::Bool)
      return b_.emit1(OpKind::IToF, {b_.emit1(OpKind::BoolToI, {v}, Type::i64())}, Type::f64());
    return v;
  }
  // Stan's truth: a non-zero int or real.
  ValueId truth(ValueId v) {
    const Type t = f_.type_of(v);  // a copy: emitting ops grows the value table
    if (t.elem == Elem::Bool) return v;
    if (t.elem == Elem::I64) return b_.cmp(CmpPred::Ne, v, b_.const_i64(0));
    return b_.cmp(CmpPred::Ne, v, b_.const_f64(0.0));
  }

  // ---- statements ----

  void block(const std::vector<ast::StmtPtr>& items) {
    scopes_.emplace_back();
    statements(items, 0);
    scopes_.pop_back();
  }

  // A statement list. After a statement that may leave early (break, continue, or a return of
  // an inlined function), the rest runs only while no exit flag is set: the reverse-mode AD
  // differentiates structured code, so exits become flags and guards, never jumps.
  void statements(const std::vector<ast::StmtPtr>& items, size_t from) {
    for (size_t k = from; k < items.size(); ++k) {
      stmt(*items[k]);
      if (k + 1 == items.size() || !may_exit(*items[k], 0)) continue;
      Op branch = Op::make(OpKind::If, {no_exit_yet()});
      Region then_r;
      b_.in(then_r, [&] { statements(items, k + 1); });
      branch.regions.push_back(std::move(then_r));
      branch.regions.push_back(Region{});
      b_.emit(std::move(branch));
      return;
    }
  }

  // Loops of the code being lowered (of the innermost inlined function, or of the entry).
  struct LoopFrame {
    ValueId broken = kNoValue;     // i64 var: 1 after a break
    ValueId continued = kNoValue;  // i64 var: 1 after a continue, reset every iteration
    size_t inline_depth = 0;
  };
  std::vector<LoopFrame> loops_;
  LoopFrame* current_loop() {
    return !loops_.empty() && loops_.back().inline_depth == inline_stack_.size() ? &loops_.back() : nullptr;
  }
  bool early_returns() const { return !inline_stack_.empty() && !inline_stack_.back().straight; }

  // Whether s may leave the enclosing statement list early (depth: loops of s around it).
  bool may_exit(const ast::Stmt& s, int depth) {
    switch (s.kind) {
      case StmtKind::Return: return early_returns();
      case StmtKind::Break:
      case StmtKind::Continue: return depth == 0;
      case StmtKind::Block:
        for (const auto& x : static_cast<const ast::Block&>(s).items)
          if (may_exit(*x, depth)) return true;
        return false;
      case StmtKind::If: {
        const auto& i = static_cast<const ast::If&>(s);
        return may_exit(*i.then_stmt, depth) || (i.else_stmt && may_exit(*i.else_stmt, depth));
      }
      case StmtKind::ForRange: return may_exit(*static_cast<const ast::ForRange&>(s).body, depth + 1);
      case StmtKind::ForEach: return may_exit(*static_cast<const ast::ForEach&>(s).body, depth + 1);
      case StmtKind::While: return may_exit(*static_cast<const ast::While&>(s).body, depth + 1);
      default: return false;
    }
  }
  static bool contains(const ast::Stmt& s, StmtKind kind, bool enter_loops) {
    if (s.kind == kind) return true;
    switch (s.kind) {
      case StmtKind::Block:
        for (const auto& x : static_cast<const ast::Block&>(s).items)
          if (contains(*x, kind, enter_loops)) return true;
        return false;
      case StmtKind::If: {
        const auto& i = static_cast<const ast::If&>(s);
        return contains(*i.then_stmt, kind, enter_loops) || (i.else_stmt && contains(*i.else_stmt, kind, enter_loops));
      }
      case StmtKind::ForRange: return enter_loops && contains(*static_cast<const ast::ForRange&>(s).body, kind, true);
      case StmtKind::ForEach: return enter_loops && contains(*static_cast<const ast::ForEach&>(s).body, kind, true);
      case StmtKind::While: return enter_loops && contains(*static_cast<const ast::While&>(s).body, kind, true);
      default: return false;
    }
  }

  // True while no break, continue (of the current loop) or return (of the current inlined
  // function) has run.
  ValueId no_exit_yet() {
    ValueId ok = kNoValue;
    auto clear = [&](ValueId flag) {
      if (flag == kNoValue) return;
      ValueId c = b_.cmp(CmpPred::Eq, b_.load(flag), b_.const_i64(0));
      ok = ok == kNoValue ? c : b_.emit1(OpKind::And, {ok, c}, Type::boolean());
    };
    if (LoopFrame* l = current_loop()) {
      clear(l->broken);
      clear(l->continued);
    }
    if (early_returns()) clear(inline_stack_.back().done);
    if (ok == kNoValue) ok = b_.cmp(CmpPred::Eq, b_.const_i64(0), b_.const_i64(0));
    return ok;
  }

  // Lowers a loop body with its exit flags: the body runs only while the loop has not been
  // broken out of (nor the function returned from); `continue` skips the rest of an iteration.
  void loop_body(const ast::Stmt& body, const std::function<void()>& bind, LoopFrame frame) {
    const bool guard = frame.broken != kNoValue || (early_returns() && contains(body, StmtKind::Return, true));
    loops_.push_back(frame);
    auto run = [&] {
      if (frame.continued != kNoValue) b_.store(frame.continued, b_.const_i64(0));
      scopes_.emplace_back();
      bind();
      stmt(body);
      scopes_.pop_back();
    };
    if (guard) {
      // Checked before the continue flag is reset: only break and return stop the loop.
      ValueId go = kNoValue;
      if (frame.broken != kNoValue) go = b_.cmp(CmpPred::Eq, b_.load(frame.broken), b_.const_i64(0));
      if (early_returns()) {
        ValueId c = b_.cmp(CmpPred::Eq, b_.load(inline_stack_.back().done), b_.const_i64(0));
        go = go == kNoValue ? c : b_.emit1(OpKind::And, {go, c}, Type::boolean());
      }
      Op branch = Op::make(OpKind::If, {go});
      Region then_r;
      b_.in(then_r, run);
      branch.regions.push_back(std::move(then_r));
      branch.regions.push_back(Region{});
      b_.emit(std::move(branch));
    } else {
      run();
    }
    loops_.pop_back();
  }
  LoopFrame new_loop_frame(const ast::Stmt& body) {
    LoopFrame f;
    f.inline_depth = inline_stack_.size();
    if (contains(body, StmtKind::Break, false)) f.broken = b_.var(Type::i64(), {}, 0.0, "broken");
    if (contains(body, StmtKind::Continue, false)) f.continued = b_.var(Type::i64(), {}, 0.0, "continued");
    return f;
  }

  // ---- prior draws (--init prior) ----
  // A draw from the univariate prior `t` for a parameter with these dims (none: a scalar), as
  // a value of type `type`; kNoValue when it cannot be drawn here (a multivariate, truncated or
  // user-defined density, or one without an _rng).
  ValueId prior_draw(const ast::Tilde& t, const std::vector<ValueId>& dims, const Type& type) {
    if (t.user_function || t.truncated || t.signature < 0) return kNoValue;
    if (semantic::signatures_named(t.distribution + "_rng").empty()) return kNoValue;
    const semantic::Signature& sig = semantic::signature(t.signature);
    std::vector<ValueId> args;
    for (size_t k = 0; k < t.args.size(); ++k) {
      if (k + 1 >= sig.params.size()) return kNoValue;
      const semantic::ParamSpec& p = sig.params[k + 1];
      const bool scalar_class = takes_scalars(p);
      if (!scalar_class) return kNoValue;
      const bool is_int = p.cls == semantic::ParamClass::Ints || (p.cls == semantic::ParamClass::Type && p.base == BaseKind::Int);
      ValueId v = expr(*t.args[k]);
      args.push_back(is_int ? v : to_real(v));
    }
    const std::string rng_name = t.distribution + "_rng";
    auto draw = [&](std::vector<ValueId> xs) {
      xs.push_back(rng_);
      ValueId r = b_.value(Type::f64());
      Op op = Op::make(OpKind::CallRng, xs, {r});
      op.name = rng_name;
      b_.emit(std::move(op));
      return r;
    };
    if (dims.empty()) {
      for (ValueId a : args)
        if (f_.type_of(a).rank() > 0) return kNoValue;
      return draw(args);
    }
    ValueId count = b_.const_i64(1);
    for (ValueId d : dims) count = b_.mul(count, d);
    std::vector<ValueId> inputs;
    std::vector<Broadcast> bc;
    for (ValueId a : args) {
      bool container = f_.type_of(a).rank() > 0;
      if (container)
        size_check_dims(numel(a), count, t.span, "prior draw: an argument has {} elements but the parameter {}");
      inputs.push_back(a);
      bc.push_back(container ? Broadcast::Elementwise : Broadcast::Scalar);
    }
    inputs.push_back(rng_);
    bc.push_back(Broadcast::Scalar);
    ValueId flat = b_.map(false, {count}, inputs, bc, Type::vector(), [&](const std::vector<ValueId>& a) {
      std::vector<ValueId> xs(a.begin(), a.end() - 1);
      ValueId saved = rng_;
      rng_ = a.back();
      ValueId r = draw(xs);
      rng_ = saved;
      return r;
    });
    Op view = Op::make(OpKind::View, {flat, b_.const_i64(0)});
    view.operands.insert(view.operands.end(), dims.begin(), dims.end());
    ValueId out = b_.value(type);
    view.results = {out};
    b_.emit(std::move(view));
    return out;
  }

  // ---- minibatches (docs/language.md, "Batch") ----
  // In the minibatch entry the batched data hold the batch's rows, the batch dimension is the
  // batch size, and every target term that depends on batched data (directly or through
  // variables computed from them: a name-based, flow-insensitive taint) is scaled by N / B.
  void bind_batch(const std::string& dimension, ValueId rows, const std::vector<const ast::VarDecl*>& batched) {
    const Binding& full_binding = lookup(dimension, Span{});
    ValueId full = full_binding.id;
    ValueId count = b_.dim(rows, 0);
    Op nonempty = Op::make(OpKind::Check, {b_.cmp(CmpPred::Gt, count, b_.const_i64(0))});
    nonempty.check = CheckKind::Domain;
    nonempty.text = "a minibatch needs at least one row";
    b_.emit(std::move(nonempty));
    ValueId one = b_.const_i64(1);
    b_.for_range(b_.const_i64(0), b_.sub(count, one), [&](ValueId k) {
      Op check = Op::make(OpKind::Check, {b_.extract(rows, {k}, Type::i64()), full});
      check.check = CheckKind::IndexBounds;
      check.text = "minibatch row {} is out of range for '" + dimension + "' = {}";
      b_.emit(std::move(check));
    });
    for (const ast::VarDecl* d : batched) {
      const Binding& bnd = lookup(d->name, d->span);
      bind_value(d->name, gather_rows(bnd.id, rows, count), bnd.type);
      batched_names_.insert(d->name);
    }
    ast::Type int_type;
    int_type.base = BaseKind::Int;
    bind_value(dimension, count, int_type);
    batched_names_.insert(dimension);
    batch_scale_ = b_.div(to_real(full), to_real(count));
  }

  // x's rows (first dimension) at the 0-based indices `rows`, in that order.
  ValueId gather_rows(ValueId x, ValueId rows, ValueId count) {
    const Type t = f_.type_of(x);  // a copy: emitting ops grows the value table
    std::vector<ValueId> dims = {count};
    for (int k = 1; k < t.rank(); ++k) dims.push_back(b_.dim(x, k));
    ValueId out = b_.var(t, dims, 0.0, "batch");
    ValueId one = b_.const_i64(1);
    const Type scalar = t.elem == Elem::F64 ? Type::f64() : Type::i64();
    b_.for_range(b_.const_i64(0), b_.sub(count, one), [&](ValueId k) {
      ValueId r = b_.extract(rows, {k}, Type::i64());
      if (t.array_rank > 0 || t.elem_rank == 1) {
        Type et = t;
        if (t.array_rank > 0) et.array_rank = static_cast<uint8_t>(t.array_rank - 1);
        else et = scalar;
        b_.emit(Op::make(OpKind::StoreElem, {out, k, b_.extract(x, {r}, et)}));
      } else {  // a matrix: one row
        b_.for_range(b_.const_i64(0), b_.sub(dims[1], one), [&](ValueId j) {
          b_.emit(Op::make(OpKind::StoreElem, {out, k, j, b_.extract(x, {r, j}, scalar)}));
        });
      }
    });
    return b_.load(out);
  }

  bool batched_expr(const ast::Expr& e) {
    if (batched_names_.empty()) return false;
    if (e.kind == ExprKind::Variable) return batched_names_.count(static_cast<const ast::Variable&>(e).name) > 0;
    bool any = false;
    for_each_any_child(e, [&](const ast::Expr& c) { any = any || batched_expr(c); });
    return any;
  }

  void add_to_target(Span span, ValueId term, bool batched) {
    if (batched && batch_scale_ != kNoValue) term = b_.mul(term, batch_scale_);
    b_.accumulate(target(span), term);
  }

  std::set<std::string> batched_names_;
  ValueId batch_scale_ = kNoValue;
  std::map<const ast::Expr*, std::string> hoisted_;

  // ---- user-defined functions: inlined at each call ----
  // Why inlining: the AD then sees one region per entry function (no calls to differentiate
  // across), and the small functions Stan programs define cost nothing. Recursion is refused.
  struct InlineFrame {
    const ast::FunctionDef* fn = nullptr;
    bool straight = false;      // no early return: the body's last statement returns
    ValueId result = kNoValue;  // early returns: a scalar var receiving the returned value
    ValueId done = kNoValue;    // early returns: an i64 var, 1 once a return ran
  };
  std::vector<InlineFrame> inline_stack_;

  ValueId inline_function(const ast::FunctionDef& fn, const std::vector<const ast::Expr*>& args, Span span) {
    if (!fn.body) throw Unsupported(span, "the function '" + fn.name + "' is declared but never defined");
    for (const InlineFrame& fr : inline_stack_)
      if (fr.fn == &fn) throw Unsupported(span, "recursive functions ('" + fn.name + "' calls itself)");
    std::vector<ValueId> values;
    for (size_t k = 0; k < args.size() && k < fn.args.size(); ++k)
      values.push_back(convert_to(expr(*args[k]), args[k]->type, fn.args[k].type, span));
    // Only the arguments are visible in the body (the semantic stage has checked the names).
    auto saved_batched = batched_names_;
    for (size_t k = 0; k < args.size() && k < fn.args.size(); ++k)
      if (batched_expr(*args[k])) batched_names_.insert(fn.args[k].name);
      else batched_names_.erase(fn.args[k].name);
    auto saved_scopes = std::move(scopes_);
    scopes_.assign(1, {});
    for (const auto& outer : saved_scopes)
      for (const auto& [name, bnd] : outer)
        if (bnd.kind == Binding::Kind::Network) scopes_[0][name] = bnd;
    scopes_.emplace_back();
    for (size_t k = 0; k < values.size(); ++k) bind_value(fn.args[k].name, values[k], fn.args[k].type);
    scan_assignments(fn.body->items);
    const auto& items = fn.body->items;
    const bool last_return = !items.empty() && items.back()->kind == StmtKind::Return;
    bool early = false;
    for (size_t k = 0; k + (last_return ? 1 : 0) < items.size(); ++k)
      early = early || contains(*items[k], StmtKind::Return, true);
    const bool is_void = fn.return_type.base == BaseKind::Void;
    InlineFrame fr;
    fr.fn = &fn;
    ValueId result = kNoValue;
    if (!early) {
      fr.straight = true;
      inline_stack_.push_back(fr);
      for (size_t k = 0; k + (last_return ? 1 : 0) < items.size(); ++k) stmt(*items[k]);
      const auto* ret = last_return ? static_cast<const ast::Return*>(items.back().get()) : nullptr;
      if (ret && ret->value) result = convert_to(expr(*ret->value), ret->value->type, fn.return_type, span);
    } else {
      if (!is_void && is_container(fn.return_type))
        throw Unsupported(span, "a function returning a container from inside a branch or loop ('" + fn.name + "')");
      if (!is_void) fr.result = b_.var(fn.return_type.is_int() ? Type::i64() : Type::f64(), {}, 0.0, fn.name);
      fr.done = b_.var(Type::i64(), {}, 0.0, "returned");
      inline_stack_.push_back(fr);
      statements(items, 0);
      if (!is_void) result = b_.load(fr.result);
    }
    inline_stack_.pop_back();
    scopes_ = std::move(saved_scopes);
    batched_names_ = std::move(saved_batched);
    return result;
  }

  void return_stmt(const ast::Return& r) {
    if (inline_stack_.empty() || inline_stack_.back().straight)
      throw Unsupported(r.span, "a return here");
    InlineFrame& fr = inline_stack_.back();
    if (r.value) b_.store(fr.result, convert_to(expr(*r.value), r.value->type, fr.fn->return_type, r.span));
    b_.store(fr.done, b_.const_i64(1));
  }

  void stmt(const ast::Stmt& s) {
    line_ = static_cast<int>(s.span.begin_line);
    switch (s.kind) {
      case StmtKind::VarDecl: local_decl(static_cast<const ast::VarDecl&>(s)); return;
      case StmtKind::Block: block(static_cast<const ast::Block&>(s).items); return;
      case StmtKind::Assign: assign(static_cast<const ast::Assign&>(s)); return;
      case StmtKind::Tilde: tilde(static_cast<const ast::Tilde&>(s)); return;
      case StmtKind::TargetPlus: {
        const auto& t = static_cast<const ast::TargetPlus&>(s);
        ValueId v = expr(*t.value);
        add_to_target(s.span, sum_all(v), batched_expr(*t.value));
        return;
      }
      case StmtKind::ForRange: for_range(static_cast<const ast::ForRange&>(s)); return;
      case StmtKind::ForEach: for_each(static_cast<const ast::ForEach&>(s)); return;
      case StmtKind::While: {
        const auto& w = static_cast<const ast::While&>(s);
        LoopFrame frame = new_loop_frame(*w.body);
        const bool stops = frame.broken != kNoValue || (early_returns() && contains(*w.body, StmtKind::Return, true));
        Op op = Op::make(OpKind::While);
        Region cond, body;
        b_.in(cond, [&] {
          if (!stops) {
            b_.emit(Op::make(OpKind::Yield, {truth(expr(*w.cond))}));
            return;
          }
          // After a break or return the condition is not evaluated again (it may not be valid).
          ValueId go = b_.var(Type::i64(), {}, 0.0, "go");
          loops_.push_back(frame);
          Op branch = Op::make(OpKind::If, {no_exit_yet()});
          loops_.pop_back();
          Region then_r;
          b_.in(then_r, [&] { b_.store(go, b_.emit1(OpKind::BoolToI, {truth(expr(*w.cond))}, Type::i64())); });
          branch.regions.push_back(std::move(then_r));
          branch.regions.push_back(Region{});
          b_.emit(std::move(branch));
          b_.emit(Op::make(OpKind::Yield, {b_.cmp(CmpPred::Ne, b_.load(go), b_.const_i64(0))}));
        });
        b_.in(body, [&] { loop_body(*w.body, [] {}, frame); });
        op.regions.push_back(std::move(cond));
        op.regions.push_back(std::move(body));
        b_.emit(std::move(op));
        return;
      }
      case StmtKind::If: {
        const auto& i = static_cast<const ast::If&>(s);
        Op op = Op::make(OpKind::If, {truth(expr(*i.cond))});
        Region then_r, else_r;
        b_.in(then_r, [&] { nested(*i.then_stmt); });
        if (i.else_stmt) b_.in(else_r, [&] { nested(*i.else_stmt); });
        op.regions.push_back(std::move(then_r));
        op.regions.push_back(std::move(else_r));
        b_.emit(std::move(op));
        return;
      }
      case StmtKind::Break:
      case StmtKind::Continue: {
        LoopFrame* l = current_loop();
        if (!l) throw Unsupported(s.span, "break or continue outside a loop");
        b_.store(s.kind == StmtKind::Break ? l->broken : l->continued, b_.const_i64(1));
        return;
      }
      case StmtKind::Print:
      case StmtKind::Reject:
      case StmtKind::FatalError: print_like(static_cast<const ast::PrintLike&>(s)); return;
      case StmtKind::Empty: return;
      case StmtKind::Return: return_stmt(static_cast<const ast::Return&>(s)); return;
      case StmtKind::ExprStmt: expr(*static_cast<const ast::ExprStmt&>(s).expr); return;
      default: throw Unsupported(s.span, "this kind of statement");
    }
  }

  // A declaration of a local (or transformed data / parameter) variable: a var of its declared
  // size, or an SSA value when it is initialised and never assigned again.
  void local_decl(const ast::VarDecl& d) {
    if (d.init && batched_expr(*d.init)) batched_names_.insert(d.name);
    if (d.init && assigned_names_.count(d.name) == 0) {
      ValueId v = expr(*d.init);
      v = convert_to(v, d.init->type, declared_type(d), d.init->span);
      check_declared_sizes(d, v);
      bind_value(d.name, v, declared_type(d));
      return;
    }
    ast::Type t = declared_type(d);
    Type it = ir_type(t);
    std::vector<ValueId> dims = declared_dims(d);
    ValueId ref = b_.var(it, dims, it.elem == Elem::F64 ? std::nan("") : 0.0, d.name);
    bind_ref(d.name, ref, t);
    if (d.init) {
      ValueId v = convert_to(expr(*d.init), d.init->type, t, d.init->span);
      b_.store(ref, v);
    }
  }

  static ast::Type declared_type(const ast::VarDecl& d) {
    ast::Type t;
    switch (d.type.element) {
      case ast::ElementKind::Int: t.base = BaseKind::Int; break;
      case ast::ElementKind::Real: t.base = BaseKind::Real; break;
      case ast::ElementKind::RowVector: t.base = BaseKind::RowVector; break;
      case ast::ElementKind::Matrix:
      case ast::ElementKind::CholeskyFactorCorr:
      case ast::ElementKind::CholeskyFactorCov:
      case ast::ElementKind::CorrMatrix:
      case ast::ElementKind::CovMatrix: t.base = BaseKind::Matrix; break;
      default: t.base = BaseKind::Vector; break;
    }
    t.array_dims = static_cast<int>(d.type.array_dims.size());
    return t;
  }

  // The declared dims (array dims, then element dims) as i64 values.
  std::vector<ValueId> declared_dims(const ast::VarDecl& d) {
    std::vector<ValueId> dims;
    for (const auto& e : d.type.array_dims) dims.push_back(expr(*e));
    switch (d.type.element) {
      case ast::ElementKind::Int:
      case ast::ElementKind::Real: break;
      case ast::ElementKind::Matrix:
        dims.push_back(expr(*d.type.sizes.at(0)));
        dims.push_back(expr(*d.type.sizes.at(1)));
        break;
      case ast::ElementKind::CholeskyFactorCov:
      case ast::ElementKind::CholeskyFactorCorr:
      case ast::ElementKind::CorrMatrix:
      case ast::ElementKind::CovMatrix: {
        ValueId n = expr(*d.type.sizes.at(0));
        dims.push_back(n);
        dims.push_back(d.type.sizes.size() > 1 ? expr(*d.type.sizes[1]) : n);
        break;
      }
      default: dims.push_back(expr(*d.type.sizes.at(0))); break;
    }
    return dims;
  }

  // Checks that a value's shape equals the declaration's, naming the variable.
  void check_declared_sizes(const ast::VarDecl& d, ValueId v) {
    if (f_.type_of(v).rank() == 0) return;
    std::vector<ValueId> dims = declared_dims(d);
    std::vector<const ast::Expr*> size_exprs;
    for (const auto& e : d.type.array_dims) size_exprs.push_back(e.get());
    for (const auto& e : d.type.sizes) size_exprs.push_back(e.get());
    for (size_t k = 0; k < dims.size(); ++k) {
      Op check = Op::make(OpKind::Check, {b_.dim(v, static_cast<int>(k)), dims[k]});
      check.check = CheckKind::SizeMatch;
      std::string which = dims.size() == 1 ? "" : " in dimension " + std::to_string(k + 1);
      std::string size = k < size_exprs.size() ? source_text(*size_exprs[k]) : "its size";
      check.text = "'" + d.name + "' has {} elements" + which + " but is declared with " + size + " = {}";
      check.source_line = line_;
      b_.emit(std::move(check));
    }
  }

  ValueId convert_to(ValueId v, const ast::Type& from, const ast::Type& to, Span span) {
    if (to.is_real() && from.is_int()) return to_real(v);
    if (f_.type_of(v).elem == Elem::I64 && ir_type(to).elem == Elem::F64 && f_.type_of(v).rank() > 0) {
      // int array -> real array: elementwise conversion
      ValueId n = numel(v);
      return b_.map(false, {n}, {v}, {Broadcast::Elementwise}, ir_type(to),
                    [&](const std::vector<ValueId>& a) { return to_real(a[0]); });
    }
    (void)span;
    return v;
  }

  ValueId target(Span span) {
    if (target_ == kNoValue) throw Unsupported(span, "target outside the model block");
    return target_;
  }

  // Collects names assigned anywhere in these statements (they need vars, not SSA values).
  void scan_assignments(const std::vector<ast::StmtPtr>& items) {
    for (const auto& s : items) scan_assignments(*s);
  }
  void scan_assignments(const ast::Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign: {
        const ast::Expr* e = static_cast<const ast::Assign&>(s).lhs.get();
        while (e->kind == ExprKind::Index) e = static_cast<const ast::Index*>(e)->base.get();
        if (e->kind == ExprKind::Variable) assigned_names_.insert(static_cast<const ast::Variable*>(e)->name);
        return;
      }
      case StmtKind::Block: scan_assignments(static_cast<const ast::Block&>(s).items); return;
      case StmtKind::ForRange: scan_assignments(*static_cast<const ast::ForRange&>(s).body); return;
      case StmtKind::ForEach: scan_assignments(*static_cast<const ast::ForEach&>(s).body); return;
      case StmtKind::While: scan_assignments(*static_cast<const ast::While&>(s).body); return;
      case StmtKind::If: {
        const auto& i = static_cast<const ast::If&>(s);
        scan_assignments(*i.then_stmt);
        if (i.else_stmt) scan_assignments(*i.else_stmt);
        return;
      }
      default: return;
    }
  }

  int line() const { return line_; }

 private:
  void nested(const ast::Stmt& s) {
    scopes_.emplace_back();
    stmt(s);
    scopes_.pop_back();
  }

  const Binding& lookup(const std::string& name, Span span) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    throw Unsupported(span, "the name '" + name + "' (not available in this function)");
  }

  ValueId variable(const ast::Variable& v) {
    const Binding& bnd = lookup(v.name, v.span);
    if (bnd.kind == Binding::Kind::Value) return bnd.id;
    return b_.load(bnd.id);
  }

  ValueId numel(ValueId v) {
    const Type t = f_.type_of(v);  // a copy: emitting ops grows the value table
    ValueId n = b_.dim(v, 0);
    for (int k = 1; k < t.rank(); ++k) n = b_.mul(n, b_.dim(v, k));
    return n;
  }

  ValueId sum_all(ValueId v) {
    const Type t = f_.type_of(v);  // a copy: emitting ops grows the value table
    if (t.rank() == 0) return to_real(v);
    return b_.map(true, {numel(v)}, {v}, {Broadcast::Elementwise}, Type::f64(),
                  [&](const std::vector<ValueId>& a) { return to_real(a[0]); });
  }

  // ---- elementwise fusion ----

  // An expression computed element by element from its operands (one of them a container).
  bool elementwise_node(const ast::Expr& e) {
    if (!is_container(e.type) || (e.type.base != BaseKind::Real && e.type.base != BaseKind::Int && !is_tensor_kind(e.type)))
      return false;
    switch (e.kind) {
      case ExprKind::Unary: return static_cast<const ast::Unary&>(e).op != ast::UnaryOp::Not;
      case ExprKind::Binary: {
        const auto& b = static_cast<const ast::Binary&>(e);
        switch (b.op) {
          case ast::BinaryOp::Add:
          case ast::BinaryOp::Sub:
          case ast::BinaryOp::EltMul:
          case ast::BinaryOp::EltDiv:
          case ast::BinaryOp::EltPow:
          case ast::BinaryOp::Pow:
            return true;
          case ast::BinaryOp::Mul:
          case ast::BinaryOp::Div:
            return b.lhs->type.is_scalar() || b.rhs->type.is_scalar();
          default: return false;
        }
      }
      case ExprKind::Call: {
        const auto& c = static_cast<const ast::Call&>(e);
        if (c.name == "abs" && c.type.base == BaseKind::Int) return false;  // int-valued: LibraryLowering
        if (c.args.size() == 1) return unary_math().count(c.name) > 0 || c.name == "square" || c.name == "inv";
        if (c.args.size() == 2) return binary_math().count(c.name) > 0;
        return false;
      }
      default: return false;
    }
  }

  // Lowers a maximal elementwise subtree into one map. Leaves (non-elementwise
  // subexpressions) are computed first; scalars broadcast, containers must agree in size.
  ValueId fused_map(const ast::Expr& root) {
    std::vector<ValueId> leaves;
    std::vector<Broadcast> bc;
    std::map<const ast::Expr*, size_t> leaf_index;
    collect_leaves(root, leaves, bc, leaf_index);
    ValueId shape = kNoValue;
    for (size_t k = 0; k < leaves.size(); ++k)
      if (bc[k] == Broadcast::Elementwise) {
        if (shape == kNoValue) shape = leaves[k];
        else size_check(shape, leaves[k], root.span);
      }
    if (shape == kNoValue) throw Unsupported(root.span, "an elementwise expression without a container");
    ValueId n = numel(shape);
    Type result = ir_type(root.type);
    return b_.map(false, {n}, leaves, bc, result, [&](const std::vector<ValueId>& args) {
      return element(root, args, leaf_index, result.elem == Elem::F64);
    });
  }

  void collect_leaves(const ast::Expr& e, std::vector<ValueId>& leaves, std::vector<Broadcast>& bc,
                      std::map<const ast::Expr*, size_t>& index) {
    if (!hoisted_.count(&e) && (elementwise_node(e) || (e.kind == ExprKind::Unary && is_container(e.type)))) {
      for_each_child(e, [&](const ast::Expr& c) { collect_leaves(c, leaves, bc, index); });
      return;
    }
    ValueId v = expr(e);
    index[&e] = leaves.size();
    leaves.push_back(v);
    bc.push_back(f_.type_of(v).rank() == 0 ? Broadcast::Scalar : Broadcast::Elementwise);
  }

  static void for_each_child(const ast::Expr& e, const std::function<void(const ast::Expr&)>& fn) {
    switch (e.kind) {
      case ExprKind::Unary: fn(*static_cast<const ast::Unary&>(e).operand); break;
      case ExprKind::Binary:
        fn(*static_cast<const ast::Binary&>(e).lhs);
        fn(*static_cast<const ast::Binary&>(e).rhs);
        break;
      case ExprKind::Call:
        for (const auto& a : static_cast<const ast::Call&>(e).args) fn(*a);
        break;
      default: break;
    }
  }

  // The scalar value of an elementwise subtree for one element (inside a map body).
  ValueId element(const ast::Expr& e, const std::vector<ValueId>& args,
                  const std::map<const ast::Expr*, size_t>& index, bool want_real) {
    auto leaf = index.find(&e);
    if (leaf != index.end()) {
      ValueId v = args[leaf->second];
      return want_real ? to_real(v) : v;
    }
    switch (e.kind) {
      case ExprKind::Unary: {
        const auto& u = static_cast<const ast::Unary&>(e);
        ValueId x = element(*u.operand, args, index, want_real);
        if (u.op == ast::UnaryOp::Neg) return b_.emit1(OpKind::Neg, {x}, f_.type_of(x));
        return x;
      }
      case ExprKind::Binary: {
        const auto& bn = static_cast<const ast::Binary&>(e);
        bool real = want_real || e.type.base != BaseKind::Int;
        ValueId l = element(*bn.lhs, args, index, real), r = element(*bn.rhs, args, index, real);
        return scalar_binary(bn.op, l, r, e.span);
      }
      case ExprKind::Call: {
        const auto& c = static_cast<const ast::Call&>(e);
        std::vector<ValueId> xs;
        for (const auto& a : c.args) xs.push_back(element(*a, args, index, true));
        return scalar_call(c.name, xs);
      }
      default: throw Unsupported(e.span, "this expression inside an elementwise expression");
    }
  }

  ValueId scalar_call(const std::string& name, std::vector<ValueId> xs) {
    for (ValueId& x : xs) x = to_real(x);
    if (name == "square") return b_.mul(xs[0], xs[0]);
    if (name == "inv") return b_.div(b_.const_f64(1.0), xs[0]);
    if (name == "abs") return b_.call("fabs", xs);
    if (name == "softplus") return b_.call("log1p_exp", xs);
    if (name == "sigmoid") return b_.call("inv_logit", xs);
    return b_.call(name, xs);
  }

  ValueId scalar_binary(ast::BinaryOp op, ValueId l, ValueId r, Span span) {
    const bool real = f_.type_of(l).elem == Elem::F64 || f_.type_of(r).elem == Elem::F64;
    if (real) {
      l = to_real(l);
      r = to_real(r);
    }
    switch (op) {
      case ast::BinaryOp::Add: return b_.add(l, r);
      case ast::BinaryOp::Sub: return b_.sub(l, r);
      case ast::BinaryOp::Mul:
      case ast::BinaryOp::EltMul: return b_.mul(l, r);
      case ast::BinaryOp::Div:
      case ast::BinaryOp::EltDiv:
        if (!real) return int_division(l, r);
        return b_.div(l, r);
      case ast::BinaryOp::IntDiv: return int_division(l, r);
      case ast::BinaryOp::Mod: {
        int_division_check(r);
        return b_.emit1(OpKind::IMod, {l, r}, Type::i64());
      }
      case ast::BinaryOp::Pow:
      case ast::BinaryOp::EltPow: {
        ValueId lr = to_real(l), rr = to_real(r);
        return b_.call("pow", {lr, rr});
      }
      case ast::BinaryOp::Lt: return b_.emit1(OpKind::BoolToI, {b_.cmp(CmpPred::Lt, l, r)}, Type::i64());
      case ast::BinaryOp::Le: return b_.emit1(OpKind::BoolToI, {b_.cmp(CmpPred::Le, l, r)}, Type::i64());
      case ast::BinaryOp::Gt: return b_.emit1(OpKind::BoolToI, {b_.cmp(CmpPred::Gt, l, r)}, Type::i64());
      case ast::BinaryOp::Ge: return b_.emit1(OpKind::BoolToI, {b_.cmp(CmpPred::Ge, l, r)}, Type::i64());
      case ast::BinaryOp::Eq: return b_.emit1(OpKind::BoolToI, {b_.cmp(CmpPred::Eq, l, r)}, Type::i64());
      case ast::BinaryOp::Ne: return b_.emit1(OpKind::BoolToI, {b_.cmp(CmpPred::Ne, l, r)}, Type::i64());
      case ast::BinaryOp::And:
        return b_.emit1(OpKind::BoolToI, {b_.emit1(OpKind::And, {truth(l), truth(r)}, Type::boolean())}, Type::i64());
      case ast::BinaryOp::Or:
        return b_.emit1(OpKind::BoolToI, {b_.emit1(OpKind::Or, {truth(l), truth(r)}, Type::boolean())}, Type::i64());
      case ast::BinaryOp::LeftDiv: break;
    }
    throw Unsupported(span, std::string("the operator ") + ast::to_string(op) + " on these operands");
  }

  void int_division_check(ValueId r) {
    Op check = Op::make(OpKind::Check, {b_.emit1(OpKind::Not, {b_.cmp(CmpPred::Eq, r, b_.const_i64(0))}, Type::boolean())});
    check.check = CheckKind::Domain;
    check.text = "integer division by zero (line " + std::to_string(line_) + ")";
    b_.emit(std::move(check));
  }
  ValueId int_division(ValueId l, ValueId r) {
    int_division_check(r);
    return b_.emit1(OpKind::IDiv, {l, r}, Type::i64());
  }

  ValueId unary_scalar(const ast::Unary& u) {
    ValueId x = expr(*u.operand);
    switch (u.op) {
      case ast::UnaryOp::Neg: return b_.emit1(OpKind::Neg, {x}, f_.type_of(x));
      case ast::UnaryOp::Plus: return x;
      case ast::UnaryOp::Not:
        return b_.emit1(OpKind::BoolToI, {b_.emit1(OpKind::Not, {truth(x)}, Type::boolean())}, Type::i64());
    }
    return x;
  }

  ValueId binary(const ast::Binary& bn) {
    const ast::Type& lt = bn.lhs->type;
    const ast::Type& rt = bn.rhs->type;
    if (bn.op == ast::BinaryOp::Mul && is_tensor_kind(lt) && is_tensor_kind(rt) && lt.array_dims == 0 && rt.array_dims == 0)
      return product(bn);
    if (bn.op == ast::BinaryOp::And || bn.op == ast::BinaryOp::Or) {
      // Short-circuit, as in Stan.
      ValueId result = b_.var(Type::i64(), {}, 0.0);
      ValueId l = truth(expr(*bn.lhs));
      Op branch = Op::make(OpKind::If, {l});
      Region then_r, else_r;
      bool is_and = bn.op == ast::BinaryOp::And;
      b_.in(is_and ? then_r : else_r, [&] {
        ValueId r = truth(expr(*bn.rhs));
        b_.store(result, b_.emit1(OpKind::BoolToI, {r}, Type::i64()));
      });
      b_.in(is_and ? else_r : then_r, [&] { b_.store(result, b_.const_i64(is_and ? 0 : 1)); });
      branch.regions.push_back(std::move(then_r));
      branch.regions.push_back(std::move(else_r));
      b_.emit(std::move(branch));
      return b_.load(result);
    }
    if (LibraryLowering::handles_division(bn))
      return LibraryLowering(b_, static_cast<int>(bn.span.begin_line)).division(bn, expr(*bn.lhs), expr(*bn.rhs));
    if (is_container(lt) || is_container(rt)) throw Unsupported(bn.span, "this operator on containers");
    return scalar_binary(bn.op, expr(*bn.lhs), expr(*bn.rhs), bn.span);
  }

  // Products of vectors and matrices as 2-d maps with row/column sums (column-major friendly).
  ValueId product(const ast::Binary& bn) {
    const ast::Type& lt = bn.lhs->type;
    const ast::Type& rt = bn.rhs->type;
    ValueId l = expr(*bn.lhs), r = expr(*bn.rhs);
    auto mul_body = [&](const std::vector<ValueId>& a) { return b_.mul(a[0], a[1]); };
    if (lt.base == BaseKind::Matrix && rt.base == BaseKind::Vector) {
      ValueId rows = b_.dim(l, 0), cols = b_.dim(l, 1);
      size_check_dims(cols, b_.dim(r, 0), bn.span, "matrix-vector product: the matrix has {} columns but the vector has {} elements");
      Op& op = emit_map2(rows, cols, {l, r}, {Broadcast::Elementwise, Broadcast::Rows}, MapResult::SumOverCols, Type::vector(), mul_body);
      return op.results[0];
    }
    if (lt.base == BaseKind::RowVector && rt.base == BaseKind::Vector) {
      size_check(l, r, bn.span);
      return b_.map(true, {b_.dim(l, 0)}, {l, r}, {Broadcast::Elementwise, Broadcast::Elementwise}, Type::f64(), mul_body);
    }
    if (lt.base == BaseKind::RowVector && rt.base == BaseKind::Matrix) {
      ValueId rows = b_.dim(r, 0), cols = b_.dim(r, 1);
      size_check_dims(b_.dim(l, 0), rows, bn.span, "row-vector-matrix product: the row vector has {} elements but the matrix has {} rows");
      Op& op = emit_map2(rows, cols, {r, l}, {Broadcast::Elementwise, Broadcast::Cols}, MapResult::SumOverRows, Type::row_vector(), mul_body);
      return op.results[0];
    }
    if (lt.base == BaseKind::Vector && rt.base == BaseKind::RowVector) {
      Op& op = emit_map2(b_.dim(l, 0), b_.dim(r, 0), {l, r}, {Broadcast::Cols, Broadcast::Rows}, MapResult::Elementwise, Type::matrix(), mul_body);
      return op.results[0];
    }
    if (lt.base == BaseKind::Matrix && rt.base == BaseKind::Matrix) {
      Op op = Op::make(OpKind::MatMul, {l, r});
      op.source_line = static_cast<int>(bn.span.begin_line);
      ValueId out = b_.value(Type::matrix());
      op.results = {out};
      b_.emit(std::move(op));
      return out;
    }
    throw Unsupported(bn.span, "this product of containers");
  }

  Op& emit_map2(ValueId rows, ValueId cols, std::vector<ValueId> inputs, std::vector<Broadcast> bc,
                MapResult mode, Type result, const std::function<ValueId(const std::vector<ValueId>&)>& body) {
    Op op = Op::make(OpKind::Map);
    op.i = 2;
    op.operands = {rows, cols};
    op.operands.insert(op.operands.end(), inputs.begin(), inputs.end());
    op.broadcasts = bc;
    op.map_results = {mode};
    Region r;
    for (ValueId in : inputs) r.args.push_back(b_.value(Type{f_.type_of(in).elem, 0, 0, false, false}));
    b_.in(r, [&] { b_.emit(Op::make(OpKind::Yield, {body(r.args)})); });
    op.regions.push_back(std::move(r));
    op.results = {b_.value(result)};
    return b_.emit(std::move(op));
  }

  void size_check(ValueId a, ValueId bv, Span span) {
    size_check_dims(numel(a), numel(bv), span, "sizes do not match: {} and {} elements");
  }
  void size_check_dims(ValueId a, ValueId bv, Span span, const std::string& text) {
    Op check = Op::make(OpKind::Check, {a, bv});
    check.check = CheckKind::SizeMatch;
    check.text = text + " (line " + std::to_string(span.begin_line) + ")";
    b_.emit(std::move(check));
  }

  // ---- indexing ----

  ValueId index(const ast::Index& ix) {
    bool all_single = true;
    for (const auto& item : ix.indices) {
      if (item.kind == ast::IndexItem::Kind::Single && !item.lo->type.is_int()) return multi_index(ix);
      all_single = all_single && item.kind == ast::IndexItem::Kind::Single;
    }
    if (!all_single) return slice(ix);
    // m[i] of a matrix is a row: a partial index into an element, which only a slice can take.
    const Type indexed = ir_type(ix.base->type);
    if (ix.indices.size() > indexed.array_rank && static_cast<int>(ix.indices.size()) < indexed.rank())
      return slice(ix);
    std::string name = ix.base->kind == ExprKind::Variable ? static_cast<const ast::Variable&>(*ix.base).name : "";
    // A var indexed directly avoids loading (copying) the whole container.
    if (ix.base->kind == ExprKind::Variable) {
      const Binding& bnd = lookup(name, ix.base->span);
      if (bnd.kind == Binding::Kind::Ref) {
        std::vector<ValueId> idx = checked_indices(ix, bnd.id, name);
        idx.insert(idx.begin(), bnd.id);
        return b_.emit1(OpKind::LoadElem, idx, ir_type(ix.type));
      }
    }
    ValueId base = expr(*ix.base);
    std::vector<ValueId> idx = checked_indices(ix, base, name);
    return b_.extract(base, idx, ir_type(ix.type));
  }

  // An index list with a multi-index (an array of ints) somewhere: a gather, element by
  // element. Each dimension of the container is taken by a single index (dropped), a
  // multi-index or a range (kept, in order); every index read is bounds-checked.
  ValueId multi_index(const ast::Index& ix) {
    ValueId base = expr(*ix.base);
    const Type bt = f_.type_of(base);  // a copy: emitting ops grows the value table
    const std::string name = ix.base->kind == ExprKind::Variable ? "'" + static_cast<const ast::Variable&>(*ix.base).name + "'"
                                                               : std::string("a container");
    struct Axis {
      enum Kind { Single, Multi, Range } kind = Range;
      ValueId value = kNoValue;  // Single: the 0-based index; Multi: the int array; Range: lo
      ValueId len = kNoValue;
      ValueId size = kNoValue;   // the container's size in this dimension
    };
    std::vector<Axis> axes(static_cast<size_t>(bt.rank()));
    ValueId zero = b_.const_i64(0), one = b_.const_i64(1);
    for (size_t k = 0; k < axes.size(); ++k) {
      Axis& a = axes[k];
      a.size = b_.dim(base, static_cast<int>(k));
      const ast::IndexItem* item = k < ix.indices.size() ? &ix.indices[k] : nullptr;
      if (!item || item->kind == ast::IndexItem::Kind::All) {
        a.value = zero;
        a.len = a.size;
      } else if (item->kind == ast::IndexItem::Kind::Single && item->lo->type.is_int()) {
        a.kind = Axis::Single;
        a.value = b_.sub(expr(*item->lo), one);
      } else if (item->kind == ast::IndexItem::Kind::Single) {
        a.kind = Axis::Multi;
        a.value = expr(*item->lo);
        a.len = b_.dim(a.value, 0);
      } else {  // lo:hi, lo:, :hi (1-based, inclusive); hi < lo is empty
        a.value = item->lo ? b_.sub(expr(*item->lo), one) : zero;
        ValueId hi = item->hi ? expr(*item->hi) : a.size;
        ValueId len = b_.sub(hi, a.value);
        a.len = b_.emit1(OpKind::Select, {b_.cmp(CmpPred::Gt, len, zero), len, zero}, Type::i64());
      }
    }
    std::vector<ValueId> out_dims;
    for (const Axis& a : axes)
      if (a.kind != Axis::Single) out_dims.push_back(a.len);
    ValueId out = b_.var(ir_type(ix.type), out_dims, 0.0);
    const Type scalar = bt.elem == Elem::F64 ? Type::f64() : Type::i64();
    auto checked = [&](ValueId i, size_t k) {
      Op check = Op::make(OpKind::Check, {i, axes[k].size});
      check.check = CheckKind::IndexBounds;
      check.text = "index {} out of range for " + name + (axes.size() > 1 ? " in dimension " + std::to_string(k + 1) : "") +
                   " of size {} (line " + std::to_string(ix.span.begin_line) + ")";
      b_.emit(std::move(check));
      return i;
    };
    std::vector<ValueId> source(axes.size()), target;
    std::function<void(size_t)> loop = [&](size_t k) {
      if (k == axes.size()) {
        std::vector<ValueId> store = {out};
        store.insert(store.end(), target.begin(), target.end());
        store.push_back(b_.extract(base, source, scalar));
        b_.emit(Op::make(OpKind::StoreElem, store));
        return;
      }
      const Axis& a = axes[k];
      if (a.kind == Axis::Single) {
        source[k] = checked(a.value, k);
        loop(k + 1);
        return;
      }
      b_.for_range(zero, b_.sub(a.len, one), [&](ValueId i) {
        source[k] = checked(a.kind == Axis::Multi ? b_.sub(b_.extract(a.value, {i}, Type::i64()), one) : b_.add(a.value, i), k);
        target.push_back(i);
        loop(k + 1);
        target.pop_back();
      });
    };
    loop(0);
    return b_.load(out);
  }

  // x[a:b, :, i] and friends: one half-open range per dimension (single indexes drop theirs),
  // copied into a new tensor. Ranges are checked to lie inside the container; b < a is empty.
  ValueId slice(const ast::Index& ix) {
    ValueId base = expr(*ix.base);
    std::string name = ix.base->kind == ExprKind::Variable ? static_cast<const ast::Variable&>(*ix.base).name : "a container";
    Op op = Op::make(OpKind::Slice, {base});
    op.i = slice_ranges(ix, base, name, op.operands);
    ValueId out = b_.value(ir_type(ix.type));
    op.results = {out};
    b_.emit(std::move(op));
    return out;
  }

  // Appends (lo, hi) per dimension of `container` (a value or a var) for the index list, with
  // bounds checks; returns the mask of the dimensions a slice keeps.
  int64_t slice_ranges(const ast::Index& ix, ValueId container, const std::string& name,
                       std::vector<ValueId>& operands) {
    const Type bt = f_.type_of(container).value_type();  // a copy: emitting ops grows the table
    int64_t keep = 0;
    for (int k = 0; k < bt.rank(); ++k) {
      ValueId n = b_.dim(container, k);
      ValueId lo, hi;
      const ast::IndexItem* item = k < static_cast<int>(ix.indices.size()) ? &ix.indices[k] : nullptr;
      auto one = b_.const_i64(1);
      auto in_range = [&](ValueId v, ValueId limit, const std::string& what) {
        // 0 <= v <= limit
        ValueId ok = b_.emit1(OpKind::And, {b_.cmp(CmpPred::Ge, v, b_.const_i64(0)), b_.cmp(CmpPred::Le, v, limit)},
                              Type::boolean());
        Op check = Op::make(OpKind::Check, {ok});
        check.check = CheckKind::Domain;
        check.text = what + " is out of range for '" + name + "'" +
                     (bt.rank() > 1 ? " in dimension " + std::to_string(k + 1) : "") + " (line " +
                     std::to_string(ix.span.begin_line) + ")";
        b_.emit(std::move(check));
      };
      if (!item || item->kind == ast::IndexItem::Kind::All) {
        lo = b_.const_i64(0);
        hi = n;
        keep |= int64_t{1} << k;
      } else if (item->kind == ast::IndexItem::Kind::Single) {
        lo = b_.sub(expr(*item->lo), one);
        Op check = Op::make(OpKind::Check, {lo, n});
        check.check = CheckKind::IndexBounds;
        check.text = "index {} out of range for '" + name + "'" +
                     (bt.rank() > 1 ? " in dimension " + std::to_string(k + 1) : "") + " of size {} (line " +
                     std::to_string(ix.span.begin_line) + ")";
        b_.emit(std::move(check));
        hi = b_.add(lo, one);
      } else {
        lo = item->lo ? b_.sub(expr(*item->lo), one) : b_.const_i64(0);
        hi = item->hi ? expr(*item->hi) : n;
        // An empty range (hi < lo) gives a zero-size slice.
        hi = b_.emit1(OpKind::Select, {b_.cmp(CmpPred::Lt, hi, lo), lo, hi}, Type::i64());
        in_range(lo, n, "range start");
        in_range(hi, n, "range end");
        keep |= int64_t{1} << k;
      }
      operands.push_back(lo);
      operands.push_back(hi);
    }
    return keep;
  }

  // 0-based indices with bounds checks that report the 1-based index and the size.
  std::vector<ValueId> checked_indices(const ast::Index& ix, ValueId container, const std::string& name) {
    std::vector<ValueId> idx;
    for (size_t k = 0; k < ix.indices.size(); ++k) {
      ValueId i = b_.sub(expr(*ix.indices[k].lo), b_.const_i64(1));
      Op check = Op::make(OpKind::Check, {i, b_.dim(container, static_cast<int>(k))});
      check.check = CheckKind::IndexBounds;
      check.text = "index {} out of range for " + (name.empty() ? std::string("a container") : "'" + name + "'") +
                   (ix.indices.size() > 1 ? " in dimension " + std::to_string(k + 1) : "") +
                   " of size {} (line " + std::to_string(ix.span.begin_line) + ")";
      b_.emit(std::move(check));
      idx.push_back(i);
    }
    return idx;
  }

  // ---- networks ----

  // The weight tensors an expression names: `net` (all), `net.layer2` (W, b), `net.layer2.W`.
  std::vector<ValueId> network_tensors(const ast::Expr& e) {
    if (e.kind == ExprKind::Variable) {
      const Binding& bnd = lookup(static_cast<const ast::Variable&>(e).name, e.span);
      if (bnd.kind != Binding::Kind::Network) return {variable(static_cast<const ast::Variable&>(e))};
      std::vector<ValueId> all;
      for (const auto& l : bnd.network.layers) {
        all.push_back(l.W);
        all.push_back(l.b);
      }
      return all;
    }
    if (e.kind != ExprKind::Member) return {expr(e)};
    const auto& m = static_cast<const ast::Member&>(e);
    const ast::Expr* root = m.base.get();
    std::vector<std::string> path = {m.member};
    while (root->kind == ExprKind::Member) {
      path.insert(path.begin(), static_cast<const ast::Member*>(root)->member);
      root = static_cast<const ast::Member*>(root)->base.get();
    }
    if (root->kind != ExprKind::Variable) throw Unsupported(e.span, "this member access");
    const Binding& bnd = lookup(static_cast<const ast::Variable&>(*root).name, root->span);
    if (bnd.kind != Binding::Kind::Network) throw Unsupported(e.span, "member access on a non-network");
    size_t layer = 0;
    size_t k = 0;
    if (path[0].rfind("layer", 0) == 0) {
      layer = static_cast<size_t>(std::stoul(path[0].substr(5))) - 1;
      k = 1;
    }
    if (layer >= bnd.network.layers.size()) throw Unsupported(e.span, "no such layer");
    const auto& l = bnd.network.layers[layer];
    if (k == path.size()) return {l.W, l.b};
    if (path[k] == "W") return {l.W};
    if (path[k] == "b") return {l.b};
    throw Unsupported(e.span, "no such network member");
  }

  ValueId activation(const std::string& name, ValueId z) {
    if (name.empty() || name == "identity") return z;
    ValueId zero = b_.const_f64(0.0);
    ValueId positive = b_.cmp(CmpPred::Gt, z, zero);
    if (name == "relu") return b_.emit1(OpKind::Select, {positive, z, zero}, Type::f64());
    if (name == "leaky_relu")
      return b_.emit1(OpKind::Select, {positive, z, b_.mul(b_.const_f64(0.01), z)}, Type::f64());
    if (name == "elu") return b_.emit1(OpKind::Select, {positive, z, b_.call("expm1", {z})}, Type::f64());
    if (name == "softplus") return b_.call("log1p_exp", {z});
    if (name == "sigmoid") return b_.call("inv_logit", {z});
    return b_.call(name, {z});  // tanh, gelu
  }

  // net(x): every layer as a matrix product over all rows at once, fused with its bias and
  // activation in one map.
  ValueId apply_network(const NetworkValue& net, const ast::Call& c) {
    const ast::Expr& arg = *c.args.at(0);
    ValueId x = expr(arg);
    const Type xt = f_.type_of(x);  // a copy: emitting ops grows the value table
    auto dense_rows = [&](ValueId H, const NetworkValue::Layer& l) {
      // A = act(H W' + b'): N x out
      Op mm = Op::make(OpKind::MatMul, {H, l.W});
      mm.i = 2;
      mm.source_line = static_cast<int>(c.span.begin_line);
      ValueId Z = b_.value(Type::matrix());
      mm.results = {Z};
      b_.emit(std::move(mm));
      ValueId rows = b_.dim(Z, 0), cols = b_.dim(Z, 1);
      Op& op = emit_map2(rows, cols, {Z, l.b}, {Broadcast::Elementwise, Broadcast::Rows}, MapResult::Elementwise,
                         Type::matrix(), [&](const std::vector<ValueId>& a) { return activation(l.activation, b_.add(a[0], a[1])); });
      return op.results[0];
    };
    ValueId H;
    size_t first = 0;
    if (xt.elem_rank == 2 && xt.array_rank == 0) {
      H = x;
    } else if (xt.elem_rank == 1 && xt.array_rank == 0 && net.input_width_one) {
      // N rows of one feature: the first layer is an outer product, fused with bias and
      // activation: A[n, j] = act(x[n] W[j, 1] + b[j]).
      const auto& l = net.layers[0];
      ValueId rows = b_.dim(x, 0), cols = b_.dim(l.W, 0);
      Op& op = emit_map2(rows, cols, {x, l.W, l.b}, {Broadcast::Cols, Broadcast::Rows, Broadcast::Rows},
                         MapResult::Elementwise, Type::matrix(), [&](const std::vector<ValueId>& a) {
                           return activation(l.activation, b_.add(b_.mul(a[0], a[1]), a[2]));
                         });
      H = op.results[0];
      first = 1;
    } else if (xt.elem_rank == 1 && xt.array_rank == 0) {
      // One input vector: y = act(W x + b) per layer.
      ValueId h = x;
      for (const auto& l : net.layers) {
        ValueId rows = b_.dim(l.W, 0), cols = b_.dim(l.W, 1);
        size_check_dims(cols, b_.dim(h, 0), c.span, "network input: the layer takes {} inputs but the vector has {}");
        Op& mv = emit_map2(rows, cols, {l.W, h}, {Broadcast::Elementwise, Broadcast::Rows}, MapResult::SumOverCols,
                           Type::vector(), [&](const std::vector<ValueId>& a) { return b_.mul(a[0], a[1]); });
        ValueId z = mv.results[0];
        h = b_.map(false, {rows}, {z, l.b}, {Broadcast::Elementwise, Broadcast::Elementwise}, Type::vector(),
                   [&](const std::vector<ValueId>& a) { return activation(l.activation, b_.add(a[0], a[1])); });
      }
      return h;
    } else {
      throw Unsupported(arg.span, "applying a network to this argument type");
    }
    for (size_t k = first; k < net.layers.size(); ++k) H = dense_rows(H, net.layers[k]);
    if (c.type.base == BaseKind::Vector) {
      // Output width 1: the N x 1 result viewed as a vector.
      ValueId n = b_.dim(H, 0);
      Op view = Op::make(OpKind::View, {H, b_.const_i64(0), n});
      ValueId v = b_.value(Type::vector());
      view.results = {v};
      b_.emit(std::move(view));
      return v;
    }
    return H;
  }

  // ---- calls ----

  ValueId call(const ast::Call& c) {
    const std::string& n = c.name;
    auto real_const = [&](double x) { return b_.const_f64(x); };
    if (c.args.empty()) {
      if (n == "pi") return real_const(3.14159265358979323846);
      if (n == "e") return real_const(2.71828182845904523536);
      if (n == "sqrt2") return real_const(1.41421356237309504880);
      if (n == "log2") return real_const(0.69314718055994530942);
      if (n == "log10") return real_const(2.30258509299404568402);
      if (n == "not_a_number") return real_const(std::nan(""));
      if (n == "positive_infinity") return real_const(HUGE_VAL);
      if (n == "negative_infinity") return real_const(-HUGE_VAL);
      if (n == "machine_precision") return real_const(2.220446049250313e-16);
      if (n == "target") return b_.load(target(c.span));
    }
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(n);
      if (found != it->end() && found->second.kind == Binding::Kind::Network)
        return apply_network(found->second.network, c);
    }
    if (c.user_function) {
      std::vector<const ast::Expr*> args;
      for (const auto& a : c.args) args.push_back(a.get());
      ValueId r = inline_function(*c.user_function, args, c.span);
      if (r == kNoValue && c.type.base != BaseKind::Void) throw Unsupported(c.span, "a function that returns no value here");
      return r;
    }
    std::vector<ValueId> args;
    auto arg = [&](size_t k) {
      while (args.size() <= k) args.push_back(kNoValue);
      if (args[k] == kNoValue) args[k] = expr(*c.args[k]);
      return args[k];
    };
    if (LibraryLowering::handles(c, rng_ != kNoValue)) {
      for (size_t k = 0; k < c.args.size(); ++k) arg(k);
      ValueId r = LibraryLowering(b_, static_cast<int>(c.span.begin_line)).call(c, args, rng_);
      if (r != kNoValue) return r;
    }
    if (c.args.size() == 1 && (unary_math().count(n) || n == "square" || n == "inv")) return scalar_call(n, {arg(0)});
    if (c.args.size() == 2 && binary_math().count(n)) return scalar_call(n, {arg(0), arg(1)});
    if (n == "log_sum_exp" && c.args.size() == 2) return b_.call("log_sum_exp", {to_real(arg(0)), to_real(arg(1))});
    if (n == "fma" && c.args.size() == 3)
      return b_.add(b_.mul(to_real(arg(0)), to_real(arg(1))), to_real(arg(2)));
    if ((n == "sum" || n == "mean") && c.args.size() == 1) {
      ValueId x = arg(0);
      if (f_.type_of(x).rank() == 0) return x;
      if (n == "sum" && c.type.is_int()) {
        // An int sum stays exact: a loop over the elements.
        ValueId count = numel(x);
        Type flat_type = Type::vector();
        flat_type.elem = Elem::I64;
        Op view = Op::make(OpKind::View, {x, b_.const_i64(0), count});
        ValueId flat = b_.value(flat_type);
        view.results = {flat};
        b_.emit(std::move(view));
        ValueId total = b_.var(Type::i64(), {}, 0.0, "sum");
        b_.for_range(b_.const_i64(0), b_.sub(count, b_.const_i64(1)), [&](ValueId i) {
          b_.store(total, b_.add(b_.load(total), b_.extract(flat, {i}, Type::i64())));
        });
        return b_.load(total);
      }
      ValueId s = sum_all(x);
      if (n == "mean") return b_.div(s, to_real(numel(x)));
      return s;
    }
    if ((n == "dot_product" || n == "squared_distance") && c.args.size() == 2) {
      ValueId a = arg(0), bv = arg(1);
      size_check(a, bv, c.span);
      bool dist = n == "squared_distance";
      return b_.map(true, {numel(a)}, {a, bv}, {Broadcast::Elementwise, Broadcast::Elementwise}, Type::f64(),
                    [&](const std::vector<ValueId>& x) {
                      ValueId u = to_real(x[0]), v = to_real(x[1]);
                      if (!dist) return b_.mul(u, v);
                      ValueId d = b_.sub(u, v);
                      return b_.mul(d, d);
                    });
    }
    if (n == "dot_self" && c.args.size() == 1) {
      ValueId a = arg(0);
      return b_.map(true, {numel(a)}, {a}, {Broadcast::Elementwise}, Type::f64(),
                    [&](const std::vector<ValueId>& x) { return b_.mul(x[0], x[0]); });
    }
    if ((n == "rep_vector" || n == "rep_row_vector" || n == "rep_array") && c.args.size() == 2 && c.type.array_dims <= 1) {
      ValueId x = arg(0);
      ValueId len = arg(1);
      Type t = ir_type(c.type);
      return b_.map(false, {len}, {x}, {Broadcast::Scalar}, t, [&](const std::vector<ValueId>& a) {
        return t.elem == Elem::F64 ? to_real(a[0]) : a[0];
      });
    }
    if ((n == "size" || n == "num_elements") && c.args.size() == 1) {
      ValueId x = arg(0);
      if (f_.type_of(x).rank() == 0) return b_.const_i64(1);
      return n == "size" ? b_.dim(x, 0) : numel(x);
    }
    if (n == "rows" && c.args.size() == 1) return b_.dim(arg(0), 0);
    if (n == "cols" && c.args.size() == 1) {
      ValueId x = arg(0);
      const Type t = f_.type_of(x);  // a copy: emitting ops grows the value table
      return t.elem_rank == 2 ? b_.dim(x, 1) : (t.row ? b_.dim(x, 0) : b_.const_i64(1));
    }
    if ((n == "max" || n == "min") && c.args.size() == 1) return reduce_loop(n, arg(0), c.span);
    if ((n == "max" || n == "min") && c.args.size() == 2) {
      ValueId a = arg(0), bv = arg(1);
      if (c.type.is_int())
        return b_.emit1(OpKind::Select, {b_.cmp(n == "max" ? CmpPred::Gt : CmpPred::Lt, a, bv), a, bv}, Type::i64());
      return b_.call(n == "max" ? "fmax" : "fmin", {to_real(a), to_real(bv)});
    }
    if (n == "log_mix" && c.args.size() == 3) return b_.call("log_mix", {to_real(arg(0)), to_real(arg(1)), to_real(arg(2))});
    if (n == "cholesky_decompose" && c.args.size() == 1) return kernel_call(n, {arg(0)}, c);
    if ((n == "qr_thin_Q" || n == "qr_thin_R" || n == "qr_Q" || n == "qr_R") && c.args.size() == 1)
      return kernel_call(n, {arg(0)}, c);
    if (n == "gp_exp_quad_cov" && c.args.size() == 3)
      return kernel_call(n, {arg(0), to_real(arg(1)), to_real(arg(2))}, c);
    if (n == "add_diag" && c.args.size() == 2) return add_diag(arg(0), to_real(arg(1)), c);
    if (n == "step" && c.args.size() == 1) {
      ValueId x = to_real(arg(0));
      return b_.emit1(OpKind::Select, {b_.cmp(CmpPred::Lt, x, b_.const_f64(0.0)), b_.const_f64(0.0), b_.const_f64(1.0)}, Type::f64());
    }
    if (n.size() > 4 && n.compare(n.size() - 4, 4, "_rng") == 0) return rng_call(c);
    for (const char* suffix : {"_lcdf", "_lccdf", "_cdf"}) {
      std::string sfx = suffix;
      if (n.size() <= sfx.size() || n.compare(n.size() - sfx.size(), sfx.size(), sfx) != 0) continue;
      std::vector<const ast::Expr*> dargs;
      bool any_container = false;
      for (const auto& a : c.args) {
        dargs.push_back(a.get());
        any_container = any_container || is_container(a->type);
      }
      // A vectorised _cdf is a product (Stan); the log forms sum like densities.
      // (the product as exp of the summed log cdfs)
      if (sfx == "_cdf" && any_container)
        return b_.call("exp", {log_density_term(n.substr(0, n.size() - 4), dargs, false, c.span, c.signature,
                                                n.substr(0, n.size() - 4) + "_lcdf")});
      return log_density_term(n.substr(0, n.size() - sfx.size()), dargs, false, c.span, c.signature, n);
    }
    if (n == "rep_matrix" && c.args.size() == 3 && c.args[0]->type.is_scalar()) {
      ValueId x = to_real(arg(0));
      Op& op = emit_map2(arg(1), arg(2), {x}, {Broadcast::Scalar}, MapResult::Elementwise, Type::matrix(),
                         [&](const std::vector<ValueId>& a) { return a[0]; });
      return op.results[0];
    }
    const std::string suffixes[] = {"_lpdf", "_lupdf", "_lpmf", "_lupmf"};
    for (const std::string& suffix : suffixes) {
      if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
        std::string family = n.substr(0, n.size() - suffix.size());
        bool drop = suffix == "_lupdf" || suffix == "_lupmf";
        std::vector<const ast::Expr*> dargs;
        for (const auto& a : c.args) dargs.push_back(a.get());
        return log_density_term(family, dargs, drop && propto_, c.span, c.signature);
      }
    }
    throw Unsupported(c.span, "the function '" + n + "' with these arguments");
  }

  // The GLM densities (Stan's *_glm): the base density of y with the linear predictor
  // eta = alpha + x * beta, one row of x per observation; y, alpha and the remaining
  // parameters broadcast over the rows when scalar. One matrix-vector map, one fused map_sum.
  ValueId glm_density(const std::string& family, const std::vector<const ast::Expr*>& args, bool propto, Span span) {
    static const std::map<std::string, std::string> base = {{"normal_id_glm", "normal_lpdf"},
                                                            {"bernoulli_logit_glm", "bernoulli_logit_lpmf"},
                                                            {"poisson_log_glm", "poisson_log_lpmf"},
                                                            {"neg_binomial_2_log_glm", "neg_binomial_2_log_lpmf"}};
    auto found = base.find(family);
    if (found == base.end()) throw Unsupported(span, "the density " + family);
    const bool discrete = family != "normal_id_glm";
    ValueId x = expr(*args[1]);
    ValueId beta = expr(*args[3]);
    ValueId rows = b_.dim(x, 0), cols = b_.dim(x, 1);
    size_check_dims(cols, b_.dim(beta, 0), span, family + ": x has {} columns but beta has {} elements");
    Op& mv = emit_map2(rows, cols, {x, beta}, {Broadcast::Elementwise, Broadcast::Rows}, MapResult::SumOverCols,
                       Type::vector(), [&](const std::vector<ValueId>& a) { return b_.mul(a[0], a[1]); });
    ValueId eta = mv.results[0];
    // Per-row inputs: y, alpha, then the extra parameters (sigma / phi).
    std::vector<const ast::Expr*> per_row = {args[0], args[2]};
    for (size_t k = 4; k < args.size(); ++k) per_row.push_back(args[k]);
    std::vector<ValueId> inputs = {eta};
    std::vector<Broadcast> bc = {Broadcast::Elementwise};
    for (const ast::Expr* a : per_row) {
      ValueId v = expr(*a);
      bool container = f_.type_of(v).rank() > 0;
      if (container) size_check_dims(numel(v), rows, span, family + ": an argument has {} elements but x has {} rows");
      inputs.push_back(v);
      bc.push_back(container ? Broadcast::Elementwise : Broadcast::Scalar);
    }
    // VARY flags of the base density (y, mu/alpha, extra): from the GLM's arguments.
    int flags = propto ? 1 : 0;
    if (depends_on_parameters(*args[0])) flags |= vary_flag(0);
    if (depends_on_parameters(*args[1]) || depends_on_parameters(*args[2]) || depends_on_parameters(*args[3]))
      flags |= vary_flag(1);
    for (size_t k = 4; k < args.size(); ++k)
      if (depends_on_parameters(*args[k])) flags |= vary_flag(static_cast<int>(k) - 2);
    return b_.map(true, {rows}, inputs, bc, Type::f64(), [&](const std::vector<ValueId>& a) {
      std::vector<ValueId> xs;
      xs.push_back(discrete ? a[1] : to_real(a[1]));           // y
      xs.push_back(b_.add(to_real(a[2]), a[0]));               // alpha + eta
      for (size_t k = 3; k < a.size(); ++k) xs.push_back(to_real(a[k]));
      return b_.dist(found->second, xs, flags, false)[0];
    });
  }

  // A multivariate density as one Kernel op (codegen knows the stdlib call; the Kernel's
  // reverse gives the partials). Vectorised forms (arrays of variates or of parameters) are
  // summed by the kernel's glue.
  ValueId container_density(const std::string& kernel, const std::vector<const ast::Expr*>& args, int flags,
                            Span span) {
    static const std::set<std::string> supported = {
        "categorical_lpmf",           "categorical_logit_lpmf", "dirichlet_lpdf",
        "multi_normal_lpdf",          "multi_normal_cholesky_lpdf", "lkj_corr_cholesky_lpdf",
        "normal_mixture_lpdf"};
    // Int scalars become real, except the variate of an _lpmf (categorical's or
    // ordered_logistic's y): every other scalar of these densities is real (lkj's eta and
    // wishart's nu written as 2 or 4).
    const bool mass = kernel.size() > 5 && kernel.compare(kernel.size() - 5, 5, "_lpmf") == 0;
    std::vector<ValueId> xs;
    for (size_t k = 0; k < args.size(); ++k) {
      ValueId v = expr(*args[k]);
      xs.push_back(args[k]->type.is_scalar() && !(mass && k == 0) ? to_real(v) : v);
    }
    if (!supported.count(kernel) && LibraryLowering::handles_density(kernel))
      return LibraryLowering(b_, static_cast<int>(span.begin_line)).density(kernel, xs, flags);
    if (!supported.count(kernel)) throw Unsupported(span, "the density " + kernel);
    ValueId r = b_.value(Type::f64());
    Op op = Op::make(OpKind::Kernel, xs, {r});
    op.name = kernel;
    op.i = flags;
    op.source_line = static_cast<int>(span.begin_line);
    b_.emit(std::move(op));
    return r;
  }

  // A container kernel call with one result of the call's type.
  ValueId kernel_call(const std::string& name, std::vector<ValueId> operands, const ast::Call& c) {
    ValueId r = b_.value(ir_type(c.type));
    Op op = Op::make(OpKind::Kernel, std::move(operands), {r});
    op.name = name;
    op.source_line = static_cast<int>(c.span.begin_line);
    b_.emit(std::move(op));
    return r;
  }

  // add_diag(A, d): a copy of A with d (a scalar or a vector) added to its diagonal.
  ValueId add_diag(ValueId A, ValueId d, const ast::Call& c) {
    ValueId rows = b_.dim(A, 0), cols = b_.dim(A, 1);
    ValueId out = b_.var(Type::matrix(), {rows, cols}, 0.0);
    b_.store(out, A);
    const bool vector_d = f_.type_of(d).rank() == 1;
    ValueId n = b_.emit1(OpKind::Select, {b_.cmp(CmpPred::Lt, rows, cols), rows, cols}, Type::i64());
    if (vector_d) size_check_dims(b_.dim(d, 0), n, c.span, "add_diag: the vector has {} elements but the diagonal {}");
    b_.for_range(b_.const_i64(0), b_.sub(n, b_.const_i64(1)), [&](ValueId i) {
      ValueId di = vector_d ? b_.extract(d, {i}, Type::f64()) : d;
      ValueId aii = b_.emit1(OpKind::LoadElem, {out, i, i}, Type::f64());
      b_.emit(Op::make(OpKind::StoreElem, {out, i, i, b_.add(aii, di)}));
    });
    return b_.load(out);
  }

  // family_rng(args...): one draw, or one per element when an argument is a container (Stan's
  // vectorised RNGs return an array).
  ValueId rng_call(const ast::Call& c) {
    if (rng_ == kNoValue) throw Unsupported(c.span, "random numbers outside transformed data and generated quantities");
    // Only univariate RNGs vectorise elementwise; a vector-valued parameter (categorical_rng's
    // theta, multi_normal_rng's mu) makes a multivariate draw.
    if (c.signature >= 0) {
      for (const semantic::ParamSpec& p : semantic::signature(c.signature).params) {
        bool scalar_class = takes_scalars(p);
        if (!scalar_class) throw Unsupported(c.span, "the multivariate random number generator " + c.name);
      }
    }
    bool discrete = c.type.base == BaseKind::Int;
    Type scalar_result = discrete ? Type::i64() : Type::f64();
    std::vector<ValueId> args;
    bool any_container = false;
    for (const auto& a : c.args) {
      args.push_back(expr(*a));
      any_container = any_container || f_.type_of(args.back()).rank() > 0;
    }
    auto draw = [&](std::vector<ValueId> xs) {
      for (size_t k = 0; k < xs.size(); ++k)
        if (c.args[k]->type.base != BaseKind::Int) xs[k] = to_real(xs[k]);
      xs.push_back(rng_);
      ValueId r = b_.value(scalar_result);
      Op op = Op::make(OpKind::CallRng, xs, {r});
      op.name = c.name;
      b_.emit(std::move(op));
      return r;
    };
    if (!any_container) return draw(args);
    std::vector<Broadcast> bc;
    ValueId shape = kNoValue;
    for (ValueId a : args) {
      bool container = f_.type_of(a).rank() > 0;
      bc.push_back(container ? Broadcast::Elementwise : Broadcast::Scalar);
      if (container) {
        if (shape == kNoValue) shape = a;
        else size_check(shape, a, c.span);
      }
    }
    std::vector<ValueId> inputs = args;
    inputs.push_back(rng_);
    bc.push_back(Broadcast::Scalar);
    Type result = ir_type(c.type);
    return b_.map(false, {numel(shape)}, inputs, bc, result, [&](const std::vector<ValueId>& a) {
      std::vector<ValueId> xs(a.begin(), a.end() - 1);
      ValueId saved = rng_;
      rng_ = a.back();
      ValueId r = draw(xs);
      rng_ = saved;
      return r;
    });
  }

  // max / min of a container, as a loop (log_sum_exp of a container is the stdlib kernel:
  // lower_functions.cpp).
  ValueId reduce_loop(const std::string& n, ValueId x, Span span) {
    ValueId count = numel(x);
    Op check = Op::make(OpKind::Check, {b_.cmp(CmpPred::Gt, count, b_.const_i64(0))});
    check.check = CheckKind::Domain;
    check.text = n + " of an empty container (line " + std::to_string(span.begin_line) + ")";
    b_.emit(std::move(check));
    bool real = f_.type_of(x).elem == Elem::F64;
    Type et = real ? Type::f64() : Type::i64();
    ValueId flat = x;
    if (f_.type_of(x).rank() > 1) {
      Op view = Op::make(OpKind::View, {x, b_.const_i64(0), count});
      Type vt = Type::vector();
      vt.elem = et.elem;
      ValueId v = b_.value(vt);
      view.results = {v};
      b_.emit(std::move(view));
      flat = v;
    }
    ValueId best = b_.var(et, {}, 0.0);
    b_.store(best, b_.extract(flat, {b_.const_i64(0)}, et));
    b_.for_range(b_.const_i64(1), b_.sub(count, b_.const_i64(1)), [&](ValueId i) {
      ValueId xi = b_.extract(flat, {i}, et);
      ValueId cur = b_.load(best);
      if (n == "min") b_.store(best, b_.emit1(OpKind::Select, {b_.cmp(CmpPred::Lt, xi, cur), xi, cur}, et));
      else b_.store(best, b_.emit1(OpKind::Select, {b_.cmp(CmpPred::Gt, xi, cur), xi, cur}, et));
    });
    return b_.load(best);
  }

 public:
  // A log density term `family(variate | args)` summed over its elements, vectorised with
  // broadcasting like Stan's, in one fused map when any argument is a container.
  // `kernel` overrides the stdlib function (the log cdfs: summed over elements like densities).
  ValueId log_density_term(const std::string& family, const std::vector<const ast::Expr*>& args,
                           bool propto, Span span, int signature, const std::string& kernel_name = "") {
    // Discrete by the signature chosen (an int variate may meet a continuous density: 4 ~ normal).
    bool discrete = !args.empty() && (args[0]->type.base == BaseKind::Int);
    if (signature >= 0) {
      semantic::SigKind kind = semantic::signature(signature).kind;
      discrete = kind == semantic::SigKind::Lpmf || kind == semantic::SigKind::Lupmf;
      if (kind == semantic::SigKind::Cdf || kind == semantic::SigKind::Lcdf || kind == semantic::SigKind::Lccdf)
        discrete = !args.empty() && args[0]->type.base == BaseKind::Int && !semantic::signature(signature).params.empty() &&
                   semantic::signature(signature).params[0].cls == semantic::ParamClass::Ints;
    }
    std::string kernel = !kernel_name.empty() ? kernel_name : family + (discrete ? "_lpmf" : "_lpdf");
    // Which kernel arguments are ints (the rest are doubles), from the signature table; a
    // parameter that is neither a vectorised scalar class nor a scalar type makes this a
    // multivariate density (one container kernel call, not an elementwise map).
    std::vector<bool> int_arg(args.size(), false);
    bool multivariate = false;
    if (signature >= 0) {
      const semantic::Signature& sig = semantic::signature(signature);
      for (size_t k = 0; k < args.size() && k < sig.params.size(); ++k) {
        const semantic::ParamSpec& p = sig.params[k];
        int_arg[k] = p.cls == semantic::ParamClass::Ints ||
                     (p.cls == semantic::ParamClass::Type && p.base == BaseKind::Int);
        bool scalar_class = takes_scalars(p);
        multivariate = multivariate || !scalar_class;
      }
    } else if (discrete) {
      int_arg[0] = true;
    }
    int flags = propto ? 1 : 0;
    for (size_t k = 0; k < args.size(); ++k)
      if (depends_on_parameters(*args[k])) flags |= 1 << (k + 1);
    if (family.size() > 4 && family.compare(family.size() - 4, 4, "_glm") == 0 && kernel_name.empty())
      return glm_density(family, args, propto, span);
    if (multivariate) return container_density(kernel, args, flags, span);
    bool any_container = false;
    for (const ast::Expr* a : args) any_container = any_container || is_container(a->type);
    if (!any_container) {
      std::vector<ValueId> xs;
      for (size_t k = 0; k < args.size(); ++k) {
        ValueId v = expr(*args[k]);
        xs.push_back(int_arg[k] ? v : to_real(v));
      }
      return b_.dist(kernel, xs, flags, false)[0];
    }
    std::vector<ValueId> leaves;
    std::vector<Broadcast> bc;
    std::map<const ast::Expr*, size_t> leaf_index;
    for (const ast::Expr* a : args) collect_leaves(*a, leaves, bc, leaf_index);
    ValueId shape = kNoValue;
    for (size_t k = 0; k < leaves.size(); ++k)
      if (bc[k] == Broadcast::Elementwise) {
        if (shape == kNoValue) shape = leaves[k];
        else size_check(shape, leaves[k], span);
      }
    ValueId n = numel(shape);
    return b_.map(true, {n}, leaves, bc, Type::f64(), [&](const std::vector<ValueId>& a) {
      std::vector<ValueId> xs;
      for (size_t k = 0; k < args.size(); ++k) {
        ValueId v = element(*args[k], a, leaf_index, !int_arg[k]);
        xs.push_back(int_arg[k] ? v : to_real(v));
      }
      return b_.dist(kernel, xs, flags, false)[0];
    });
  }

 private:
  ValueId scalar_arg(ValueId v, const ast::Expr& e) { return e.type.base == BaseKind::Int ? v : to_real(v); }

  // Whether an expression may depend on parameters (for Stan's propto: terms that depend only
  // on data are dropped). Conservative: anything not data, transformed data or a literal.
  static bool depends_on_parameters(const ast::Expr& e) {
    switch (e.kind) {
      case ExprKind::IntLit:
      case ExprKind::RealLit: return false;
      case ExprKind::Variable: {
        ast::Origin o = static_cast<const ast::Variable&>(e).origin;
        return !(o == ast::Origin::Data || o == ast::Origin::TransformedData);
      }
      default: {
        // net(x): the network's weights are parameters, whatever x is.
        if (e.kind == ExprKind::Call && static_cast<const ast::Call&>(e).resolved.rfind("network ", 0) == 0) return true;
        bool any = false;
        for_each_any_child(e, [&](const ast::Expr& c) { any = any || depends_on_parameters(c); });
        return any;
      }
    }
  }
 public:
  static void for_each_any_child(const ast::Expr& e, const std::function<void(const ast::Expr&)>& fn) {
    switch (e.kind) {
      case ExprKind::Unary: fn(*static_cast<const ast::Unary&>(e).operand); break;
      case ExprKind::Binary:
        fn(*static_cast<const ast::Binary&>(e).lhs);
        fn(*static_cast<const ast::Binary&>(e).rhs);
        break;
      case ExprKind::Call:
        for (const auto& a : static_cast<const ast::Call&>(e).args) fn(*a);
        break;
      case ExprKind::Conditional: {
        const auto& c = static_cast<const ast::Conditional&>(e);
        fn(*c.cond);
        fn(*c.then_expr);
        fn(*c.else_expr);
        break;
      }
      case ExprKind::Index: {
        const auto& i = static_cast<const ast::Index&>(e);
        fn(*i.base);
        for (const auto& item : i.indices) {
          if (item.lo) fn(*item.lo);
          if (item.hi) fn(*item.hi);
        }
        break;
      }
      case ExprKind::Member: fn(*static_cast<const ast::Member&>(e).base); break;
      case ExprKind::Transpose: fn(*static_cast<const ast::Transpose&>(e).operand); break;
      case ExprKind::ArrayLit:
        for (const auto& x : static_cast<const ast::ArrayLit&>(e).elements) fn(*x);
        break;
      case ExprKind::RowVectorLit:
        for (const auto& x : static_cast<const ast::RowVectorLit&>(e).elements) fn(*x);
        break;
      default: break;
    }
  }

 private:
  // y ~ dist(...) T[L, U] (Stan reference manual, "Truncated distributions"): the density
  // divided by the mass inside [L, U], and -inf when y lies outside. For discrete y the mass
  // counts L itself: P(L <= y) = ccdf(L - 1). The normaliser is kept under propto (it depends
  // on the parameters, as in Stan).
  void truncated_tilde(const ast::Tilde& t) {
    if (is_container(t.lhs->type))
      throw Unsupported(t.span, "truncation of a container (write a loop over its elements)");
    for (const auto& a : t.args)
      if (is_container(a->type)) throw Unsupported(a->span, "truncation with container arguments");
    std::vector<const ast::Expr*> args = {t.lhs.get()};
    for (const auto& a : t.args) args.push_back(a.get());
    ValueId lp = log_density_term(t.distribution, args, propto_, t.span, t.signature);
    const bool discrete = t.signature >= 0 ? semantic::signature(t.signature).kind == semantic::SigKind::Lpmf
                                           : t.lhs->type.base == BaseKind::Int;
    std::vector<bool> int_arg(args.size(), false);
    if (t.signature >= 0) {
      const semantic::Signature& sig = semantic::signature(t.signature);
      for (size_t k = 0; k < args.size() && k < sig.params.size(); ++k) {
        const semantic::ParamSpec& p = sig.params[k];
        int_arg[k] = p.cls == semantic::ParamClass::Ints ||
                     (p.cls == semantic::ParamClass::Type && p.base == BaseKind::Int);
      }
    }
    std::vector<ValueId> params;
    for (size_t k = 1; k < args.size(); ++k) {
      ValueId v = expr(*args[k]);
      params.push_back(int_arg[k] ? v : to_real(v));
    }
    ValueId y = expr(*t.lhs);
    auto bound = [&](const ast::Expr& e, bool lower) {
      ValueId v = expr(e);
      if (discrete) return lower ? b_.sub(v, b_.const_i64(1)) : v;
      return to_real(v);
    };
    auto log_cdf = [&](const std::string& suffix, ValueId at) {
      std::vector<ValueId> xs = {at};
      xs.insert(xs.end(), params.begin(), params.end());
      return b_.dist(t.distribution + suffix, xs, 0, false)[0];
    };
    ValueId yv = discrete ? y : to_real(y);
    auto as_variate = [&](ValueId v) { return discrete ? v : to_real(v); };
    ValueId outside, log_mass;
    if (t.truncation_lo && t.truncation_hi) {
      ValueId lo = bound(*t.truncation_lo, true), hi = bound(*t.truncation_hi, false);
      ValueId lo_y = expr(*t.truncation_lo);
      outside = b_.emit1(OpKind::Or, {b_.cmp(CmpPred::Lt, yv, as_variate(lo_y)), b_.cmp(CmpPred::Gt, yv, hi)},
                         Type::boolean());
      log_mass = b_.call("log_diff_exp", {log_cdf("_lcdf", hi), log_cdf("_lcdf", lo)});
    } else if (t.truncation_lo) {
      ValueId lo_y = expr(*t.truncation_lo);
      outside = b_.cmp(CmpPred::Lt, yv, as_variate(lo_y));
      log_mass = log_cdf("_lccdf", bound(*t.truncation_lo, true));
    } else {
      ValueId hi = bound(*t.truncation_hi, false);
      outside = b_.cmp(CmpPred::Gt, yv, hi);
      log_mass = log_cdf("_lcdf", hi);
    }
    ValueId term = b_.emit1(OpKind::Select, {outside, b_.const_f64(-HUGE_VAL), b_.sub(lp, log_mass)}, Type::f64());
    bool batched = false;
    for (const ast::Expr* a : args) batched = batched || batched_expr(*a);
    add_to_target(t.span, term, batched);
  }

  void tilde(const ast::Tilde& t) {
    if (t.truncated) return truncated_tilde(t);
    if (t.lhs->type.base == BaseKind::Network || t.lhs->type.base == BaseKind::Layer) {
      // A prior on every weight and bias: one map per tensor, scalar arguments broadcast.
      std::string kernel = t.distribution + "_lpdf";
      int flags = (propto_ ? 1 : 0) | 2;
      std::vector<ValueId> scalars;
      for (size_t k = 0; k < t.args.size(); ++k) {
        scalars.push_back(to_real(expr(*t.args[k])));
        if (depends_on_parameters(*t.args[k])) flags |= 1 << (k + 2);
      }
      std::vector<ValueId> tensors = network_tensors(*t.lhs);
      if (t.lhs->kind == ExprKind::Variable) {
        const Binding& bnd = lookup(static_cast<const ast::Variable&>(*t.lhs).name, t.lhs->span);
        if (bnd.kind == Binding::Kind::Network && bnd.network.all != kNoValue) tensors = {bnd.network.all};
      }
      for (ValueId w : tensors) {
        std::vector<ValueId> inputs = {w};
        std::vector<Broadcast> bc = {Broadcast::Elementwise};
        for (ValueId s : scalars) {
          inputs.push_back(s);
          bc.push_back(Broadcast::Scalar);
        }
        ValueId lp = b_.map(true, {numel(w)}, inputs, bc, Type::f64(), [&](const std::vector<ValueId>& a) {
          return b_.dist(kernel, a, flags, false)[0];
        });
        b_.accumulate(target(t.span), lp);
      }
      return;
    }
    std::vector<const ast::Expr*> args = {t.lhs.get()};
    for (const auto& a : t.args) args.push_back(a.get());
    bool batched = false;
    for (const ast::Expr* a : args) batched = batched || batched_expr(*a);
    if (t.user_function) {
      add_to_target(t.span, inline_function(*t.user_function, args, t.span), batched);
      return;
    }
    ValueId lp = log_density_term(t.distribution, args, propto_, t.span, t.signature);
    add_to_target(t.span, lp, batched);
  }

  void assign(const ast::Assign& a) {
    const ast::Expr* lhs = a.lhs.get();
    if (batched_expr(*a.rhs)) {
      const ast::Expr* root = lhs;
      while (root->kind == ExprKind::Index) root = static_cast<const ast::Index*>(root)->base.get();
      if (root->kind == ExprKind::Variable) batched_names_.insert(static_cast<const ast::Variable*>(root)->name);
    }
    if (lhs->kind == ExprKind::Variable) {
      const auto& v = static_cast<const ast::Variable&>(*lhs);
      const Binding& bnd = lookup(v.name, v.span);
      if (bnd.kind != Binding::Kind::Ref) throw Unsupported(a.span, "assignment to '" + v.name + "' here");
      ValueId value = compound_value(a, [&] { return b_.load(bnd.id); });
      b_.store(bnd.id, value);
      return;
    }
    if (lhs->kind == ExprKind::Index && static_cast<const ast::Index&>(*lhs).base->kind == ExprKind::Index)
      return assign_nested_index(a);
    if (lhs->kind == ExprKind::Index) {
      const auto& ix = static_cast<const ast::Index&>(*lhs);
      if (ix.base->kind != ExprKind::Variable) throw Unsupported(a.span, "assignment to a nested index");
      for (const auto& item : ix.indices)
        if (item.kind == ast::IndexItem::Kind::Single && !item.lo->type.is_int()) return assign_multi_index(a);
      const auto& v = static_cast<const ast::Variable&>(*ix.base);
      const Binding& bnd = lookup(v.name, v.span);
      if (bnd.kind != Binding::Kind::Ref) throw Unsupported(a.span, "assignment to '" + v.name + "' here");
      bool all_single = true;
      for (const auto& item : ix.indices) all_single = all_single && item.kind == ast::IndexItem::Kind::Single;
      if (!all_single) {
        if (a.op != ast::AssignOp::Assign) throw Unsupported(a.span, "compound assignment to a slice");
        ValueId value = convert_to(expr(*a.rhs), a.rhs->type, ix.type, a.span);
        Op st = Op::make(OpKind::StoreSlice, {bnd.id});
        st.i = slice_ranges(ix, bnd.id, v.name, st.operands);
        if (f_.type_of(value).rank() == 0) throw Unsupported(a.span, "assigning a scalar to a slice");
        st.operands.push_back(value);
        st.source_line = line_;
        b_.emit(std::move(st));
        return;
      }
      std::vector<ValueId> idx = checked_indices(ix, bnd.id, v.name);
      ValueId value = compound_value(a, [&] {
        std::vector<ValueId> ops = {bnd.id};
        ops.insert(ops.end(), idx.begin(), idx.end());
        return b_.emit1(OpKind::LoadElem, ops, ir_type(ix.type));
      });
      Op st = Op::make(OpKind::StoreElem, {bnd.id});
      st.operands.insert(st.operands.end(), idx.begin(), idx.end());
      st.operands.push_back(value);
      st.source_line = line_;
      b_.emit(std::move(st));
      return;
    }
    throw Unsupported(a.span, "this assignment");
  }

  // w[i][j] = ... with single indices throughout: the same as w[i, j].
  void assign_nested_index(const ast::Assign& a) {
    std::vector<const ast::IndexItem*> items;
    const ast::Expr* e = a.lhs.get();
    std::vector<const ast::Index*> chain;
    while (e->kind == ExprKind::Index) {
      chain.push_back(static_cast<const ast::Index*>(e));
      e = chain.back()->base.get();
    }
    if (e->kind != ExprKind::Variable) throw Unsupported(a.span, "assignment to a nested index");
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      for (const auto& item : (*it)->indices) {
        if (item.kind != ast::IndexItem::Kind::Single || !item.lo->type.is_int())
          throw Unsupported(item.span, "assignment through nested indexes other than single indexes");
        items.push_back(&item);
      }
    const auto& v = static_cast<const ast::Variable&>(*e);
    const Binding& bnd = lookup(v.name, v.span);
    if (bnd.kind != Binding::Kind::Ref) throw Unsupported(a.span, "assignment to '" + v.name + "' here");
    std::vector<ValueId> idx;
    for (size_t k = 0; k < items.size(); ++k) {
      ValueId i = b_.sub(expr(*items[k]->lo), b_.const_i64(1));
      Op check = Op::make(OpKind::Check, {i, b_.dim(bnd.id, static_cast<int>(k))});
      check.check = CheckKind::IndexBounds;
      check.text = "index {} out of range for '" + v.name + "'" +
                   (items.size() > 1 ? " in dimension " + std::to_string(k + 1) : "") + " of size {} (line " +
                   std::to_string(a.span.begin_line) + ")";
      b_.emit(std::move(check));
      idx.push_back(i);
    }
    ValueId value = compound_value(a, [&] {
      std::vector<ValueId> ops = {bnd.id};
      ops.insert(ops.end(), idx.begin(), idx.end());
      return b_.emit1(OpKind::LoadElem, ops, ir_type(a.lhs->type));
    });
    Op st = Op::make(OpKind::StoreElem, {bnd.id});
    st.operands.insert(st.operands.end(), idx.begin(), idx.end());
    st.operands.push_back(value);
    st.source_line = line_;
    b_.emit(std::move(st));
  }

  // x[idx, ...] = value with a multi-index somewhere: a scatter, element by element (the
  // mirror of multi_index); every index is bounds-checked, sizes must agree.
  void assign_multi_index(const ast::Assign& a) {
    if (a.op != ast::AssignOp::Assign) throw Unsupported(a.span, "compound assignment through a multi-index");
    const auto& ix = static_cast<const ast::Index&>(*a.lhs);
    const auto& var = static_cast<const ast::Variable&>(*ix.base);
    const Binding& bnd = lookup(var.name, var.span);
    if (bnd.kind != Binding::Kind::Ref) throw Unsupported(a.span, "assignment to '" + var.name + "' here");
    ValueId value = convert_to(expr(*a.rhs), a.rhs->type, ix.type, a.span);
    const Type bt = f_.type_of(bnd.id).value_type();
    ValueId zero = b_.const_i64(0), one = b_.const_i64(1);
    struct Axis {
      int kind = 0;  // 0 single, 1 multi, 2 range
      ValueId value = kNoValue, len = kNoValue, size = kNoValue;
    };
    std::vector<Axis> axes(static_cast<size_t>(bt.rank()));
    for (size_t k = 0; k < axes.size(); ++k) {
      Axis& ax = axes[k];
      ax.size = b_.dim(bnd.id, static_cast<int>(k));
      const ast::IndexItem* item = k < ix.indices.size() ? &ix.indices[k] : nullptr;
      if (!item || item->kind == ast::IndexItem::Kind::All) {
        ax.kind = 2;
        ax.value = zero;
        ax.len = ax.size;
      } else if (item->kind == ast::IndexItem::Kind::Single && item->lo->type.is_int()) {
        ax.value = b_.sub(expr(*item->lo), one);
      } else if (item->kind == ast::IndexItem::Kind::Single) {
        ax.kind = 1;
        ax.value = expr(*item->lo);
        ax.len = b_.dim(ax.value, 0);
      } else {
        ax.kind = 2;
        ax.value = item->lo ? b_.sub(expr(*item->lo), one) : zero;
        ValueId hi = item->hi ? expr(*item->hi) : ax.size;
        ValueId len = b_.sub(hi, ax.value);
        ax.len = b_.emit1(OpKind::Select, {b_.cmp(CmpPred::Gt, len, zero), len, zero}, Type::i64());
      }
    }
    int kept = 0;
    for (const Axis& ax : axes)
      if (ax.kind != 0) {
        size_check_dims(b_.dim(value, kept), ax.len, a.span, "assignment: the right side has size {} where the indexes select {}");
        ++kept;
      }
    const Type scalar = bt.elem == Elem::F64 ? Type::f64() : Type::i64();
    std::vector<ValueId> dest(axes.size()), src;
    std::function<void(size_t)> loop = [&](size_t k) {
      if (k == axes.size()) {
        std::vector<ValueId> store = {bnd.id};
        store.insert(store.end(), dest.begin(), dest.end());
        store.push_back(b_.extract(value, src, scalar));
        b_.emit(Op::make(OpKind::StoreElem, store));
        return;
      }
      const Axis& ax = axes[k];
      auto checked = [&](ValueId i) {
        Op check = Op::make(OpKind::Check, {i, ax.size});
        check.check = CheckKind::IndexBounds;
        check.text = "index {} out of range for '" + var.name + "'" +
                     (axes.size() > 1 ? " in dimension " + std::to_string(k + 1) : "") + " of size {} (line " +
                     std::to_string(a.span.begin_line) + ")";
        b_.emit(std::move(check));
        return i;
      };
      if (ax.kind == 0) {
        dest[k] = checked(ax.value);
        loop(k + 1);
        return;
      }
      b_.for_range(zero, b_.sub(ax.len, one), [&](ValueId i) {
        dest[k] = checked(ax.kind == 1 ? b_.sub(b_.extract(ax.value, {i}, Type::i64()), one) : b_.add(ax.value, i));
        src.push_back(i);
        loop(k + 1);
        src.pop_back();
      });
    };
    loop(0);
  }

  // The value to store: the right-hand side, or `old op rhs` for compound assignment.
  ValueId compound_value(const ast::Assign& a, const std::function<ValueId()>& old) {
    const ast::Type& lt = a.lhs->type;
    if (a.op == ast::AssignOp::Assign) return convert_to(expr(*a.rhs), a.rhs->type, lt, a.span);
    ast::BinaryOp op;
    switch (a.op) {
      case ast::AssignOp::AddAssign: op = ast::BinaryOp::Add; break;
      case ast::AssignOp::SubAssign: op = ast::BinaryOp::Sub; break;
      case ast::AssignOp::MulAssign: op = ast::BinaryOp::Mul; break;
      case ast::AssignOp::DivAssign: op = ast::BinaryOp::Div; break;
      case ast::AssignOp::EltMulAssign: op = ast::BinaryOp::EltMul; break;
      default: op = ast::BinaryOp::EltDiv; break;
    }
    ValueId l = old();
    ValueId r = expr(*a.rhs);
    if (!is_container(lt) && !is_container(a.rhs->type)) {
      ValueId v = scalar_binary(op, l, r, a.span);
      return lt.is_real() ? to_real(v) : v;
    }
    if (op == ast::BinaryOp::Mul && is_container(a.rhs->type) && is_container(lt))
      throw Unsupported(a.span, "*= with a container on the right");
    std::vector<ValueId> inputs = {l, r};
    std::vector<Broadcast> bc = {Broadcast::Elementwise,
                                 f_.type_of(r).rank() == 0 ? Broadcast::Scalar : Broadcast::Elementwise};
    if (bc[1] == Broadcast::Elementwise) size_check(l, r, a.span);
    return b_.map(false, {numel(l)}, inputs, bc, ir_type(lt), [&](const std::vector<ValueId>& x) {
      return scalar_binary(op, x[0], x[1], a.span);
    });
  }

  void for_range(const ast::ForRange& f) {
    ValueId lo = expr(*f.lo), hi = expr(*f.hi);
    if (batched_expr(*f.lo) || batched_expr(*f.hi)) batched_names_.insert(f.variable);
    LoopFrame frame = new_loop_frame(*f.body);
    b_.for_range(lo, hi, [&](ValueId i) {
      loop_body(*f.body, [&] {
        ast::Type it;
        it.base = BaseKind::Int;
        bind_value(f.variable, i, it);
      }, frame);
    });
  }

  void for_each(const ast::ForEach& f) {
    ValueId c = expr(*f.container);
    const Type ct = f_.type_of(c);  // a copy: emitting ops grows the value table
    ValueId n = ct.array_rank > 0 ? b_.dim(c, 0) : numel(c);
    LoopFrame frame = new_loop_frame(*f.body);
    b_.for_range(b_.const_i64(0), b_.sub(n, b_.const_i64(1)), [&](ValueId i) {
      loop_body(*f.body, [&] { bind_each_element(f, c, ct, n, i); }, frame);
    });
  }
  void bind_each_element(const ast::ForEach& f, ValueId c, const Type& ct, ValueId n, ValueId i) {
    {
      ValueId elem;
      if (ct.array_rank > 0) {
        Type et = ct;
        et.array_rank = static_cast<uint8_t>(ct.array_rank - 1);
        elem = b_.extract(c, {i}, et);
      } else {
        ValueId flat = c;
        if (ct.rank() > 1) {
          Op view = Op::make(OpKind::View, {c, b_.const_i64(0), n});
          flat = b_.value(Type::vector());
          view.results = {flat};
          b_.emit(std::move(view));
        }
        elem = b_.extract(flat, {i}, Type::f64());
      }
      bind_value(f.variable, elem, f.variable_type);
    }
  }

  void print_like(const ast::PrintLike& p) {
    std::string text;
    std::vector<ValueId> values;
    for (const auto& item : p.items) {
      if (item.text) {
        for (char c : *item.text) text += c == '{' ? std::string("{{") : std::string(1, c);  // a literal brace
        continue;
      }
      ValueId v = expr(*item.expr);
      const Type t = f_.type_of(v);  // a copy: emitting ops grows the value table
      if (t.rank() == 0) {
        text += "{}";
        values.push_back(v);
        continue;
      }
      // A container: hole {R} (R = rank) takes R dims, then the elements row-major (outer
      // index first), printed as Stan does: [[1,2],[3,4]].
      text += "{" + std::to_string(t.rank()) + "}";
      std::vector<ValueId> dims;
      for (int k = 0; k < t.rank(); ++k) dims.push_back(b_.dim(v, k));
      values.insert(values.end(), dims.begin(), dims.end());
      ValueId out = b_.var(Type::vector(), {numel(v)}, 0.0, "print");
      std::vector<ValueId> idx(dims.size());
      std::function<void(size_t, ValueId)> loop = [&](size_t k, ValueId position) {
        if (k == dims.size()) {
          ValueId x = to_real(b_.extract(v, idx, t.elem == Elem::F64 ? Type::f64() : Type::i64()));
          b_.emit(Op::make(OpKind::StoreElem, {out, position, x}));
          return;
        }
        b_.for_range(b_.const_i64(0), b_.sub(dims[k], b_.const_i64(1)), [&](ValueId i) {
          idx[k] = i;
          loop(k + 1, b_.add(b_.mul(position, dims[k]), i));
        });
      };
      loop(0, b_.const_i64(0));
      values.push_back(b_.load(out));
    }
    Op op = Op::make(p.kind == StmtKind::Print ? OpKind::Print : OpKind::Reject, values);
    op.text = text;
    b_.emit(std::move(op));
  }

  Function& f_;
  Builder b_;
  bool propto_;
  ValueId target_ = kNoValue;
  ValueId rng_ = kNoValue;
  std::vector<std::map<std::string, Binding>> scopes_{1};
  std::set<std::string> assigned_names_;
  int line_ = 0;
};

// ------------------------------------------------------------------------------------------
// Parameters: reading theta and the constraining transforms.

struct ParamInfo {
  const ast::VarDecl* decl = nullptr;
  // A network tensor instead of a declared variable: layer `layer` (0-based), W or b.
  const ast::NetworkDecl* network = nullptr;
  size_t layer = 0;
  bool bias = false;
  std::string name;  // the reported name: the variable's, or "net.layer1.W"
  std::string constraint;  // "", lower, upper, lower_upper, offset_multiplier
  const ast::Expr* lower = nullptr;
  const ast::Expr* upper = nullptr;
  const ast::Expr* offset = nullptr;
  const ast::Expr* multiplier = nullptr;
};

ParamInfo param_info(const ast::VarDecl& d) {
  ParamInfo p;
  p.decl = &d;
  p.name = d.name;
  for (const auto& c : d.type.constraints) {
    if (c.key == "lower") p.lower = c.value.get();
    if (c.key == "upper") p.upper = c.value.get();
    if (c.key == "offset") p.offset = c.value.get();
    if (c.key == "multiplier") p.multiplier = c.value.get();
  }
  if (p.lower && p.upper) p.constraint = "lower_upper";
  else if (p.lower) p.constraint = "lower";
  else if (p.upper) p.constraint = "upper";
  else if (p.offset || p.multiplier) p.constraint = "offset_multiplier";
  return p;
}

class ModelLowerer {
 public:
  ModelLowerer(const ast::Program& p, const std::string& name, Diagnostics& diags)
      : program_(p), name_(name), diags_(diags) {}

  std::optional<LoweredModel> run() {
    try {
      collect();
      find_hoistable();
      LoweredModel out;
      out.layout = layout_;
      out.module.model_name = name_;
      out.module.functions.push_back(data_function());
      out.module.functions.push_back(sizes_function());
      out.module.functions.push_back(log_density_function(false));
      out.module.functions.push_back(log_density_function(true));
      if (!layout_.batch_dimension.empty()) out.module.functions.push_back(log_density_function(false, true));
      out.module.functions.push_back(prior_draw_function());
      out.module.functions.push_back(constrain_function());
      out.module.functions.push_back(unconstrain_function());
      out.module.functions.push_back(generated_quantities_function());
      return out;
    } catch (const Unsupported& u) {
      auto& d = diags_.error(u.span, std::string("not supported by the back end yet: ") + u.what());
      d.hint = "haloc --check accepts the program; code generation for this construct is still being built";
      return std::nullopt;
    }
  }

 private:
  static VariableLayout layout_of(const ast::VarDecl& d, const std::string& constraint) {
    VariableLayout v;
    v.name = d.name;
    ast::Type t = FunctionLowerer::declared_type(d);
    Type it = ir_type(t);
    v.elem = it.elem;
    v.array_rank = it.array_rank;
    v.elem_rank = it.elem_rank;
    v.row = it.row;
    v.constraint = constraint;
    return v;
  }

  void collect() {
    layout_.name = name_;
    for (const auto& block : program_.blocks) {
      for (const auto& item : block.items) {
        if (item->kind == StmtKind::NetworkDecl) {
          const auto& n = static_cast<const ast::NetworkDecl&>(*item);
          size_t layers = n.widths.size() - 1;
          for (size_t k = 0; k < layers; ++k) {
            for (bool bias : {false, true}) {
              ParamInfo p;
              p.network = &n;
              p.layer = k;
              p.bias = bias;
              p.name = n.name + ".layer" + std::to_string(k + 1) + (bias ? ".b" : ".W");
              params_.push_back(p);
              VariableLayout v;
              v.name = p.name;
              v.elem_rank = bias ? 1 : 2;
              layout_.parameters.push_back(v);
            }
          }
          continue;
        }
        if (item->kind != StmtKind::VarDecl) continue;
        const auto& d = static_cast<const ast::VarDecl&>(*item);
        switch (block.kind) {
          case ast::BlockKind::Data:
            data_.push_back(&d);
            layout_.data.push_back(layout_of(d, ""));
            if (d.batch) layout_.batch_dimension = d.name;
            break;
          case ast::BlockKind::TransformedData:
            tdata_.push_back(&d);
            layout_.transformed_data.push_back(layout_of(d, ""));
            break;
          case ast::BlockKind::Parameters: {
            ParamInfo p = param_info(d);
            switch (d.type.element) {
              case ast::ElementKind::Real:
              case ast::ElementKind::Vector:
              case ast::ElementKind::RowVector:
              case ast::ElementKind::Matrix: break;
              case ast::ElementKind::Ordered: p.constraint = "ordered"; break;
              case ast::ElementKind::PositiveOrdered: p.constraint = "positive_ordered"; break;
              case ast::ElementKind::Simplex: p.constraint = "simplex"; break;
              case ast::ElementKind::UnitVector: p.constraint = "unit_vector"; break;
              case ast::ElementKind::SumToZeroVector: p.constraint = "sum_to_zero"; break;
              case ast::ElementKind::CholeskyFactorCorr: p.constraint = "cholesky_factor_corr"; break;
              case ast::ElementKind::CholeskyFactorCov: p.constraint = "cholesky_factor_cov"; break;
              case ast::ElementKind::CorrMatrix: p.constraint = "corr_matrix"; break;
              case ast::ElementKind::CovMatrix: p.constraint = "cov_matrix"; break;
              default: throw Unsupported(d.type.span, std::string("parameters of type ") + ast::to_string(d.type.element));
            }
            params_.push_back(p);
            layout_.parameters.push_back(layout_of(d, p.constraint));
            break;
          }
          case ast::BlockKind::TransformedParameters:
            tparams_.push_back(&d);
            layout_.transformed_parameters.push_back(layout_of(d, ""));
            break;
          case ast::BlockKind::GeneratedQuantities:
            gqs_.push_back(&d);
            layout_.generated_quantities.push_back(layout_of(d, ""));
            break;
          default: break;
        }
      }
    }
  }

  const ast::ProgramBlock* block(ast::BlockKind k) const { return program_.block(k); }

  // Binds data (and transformed data) to parameters of `f` starting at `first`.
  // ---- data-only code hoisted to load time ----
  // Maximal subexpressions of the transformed parameters and model blocks that depend only on
  // data and transformed data and compute on containers (log(y), X' * w, sum(x) ...) are
  // evaluated once by `data` and passed to every entry as hidden transformed data. Only
  // top-level statements are searched (not branches or loops), so no expression is evaluated
  // that the program would not evaluate on every call.
  static bool data_only(const ast::Expr& e) {
    switch (e.kind) {
      case ExprKind::IntLit:
      case ExprKind::RealLit: return true;
      case ExprKind::Variable: {
        ast::Origin o = static_cast<const ast::Variable&>(e).origin;
        return o == ast::Origin::Data || o == ast::Origin::TransformedData;
      }
      case ExprKind::Member: return false;
      case ExprKind::Call: {
        const auto& c = static_cast<const ast::Call&>(e);
        // Built-in functions only (not networks or user functions), without randomness.
        if (c.user_function || !semantic::is_builtin_function(c.name) || c.name == "target" ||
            (c.name.size() > 4 && c.name.compare(c.name.size() - 4, 4, "_rng") == 0))
          return false;
        break;
      }
      default: break;
    }
    bool all = true;
    FunctionLowerer::for_each_any_child(e, [&](const ast::Expr& c) { all = all && data_only(c); });
    return all;
  }
  static bool worth_hoisting(const ast::Expr& e) {
    if (e.kind == ExprKind::Variable || e.kind == ExprKind::IntLit || e.kind == ExprKind::RealLit) return false;
    if (e.kind == ExprKind::Index) {
      bool single = true;
      for (const auto& item : static_cast<const ast::Index&>(e).indices)
        single = single && item.kind == ast::IndexItem::Kind::Single && item.lo->type.is_int();
      if (single) return false;
    }
    if (e.type.base == BaseKind::Void || e.type.base == BaseKind::Network || e.type.base == BaseKind::Layer) return false;
    bool containers = is_container(e.type);
    FunctionLowerer::for_each_any_child(e, [&](const ast::Expr& c) { containers = containers || is_container(c.type); });
    // Literal-only expressions ([2, 3, 4]') are cheap to rebuild: only computations on data.
    return containers && reads_data(e);
  }
  static bool reads_data(const ast::Expr& e) {
    if (e.kind == ExprKind::Variable) return true;
    bool any = false;
    FunctionLowerer::for_each_any_child(e, [&](const ast::Expr& c) { any = any || reads_data(c); });
    return any;
  }
  void hoist_from(const ast::Expr& e) {
    if (data_only(e) && worth_hoisting(e)) {
      std::string name = "__hoisted" + std::to_string(hoisted_.size() + 1);
      hoisted_.push_back(&e);
      hoisted_names_[&e] = name;
      VariableLayout v;
      v.name = name;
      Type t = ir_type(e.type);
      v.elem = t.elem == Elem::Bool ? Elem::I64 : t.elem;
      v.array_rank = t.array_rank;
      v.elem_rank = t.elem_rank;
      v.row = t.row;
      layout_.transformed_data.push_back(v);
      return;
    }
    FunctionLowerer::for_each_any_child(e, [&](const ast::Expr& c) { hoist_from(c); });
  }
  void find_hoistable() {
    for (ast::BlockKind kind : {ast::BlockKind::TransformedParameters, ast::BlockKind::Model}) {
      const auto* blk = block(kind);
      if (!blk) continue;
      for (const auto& st : blk->items) {
        switch (st->kind) {
          case StmtKind::VarDecl: {
            const auto& d = static_cast<const ast::VarDecl&>(*st);
            if (d.init) hoist_from(*d.init);
            break;
          }
          case StmtKind::Assign: hoist_from(*static_cast<const ast::Assign&>(*st).rhs); break;
          case StmtKind::TargetPlus: hoist_from(*static_cast<const ast::TargetPlus&>(*st).value); break;
          case StmtKind::Tilde: {
            const auto& t = static_cast<const ast::Tilde&>(*st);
            if (t.lhs->type.base == BaseKind::Network || t.lhs->type.base == BaseKind::Layer) break;
            hoist_from(*t.lhs);
            for (const auto& a : t.args) hoist_from(*a);
            break;
          }
          default: break;
        }
      }
    }
  }

  void bind_inputs(FunctionLowerer& fl, Function& f, size_t first, bool with_tdata) {
    size_t k = first;
    for (const ast::VarDecl* d : data_) {
      Type t = ir_type(FunctionLowerer::declared_type(*d));
      f.param_types.push_back(t);
      fl.bind_value(d->name, fl.builder().param(static_cast<int>(k++), t, d->name), FunctionLowerer::declared_type(*d));
    }
    if (!with_tdata) return;
    for (const ast::VarDecl* d : tdata_) {
      Type t = ir_type(FunctionLowerer::declared_type(*d));
      f.param_types.push_back(t);
      fl.bind_value(d->name, fl.builder().param(static_cast<int>(k++), t, d->name), FunctionLowerer::declared_type(*d));
    }
    for (const ast::Expr* e : hoisted_) {
      Type t = ir_type(e->type);
      f.param_types.push_back(t);
      const std::string& name = hoisted_names_.at(e);
      fl.bind_value(name, fl.builder().param(static_cast<int>(k++), t, name), e->type);
    }
    fl.set_hoisted(hoisted_names_);
  }

  // Constraint checks of a declared variable's value (data, transformed data, transformed
  // parameters), naming the variable and the element.
  void check_constraints(FunctionLowerer& fl, const ast::VarDecl& d, ValueId v, const std::string& what) {
    Builder& b = fl.builder();
    // Structured types (simplex, cov_matrix, ...): validated by the stdlib's unconstrain.
    std::string kind = structured_kind(d.type.element);
    if (!kind.empty()) {
      Op op = Op::make(OpKind::Kernel, {v});
      op.name = "check_" + kind;
      op.text = what + " '" + d.name + "'";
      b.emit(std::move(op));
    }
    for (const auto& c : d.type.constraints) {
      if (c.key != "lower" && c.key != "upper") continue;
      const bool container_bound = is_container(c.value->type);
      bool lower = c.key == "lower";
      const Type t = b.function().type_of(v);  // a copy: emitting ops grows the value table
      ValueId bound = fl.expr(*c.value);
      std::string bound_text = source_text(*c.value);
      auto one = [&](ValueId x) {
        bool is_int = b.function().type_of(x).elem == Elem::I64;
        ValueId bx = is_int && b.function().type_of(bound).elem == Elem::I64 ? bound : fl.to_real(bound);
        ValueId xx = b.function().type_of(bx).elem == Elem::F64 ? fl.to_real(x) : x;
        Op check = Op::make(OpKind::Check, {b.cmp(lower ? CmpPred::Ge : CmpPred::Le, xx, bx)});
        check.check = CheckKind::Domain;
        check.text = what + " '" + d.name + "' is " + (lower ? "below its lower" : "above its upper") +
                     " bound " + bound_text;
        b.emit(std::move(check));
      };
      if (t.rank() == 0) {
        one(v);
        continue;
      }
      // Elementwise: count the violations in a map and fail on the first index, reported.
      ValueId n = b.dim(v, 0);
      for (int k = 1; k < t.rank(); ++k) n = b.mul(n, b.dim(v, k));
      ValueId flat = v;
      if (t.rank() > 1) {
        Op view = Op::make(OpKind::View, {v, b.const_i64(0), n});
        Type vt = Type::vector();
        vt.elem = t.elem;
        flat = b.value(vt);
        view.results = {flat};
        b.emit(std::move(view));
      }
      ValueId bound_flat = bound;
      if (container_bound) {
        const Type bt = b.function().type_of(bound);  // a copy: emitting ops grows the value table
        ValueId m = b.dim(bound, 0);
        for (int k = 1; k < bt.rank(); ++k) m = b.mul(m, b.dim(bound, k));
        Op check = Op::make(OpKind::Check, {m, n});
        check.check = CheckKind::SizeMatch;
        check.text = "the bound of " + what + " '" + d.name + "' has {} elements but the variable has {}";
        b.emit(std::move(check));
        if (bt.rank() > 1) {
          Op view = Op::make(OpKind::View, {bound, b.const_i64(0), m});
          Type vt = Type::vector();
          vt.elem = bt.elem;
          bound_flat = b.value(vt);
          view.results = {bound_flat};
          b.emit(std::move(view));
        }
      }
      b.for_range(b.const_i64(0), b.sub(n, b.const_i64(1)), [&](ValueId i) {
        Type et = t.elem == Elem::F64 ? Type::f64() : Type::i64();
        ValueId x = b.extract(flat, {i}, et);
        ValueId bound_i = bound;
        if (container_bound) {
          Elem be = b.function().type_of(bound_flat).elem;
          bound_i = b.extract(bound_flat, {i}, be == Elem::F64 ? Type::f64() : Type::i64());
        }
        ValueId bx = et.elem == Elem::I64 && b.function().type_of(bound_i).elem == Elem::I64 ? bound_i : fl.to_real(bound_i);
        ValueId xx = b.function().type_of(bx).elem == Elem::F64 ? fl.to_real(x) : x;
        ValueId ok = b.cmp(lower ? CmpPred::Ge : CmpPred::Le, xx, bx);
        // Reported as "element <i> (= <x>)": the flat 1-based element index, column-major.
        Op branch = Op::make(OpKind::If, {b.emit1(OpKind::Not, {ok}, Type::boolean())});
        Region fail;
        b.in(fail, [&] {
          Op check = Op::make(OpKind::Check, {b.add(i, b.const_i64(1)), b.const_i64(0)});
          check.check = CheckKind::SizeMatch;
          check.text = what + " '" + d.name + "': element {} is " + (lower ? "below its lower" : "above its upper") +
                       " bound " + bound_text;
          b.emit(std::move(check));
        });
        branch.regions.push_back(std::move(fail));
        branch.regions.push_back(Region{});
        b.emit(std::move(branch));
      });
    }
  }

  Function data_function() {
    Function f;
    f.name = "data";
    f.role = FunctionRole::TransformedData;
    FunctionLowerer fl(f, false);
    bind_inputs(fl, f, 0, false);
    for (const ast::VarDecl* d : data_) {
      ValueId v = fl.expr(variable_expr(*d));
      fl.check_declared_sizes(*d, v);
      check_constraints(fl, *d, v, "data");
    }
    std::vector<ValueId> results;
    if (const auto* td = block(ast::BlockKind::TransformedData)) {
      fl.scan_assignments(td->items);
      for (const auto& s : td->items) fl.stmt(*s);
      for (const ast::VarDecl* d : tdata_) {
        ValueId v = fl.expr(variable_expr(*d));
        check_constraints(fl, *d, v, "transformed data");
        results.push_back(v);
        f.result_types.push_back(f.type_of(v));
      }
    }
    for (const ast::Expr* e : hoisted_) {
      ValueId v = fl.expr(*e);
      results.push_back(v);
      f.result_types.push_back(f.type_of(v));
    }
    fl.builder().ret(results);
    return f;
  }

  // A Variable expression naming a declaration (to read it through the normal lookup).
  const ast::Expr& variable_expr(const ast::VarDecl& d) {
    auto v = std::make_unique<ast::Variable>(d.span);
    v->name = d.name;
    v->type = FunctionLowerer::declared_type(d);
    owned_.push_back(std::move(v));
    return *owned_.back();
  }

  // Unconstrained size of a parameter and its dims.
  std::pair<ValueId, std::vector<ValueId>> param_shape(FunctionLowerer& fl, const ParamInfo& p) {
    if (!p.network && structured(p.constraint)) {
      std::vector<ValueId> dims = fl.declared_dims(*p.decl);
      return {free_size(fl.builder(), p.constraint, dims, p.decl->type.array_dims.size()), dims};
    }
    if (!p.network) return param_shape(fl, *p.decl);
    Builder& b = fl.builder();
    ValueId out = fl.expr(*p.network->widths[p.layer + 1]);
    if (p.bias) return {out, {out}};
    ValueId in = fl.expr(*p.network->widths[p.layer]);
    return {b.mul(out, in), {out, in}};
  }
  std::pair<ValueId, std::vector<ValueId>> param_shape(FunctionLowerer& fl, const ast::VarDecl& d) {
    std::vector<ValueId> dims = fl.declared_dims(d);
    Builder& b = fl.builder();
    ValueId size = b.const_i64(1);
    for (ValueId x : dims) size = b.mul(size, x);
    return {size, dims};
  }

  Function sizes_function() {
    Function f;
    f.name = "sizes";
    FunctionLowerer fl(f, false);
    bind_inputs(fl, f, 0, true);
    Builder& b = fl.builder();
    std::vector<ValueId> numbers;
    for (const ParamInfo& p : params_) {
      auto [size, dims] = param_shape(fl, p);
      numbers.push_back(size);
      numbers.insert(numbers.end(), dims.begin(), dims.end());
    }
    for (const ast::VarDecl* d : tparams_) {
      std::vector<ValueId> dims = fl.declared_dims(*d);
      numbers.insert(numbers.end(), dims.begin(), dims.end());
    }
    for (const ast::VarDecl* d : gqs_) {
      std::vector<ValueId> dims = fl.declared_dims(*d);
      numbers.insert(numbers.end(), dims.begin(), dims.end());
    }
    ValueId count = b.const_i64(static_cast<int64_t>(numbers.size()));
    Type it = Type::vector();
    it.elem = Elem::I64;
    ValueId out = b.var(it, {count}, 0.0, "sizes");
    for (size_t k = 0; k < numbers.size(); ++k)
      b.emit(Op::make(OpKind::StoreElem, {out, b.const_i64(static_cast<int64_t>(k)), numbers[k]}));
    b.ret({b.load(out)});
    f.result_types = {it};
    return f;
  }

  // Reads every parameter from theta (constraining it); adds log-Jacobians to `target` when
  // `jacobian` (an i64 value) is non-zero; binds the constrained values (networks by name).
  // Returns the constrained values in parameter order.
  std::vector<ValueId> read_parameters(FunctionLowerer& fl, ValueId theta, ValueId jacobian, ValueId target) {
    Builder& b = fl.builder();
    ValueId offset = b.const_i64(0);
    std::vector<ValueId> values;
    NetworkValue net;
    ValueId net_start = kNoValue;
    for (size_t k = 0; k < params_.size(); ++k) {
      const ParamInfo& p = params_[k];
      auto [size, dims] = param_shape(fl, p);
      if (p.network && p.layer == 0 && !p.bias) net_start = offset;
      Type t = p.network ? (p.bias ? Type::vector() : Type::matrix()) : ir_type(FunctionLowerer::declared_type(*p.decl));
      ValueId u;
      if (t.rank() == 0) {
        u = b.extract(theta, {offset}, Type::f64());
      } else {
        Op view = Op::make(OpKind::View, {theta, offset});
        if (structured(p.constraint)) view.operands.push_back(size);  // the free values, flat
        else view.operands.insert(view.operands.end(), dims.begin(), dims.end());
        u = b.value(structured(p.constraint) ? Type::vector() : t, p.name);
        view.results = {u};
        b.emit(std::move(view));
      }
      offset = b.add(offset, size);
      if (p.network) {
        if (p.layer == 0 && !p.bias) net = NetworkValue{};
        if (!p.bias) {
          net.layers.push_back({});
          net.layers.back().W = u;
          net.layers.back().activation = activation_of(*p.network, p.layer);
          const ast::Expr& w0 = *p.network->widths[0];
          net.input_width_one = w0.kind == ExprKind::IntLit && static_cast<const ast::IntLit&>(w0).value == 1;
        } else {
          net.layers.back().b = u;
        }
        if (p.bias && p.layer + 2 == p.network->widths.size()) {
          // The network's tensors lie one after another in theta: a prior on all of them is one
          // map over this view instead of one per tensor.
          Op view = Op::make(OpKind::View, {theta, net_start, b.sub(offset, net_start)});
          net.all = b.value(Type::vector(), p.network->name);
          view.results = {net.all};
          b.emit(std::move(view));
          fl.bind_network(p.network->name, net);
        }
        values.push_back(u);
        continue;
      }
      ValueId x = constrain(fl, p, u, jacobian, target);
      fl.bind_value(p.decl->name, x, FunctionLowerer::declared_type(*p.decl));
      values.push_back(x);
    }
    return values;
  }

  // The activation of a layer: the semantic stage's per-layer list, or Halo's defaulting rule
  // (docs/language.md): k == L one per layer; k == 1 every hidden layer; k == L - 1 the hidden
  // layers; the output layer identity otherwise.
  static std::string activation_of(const ast::NetworkDecl& n, size_t layer) {
    size_t layers = n.widths.size() - 1;
    if (n.layer_activations.size() == layers) return n.layer_activations[layer];
    size_t k = n.activations.size();
    if (k == layers) return n.activations[layer].name;
    bool output = layer + 1 == layers;
    if (k == 1 && !output) return n.activations[0].name;
    if (k + 1 == layers && !output) return n.activations[layer].name;
    return "identity";
  }

  // The structured transforms (Stan reference manual, "Constraint transforms"): one stdlib
  // transform per vector or matrix, applied to every element of an array of them by the
  // Kernel's glue. Unconstrained values: each element's free values in turn (as Stan reads them).
  static bool structured(const std::string& c) {
    static const std::set<std::string> kinds = {"simplex", "unit_vector", "sum_to_zero", "ordered", "positive_ordered",
                                                "cholesky_factor_corr", "cholesky_factor_cov", "corr_matrix",
                                                "cov_matrix"};
    return kinds.count(c) > 0;
  }
  static std::string structured_kind(ast::ElementKind e) {
    switch (e) {
      case ast::ElementKind::Simplex: return "simplex";
      case ast::ElementKind::UnitVector: return "unit_vector";
      case ast::ElementKind::SumToZeroVector: return "sum_to_zero";
      case ast::ElementKind::Ordered: return "ordered";
      case ast::ElementKind::PositiveOrdered: return "positive_ordered";
      case ast::ElementKind::CholeskyFactorCorr: return "cholesky_factor_corr";
      case ast::ElementKind::CholeskyFactorCov: return "cholesky_factor_cov";
      case ast::ElementKind::CorrMatrix: return "corr_matrix";
      case ast::ElementKind::CovMatrix: return "cov_matrix";
      default: return "";
    }
  }
  // The number of free values of a structured parameter with these declared dims.
  static ValueId free_size(Builder& b, const std::string& c, const std::vector<ValueId>& dims, size_t array_rank) {
    ValueId count = b.const_i64(1);
    for (size_t k = 0; k < array_rank; ++k) count = b.mul(count, dims[k]);
    ValueId K = dims[array_rank];
    ValueId one = b.const_i64(1), two = b.const_i64(2);
    ValueId each;
    if (c == "simplex" || c == "sum_to_zero") each = b.sub(K, one);
    else if (c == "unit_vector" || c == "ordered" || c == "positive_ordered") each = K;
    else if (c == "cholesky_factor_corr" || c == "corr_matrix") each = b.emit1(OpKind::IDiv, {b.mul(K, b.sub(K, one)), two}, Type::i64());
    else if (c == "cov_matrix") each = b.emit1(OpKind::IDiv, {b.mul(K, b.add(K, one)), two}, Type::i64());
    else {  // cholesky_factor_cov[M, N]: N(N+1)/2 + (M - N) N
      ValueId N = dims[array_rank + 1];
      each = b.add(b.emit1(OpKind::IDiv, {b.mul(N, b.add(N, one)), two}, Type::i64()), b.mul(b.sub(K, N), N));
    }
    return b.mul(count, each);
  }

  ValueId constrain_structured(FunctionLowerer& fl, const ParamInfo& p, ValueId u, ValueId jacobian, ValueId target) {
    Builder& b = fl.builder();
    std::vector<ValueId> dims = fl.declared_dims(*p.decl);
    if (p.constraint == "cholesky_factor_cov") {
      const size_t r = p.decl->type.array_dims.size();
      Op check = Op::make(OpKind::Check, {b.cmp(CmpPred::Ge, dims[r], dims[r + 1])});
      check.check = CheckKind::Domain;
      check.text = "cholesky_factor_cov '" + p.name + "' needs at least as many rows as columns";
      b.emit(std::move(check));
    }
    Op op = Op::make(OpKind::Kernel, {u});
    op.operands.insert(op.operands.end(), dims.begin(), dims.end());
    op.name = "constrain_" + p.constraint;
    ValueId x = b.value(ir_type(FunctionLowerer::declared_type(*p.decl)), p.name);
    ValueId lj = b.value(Type::f64(), "log_jacobian");
    op.results = {x, lj};
    b.emit(std::move(op));
    if (jacobian != kNoValue) {
      Op jb = Op::make(OpKind::If, {b.cmp(CmpPred::Ne, jacobian, b.const_i64(0))});
      Region add;
      b.in(add, [&] { b.accumulate(target, lj); });
      jb.regions.push_back(std::move(add));
      jb.regions.push_back(Region{});
      b.emit(std::move(jb));
    }
    return x;
  }

  // The free values of a structured parameter, or a failure naming it when x is not valid.
  ValueId unconstrain_structured(FunctionLowerer& fl, const ParamInfo& p, ValueId x) {
    Builder& b = fl.builder();
    Op op = Op::make(OpKind::Kernel, {x});
    op.name = "unconstrain_" + p.constraint;
    op.text = "the value of '" + p.name + "'";
    ValueId u = b.value(Type::vector(), "u");
    op.results = {u};
    b.emit(std::move(op));
    return u;
  }

  // A bound (or offset, multiplier) as reals: a scalar, or a container of the parameter's
  // shape applied elementwise (Stan's container bounds).
  ValueId bound_value(FunctionLowerer& fl, const ast::Expr* e) {
    ValueId v = fl.expr(*e);
    Builder& b = fl.builder();
    const Type t = b.function().type_of(v);  // a copy: emitting ops grows the value table
    if (t.rank() == 0) return fl.to_real(v);
    if (t.elem == Elem::F64) return v;
    ValueId n = b.dim(v, 0);
    for (int k = 1; k < t.rank(); ++k) n = b.mul(n, b.dim(v, k));
    Type real = t;
    real.elem = Elem::F64;
    return b.map(false, {n}, {v}, {Broadcast::Elementwise}, real,
                 [&](const std::vector<ValueId>& a) { return fl.to_real(a[0]); });
  }
  // The broadcast of a bound in a map over the n elements of a parameter; a container bound
  // must have n elements.
  Broadcast bound_broadcast(FunctionLowerer& fl, ValueId bound, ValueId n, const std::string& name) {
    Builder& b = fl.builder();
    const Type t = b.function().type_of(bound);
    if (t.rank() == 0) return Broadcast::Scalar;
    ValueId m = b.dim(bound, 0);
    for (int k = 1; k < t.rank(); ++k) m = b.mul(m, b.dim(bound, k));
    Op check = Op::make(OpKind::Check, {m, n});
    check.check = CheckKind::SizeMatch;
    check.text = "the bound of '" + name + "' has {} elements but the variable has {}";
    b.emit(std::move(check));
    return Broadcast::Elementwise;
  }

  // x = transform(u), elementwise, and the log-Jacobian sum added to target when jacobian != 0
  // (Stan reference manual, "Constraint transforms").
  ValueId constrain(FunctionLowerer& fl, const ParamInfo& p, ValueId u, ValueId jacobian, ValueId target) {
    Builder& b = fl.builder();
    if (p.constraint.empty()) return u;
    if (structured(p.constraint)) return constrain_structured(fl, p, u, jacobian, target);
    std::vector<ValueId> scalars;
    if (p.lower) scalars.push_back(bound_value(fl, p.lower));
    if (p.upper) scalars.push_back(bound_value(fl, p.upper));
    if (p.offset) scalars.push_back(bound_value(fl, p.offset));
    if (p.multiplier) scalars.push_back(bound_value(fl, p.multiplier));
    if (p.constraint == "offset_multiplier") {
      if (!p.offset) scalars.insert(scalars.begin(), b.const_f64(0.0));
      if (!p.multiplier) scalars.push_back(b.const_f64(1.0));
    }
    // value(u, s...) and log|dx/du|(u, s...) as scalar code, used in maps or directly.
    auto value = [&](ValueId x, const std::vector<ValueId>& s) -> ValueId {
      if (p.constraint == "lower") return b.add(s[0], b.call("exp", {x}));
      if (p.constraint == "upper") return b.sub(s[0], b.call("exp", {x}));
      if (p.constraint == "lower_upper")
        return b.add(s[0], b.mul(b.sub(s[1], s[0]), b.call("inv_logit", {x})));
      return b.add(s[0], b.mul(s[1], x));
    };
    auto log_jacobian = [&](ValueId x, const std::vector<ValueId>& s) -> ValueId {
      if (p.constraint == "lower" || p.constraint == "upper") return x;
      if (p.constraint == "lower_upper")
        return b.add(b.call("log", {b.sub(s[1], s[0])}),
                     b.add(b.call("log_inv_logit", {x}), b.call("log1m_inv_logit", {x})));
      return b.call("log", {b.call("fabs", {s[1]})});
    };
    const bool scalar = b.function().type_of(u).rank() == 0;
    ValueId x;
    if (scalar) {
      x = value(u, scalars);
    } else {
      std::vector<ValueId> inputs = {u};
      std::vector<Broadcast> bc = {Broadcast::Elementwise};
      ValueId n = b.dim(u, 0);
      for (int k = 1; k < b.function().type_of(u).rank(); ++k) n = b.mul(n, b.dim(u, k));
      for (ValueId s : scalars) {
        inputs.push_back(s);
        bc.push_back(bound_broadcast(fl, s, n, p.name));
      }
      x = b.map(false, {n}, inputs, bc, b.function().type_of(u), [&](const std::vector<ValueId>& a) {
        return value(a[0], std::vector<ValueId>(a.begin() + 1, a.end()));
      });
    }
    if (jacobian != kNoValue) {
      Op branch = Op::make(OpKind::If, {b.cmp(CmpPred::Ne, jacobian, b.const_i64(0))});
      Region then_r;
      b.in(then_r, [&] {
        ValueId lj;
        if (scalar) {
          lj = log_jacobian(u, scalars);
        } else {
          std::vector<ValueId> inputs = {u};
          std::vector<Broadcast> bc = {Broadcast::Elementwise};
          ValueId n = b.dim(u, 0);
          for (int k = 1; k < b.function().type_of(u).rank(); ++k) n = b.mul(n, b.dim(u, k));
          for (ValueId s : scalars) {
            inputs.push_back(s);
            bc.push_back(b.function().type_of(s).rank() == 0 ? Broadcast::Scalar : Broadcast::Elementwise);
          }
          lj = b.map(true, {n}, inputs, bc, Type::f64(), [&](const std::vector<ValueId>& a) {
            return log_jacobian(a[0], std::vector<ValueId>(a.begin() + 1, a.end()));
          });
        }
        b.accumulate(target, lj);
      });
      branch.regions.push_back(std::move(then_r));
      branch.regions.push_back(Region{});
      b.emit(std::move(branch));
    }
    return x;
  }

  void transformed_parameters(FunctionLowerer& fl) {
    const auto* tp = block(ast::BlockKind::TransformedParameters);
    if (!tp) return;
    fl.scan_assignments(tp->items);
    for (const auto& s : tp->items) fl.stmt(*s);
    for (const ast::VarDecl* d : tparams_) {
      ValueId v = fl.expr(variable_expr(*d));
      check_constraints(fl, *d, v, "transformed parameter");
    }
  }

  // log_density(_propto)(theta, jacobian, data..., tdata...). With `batched`, the minibatch
  // log density (with constants): one more argument, the 0-based rows of the batch dimension
  // (an i64 vector) after the data and transformed data; data and transformed data whose first
  // declared size is the batch dimension hold those rows (docs/abi.md).
  Function log_density_function(bool propto, bool batched = false) {
    Function f;
    f.name = batched ? "log_density_batch" : propto ? "log_density_propto" : "log_density";
    f.role = FunctionRole::LogDensity;
    f.param_types = {Type::vector(), Type::i64()};
    f.result_types = {Type::f64()};
    FunctionLowerer fl(f, propto);
    Builder& b = fl.builder();
    ValueId theta = b.param(0, Type::vector(), "theta");
    ValueId jacobian = b.param(1, Type::i64(), "jacobian");
    bind_inputs(fl, f, 2, true);
    if (batched) {
      // Hoisted values were computed on all rows: in the minibatch entry everything is
      // recomputed from the batch (the hidden arguments are still passed, unused).
      fl.set_hoisted({});
      Type rows_type = Type::vector();
      rows_type.elem = Elem::I64;
      const int rows_index = static_cast<int>(f.param_types.size());  // after every input
      f.param_types.push_back(rows_type);
      ValueId rows = b.param(rows_index, rows_type, "rows");
      std::vector<const ast::VarDecl*> batched_decls;
      auto first_size_is_batch = [&](const ast::VarDecl& d) {
        const ast::Expr* first = !d.type.array_dims.empty() ? d.type.array_dims[0].get()
                                 : !d.type.sizes.empty()    ? d.type.sizes[0].get()
                                                            : nullptr;
        return first && first->kind == ExprKind::Variable &&
               static_cast<const ast::Variable*>(first)->name == layout_.batch_dimension;
      };
      for (const ast::VarDecl* d : data_)
        if (first_size_is_batch(*d)) batched_decls.push_back(d);
      for (const ast::VarDecl* d : tdata_)
        if (first_size_is_batch(*d)) batched_decls.push_back(d);
      fl.bind_batch(layout_.batch_dimension, rows, batched_decls);
    }
    ValueId target = b.var(Type::f64(), {}, 0.0, "target");
    fl.set_target(target);
    read_parameters(fl, theta, jacobian, target);
    transformed_parameters(fl);
    if (const auto* model = block(ast::BlockKind::Model)) {
      fl.scan_assignments(model->items);
      fl.block(model->items);
    }
    b.ret({b.load(target)});
    return f;
  }

  // prior_draw(rng, data...) -> theta_unc: each parameter drawn from its prior, in an order
  // where the prior's arguments are known (data, parameters drawn before); a prior is the
  // first `~` statement of the model block (outside loops and branches) whose left side is the
  // parameter, a network or a part of one, with a univariate density that has an _rng. A
  // draw outside a bound is reflected at the bound (exact for priors symmetric about it, such as
  // half-normal scales), and still outside two bounds falls back like an undrawn parameter:
  // uniform(-2, 2) on the unconstrained scale, Stan's default initialisation.
  Function prior_draw_function() {
    Function f;
    f.name = "prior_draw";
    f.role = FunctionRole::GeneratedQuantities;
    f.param_types = {Type::i64()};
    f.result_types = {Type::vector()};
    FunctionLowerer fl(f, false);
    Builder& b = fl.builder();
    ValueId rng = b.param(0, Type::i64(), "rng");
    fl.set_rng(rng);
    bind_inputs(fl, f, 1, true);
    // The prior statement of each parameter.
    std::vector<const ast::Tilde*> prior(params_.size(), nullptr);
    std::function<void(const std::vector<ast::StmtPtr>&)> scan = [&](const std::vector<ast::StmtPtr>& items) {
      for (const auto& st : items) {
        if (st->kind == StmtKind::Block) scan(static_cast<const ast::Block&>(*st).items);
        if (st->kind != StmtKind::Tilde) continue;
        const auto& t = static_cast<const ast::Tilde&>(*st);
        std::string lhs = member_path(*t.lhs);
        if (lhs.empty()) continue;
        for (size_t k = 0; k < params_.size(); ++k) {
          const std::string& name = params_[k].network ? params_[k].name : params_[k].decl->name;
          if (!prior[k] && (name == lhs || name.rfind(lhs + ".", 0) == 0)) prior[k] = &t;
        }
      }
    };
    if (const auto* model = block(ast::BlockKind::Model)) scan(model->items);
    std::set<std::string> param_names, drawn_names;
    for (const ParamInfo& p : params_)
      if (!p.network) param_names.insert(p.decl->name);
    std::vector<ValueId> drawn(params_.size(), kNoValue);
    std::vector<bool> settled(params_.size(), false);
    for (bool progress = true; progress;) {
      progress = false;
      for (size_t k = 0; k < params_.size(); ++k) {
        if (settled[k]) continue;
        if (!prior[k]) {
          settled[k] = true;
          continue;
        }
        std::set<std::string> used;
        for (const auto& a : prior[k]->args) referenced_names(*a, used);
        bool ready = true;
        for (const std::string& n : used) ready = ready && (!param_names.count(n) || drawn_names.count(n));
        if (!ready) continue;
        const ParamInfo& p = params_[k];
        auto [size, dims] = param_shape(fl, p);
        Type t = p.network ? (p.bias ? Type::vector() : Type::matrix()) : ir_type(FunctionLowerer::declared_type(*p.decl));
        ValueId x = fl.prior_draw(*prior[k], p.network ? dims : (t.rank() == 0 ? std::vector<ValueId>{} : dims), t);
        settled[k] = progress = true;
        if (x == kNoValue) continue;
        if (!p.network) {
          x = fold_into_support(fl, p, x);
          fl.bind_value(p.decl->name, x, FunctionLowerer::declared_type(*p.decl));
          drawn_names.insert(p.decl->name);
        }
        drawn[k] = x;
      }
    }
    // theta: the unconstrained values of the draws; uniform(-2, 2) for the others.
    ValueId total = b.const_i64(0);
    std::vector<ValueId> sizes;
    for (const ParamInfo& p : params_) {
      sizes.push_back(param_shape(fl, p).first);
      total = b.add(total, sizes.back());
    }
    ValueId theta = b.var(Type::vector(), {total}, 0.0, "theta");
    ValueId offset = b.const_i64(0);
    for (size_t k = 0; k < params_.size(); ++k) {
      ValueId u;
      const bool scalar = drawn[k] != kNoValue && b.function().type_of(drawn[k]).rank() == 0;
      if (drawn[k] != kNoValue) {
        u = unconstrain(fl, params_[k], drawn[k]);
      } else {
        ValueId lo = b.const_f64(-2.0), hi = b.const_f64(2.0);
        u = b.map(false, {sizes[k]}, {lo, hi, rng}, {Broadcast::Scalar, Broadcast::Scalar, Broadcast::Scalar},
                  Type::vector(), [&](const std::vector<ValueId>& a) {
                    ValueId r = b.value(Type::f64());
                    Op op = Op::make(OpKind::CallRng, {a[0], a[1], a[2]}, {r});
                    op.name = "uniform_rng";
                    b.emit(std::move(op));
                    return r;
                  });
      }
      if (scalar) b.emit(Op::make(OpKind::StoreElem, {theta, offset, u}));
      else b.emit(Op::make(OpKind::AccumulateView, {theta, offset, u}));
      offset = b.add(offset, sizes[k]);
    }
    b.ret({b.load(theta)});
    return f;
  }

  // "net", "net.layer1", "net.layer1.W" or a variable's name; "" for other expressions.
  static std::string member_path(const ast::Expr& e) {
    if (e.kind == ExprKind::Variable) return static_cast<const ast::Variable&>(e).name;
    if (e.kind != ExprKind::Member) return "";
    const auto& m = static_cast<const ast::Member&>(e);
    std::string base = member_path(*m.base);
    return base.empty() ? "" : base + "." + m.member;
  }
  static void referenced_names(const ast::Expr& e, std::set<std::string>& out) {
    if (e.kind == ExprKind::Variable) out.insert(static_cast<const ast::Variable&>(e).name);
    FunctionLowerer::for_each_any_child(e, [&](const ast::Expr& c) { referenced_names(c, out); });
  }

  // Reflects a draw into (lower, upper): x < lower -> 2 lower - x, x > upper -> 2 upper - x;
  // with two bounds a value still outside becomes the fallback draw.
  ValueId fold_into_support(FunctionLowerer& fl, const ParamInfo& p, ValueId x) {
    if (!p.lower && !p.upper) return x;
    Builder& b = fl.builder();
    std::vector<ValueId> bounds;
    if (p.lower) bounds.push_back(bound_value(fl, p.lower));
    if (p.upper) bounds.push_back(bound_value(fl, p.upper));
    auto fold = [&](ValueId v, const std::vector<ValueId>& s, ValueId rng) {
      ValueId two = b.const_f64(2.0);
      size_t k = 0;
      ValueId lb = p.lower ? s[k++] : kNoValue, ub = p.upper ? s[k] : kNoValue;
      if (lb != kNoValue)
        v = b.emit1(OpKind::Select, {b.cmp(CmpPred::Lt, v, lb), b.sub(b.mul(two, lb), v), v}, Type::f64());
      if (ub != kNoValue)
        v = b.emit1(OpKind::Select, {b.cmp(CmpPred::Gt, v, ub), b.sub(b.mul(two, ub), v), v}, Type::f64());
      if (lb != kNoValue && ub != kNoValue) {
        ValueId u = b.value(Type::f64());
        Op op = Op::make(OpKind::CallRng, {b.const_f64(-2.0), b.const_f64(2.0), rng}, {u});
        op.name = "uniform_rng";
        b.emit(std::move(op));
        ValueId fallback = b.add(lb, b.mul(b.sub(ub, lb), b.call("inv_logit", {u})));
        ValueId inside = b.emit1(OpKind::And, {b.cmp(CmpPred::Gt, v, lb), b.cmp(CmpPred::Lt, v, ub)}, Type::boolean());
        v = b.emit1(OpKind::Select, {inside, v, fallback}, Type::f64());
      }
      return v;
    };
    ValueId rng = fl.rng();
    if (b.function().type_of(x).rank() == 0) return fold(x, bounds, rng);
    std::vector<ValueId> inputs = {x};
    std::vector<Broadcast> bc = {Broadcast::Elementwise};
    for (ValueId v : bounds) {
      inputs.push_back(v);
      bc.push_back(b.function().type_of(v).rank() == 0 ? Broadcast::Scalar : Broadcast::Elementwise);
    }
    inputs.push_back(rng);
    bc.push_back(Broadcast::Scalar);
    ValueId n = b.dim(x, 0);
    for (int k = 1; k < b.function().type_of(x).rank(); ++k) n = b.mul(n, b.dim(x, k));
    return b.map(false, {n}, inputs, bc, b.function().type_of(x), [&](const std::vector<ValueId>& a) {
      return fold(a[0], std::vector<ValueId>(a.begin() + 1, a.end() - 1), a.back());
    });
  }



  // Flattens values into one vector in Stan's output order (first index fastest).
  ValueId flatten(FunctionLowerer& fl, const std::vector<ValueId>& values) {
    Builder& b = fl.builder();
    ValueId total = b.const_i64(0);
    std::vector<ValueId> sizes;
    for (ValueId v : values) {
      const Type t = b.function().type_of(v);  // a copy: emitting ops grows the value table
      ValueId n = b.const_i64(1);
      for (int k = 0; k < t.rank(); ++k) n = b.mul(n, b.dim(v, k));
      sizes.push_back(n);
      total = b.add(total, n);
    }
    ValueId out = b.var(Type::vector(), {total}, 0.0, "flat");
    ValueId offset = b.const_i64(0);
    for (size_t k = 0; k < values.size(); ++k) {
      ValueId v = values[k];
      const Type t = b.function().type_of(v);  // a copy: emitting ops grows the value table
      if (t.rank() == 0) {
        b.emit(Op::make(OpKind::StoreElem, {out, offset, fl.to_real(v)}));
      } else if (t.array_rank == 0 || (t.array_rank == 1 && t.elem_rank == 0)) {
        // Same order internally and in Stan's output.
        ValueId real = t.elem == Elem::F64 ? v : b.map(false, {sizes[k]}, {v}, {Broadcast::Elementwise}, Type{Elem::F64, t.array_rank, t.elem_rank, t.row, false},
                                                       [&](const std::vector<ValueId>& a) { return fl.to_real(a[0]); });
        b.emit(Op::make(OpKind::AccumulateView, {out, offset, real}));
      } else if (t.array_rank == 1 && t.elem_rank == 1) {
        // array[N] vector[K]: Stan's order puts the array index fastest (a.1.1, a.2.1, ...).
        ValueId n = b.dim(v, 0), len = b.dim(v, 1);
        ValueId base = offset;
        b.for_range(b.const_i64(0), b.sub(n, b.const_i64(1)), [&](ValueId i) {
          b.for_range(b.const_i64(0), b.sub(len, b.const_i64(1)), [&](ValueId j) {
            ValueId x = fl.to_real(b.extract(v, {i, j}, t.elem == Elem::F64 ? Type::f64() : Type::i64()));
            b.emit(Op::make(OpKind::StoreElem, {out, b.add(base, b.add(i, b.mul(j, n))), x}));
          });
        });
      } else {
        // Any rank: Stan's order is column-major over all dims (array dims, then the element's),
        // the first index fastest; Halo's layout is read by full indices.
        const int rank = t.rank();
        std::vector<ValueId> dims, strides;
        ValueId stride = b.const_i64(1);
        for (int d = 0; d < rank; ++d) {
          dims.push_back(b.dim(v, d));
          strides.push_back(stride);
          stride = b.mul(stride, dims.back());
        }
        std::vector<ValueId> idx(static_cast<size_t>(rank));
        const ValueId base = offset;
        std::function<void(int, ValueId)> loop = [&](int d, ValueId position) {
          if (d < 0) {
            ValueId x = fl.to_real(b.extract(v, idx, t.elem == Elem::F64 ? Type::f64() : Type::i64()));
            b.emit(Op::make(OpKind::StoreElem, {out, b.add(base, position), x}));
            return;
          }
          b.for_range(b.const_i64(0), b.sub(dims[d], b.const_i64(1)), [&](ValueId i) {
            idx[d] = i;
            loop(d - 1, b.add(position, b.mul(i, strides[d])));
          });
        };
        loop(rank - 1, b.const_i64(0));
      }
      offset = b.add(offset, sizes[k]);
    }
    return b.load(out);
  }

  Function constrain_function() {
    Function f;
    f.name = "constrain";
    f.role = FunctionRole::Constrain;
    f.param_types = {Type::vector()};
    f.result_types = {Type::vector(), Type::vector()};
    FunctionLowerer fl(f, false);
    Builder& b = fl.builder();
    ValueId theta = b.param(0, Type::vector(), "theta");
    bind_inputs(fl, f, 1, true);
    std::vector<ValueId> params = read_parameters(fl, theta, kNoValue, kNoValue);
    transformed_parameters(fl);
    std::vector<ValueId> tps;
    for (const ast::VarDecl* d : tparams_) tps.push_back(fl.expr(variable_expr(*d)));
    ValueId pflat = flatten(fl, params);
    ValueId tflat = flatten(fl, tps);
    b.ret({pflat, tflat});
    return f;
  }

  Function generated_quantities_function() {
    Function f;
    f.name = "generated_quantities";
    f.role = FunctionRole::GeneratedQuantities;
    f.param_types = {Type::vector(), Type::i64()};
    f.result_types = {Type::vector()};
    FunctionLowerer fl(f, false);
    Builder& b = fl.builder();
    ValueId theta = b.param(0, Type::vector(), "theta");
    ValueId rng = b.param(1, Type::i64(), "rng");
    fl.set_rng(rng);
    bind_inputs(fl, f, 2, true);
    read_parameters(fl, theta, kNoValue, kNoValue);
    transformed_parameters(fl);
    std::vector<ValueId> gq;
    if (const auto* block_gq = block(ast::BlockKind::GeneratedQuantities)) {
      fl.scan_assignments(block_gq->items);
      for (const auto& s : block_gq->items) fl.stmt(*s);
      for (const ast::VarDecl* d : gqs_) {
        ValueId v = fl.expr(variable_expr(*d));
        check_constraints(fl, *d, v, "generated quantity");
        gq.push_back(v);
      }
    }
    b.ret({flatten(fl, gq)});
    return f;
  }

  Function unconstrain_function() {
    Function f;
    f.name = "unconstrain";
    f.role = FunctionRole::Unconstrain;
    f.param_types = {Type::vector()};
    f.result_types = {Type::vector()};
    FunctionLowerer fl(f, false);
    Builder& b = fl.builder();
    ValueId flat = b.param(0, Type::vector(), "params");
    bind_inputs(fl, f, 1, true);
    // Total unconstrained size.
    std::vector<std::pair<ValueId, std::vector<ValueId>>> shapes;
    ValueId total = b.const_i64(0), constrained_total = b.const_i64(0);
    std::vector<ValueId> constrained_sizes;
    for (const ParamInfo& p : params_) {
      shapes.push_back(param_shape(fl, p));
      total = b.add(total, shapes.back().first);
      ValueId n = b.const_i64(1);
      for (ValueId d : shapes.back().second) n = b.mul(n, d);
      constrained_sizes.push_back(n);
      constrained_total = b.add(constrained_total, n);
    }
    Op check = Op::make(OpKind::Check, {b.dim(flat, 0), constrained_total});
    check.check = CheckKind::SizeMatch;
    check.text = "the constrained parameters have {} values but the model has {}";
    b.emit(std::move(check));
    ValueId theta = b.var(Type::vector(), {total}, 0.0, "theta");
    ValueId offset = b.const_i64(0);       // into theta (unconstrained sizes)
    ValueId in_offset = b.const_i64(0);    // into the constrained values
    for (size_t k = 0; k < params_.size(); ++k) {
      const ParamInfo& p = params_[k];
      auto& [size, dims] = shapes[k];
      ast::Type at;
      Type t;
      if (p.network) {
        t = p.bias ? Type::vector() : Type::matrix();
      } else {
        at = FunctionLowerer::declared_type(*p.decl);
        t = ir_type(at);
      }
      ValueId x;
      if (t.rank() == 0) {
        x = b.extract(flat, {in_offset}, Type::f64());
      } else {
        Op view = Op::make(OpKind::View, {flat, in_offset});
        view.operands.insert(view.operands.end(), dims.begin(), dims.end());
        x = b.value(t, p.name);
        view.results = {x};
        b.emit(std::move(view));
      }
      // Bind the constrained value first: later bounds may depend on it.
      if (!p.network) fl.bind_value(p.decl->name, x, at);
      ValueId u = unconstrain(fl, p, x);
      if (t.rank() == 0) b.emit(Op::make(OpKind::StoreElem, {theta, offset, u}));
      else b.emit(Op::make(OpKind::AccumulateView, {theta, offset, u}));
      offset = b.add(offset, size);
      in_offset = b.add(in_offset, constrained_sizes[k]);
    }
    b.ret({b.load(theta)});
    return f;
  }

  // u = transform^-1(x), checking that x is inside the support.
  ValueId unconstrain(FunctionLowerer& fl, const ParamInfo& p, ValueId x) {
    Builder& b = fl.builder();
    if (p.constraint.empty()) return x;
    if (structured(p.constraint)) return unconstrain_structured(fl, p, x);
    std::vector<ValueId> s;
    if (p.lower) s.push_back(bound_value(fl, p.lower));
    if (p.upper) s.push_back(bound_value(fl, p.upper));
    if (p.constraint == "offset_multiplier") {
      s.push_back(p.offset ? bound_value(fl, p.offset) : b.const_f64(0.0));
      s.push_back(p.multiplier ? bound_value(fl, p.multiplier) : b.const_f64(1.0));
    }
    const std::string& name = p.name;
    auto one = [&](ValueId v, const std::vector<ValueId>& sc) -> ValueId {
      auto require = [&](ValueId ok, const std::string& what) {
        Op check = Op::make(OpKind::Check, {ok});
        check.check = CheckKind::Domain;
        check.text = "the value of '" + name + "' is " + what;
        b.emit(std::move(check));
      };
      if (p.constraint == "lower") {
        require(b.cmp(CmpPred::Gt, v, sc[0]), "not above its lower bound");
        return b.call("log", {b.sub(v, sc[0])});
      }
      if (p.constraint == "upper") {
        require(b.cmp(CmpPred::Lt, v, sc[0]), "not below its upper bound");
        return b.call("log", {b.sub(sc[0], v)});
      }
      if (p.constraint == "lower_upper") {
        require(b.emit1(OpKind::And, {b.cmp(CmpPred::Gt, v, sc[0]), b.cmp(CmpPred::Lt, v, sc[1])}, Type::boolean()),
                "not strictly between its bounds");
        return b.call("logit", {b.div(b.sub(v, sc[0]), b.sub(sc[1], sc[0]))});
      }
      return b.div(b.sub(v, sc[0]), sc[1]);
    };
    if (b.function().type_of(x).rank() == 0) return one(x, s);
    std::vector<ValueId> inputs = {x};
    std::vector<Broadcast> bc = {Broadcast::Elementwise};
    ValueId n = b.dim(x, 0);
    for (int k = 1; k < b.function().type_of(x).rank(); ++k) n = b.mul(n, b.dim(x, k));
    for (ValueId v : s) {
      inputs.push_back(v);
      bc.push_back(bound_broadcast(fl, v, n, p.name));
    }
    // Support checks cannot sit inside a map body: check with a loop first, then transform.
    ValueId out = b.map(false, {n}, inputs, bc, b.function().type_of(x), [&](const std::vector<ValueId>& a) {
      std::vector<ValueId> sc(a.begin() + 1, a.end());
      if (p.constraint == "lower") return b.call("log", {b.sub(a[0], sc[0])});
      if (p.constraint == "upper") return b.call("log", {b.sub(sc[0], a[0])});
      if (p.constraint == "lower_upper") return b.call("logit", {b.div(b.sub(a[0], sc[0]), b.sub(sc[1], sc[0]))});
      return b.div(b.sub(a[0], sc[0]), sc[1]);
    });
    ValueId bad = b.map(true, {n}, {out}, {Broadcast::Elementwise}, Type::f64(), [&](const std::vector<ValueId>& a) {
      // 1 for a non-finite unconstrained value (x outside its support), else 0.
      ValueId finite = b.cmp(CmpPred::Lt, b.call("fabs", {a[0]}), b.const_f64(HUGE_VAL));
      return b.emit1(OpKind::Select, {finite, b.const_f64(0.0), b.const_f64(1.0)}, Type::f64());
    });
    Op check = Op::make(OpKind::Check, {b.cmp(CmpPred::Eq, bad, b.const_f64(0.0))});
    check.check = CheckKind::Domain;
    check.text = "some values of '" + name + "' are outside its constraint";
    b.emit(std::move(check));
    return out;
  }

  const ast::Program& program_;
  std::string name_;
  std::vector<const ast::Expr*> hoisted_;
  std::map<const ast::Expr*, std::string> hoisted_names_;
  Diagnostics& diags_;
  ModelLayout layout_;
  std::vector<const ast::VarDecl*> data_, tdata_, tparams_, gqs_;
  std::vector<ParamInfo> params_;
  std::vector<std::unique_ptr<ast::Expr>> owned_;
};

}  // namespace

std::optional<LoweredModel> lower(const ast::Program& program, const std::string& model_name,
                                  Diagnostics& diags) {
  auto out = ModelLowerer(program, model_name, diags).run();
  // The log densities run on every gradient: their loop-invariant calls are tabulated, and
  // squared roots stored by a recursion's previous step are carried (ir/recurrences.h).
  if (out)
    for (Function& f : out->module.functions)
      if (f.role == FunctionRole::LogDensity) {
        tabulate_invariant_calls(f);
        carry_squared_roots(f);
      }
  return out;
}

}  // namespace halo::ir
