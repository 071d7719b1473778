// Expressions: names, operators (Stan's typing rules), indexing, literals, calls and overload
// resolution against the signature table and user-defined functions.
#include <algorithm>
#include <functional>
#include <optional>
#include <set>

#include "semantic/checker.h"

namespace halo::semantic {

using ast::BinaryOp;
using ast::ExprKind;

// ---------------------------------------------------------------------------------------------
// Type helpers

std::string type_str(const Type& t) { return t.str(); }

bool is_numeric_type(const Type& t) {
  return t.base == BaseKind::Int || t.base == BaseKind::Real || t.base == BaseKind::Vector ||
         t.base == BaseKind::RowVector || t.base == BaseKind::Matrix;
}

bool is_value_type(const Type& t) { return is_numeric_type(t); }

bool is_container_type(const Type& t) { return t.array_dims > 0 || t.element_rank() > 0; }

int rank_of(const Type& t) { return t.array_dims + t.element_rank(); }

bool assignable_kind(const Type& to, const Type& from) {
  if (to.array_dims != from.array_dims) return false;
  return to.base == from.base || (to.base == BaseKind::Real && from.base == BaseKind::Int);
}

int conflicting_dim(const Type& a, const Type& b) {
  const int n = std::min(rank_of(a), rank_of(b));
  for (int i = 0; i < n; ++i)
    if (dim_of_type(a, i).conflicts_with(dim_of_type(b, i))) return i;
  return -1;
}

namespace {

bool is_scalar(const Type& t) { return t.is_scalar(); }
bool is_tensor(const Type& t) {
  return t.array_dims == 0 &&
         (t.base == BaseKind::Vector || t.base == BaseKind::RowVector || t.base == BaseKind::Matrix);
}
Type scalar_result(const Type& a, const Type& b) {
  return a.base == BaseKind::Int && b.base == BaseKind::Int ? Type::int_() : Type::real();
}
// The elementwise combination of two tensors of one kind: dims merged.
Type merged(const Type& a, const Type& b) {
  Type t = a;
  const int n = rank_of(a);
  if (static_cast<int>(t.dims.size()) != n) t.dims.assign(static_cast<size_t>(n), Dim::unknown());
  for (int i = 0; i < n; ++i) t.dims[static_cast<size_t>(i)] = merge_dims(dim_of_type(a, i), dim_of_type(b, i));
  return normalized(t);
}
const char* kind_word(const Type& t) {
  if (t.array_dims > 0) return "array";
  switch (t.base) {
    case BaseKind::Int: return "int";
    case BaseKind::Real: return "real";
    case BaseKind::Vector: return "vector";
    case BaseKind::RowVector: return "row_vector";
    case BaseKind::Matrix: return "matrix";
    default: return "value";
  }
}

}  // namespace

OpResult binary_result(BinaryOp op, const Type& a, const Type& b) {
  OpResult r;
  const std::string sym = ast::to_string(op);
  const std::string shown = a.str() + " " + sym + " " + b.str();
  auto fail = [&](std::string hint = {}) {
    r.type = Type::error();
    r.message = std::string("operator '") + sym + "' is not defined for " + kind_word(a) + " and " + kind_word(b);
    r.found = shown;
    r.hint = std::move(hint);
    return r;
  };
  auto size_fail = [&](const std::string& what) {
    r.type = Type::error();
    r.message = what;
    r.found = shown;
    return r;
  };
  auto ok = [&](Type t) {
    r.type = normalized(std::move(t));
    return r;
  };
  if (a.array_dims > 0 || b.array_dims > 0)
    return fail("arrays have no arithmetic; use vectors, or loop over the elements");

  switch (op) {
    case BinaryOp::Add:
    case BinaryOp::Sub:
    case BinaryOp::EltMul:
    case BinaryOp::EltDiv:
    case BinaryOp::EltPow: {
      const bool power = op == BinaryOp::EltPow;
      if (is_scalar(a) && is_scalar(b)) return ok(power ? Type::real() : scalar_result(a, b));
      if (is_scalar(a)) return ok(b);
      if (is_scalar(b)) return ok(a);
      if (a.base != b.base) {
        if (a.element_rank() == 1 && b.element_rank() == 1)
          return fail("a vector and a row_vector cannot be combined; transpose one of them with '");
        return fail();
      }
      int d = conflicting_dim(a, b);
      if (d >= 0)
        return size_fail(std::string("the operands of '") + sym + "' have different sizes");
      return ok(merged(a, b));
    }
    case BinaryOp::Pow:
      if (is_scalar(a) && is_scalar(b)) return ok(Type::real());
      return fail("'^' takes scalars; use '.^' for elementwise powers");
    case BinaryOp::Mul: {
      if (is_scalar(a) && is_scalar(b)) return ok(scalar_result(a, b));
      if (is_scalar(a)) return ok(b);
      if (is_scalar(b)) return ok(a);
      auto inner = [&](const Dim& x, const Dim& y) {
        return x.conflicts_with(y);
      };
      const std::string inner_msg = "the inner sizes of '*' differ";
      if (a.base == BaseKind::RowVector && b.base == BaseKind::Vector) {
        if (inner(dim_of_type(a, 0), dim_of_type(b, 0))) return size_fail(inner_msg);
        return ok(Type::real());
      }
      if (a.base == BaseKind::Vector && b.base == BaseKind::RowVector)
        return ok(Type::matrix(dim_of_type(a, 0), dim_of_type(b, 0)));
      if (a.base == BaseKind::Matrix && b.base == BaseKind::Vector) {
        if (inner(dim_of_type(a, 1), dim_of_type(b, 0))) return size_fail(inner_msg);
        return ok(Type::vector(dim_of_type(a, 0)));
      }
      if (a.base == BaseKind::RowVector && b.base == BaseKind::Matrix) {
        if (inner(dim_of_type(a, 0), dim_of_type(b, 0))) return size_fail(inner_msg);
        return ok(Type::row_vector(dim_of_type(b, 1)));
      }
      if (a.base == BaseKind::Matrix && b.base == BaseKind::Matrix) {
        if (inner(dim_of_type(a, 1), dim_of_type(b, 0))) return size_fail(inner_msg);
        return ok(Type::matrix(dim_of_type(a, 0), dim_of_type(b, 1)));
      }
      if (a.base == BaseKind::Vector && b.base == BaseKind::Vector)
        return fail("use '.*' for the elementwise product, or v' * w for the dot product");
      if (a.base == BaseKind::RowVector && b.base == BaseKind::RowVector)
        return fail("use '.*' for the elementwise product, or v * w' for the dot product");
      return fail();
    }
    case BinaryOp::Div: {
      if (is_scalar(a) && is_scalar(b)) return ok(scalar_result(a, b));
      if (is_tensor(a) && is_scalar(b)) return ok(a);
      if (is_scalar(a) && is_tensor(b)) return fail("use './' to divide a scalar by each element");
      // b / A = b * inverse(A): A square, b's columns match A's.
      if ((a.base == BaseKind::RowVector || a.base == BaseKind::Matrix) && b.base == BaseKind::Matrix) {
        const Dim a_cols = dim_of_type(a, a.base == BaseKind::Matrix ? 1 : 0);
        if (dim_of_type(b, 0).conflicts_with(dim_of_type(b, 1)))
          return size_fail("the right operand of '/' must be a square matrix");
        if (a_cols.conflicts_with(dim_of_type(b, 1))) return size_fail("the sizes of the operands of '/' differ");
        if (a.base == BaseKind::RowVector) return ok(Type::row_vector(dim_of_type(a, 0)));
        return ok(Type::matrix(dim_of_type(a, 0), dim_of_type(b, 0)));
      }
      return fail();
    }
    case BinaryOp::LeftDiv: {
      // A \ b solves A x = b.
      if (a.base == BaseKind::Matrix && a.array_dims == 0 &&
          (b.base == BaseKind::Vector || b.base == BaseKind::Matrix) && b.array_dims == 0) {
        if (dim_of_type(a, 0).conflicts_with(dim_of_type(b, 0)))
          return size_fail("the sizes of the operands of '\\' differ");
        if (b.base == BaseKind::Vector) return ok(Type::vector(dim_of_type(a, 1)));
        return ok(Type::matrix(dim_of_type(a, 1), dim_of_type(b, 1)));
      }
      return fail("'\\' takes a matrix on the left and a vector or matrix on the right");
    }
    case BinaryOp::Mod:
    case BinaryOp::IntDiv:
      if (a.is_int() && b.is_int()) return ok(Type::int_());
      return fail(std::string("'") + sym + "' takes two ints");
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge:
    case BinaryOp::Eq:
    case BinaryOp::Ne:
    case BinaryOp::And:
    case BinaryOp::Or:
      if (is_scalar(a) && is_scalar(b)) return ok(Type::int_());
      return fail(std::string("'") + sym + "' compares int or real scalars");
  }
  return fail();
}

// ---------------------------------------------------------------------------------------------
// Sizes and canonical text

namespace {

std::optional<long long> fold_int(const ast::Expr& e) {
  switch (e.kind) {
    case ExprKind::IntLit: return static_cast<const ast::IntLit&>(e).value;
    case ExprKind::Unary: {
      const auto& u = static_cast<const ast::Unary&>(e);
      auto v = fold_int(*u.operand);
      if (!v || u.op == ast::UnaryOp::Not) return std::nullopt;
      return u.op == ast::UnaryOp::Neg ? -*v : *v;
    }
    case ExprKind::Binary: {
      const auto& b = static_cast<const ast::Binary&>(e);
      auto x = fold_int(*b.lhs), y = fold_int(*b.rhs);
      if (!x || !y) return std::nullopt;
      long long r = 0;
      switch (b.op) {
        case BinaryOp::Add:
          if (__builtin_add_overflow(*x, *y, &r)) return std::nullopt;
          return r;
        case BinaryOp::Sub:
          if (__builtin_sub_overflow(*x, *y, &r)) return std::nullopt;
          return r;
        case BinaryOp::Mul:
          if (__builtin_mul_overflow(*x, *y, &r)) return std::nullopt;
          return r;
        case BinaryOp::Div:
        case BinaryOp::IntDiv:
          if (*y == 0) return std::nullopt;
          return *x / *y;
        case BinaryOp::Mod:
          if (*y == 0) return std::nullopt;
          return *x % *y;
        default: return std::nullopt;
      }
    }
    default: return std::nullopt;
  }
}

// Stan's precedence levels, higher binds tighter.
int precedence(const ast::Expr& e) {
  switch (e.kind) {
    case ExprKind::Unary: return 8;
    case ExprKind::Conditional: return 0;
    case ExprKind::Binary:
      switch (static_cast<const ast::Binary&>(e).op) {
        case BinaryOp::Pow:
        case BinaryOp::EltPow: return 9;
        case BinaryOp::LeftDiv:
        case BinaryOp::IntDiv: return 7;
        case BinaryOp::Mul:
        case BinaryOp::Div:
        case BinaryOp::Mod:
        case BinaryOp::EltMul:
        case BinaryOp::EltDiv: return 6;
        case BinaryOp::Add:
        case BinaryOp::Sub: return 5;
        case BinaryOp::Lt:
        case BinaryOp::Le:
        case BinaryOp::Gt:
        case BinaryOp::Ge: return 4;
        case BinaryOp::Eq:
        case BinaryOp::Ne: return 3;
        case BinaryOp::And: return 2;
        case BinaryOp::Or: return 1;
      }
      return 0;
    default: return 10;
  }
}

std::string wrapped(const ast::Expr& e, bool parens) {
  std::string t = Checker::text(e);
  return parens ? "(" + t + ")" : t;
}

}  // namespace

std::string Checker::text(const ast::Expr& e) {
  switch (e.kind) {
    case ExprKind::IntLit: return std::to_string(static_cast<const ast::IntLit&>(e).value);
    case ExprKind::RealLit: return static_cast<const ast::RealLit&>(e).text;
    case ExprKind::Variable: return static_cast<const ast::Variable&>(e).name;
    case ExprKind::Call: {
      const auto& c = static_cast<const ast::Call&>(e);
      std::string s = c.name + "(";
      for (size_t i = 0; i < c.args.size(); ++i)
        s += (i == 0 ? "" : (i == 1 && c.has_bar) ? " | " : ", ") + text(*c.args[i]);
      if (c.has_bar && c.args.size() == 1) s += " |";
      return s + ")";
    }
    case ExprKind::Unary: {
      const auto& u = static_cast<const ast::Unary&>(e);
      return std::string(ast::to_string(u.op)) + wrapped(*u.operand, precedence(*u.operand) < 8);
    }
    case ExprKind::Binary: {
      const auto& b = static_cast<const ast::Binary&>(e);
      const int p = precedence(e);
      const bool right_assoc = b.op == BinaryOp::Pow || b.op == BinaryOp::EltPow;
      const int pl = precedence(*b.lhs), pr = precedence(*b.rhs);
      return wrapped(*b.lhs, pl < p || (pl == p && right_assoc)) + " " + ast::to_string(b.op) + " " +
             wrapped(*b.rhs, pr < p || (pr == p && !right_assoc));
    }
    case ExprKind::Conditional: {
      const auto& c = static_cast<const ast::Conditional&>(e);
      return wrapped(*c.cond, precedence(*c.cond) == 0) + " ? " + wrapped(*c.then_expr, precedence(*c.then_expr) == 0) +
             " : " + text(*c.else_expr);
    }
    case ExprKind::Index: {
      const auto& ix = static_cast<const ast::Index&>(e);
      std::string s = wrapped(*ix.base, precedence(*ix.base) < 10) + "[";
      for (size_t i = 0; i < ix.indices.size(); ++i) {
        const ast::IndexItem& it = ix.indices[i];
        if (i) s += ", ";
        if (it.lo) s += text(*it.lo);
        if (it.kind != ast::IndexItem::Kind::Single && it.kind != ast::IndexItem::Kind::All) s += ":";
        if (it.kind == ast::IndexItem::Kind::All) s += ":";
        if (it.hi) s += text(*it.hi);
      }
      return s + "]";
    }
    case ExprKind::Member: {
      const auto& m = static_cast<const ast::Member&>(e);
      return wrapped(*m.base, precedence(*m.base) < 10) + "." + m.member;
    }
    case ExprKind::Transpose: {
      const auto& t = static_cast<const ast::Transpose&>(e);
      return wrapped(*t.operand, precedence(*t.operand) < 10) + "'";
    }
    case ExprKind::ArrayLit:
    case ExprKind::RowVectorLit: {
      const bool array = e.kind == ExprKind::ArrayLit;
      const auto& elems = array ? static_cast<const ast::ArrayLit&>(e).elements
                                : static_cast<const ast::RowVectorLit&>(e).elements;
      std::string s = array ? "{" : "[";
      for (size_t i = 0; i < elems.size(); ++i) s += (i ? ", " : "") + text(*elems[i]);
      return s + (array ? "}" : "]");
    }
  }
  return "?";
}

namespace {
// Calls the visitor on every direct sub-expression.
template <typename F>
void for_children(const ast::Expr& e, F&& f) {
  switch (e.kind) {
    case ExprKind::Call:
      for (const auto& a : static_cast<const ast::Call&>(e).args) f(*a);
      break;
    case ExprKind::Unary: f(*static_cast<const ast::Unary&>(e).operand); break;
    case ExprKind::Binary:
      f(*static_cast<const ast::Binary&>(e).lhs);
      f(*static_cast<const ast::Binary&>(e).rhs);
      break;
    case ExprKind::Conditional: {
      const auto& c = static_cast<const ast::Conditional&>(e);
      f(*c.cond);
      f(*c.then_expr);
      f(*c.else_expr);
      break;
    }
    case ExprKind::Index: {
      const auto& ix = static_cast<const ast::Index&>(e);
      f(*ix.base);
      for (const auto& it : ix.indices) {
        if (it.lo) f(*it.lo);
        if (it.hi) f(*it.hi);
      }
      break;
    }
    case ExprKind::Member: f(*static_cast<const ast::Member&>(e).base); break;
    case ExprKind::Transpose: f(*static_cast<const ast::Transpose&>(e).operand); break;
    case ExprKind::ArrayLit:
      for (const auto& x : static_cast<const ast::ArrayLit&>(e).elements) f(*x);
      break;
    case ExprKind::RowVectorLit:
      for (const auto& x : static_cast<const ast::RowVectorLit&>(e).elements) f(*x);
      break;
    default: break;
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

const ast::Variable* Checker::first_non_data(const ast::Expr& e) const {
  if (e.kind == ExprKind::Variable) {
    const auto& v = static_cast<const ast::Variable&>(e);
    return v.origin == Origin::Data || v.origin == Origin::TransformedData ? nullptr : &v;
  }
  const ast::Variable* found = nullptr;
  for_children(e, [&](const ast::Expr& c) {
    if (!found) found = first_non_data(c);
  });
  return found;
}

bool Checker::is_data_only(const ast::Expr& e) const {
  if (e.kind == ExprKind::Variable) {
    const Symbol* s = lookup(static_cast<const ast::Variable&>(e).name);
    return s == nullptr || s->data_only;
  }
  if (e.kind == ExprKind::Member) return false;
  bool data = true;
  for_children(e, [&](const ast::Expr& c) { data = data && is_data_only(c); });
  return data;
}

Dim Checker::size_of(const ast::Expr& e) const {
  if (!e.type.is_int()) return Dim::unknown();
  if (auto v = fold_int(e)) return Dim::constant(*v);
  // A symbol names a value that is the same wherever it is written: an expression of data
  // without random draws.
  bool random = false;
  std::function<void(const ast::Expr&)> scan = [&](const ast::Expr& x) {
    if (x.kind == ExprKind::Call && ends_with(static_cast<const ast::Call&>(x).name, "_rng")) random = true;
    if (x.kind == ExprKind::Variable && static_cast<const ast::Variable&>(x).origin == Origin::Unresolved) random = true;
    for_children(x, scan);
  };
  scan(e);
  if (random || first_non_data(e) != nullptr) return Dim::unknown();
  return Dim::sym(text(e));
}

// ---------------------------------------------------------------------------------------------
// Expressions

Type Checker::expr(ast::Expr& e) {
  Type t = expr_any(e);
  if (t.base == BaseKind::Network || t.base == BaseKind::Layer) {
    const bool net = t.base == BaseKind::Network;
    const std::string name = text(e);
    Diagnostic& d = diags_.error(e.span, "'" + name + "' is a " + (net ? "network" : "layer") + ", not a value");
    d.hint = net ? "a network can be applied (" + name + "(x)), given a prior (" + name +
                       " ~ normal(0, 1)) or have its members read (" + name + ".layer1.W)"
                 : "use " + name + ".W or " + name + ".b for its weights and biases";
    return Type::error();
  }
  if (t.base == BaseKind::Void) {
    const auto& c = static_cast<const ast::Call&>(e);
    Diagnostic& d = diags_.error(e.span, "'" + c.name + "' returns nothing (void) and cannot be used as a value");
    d.found = "void";
    return Type::error();
  }
  return t;
}

Type Checker::expr_any(ast::Expr& e) {
  Type t = Type::error();
  switch (e.kind) {
    case ExprKind::IntLit: t = Type::int_(); break;
    case ExprKind::RealLit: t = Type::real(); break;
    case ExprKind::Variable: {
      auto& v = static_cast<ast::Variable&>(e);
      const Symbol* s = lookup(v.name);
      if (!s) {
        report_unknown_name(v.name, v.span);
        break;
      }
      v.origin = s->origin;
      t = s->type;
      break;
    }
    case ExprKind::Call: t = call(static_cast<ast::Call&>(e), false); break;
    case ExprKind::Unary: {
      auto& u = static_cast<ast::Unary&>(e);
      Type o = expr(*u.operand);
      if (o.is_error()) break;
      if (u.op == ast::UnaryOp::Not) {
        if (o.is_scalar()) {
          t = Type::int_();
        } else {
          Diagnostic& d = diags_.error(e.span, "operator '!' takes an int or a real");
          d.found = o.str();
        }
        break;
      }
      if (o.array_dims > 0) {
        Diagnostic& d = diags_.error(e.span, std::string("operator '") + ast::to_string(u.op) + "' is not defined for arrays");
        d.found = o.str();
        break;
      }
      t = o;
      break;
    }
    case ExprKind::Binary: {
      auto& b = static_cast<ast::Binary&>(e);
      Type l = expr(*b.lhs), r = expr(*b.rhs);
      if (l.is_error() || r.is_error()) break;
      OpResult res = binary_result(b.op, l, r);
      if (!res.ok()) {
        Diagnostic& d = diags_.error(e.span, res.message);
        d.found = res.found;
        d.hint = res.hint;
        break;
      }
      t = res.type;
      break;
    }
    case ExprKind::Conditional: {
      auto& c = static_cast<ast::Conditional&>(e);
      Type cond = expr(*c.cond);
      Type a = expr(*c.then_expr), b = expr(*c.else_expr);
      if (!cond.is_error() && !cond.is_int()) {
        Diagnostic& d = diags_.error(c.cond->span, "the condition of '?:' must be an int");
        d.found = cond.str();
        d.expected = "int";
        if (cond.is_real()) d.hint = "compare it explicitly, e.g. (x != 0)";
      }
      if (a.is_error() || b.is_error()) break;
      if (assignable_kind(a, b) || assignable_kind(b, a)) {
        if (conflicting_dim(a, b) >= 0) {
          Diagnostic& d = diags_.error(e.span, "the branches of '?:' have different sizes");
          d.found = a.str() + " and " + b.str();
          break;
        }
        t = merged(assignable_kind(a, b) ? a : b, assignable_kind(a, b) ? b : a);
        break;
      }
      Diagnostic& d = diags_.error(e.span, "the branches of '?:' have different types");
      d.found = a.str() + " and " + b.str();
      d.hint = "both branches must have one type (int and real mix, giving real)";
      break;
    }
    case ExprKind::Index: t = index(static_cast<ast::Index&>(e)); break;
    case ExprKind::Member: t = member(static_cast<ast::Member&>(e)); break;
    case ExprKind::Transpose: {
      auto& tr = static_cast<ast::Transpose&>(e);
      Type o = expr(*tr.operand);
      if (o.is_error()) break;
      if (o.array_dims == 0 && o.base == BaseKind::Vector) t = normalized(Type::row_vector(dim_of_type(o, 0)));
      else if (o.array_dims == 0 && o.base == BaseKind::RowVector) t = normalized(Type::vector(dim_of_type(o, 0)));
      else if (o.array_dims == 0 && o.base == BaseKind::Matrix)
        t = normalized(Type::matrix(dim_of_type(o, 1), dim_of_type(o, 0)));
      else {
        Diagnostic& d = diags_.error(e.span, "only vectors, row vectors and matrices can be transposed");
        d.found = o.str();
      }
      break;
    }
    case ExprKind::ArrayLit: t = array_literal(static_cast<ast::ArrayLit&>(e)); break;
    case ExprKind::RowVectorLit: t = row_vector_literal(static_cast<ast::RowVectorLit&>(e)); break;
  }
  e.type = t;
  return t;
}

Type Checker::array_literal(ast::ArrayLit& a) {
  std::vector<Type> types;
  bool bad = false;
  for (auto& x : a.elements) {
    types.push_back(expr(*x));
    bad = bad || types.back().is_error();
  }
  if (bad || types.empty()) return Type::error();
  // The element type: the first, promoted to real if an int meets a real.
  Type elem = types[0];
  for (size_t i = 1; i < types.size(); ++i) {
    const Type& t = types[i];
    if (assignable_kind(elem, t)) {
      if (conflicting_dim(elem, t) >= 0) {
        Diagnostic& d = diags_.error(a.elements[i]->span, "the elements of an array literal have different sizes");
        d.found = t.str();
        d.expected = elem.str();
        return Type::error();
      }
      elem = merged(elem, t);
    } else if (assignable_kind(t, elem)) {
      elem = merged(t, elem);
    } else {
      Diagnostic& d = diags_.error(a.elements[i]->span, "the elements of an array literal have different types");
      d.found = t.str();
      d.expected = elem.str();
      return Type::error();
    }
  }
  Type out = elem;
  out.array_dims += 1;
  std::vector<Dim> dims = {Dim::constant(static_cast<long long>(types.size()))};
  for (int i = 0; i < rank_of(elem); ++i) dims.push_back(dim_of_type(elem, i));
  out.dims = dims;
  return normalized(out);
}

Type Checker::row_vector_literal(ast::RowVectorLit& r) {
  std::vector<Type> types;
  bool bad = false;
  for (auto& x : r.elements) {
    types.push_back(expr(*x));
    bad = bad || types.back().is_error();
  }
  if (bad) return Type::error();
  const Dim n = Dim::constant(static_cast<long long>(types.size()));
  if (std::all_of(types.begin(), types.end(), [](const Type& t) { return t.is_scalar(); }))
    return Type::row_vector(n);
  if (std::all_of(types.begin(), types.end(),
                  [](const Type& t) { return t.array_dims == 0 && t.base == BaseKind::RowVector; })) {
    Dim cols = dim_of_type(types[0], 0);
    for (size_t i = 1; i < types.size(); ++i) {
      Dim c = dim_of_type(types[i], 0);
      if (cols.conflicts_with(c)) {
        Diagnostic& d = diags_.error(r.elements[i]->span, "the rows of a matrix literal have different sizes");
        d.found = types[i].str();
        d.expected = types[0].str();
        return Type::error();
      }
      cols = merge_dims(cols, c);
    }
    return normalized(Type::matrix(n, cols));
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i].is_scalar() || (types[i].array_dims == 0 && types[i].base == BaseKind::RowVector)) continue;
    Diagnostic& d = diags_.error(r.elements[i]->span, "the elements of [...] must be ints and reals (a row vector) or "
                                                      "row vectors (a matrix)");
    d.found = types[i].str();
    if (types[i].base == BaseKind::Vector && types[i].array_dims == 0) d.hint = "transpose it with ' to make a row";
    return Type::error();
  }
  Diagnostic& d = diags_.error(r.span, "[...] mixes scalars and row vectors");
  d.hint = "write [a, b, c] for a row vector or [[a, b], [c, d]] for a matrix";
  return Type::error();
}

// ---------------------------------------------------------------------------------------------
// Indexing

Type Checker::index(ast::Index& ix) {
  Type base = expr(*ix.base);
  // Type the index expressions first, so that all their errors are found.
  struct Item {
    bool keep = false;   // multi-index or range: the dimension stays
    bool whole = false;  // kept at its full size (`:`, `1:`)
    Dim size;            // otherwise its new size when kept
    Dim from;            // `lo:`: lo (the size is the dimension's, less lo - 1)
    bool bad = false;
  };
  std::vector<Item> items;
  for (ast::IndexItem& it : ix.indices) {
    Item item;
    auto bound = [&](ast::ExprPtr& x) -> Dim {
      Type t = expr(*x);
      if (t.is_error()) {
        item.bad = true;
      } else if (!t.is_int()) {
        Diagnostic& d = diags_.error(x->span, "a range bound must be an int");
        d.found = t.str();
        d.expected = "int";
        item.bad = true;
      }
      return item.bad ? Dim::unknown() : size_of(*x);
    };
    switch (it.kind) {
      case ast::IndexItem::Kind::Single: {
        Type t = expr(*it.lo);
        if (t.is_error()) {
          item.bad = true;
        } else if (t.is_int()) {
          item.keep = false;
        } else if (t.base == BaseKind::Int && t.array_dims == 1) {
          item.keep = true;
          item.size = dim_of_type(t, 0);
        } else {
          Diagnostic& d = diags_.error(it.lo->span, "an index must be an int, an array of ints or a range");
          d.found = t.str();
          d.expected = "int";
          if (t.is_real()) d.hint = "indexes are 1-based integers; use to_int() on data if truncation is meant";
          item.bad = true;
        }
        break;
      }
      case ast::IndexItem::Kind::All:
        item.keep = true;
        item.whole = true;
        break;
      case ast::IndexItem::Kind::From: {
        item.keep = true;
        item.from = bound(it.lo);
        item.whole = item.from.kind == Dim::Kind::Const && item.from.value == 1;
        break;
      }
      case ast::IndexItem::Kind::UpTo: {
        item.keep = true;
        item.size = bound(it.hi);
        break;
      }
      case ast::IndexItem::Kind::Range: {
        item.keep = true;
        Dim lo = bound(it.lo), hi = bound(it.hi);
        if (lo.kind == Dim::Kind::Const && hi.kind == Dim::Kind::Const)
          item.size = Dim::constant(std::max(0LL, hi.value - lo.value + 1));
        else if (lo.kind == Dim::Kind::Const && lo.value == 1)
          item.size = hi;
        break;
      }
    }
    items.push_back(item);
  }
  if (base.is_error()) return Type::error();
  for (const Item& i : items)
    if (i.bad) return Type::error();

  const int rank = rank_of(base);
  if (static_cast<int>(items.size()) > rank) {
    const ast::IndexItem& extra = ix.indices[static_cast<size_t>(rank)];
    Span where = extra.span.valid() ? Span::cover(extra.span, ix.indices.back().span) : ix.span;
    Diagnostic& d = diags_.error(where, "too many indexes: '" + text(*ix.base) + "' has " + std::to_string(rank) +
                                            (rank == 1 ? " dimension" : " dimensions") + " but is indexed with " +
                                            std::to_string(items.size()));
    d.found = base.str();
    return Type::error();
  }
  // The size of a kept dimension: the range's, or the whole dimension.
  auto kept_size = [&](const Item& item, int dim) {
    if (item.whole) return dim_of_type(base, dim);
    const Dim full = dim_of_type(base, dim);
    if (item.from.kind == Dim::Kind::Const && item.from.value > 1) {
      const long long skipped = item.from.value - 1;
      if (full.kind == Dim::Kind::Const) return Dim::constant(std::max(0LL, full.value - skipped));
      if (full.kind == Dim::Kind::Symbol) return Dim::sym(full.symbol + " - " + std::to_string(skipped));
    }
    return item.size;
  };
  Type out;
  out.base = base.base;
  std::vector<Dim> dims;
  int array_kept = 0;
  for (int i = 0; i < base.array_dims; ++i) {
    if (i < static_cast<int>(items.size())) {
      if (!items[static_cast<size_t>(i)].keep) continue;
      dims.push_back(kept_size(items[static_cast<size_t>(i)], i));
    } else {
      dims.push_back(dim_of_type(base, i));
    }
    ++array_kept;
  }
  out.array_dims = array_kept;
  const int element_items = std::max(0, static_cast<int>(items.size()) - base.array_dims);
  const int a = base.array_dims;
  auto elem_item = [&](int j) -> const Item& { return items[static_cast<size_t>(a + j)]; };
  switch (base.base) {
    case BaseKind::Vector:
    case BaseKind::RowVector:
      if (element_items == 0) {
        dims.push_back(dim_of_type(base, a));
      } else if (elem_item(0).keep) {
        dims.push_back(kept_size(elem_item(0), a));
      } else {
        out.base = BaseKind::Real;
      }
      break;
    case BaseKind::Matrix: {
      const bool has_row = element_items >= 1, has_col = element_items >= 2;
      const bool keep_row = !has_row || elem_item(0).keep, keep_col = !has_col || elem_item(1).keep;
      Dim rows = has_row && keep_row ? kept_size(elem_item(0), a) : dim_of_type(base, a);
      Dim cols = has_col && keep_col ? kept_size(elem_item(1), a + 1) : dim_of_type(base, a + 1);
      if (keep_row && keep_col) {
        dims.push_back(rows);
        dims.push_back(cols);
      } else if (keep_row) {
        out.base = BaseKind::Vector;
        dims.push_back(rows);
      } else if (keep_col) {
        out.base = BaseKind::RowVector;
        dims.push_back(cols);
      } else {
        out.base = BaseKind::Real;
      }
      break;
    }
    default: break;
  }
  out.dims = dims;
  return normalized(out);
}

// ---------------------------------------------------------------------------------------------
// Calls

bool Checker::block_allows_rng() const {
  if (ctx_.function) return ends_with(ctx_.function->name, "_rng");
  return ctx_.block == ast::BlockKind::TransformedData || ctx_.block == ast::BlockKind::GeneratedQuantities;
}

bool Checker::block_allows_target() const {
  if (ctx_.function) return ends_with(ctx_.function->name, "_lp");
  return ctx_.block == ast::BlockKind::Model;
}

bool Checker::block_allows_lupdf() const {
  if (ctx_.function) return ends_with(ctx_.function->name, "_lpdf") || ends_with(ctx_.function->name, "_lpmf");
  return ctx_.block == ast::BlockKind::Model;
}

namespace {

bool name_needs_bar(const std::string& n) {
  for (const char* s : {"_lpdf", "_lupdf", "_lpmf", "_lupmf", "_lcdf", "_lccdf", "_cdf"})
    if (ends_with(n, s)) return true;
  return false;
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// What a parameter class accepts, in words.
std::string describe_param(const ParamSpec& p) {
  switch (p.cls) {
    case ParamClass::Reals: return "reals (int, real, vector, row_vector, array[] int or array[] real)";
    case ParamClass::Ints: return "ints (int or array[] int)";
    case ParamClass::Vectors: return "vectors (vector, row_vector or an array of them)";
    case ParamClass::Elementwise: return "int, real, vector, row_vector, matrix or an array of them";
    case ParamClass::Any: return "any value";
    case ParamClass::AnyArray: return "an array";
    case ParamClass::SameAs: return "the same type as argument " + std::to_string(p.same_as + 1);
    case ParamClass::Type: return p.text();
  }
  return p.text();
}

// The text of a user-defined function's signature, "real my_normal_lpdf(real y | real mu)".
std::string user_signature_text(const ast::FunctionDef& f, bool with_names) {
  const bool bar = name_needs_bar(f.name);
  std::string s = f.name + "(";
  for (size_t i = 0; i < f.args.size(); ++i) {
    s += i == 0 ? "" : (i == 1 && bar) ? " | " : ", ";
    s += std::string(f.args[i].data_only ? "data " : "") + f.args[i].type.unsized_str();
    if (with_names) s += " " + f.args[i].name;
  }
  if (bar && f.args.size() == 1) s += " |";
  return s + ")";
}

int user_cost(const ast::FunctionDef& f, const std::vector<Type>& args) {
  if (f.args.size() != args.size()) return -1;
  int cost = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const Type& p = f.args[i].type;
    const Type& a = args[i];
    if (!is_value_type(a) || p.array_dims != a.array_dims) return -1;
    if (p.base == a.base) continue;
    if (p.base == BaseKind::Real && a.base == BaseKind::Int) {
      ++cost;
      continue;
    }
    return -1;
  }
  return cost;
}

}  // namespace

std::string user_function_text(const ast::FunctionDef& f) { return user_signature_text(f, false); }

// The user-defined function behind an unnormalised density call: f_lupdf -> f_lpdf.
static std::string defining_name(const std::string& name) {
  if (ends_with(name, "_lupdf")) return name.substr(0, name.size() - 6) + "_lpdf";
  if (ends_with(name, "_lupmf")) return name.substr(0, name.size() - 6) + "_lpmf";
  return name;
}

// Stan's reduce_sum(f, x, grainsize, args...) and reduce_sum_static: the sum of f over slices
// of x, which Stan may split across threads. Its value is f over all of x at once, which is
// what Halo computes: the call becomes f(x, 1, size(x), args...) (the grainsize is checked as an
// int and dropped; generated code is vectorised instead of threaded). docs/language.md.
bool Checker::desugar_reduce_sum(ast::Call& c) {
  auto fail = [&](const Span& at, const std::string& message, const std::string& hint) {
    Diagnostic& d = diags_.error(at, message);
    d.hint = hint;
    return false;
  };
  const std::string usage = c.name + "(partial_sum, x, grainsize, ...) needs a user-defined partial-sum function, "
                            "the array to slice and an int grainsize";
  if (c.args.size() < 3) return fail(c.span, "too few arguments to '" + c.name + "'", usage);
  if (c.args[0]->kind != ExprKind::Variable)
    return fail(c.args[0]->span, "the first argument of '" + c.name + "' must name a function", usage);
  std::string f = static_cast<const ast::Variable&>(*c.args[0]).name;
  const Span f_span = c.args[0]->span;
  if (functions_.count(defining_name(f)) == 0)
    return fail(c.args[0]->span, "'" + f + "' is not a user-defined function", usage);
  if (c.args[1]->kind != ExprKind::Variable)
    return fail(c.args[1]->span, "Halo's '" + c.name + "' slices a variable",
                "assign the expression to a local variable and pass that");
  Type grain = expr(*c.args[2]);
  if (!grain.is_error() && !(grain.is_int() && grain.array_dims == 0))
    return fail(c.args[2]->span, "the grainsize of '" + c.name + "' must be an int", usage);
  const auto& sliced = static_cast<const ast::Variable&>(*c.args[1]);
  auto start = std::make_unique<ast::IntLit>(c.args[2]->span);
  start->value = 1;
  start->text = "1";
  auto end = std::make_unique<ast::Call>(c.args[1]->span);
  end->name = "size";
  end->name_span = c.args[1]->span;
  auto sliced_again = std::make_unique<ast::Variable>(sliced.span);
  sliced_again->name = sliced.name;
  end->args.push_back(std::move(sliced_again));
  std::vector<ast::ExprPtr> args;
  args.push_back(std::move(c.args[1]));
  args.push_back(std::move(start));
  args.push_back(std::move(end));
  for (size_t i = 3; i < c.args.size(); ++i) args.push_back(std::move(c.args[i]));
  c.name = f;
  c.name_span = f_span;
  c.args = std::move(args);
  // A density's variate is its first argument: f_lpmf(x | 1, size(x), ...).
  c.has_bar = name_needs_bar(f);
  return true;
}

Type Checker::call(ast::Call& c, bool as_statement) {
  // A network in scope is applied like a function (networks may share a built-in's name).
  if (const Symbol* s = lookup(c.name); s && s->network) return apply_network(c, *s);
  if ((c.name == "reduce_sum" || c.name == "reduce_sum_static") && !lookup(c.name) &&
      functions_.count(c.name) == 0) {
    if (!desugar_reduce_sum(c)) return Type::error();
  }

  std::vector<ast::Expr*> arg_exprs;
  std::vector<ArgInfo> args;
  bool bad_arg = false;
  for (auto& a : c.args) {
    Type t = expr(*a);
    bad_arg = bad_arg || t.is_error();
    arg_exprs.push_back(a.get());
    args.push_back({t, t.is_int() ? size_of(*a) : Dim::unknown()});
  }

  const std::string user_name = defining_name(c.name);
  const bool known = is_builtin_function(c.name) || functions_.count(user_name) > 0;
  if (!known) {
    if (const Symbol* s = lookup(c.name)) {
      Diagnostic& d = diags_.error(c.name_span, "'" + c.name + "' is a variable, not a function");
      d.found = s->type.str();
      return Type::error();
    }
    std::vector<std::string> names = builtin_function_names();
    for (const auto& [n, _] : functions_) names.push_back(n);
    Diagnostic& d = diags_.error(c.name_span, "unknown function '" + c.name + "'");
    std::string close = closest_match(c.name, names);
    if (!close.empty()) d.hint = "did you mean '" + close + "'?";
    return Type::error();
  }

  // Rules that depend on the name only.
  const bool bar = name_needs_bar(c.name);
  // A density of the variate alone (std_normal_lpdf(y)) has nothing to put after a bar.
  if (bar && !c.has_bar && c.args.size() > 1) {
    Diagnostic& d = diags_.error(c.span, "a call to '" + c.name + "' needs '|' after its first argument");
    d.hint = "write " + c.name + "(y | ...): the variate, then '|', then the parameters";
  } else if (!bar && c.has_bar) {
    Diagnostic& d = diags_.error(c.span, "'|' is only for _lpdf, _lpmf, _lcdf, _lccdf and _cdf calls; '" + c.name +
                                             "' is not one");
    d.hint = "separate the arguments with ','";
    bad_arg = true;  // the argument list is not what was meant: do not resolve it
  }
  if (ends_with(c.name, "_rng") && !block_allows_rng()) {
    Diagnostic& d = diags_.error(c.name_span, "'" + c.name + "' draws random numbers and is not allowed here");
    d.hint = ctx_.function ? "only functions whose names end in _rng may call _rng functions"
                           : "_rng functions are allowed only in transformed data and generated quantities";
  }
  if ((ends_with(c.name, "_lupdf") || ends_with(c.name, "_lupmf")) && !block_allows_lupdf()) {
    Diagnostic& d = diags_.error(c.name_span, "'" + c.name + "' (an unnormalised density) is not allowed here");
    d.hint = "use " + user_name + "; _lupdf/_lupmf are allowed only in the model block and in _lpdf/_lpmf functions";
  }
  if (c.name == "target" && !block_allows_target()) {
    Diagnostic& d = diags_.error(c.span, "target() is only available in the model block");
    d.hint = "target() and target += belong to the model block (and _lp functions)";
  }
  if (ends_with(c.name, "_lp") && functions_.count(c.name)) {
    const bool allowed = ctx_.function ? ends_with(ctx_.function->name, "_lp")
                                       : ctx_.block == ast::BlockKind::TransformedParameters ||
                                             ctx_.block == ast::BlockKind::Model;
    if (!allowed) {
      Diagnostic& d = diags_.error(c.name_span, "'" + c.name + "' increments target and cannot be called here");
      d.hint = "_lp functions can be called only in transformed parameters, the model block and other _lp functions";
    }
  }
  if (bad_arg) return Type::error();

  Resolution r = resolve({c.name}, user_name, c.name_span, c.span, arg_exprs, args, false, c.name);
  c.signature = r.signature;
  c.user_function = r.user;
  c.resolved = r.text;
  if (r.result.is_error()) return Type::error();
  if (as_statement && r.result.base != BaseKind::Void) {
    Diagnostic& d = diags_.error(c.span, "the value of '" + c.name + "(...)' is not used");
    d.found = r.result.str();
    d.hint = "only void functions can be called as statements";
    return Type::error();
  }
  return r.result;
}

void Checker::call_statement(ast::Call& c) {
  Type t = call(c, true);
  c.type = t;
}

Checker::Resolution Checker::resolve(const std::vector<std::string>& builtin_names, const std::string& user_name,
                                     const Span& name_span, const Span& call_span,
                                     const std::vector<ast::Expr*>& arg_exprs, const std::vector<ArgInfo>& args,
                                     bool tilde_form, const std::string& shown_name) {
  Resolution res;
  std::vector<Type> types;
  for (const ArgInfo& a : args) types.push_back(a.type);

  struct Candidate {
    int signature = -1;
    const ast::FunctionDef* user = nullptr;
    int cost = -1;
    size_t arity = 0;
    std::string text;     // for messages
  };
  std::vector<Candidate> candidates;
  for (const std::string& n : builtin_names)
    for (int id : signatures_named(n)) {
      const Signature& s = signature(id);
      candidates.push_back({id, nullptr, match_cost(s, types), s.params.size(), s.display});
    }
  if (auto it = functions_.find(user_name); it != functions_.end()) {
    for (const UserFunction& u : it->second) {
      const ast::FunctionDef* f = u.def ? u.def : u.forward;
      candidates.push_back({-1, f, user_cost(*f, types), f->args.size(), user_signature_text(*f, true)});
    }
  }
  auto arg_fits = [&](const Candidate& cand, size_t i) {
    if (cand.signature >= 0) return param_accepts(signature(cand.signature).params[i], types[i]);
    const Type& p = cand.user->args[i].type;
    return is_value_type(types[i]) && p.array_dims == types[i].array_dims &&
           (p.base == types[i].base || (p.base == BaseKind::Real && types[i].base == BaseKind::Int));
  };
  const Candidate* best = nullptr;
  for (const Candidate& cand : candidates)
    if (cand.cost >= 0 && (!best || cand.cost < best->cost)) best = &cand;

  // Arguments are numbered as written: for `y ~ dist(a, b)`, a is argument 1.
  auto describe_arg = [&](size_t i, const std::string& param_name) {
    std::string d;
    if (tilde_form && i == 0) d = "the left-hand side of '~'";
    else d = "argument " + std::to_string(tilde_form ? i : i + 1);
    if (!param_name.empty()) d += " (" + param_name + ")";
    return d;
  };
  auto found_text = [&]() {
    std::string s = shown_name + "(";
    for (size_t i = 0; i < types.size(); ++i) {
      if (tilde_form && i == 0) continue;
      s += (i == (tilde_form ? 1u : 0u) ? "" : ", ") + types[i].str();
    }
    s += ")";
    if (tilde_form) s = types[0].str() + " ~ " + s;
    return s;
  };

  if (!best) {
    // The closest candidates: right arity first, then the most arguments that fit.
    auto fits = [&](const Candidate& cand) {
      int n = 0;
      for (size_t i = 0; i < types.size() && i < cand.arity; ++i) n += arg_fits(cand, i);
      return n;
    };
    std::vector<const Candidate*> ranked;
    for (const Candidate& cand : candidates) ranked.push_back(&cand);
    std::stable_sort(ranked.begin(), ranked.end(), [&](const Candidate* a, const Candidate* b) {
      bool ea = a->arity == types.size(), eb = b->arity == types.size();
      if (ea != eb) return ea;
      return fits(*a) > fits(*b);
    });
    std::vector<const Candidate*> same_arity;
    for (const Candidate* cand : ranked)
      if (cand->arity == types.size()) same_arity.push_back(cand);

    std::string expected;
    const size_t shown = std::min<size_t>(3, ranked.size());
    for (size_t i = 0; i < shown; ++i) expected += (i ? "\n            " : "") + ranked[i]->text;
    if (ranked.size() > shown) expected += "\n            (" + plural(ranked.size() - shown, "more signature") + ")";

    if (same_arity.empty()) {
      const size_t given = tilde_form ? types.size() - 1 : types.size();
      Diagnostic& d = diags_.error(tilde_form ? name_span : call_span,
                                   std::string("wrong number of arguments for ") + (tilde_form ? "distribution '" : "'") +
                                       shown_name + "'");
      d.found = plural(given, "argument") + ": " + found_text();
      d.expected = expected;
      return res;
    }
    // One signature of this arity and one argument that does not fit it: point at that one.
    if (same_arity.size() == 1) {
      const Candidate& cand = *same_arity[0];
      std::vector<size_t> misfits;
      for (size_t i = 0; i < types.size(); ++i)
        if (!arg_fits(cand, i)) misfits.push_back(i);
      if (misfits.size() == 1) {
        const size_t i = misfits[0];
        std::string pname, pdesc;
        if (cand.signature >= 0) {
          pname = signature(cand.signature).params[i].name;
          pdesc = describe_param(signature(cand.signature).params[i]);
        } else {
          pname = cand.user->args[i].name;
          pdesc = cand.user->args[i].type.unsized_str();
        }
        const std::string what = tilde_form && i == 0
                                     ? "the left-hand side of '~' does not fit '" + shown_name + "'"
                                     : "wrong type for " + describe_arg(i, pname) + " of '" + shown_name + "'";
        Diagnostic& d = diags_.error(arg_exprs[i]->span, what);
        d.found = types[i].str();
        d.expected = pdesc;
        d.hint = "the signature is " + cand.text;
        return res;
      }
    }
    Diagnostic& d = diags_.error(call_span, "no signature of '" + shown_name + "' matches these argument types");
    d.found = found_text();
    d.expected = expected;
    return res;
  }

  if (best->signature >= 0) {
    const Signature& sig = signature(best->signature);
    std::vector<SizeConflict> conflicts;
    Type result = result_type(sig, args, &conflicts);
    for (const SizeConflict& k : conflicts) {
      const size_t ia = static_cast<size_t>(std::max(0, k.arg_a)), ib = static_cast<size_t>(std::max(0, k.arg_b));
      // "argument 2 (Sigma) has 3 rows"
      auto has_size = [&](int arg, int dim, const Dim& size) {
        if (arg < 0) return "a size is " + size.str();
        const Type& t = types[static_cast<size_t>(arg)];
        std::string who = describe_arg(static_cast<size_t>(arg), sig.params[static_cast<size_t>(arg)].name);
        if (dim < 0) return who + " is " + size.str();
        const std::string n = size.str();
        if (dim < t.array_dims)
          return who + (t.array_dims == 1 ? " has size " + n : " has size " + n + " in dimension " + std::to_string(dim + 1));
        const bool elements = t.array_dims > 0;
        if (t.base == BaseKind::Matrix)
          return who + (elements ? " has matrices with " : " has ") + n + (dim == t.array_dims ? " rows" : " columns");
        return who + (elements ? " has vectors of size " : " has size ") + n;
      };
      const ast::Expr* where = k.arg_b >= 0 ? arg_exprs[ib] : arg_exprs[ia];
      Diagnostic& d = diags_.error(where->span, "size mismatch in '" + shown_name + "': " +
                                                    has_size(k.arg_b, k.dim_b, k.size_b) + " but " +
                                                    has_size(k.arg_a, k.dim_a, k.size_a));
      d.found = types[ib].str();
      d.hint = "the signature is " + sig.display;
    }
    if (!conflicts.empty()) return res;
    res.signature = sig.id;
    res.result = result;
    res.text = sig.call_form;
    return res;
  }

  const ast::FunctionDef& f = *best->user;
  for (size_t i = 0; i < f.args.size(); ++i) {
    if (f.args[i].data_only && !is_data_only(*arg_exprs[i])) {
      Diagnostic& d = diags_.error(arg_exprs[i]->span, "argument '" + f.args[i].name + "' of '" + f.name +
                                                           "' must be data");
      d.hint = "it is declared `data`: pass an expression of data, transformed data or literals";
    }
  }
  res.user = &f;
  res.result = f.return_type;
  res.result.dims.clear();
  res.text = user_signature_text(f, false);
  return res;
}

}  // namespace halo::semantic
