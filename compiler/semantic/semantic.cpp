// The semantic stage: scopes and names, block rules, declarations and constraints, functions
// and statements. Expressions are in expressions.cpp, networks in networks.cpp.
#include "semantic/semantic.h"

#include <algorithm>
#include <set>

#include "semantic/checker.h"

namespace halo::semantic {

using ast::BlockKind;
using ast::ElementKind;
using ast::StmtKind;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string line_of(const Span& s) { return "line " + std::to_string(s.begin_line); }

const char* origin_words(Origin o) {
  switch (o) {
    case Origin::Data: return "data";
    case Origin::TransformedData: return "transformed data";
    case Origin::Parameter: return "a parameter";
    case Origin::TransformedParameter: return "a transformed parameter";
    case Origin::GeneratedQuantity: return "a generated quantity";
    case Origin::Local: return "a local variable";
    case Origin::LoopVariable: return "a loop variable";
    case Origin::FunctionArgument: return "a function argument";
    case Origin::Unresolved: break;
  }
  return "a variable";
}

bool is_special(ElementKind k) {
  return k != ElementKind::Int && k != ElementKind::Real && k != ElementKind::Vector &&
         k != ElementKind::RowVector && k != ElementKind::Matrix;
}

// Whether every path through `s` ends in return (or reject / fatal_error, which do not come
// back), as Stan requires of non-void functions.
bool always_returns(const ast::Stmt& s) {
  switch (s.kind) {
    case StmtKind::Return:
    case StmtKind::Reject:
    case StmtKind::FatalError: return true;
    case StmtKind::Block: {
      const auto& b = static_cast<const ast::Block&>(s);
      return std::any_of(b.items.begin(), b.items.end(), [](const ast::StmtPtr& i) { return always_returns(*i); });
    }
    case StmtKind::If: {
      const auto& i = static_cast<const ast::If&>(s);
      return i.else_stmt && always_returns(*i.then_stmt) && always_returns(*i.else_stmt);
    }
    default: return false;
  }
}

}  // namespace

// Words Stan reserves that Halo's grammar does not already treat as keywords.
bool is_reserved_name(const std::string& name) {
  static const std::set<std::string> reserved = {
      "true", "false", "repeat", "until", "then", "profile", "tuple", "complex", "complex_vector",
      "complex_row_vector", "complex_matrix", "jacobian"};
  return reserved.count(name) > 0 || ends_with(name, "__");
}

// ---------------------------------------------------------------------------------------------
// Scopes

void Checker::push_scope() { scopes_.emplace_back(); }

void Checker::pop_scope() {
  for (const auto& [name, sym] : scopes_.back()) ended_locals_[name] = sym.span;
  scopes_.pop_back();
}

Symbol* Checker::lookup(const std::string& name) {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end()) return &found->second;
  }
  return nullptr;
}

const Symbol* Checker::lookup(const std::string& name) const {
  return const_cast<Checker*>(this)->lookup(name);
}

std::vector<std::string> Checker::names_in_scope() const {
  std::vector<std::string> names;
  for (const auto& scope : scopes_)
    for (const auto& [name, _] : scope) names.push_back(name);
  std::sort(names.begin(), names.end());  // deterministic "did you mean" among equals
  return names;
}

bool Checker::declare(Symbol sym) {
  if (is_reserved_name(sym.name)) {
    Diagnostic& d = diags_.error(sym.span, "'" + sym.name + "' is reserved and cannot be used as a name");
    d.hint = ends_with(sym.name, "__") ? "names ending in '__' are reserved for generated code"
                                       : "Stan reserves this word";
    return false;
  }
  if (const Symbol* prev = lookup(sym.name)) {
    Diagnostic& d = diags_.error(sym.span, "'" + sym.name + "' is already declared");
    d.hint = "'" + sym.name + "' is " + origin_words(prev->origin) + " declared at " + line_of(prev->span) +
             (scopes_.size() > 1 && prev->origin != Origin::Local && prev->origin != Origin::LoopVariable &&
                      prev->origin != Origin::FunctionArgument
                  ? "; a name cannot be reused while it is visible"
                  : "");
    return false;
  }
  if (functions_.count(sym.name)) {
    Diagnostic& d = diags_.error(sym.span, "'" + sym.name + "' is the name of a user-defined function");
    d.hint = "choose another name for the variable";
    return false;
  }
  ended_locals_.erase(sym.name);
  std::string name = sym.name;
  scopes_.back().emplace(name, std::move(sym));
  return true;
}

void Checker::report_unknown_name(const std::string& name, const Span& span) {
  // Each unknown name is reported at its first use only; later uses are poison.
  if (!reported_unknown_.insert(name).second) return;
  if (ctx_.function && all_top_level_.count(name)) {
    Diagnostic& d = diags_.error(span, "unknown variable '" + name + "'");
    d.hint = "functions cannot use the program's variables; pass '" + name + "' as an argument";
    return;
  }
  // Declared further on: in a statement list being checked, or later in the program.
  for (auto it = pending_lists_.rbegin(); it != pending_lists_.rend(); ++it) {
    const auto& items = *it->first;
    for (size_t i = it->second; i < items.size(); ++i) {
      const ast::Stmt& s = *items[i];
      Span where;
      if (s.kind == StmtKind::VarDecl && static_cast<const ast::VarDecl&>(s).name == name)
        where = static_cast<const ast::VarDecl&>(s).name_span;
      if (s.kind == StmtKind::NetworkDecl && static_cast<const ast::NetworkDecl&>(s).name == name)
        where = static_cast<const ast::NetworkDecl&>(s).name_span;
      if (where.valid()) {
        Diagnostic& d = diags_.error(span, "'" + name + "' is used before its declaration");
        d.hint = "'" + name + "' is declared at " + line_of(where);
        return;
      }
    }
  }
  if (auto it = all_top_level_.find(name); it != all_top_level_.end()) {
    Diagnostic& d = diags_.error(span, "'" + name + "' is used before its declaration");
    d.hint = "'" + name + "' is declared at " + line_of(it->second) + ", in a later block";
    return;
  }
  if (auto it = ended_locals_.find(name); it != ended_locals_.end()) {
    Diagnostic& d = diags_.error(span, "'" + name + "' is not in scope here");
    d.hint = "'" + name + "' was declared at " + line_of(it->second) + ", in a block that has ended";
    return;
  }
  Diagnostic& d = diags_.error(span, "unknown variable '" + name + "'");
  if (name == "true" || name == "false") {
    d.hint = "there are no boolean literals; use 1 for true and 0 for false";
    return;
  }
  // One-letter names are all one edit apart: no suggestion among them.
  std::string close = name.size() > 1 ? closest_match(name, names_in_scope()) : std::string();
  if (!close.empty()) d.hint = "did you mean '" + close + "'?";
}

// ---------------------------------------------------------------------------------------------
// The program

void Checker::program(ast::Program& p) {
  program_ = &p;
  for (const ast::ProgramBlock& b : p.blocks)
    for (const ast::StmtPtr& s : b.items) {
      if (s->kind == StmtKind::VarDecl) {
        const auto& d = static_cast<const ast::VarDecl&>(*s);
        all_top_level_.emplace(d.name, d.name_span);
      } else if (s->kind == StmtKind::NetworkDecl) {
        const auto& n = static_cast<const ast::NetworkDecl&>(*s);
        all_top_level_.emplace(n.name, n.name_span);
      }
    }
  scopes_.clear();
  push_scope();  // the program's top-level names
  collect_functions(p);
  for (ast::FunctionDef& f : p.functions) check_function(f);
  ended_locals_.clear();
  for (ast::ProgramBlock& b : p.blocks) {
    if (b.kind == BlockKind::Functions) continue;
    ctx_ = Context{};
    ctx_.block = b.kind;
    block_items(b.items);
  }
}

void Checker::block_items(std::vector<ast::StmtPtr>& items) {
  pending_lists_.emplace_back(&items, 0);
  for (size_t i = 0; i < items.size(); ++i) {
    pending_lists_.back().second = i + 1;
    stmt(*items[i]);
  }
  pending_lists_.pop_back();
}

// ---------------------------------------------------------------------------------------------
// Functions

void Checker::collect_functions(ast::Program& p) {
  for (ast::FunctionDef& f : p.functions) {
    bool ok = true;
    if (is_builtin_function(f.name)) {
      Diagnostic& d = diags_.error(f.name_span, "'" + f.name + "' is a built-in function");
      d.hint = "choose another name for the user-defined function";
      ok = false;
    } else if (is_reserved_name(f.name)) {
      diags_.error(f.name_span, "'" + f.name + "' is reserved and cannot be used as a name");
      ok = false;
    }
    const bool density = ends_with(f.name, "_lpdf"), mass = ends_with(f.name, "_lpmf");
    if ((density || mass || ends_with(f.name, "_lcdf") || ends_with(f.name, "_lccdf") || ends_with(f.name, "_cdf")) &&
        !f.return_type.is_real()) {
      Diagnostic& d = diags_.error(f.name_span, "'" + f.name + "' must return real (a log density or probability)");
      d.found = f.return_type.base == BaseKind::Void ? "void" : f.return_type.unsized_str();
      d.expected = "real";
    }
    if (density || mass) {
      if (f.args.empty()) {
        Diagnostic& d = diags_.error(f.name_span, "'" + f.name + "' needs a variate as its first argument");
        d.hint = "e.g. real " + f.name + "(real y, real mu)";
      } else if (density && f.args[0].type.base == BaseKind::Int) {
        Diagnostic& d = diags_.error(f.args[0].span, "the variate of an _lpdf function must be real-valued");
        d.found = f.args[0].type.unsized_str();
        d.hint = "name it _lpmf for a distribution over integers";
      } else if (mass && f.args[0].type.base != BaseKind::Int) {
        Diagnostic& d = diags_.error(f.args[0].span, "the variate of an _lpmf function must be an int or int array");
        d.found = f.args[0].type.unsized_str();
        d.hint = "name it _lpdf for a distribution over reals";
      }
    }
    if (!ok) continue;
    // One entry per argument-kind list: a forward declaration and its definition meet here.
    std::vector<UserFunction>& overloads = functions_[f.name];
    UserFunction* same = nullptr;
    for (UserFunction& u : overloads) {
      const ast::FunctionDef* g = u.def ? u.def : u.forward;
      bool equal = g->args.size() == f.args.size();
      for (size_t i = 0; equal && i < f.args.size(); ++i)
        equal = g->args[i].type.same_kind(f.args[i].type);
      if (equal) same = &u;
    }
    if (same) {
      const ast::FunctionDef* g = same->def ? same->def : same->forward;
      if (!g->return_type.same_kind(f.return_type)) {
        Diagnostic& d = diags_.error(f.name_span, "'" + f.name + "' is declared again with another return type");
        d.found = f.return_type.base == BaseKind::Void ? "void" : f.return_type.unsized_str();
        d.expected = g->return_type.base == BaseKind::Void ? "void" : g->return_type.unsized_str();
        d.hint = "first declared at " + line_of(g->name_span);
        if (f.body && !same->def) same->def = &f;  // no second complaint that it is undefined
        continue;
      }
      if (f.body && same->def) {
        Diagnostic& d = diags_.error(f.name_span, "'" + f.name + "' is defined twice with the same argument types");
        d.hint = "first defined at " + line_of(same->def->name_span);
        continue;
      }
      if (f.body) same->def = &f;
      continue;
    }
    UserFunction u;
    (f.body ? u.def : u.forward) = &f;
    overloads.push_back(u);
  }
  for (const auto& [name, overloads] : functions_)
    for (const UserFunction& u : overloads)
      if (!u.def) {
        Diagnostic& d = diags_.error(u.forward->name_span, "'" + name + "' is declared but never defined");
        d.hint = "define it in the functions block";
      }
}

void Checker::check_function(ast::FunctionDef& f) {
  if (!f.body) return;
  ctx_ = Context{};
  ctx_.block = BlockKind::Functions;
  ctx_.function = &f;
  ctx_.top_level = false;
  push_scope();
  for (const ast::FunctionArg& a : f.args) {
    Symbol s;
    s.name = a.name;
    s.type = a.type;
    s.type.dims.clear();
    s.origin = Origin::FunctionArgument;
    s.span = a.span;
    s.block = BlockKind::Functions;
    s.in_function = true;
    s.read_only = true;
    s.data_only = a.data_only || a.type.base == BaseKind::Int;
    declare(std::move(s));
  }
  stmt(*f.body);
  if (f.return_type.base != BaseKind::Void && !always_returns(*f.body)) {
    Diagnostic& d = diags_.error(f.name_span, "'" + f.name + "' may end without returning a value");
    d.hint = "every path through a function that returns " + f.return_type.unsized_str() +
             " must end in a return statement";
  }
  pop_scope();
  ended_locals_.clear();
  reported_unknown_.clear();
}

// ---------------------------------------------------------------------------------------------
// Statements

void Checker::stmt(ast::Stmt& s) {
  switch (s.kind) {
    case StmtKind::VarDecl: var_decl(static_cast<ast::VarDecl&>(s)); return;
    case StmtKind::NetworkDecl: network_decl(static_cast<ast::NetworkDecl&>(s)); return;
    case StmtKind::Block: {
      Context saved = ctx_;
      ctx_.top_level = false;
      push_scope();
      block_items(static_cast<ast::Block&>(s).items);
      pop_scope();
      ctx_ = saved;
      return;
    }
    case StmtKind::Assign: assign(static_cast<ast::Assign&>(s)); return;
    case StmtKind::Tilde: tilde(static_cast<ast::Tilde&>(s)); return;
    case StmtKind::TargetPlus: target_plus(static_cast<ast::TargetPlus&>(s)); return;
    case StmtKind::ForRange: for_range(static_cast<ast::ForRange&>(s)); return;
    case StmtKind::ForEach: for_each(static_cast<ast::ForEach&>(s)); return;
    case StmtKind::While: {
      auto& w = static_cast<ast::While&>(s);
      condition(*w.cond, "while");
      Context saved = ctx_;
      ctx_.top_level = false;
      ++ctx_.loop_depth;
      stmt(*w.body);
      ctx_ = saved;
      return;
    }
    case StmtKind::If: {
      auto& i = static_cast<ast::If&>(s);
      condition(*i.cond, "if");
      Context saved = ctx_;
      ctx_.top_level = false;
      stmt(*i.then_stmt);
      if (i.else_stmt) stmt(*i.else_stmt);
      ctx_ = saved;
      return;
    }
    case StmtKind::Break:
    case StmtKind::Continue:
      if (ctx_.loop_depth == 0) {
        const char* what = s.kind == StmtKind::Break ? "break" : "continue";
        Diagnostic& d = diags_.error(s.span, std::string("'") + what + "' is only allowed inside a loop");
        d.hint = "use it in the body of a for or while loop";
      }
      return;
    case StmtKind::Return: return_stmt(static_cast<ast::Return&>(s)); return;
    case StmtKind::Print:
    case StmtKind::Reject:
    case StmtKind::FatalError: printables(static_cast<ast::PrintLike&>(s)); return;
    case StmtKind::ExprStmt: {
      auto& e = static_cast<ast::ExprStmt&>(s);
      if (e.expr->kind == ast::ExprKind::Call) call_statement(static_cast<ast::Call&>(*e.expr));
      else expr(*e.expr);  // the front end reports that it is not a call
      return;
    }
    case StmtKind::Empty: return;
  }
}

void Checker::condition(ast::Expr& cond, const char* what) {
  Type t = expr(cond);
  if (t.is_error() || t.is_scalar()) return;
  Diagnostic& d = diags_.error(cond.span, std::string("the condition of '") + what + "' must be an int or a real");
  d.found = t.str();
  d.expected = "int or real";
}

void Checker::printables(ast::PrintLike& p) {
  for (ast::Printable& item : p.items)
    if (item.expr) expr(*item.expr);
}

void Checker::return_stmt(ast::Return& r) {
  Type t = r.value ? expr(*r.value) : Type::scalar(BaseKind::Void);
  if (!ctx_.function) {
    Diagnostic& d = diags_.error(r.span, "'return' is only allowed inside functions");
    d.hint = "program blocks run to their end";
    return;
  }
  const ast::FunctionDef& f = *ctx_.function;
  const Type& want = f.return_type;
  if (want.base == BaseKind::Void) {
    if (r.value) {
      Diagnostic& d = diags_.error(r.value->span, "'" + f.name + "' returns nothing (void) but a value is returned");
      d.found = t.str();
      d.hint = "write `return;`, or declare a return type";
    }
    return;
  }
  if (!r.value) {
    Diagnostic& d = diags_.error(r.span, "'" + f.name + "' must return a value");
    d.expected = want.unsized_str();
    return;
  }
  if (t.is_error() || assignable_kind(want, t)) return;
  Diagnostic& d = diags_.error(r.value->span, "the returned value does not have the return type of '" + f.name + "'");
  d.found = t.str();
  d.expected = want.unsized_str();
}

void Checker::for_range(ast::ForRange& f) {
  for (ast::ExprPtr* bound : {&f.lo, &f.hi}) {
    Type t = expr(**bound);
    if (!t.is_error() && !t.is_int()) {
      Diagnostic& d = diags_.error((*bound)->span, "the bounds of a for loop must be ints");
      d.found = t.str();
      d.expected = "int";
      d.hint = "for (x in container) visits the elements of a container";
    }
  }
  Context saved = ctx_;
  ctx_.top_level = false;
  ++ctx_.loop_depth;
  push_scope();
  Symbol s;
  s.name = f.variable;
  s.type = Type::int_();
  s.origin = Origin::LoopVariable;
  s.span = f.variable_span;
  s.block = ctx_.block;
  s.in_function = ctx_.function != nullptr;
  s.read_only = true;
  s.data_only = true;
  declare(std::move(s));
  stmt(*f.body);
  pop_scope();
  ctx_ = saved;
}

void Checker::for_each(ast::ForEach& f) {
  Type c = expr(*f.container);
  Type elem = Type::error();
  if (!c.is_error()) {
    if (c.array_dims > 0) {
      elem = normalized(c.element_type());
    } else if (c.base == BaseKind::Vector || c.base == BaseKind::RowVector || c.base == BaseKind::Matrix) {
      elem = Type::real();
    } else {
      Diagnostic& d = diags_.error(f.container->span, "for (" + f.variable + " in ...) needs a container");
      d.found = c.str();
      d.expected = "an array, vector, row_vector or matrix";
      if (c.is_int()) d.hint = "write for (" + f.variable + " in 1:" + text(*f.container) + ") to count";
    }
  }
  f.variable_type = elem;
  Context saved = ctx_;
  ctx_.top_level = false;
  ++ctx_.loop_depth;
  push_scope();
  Symbol s;
  s.name = f.variable;
  s.type = elem;
  s.origin = Origin::LoopVariable;
  s.span = f.variable_span;
  s.block = ctx_.block;
  s.in_function = ctx_.function != nullptr;
  s.read_only = true;
  s.data_only = is_data_only(*f.container);
  declare(std::move(s));
  stmt(*f.body);
  pop_scope();
  ctx_ = saved;
}

void Checker::target_plus(ast::TargetPlus& t) {
  if (!block_allows_target()) {
    Diagnostic& d = diags_.error(t.span, "'target +=' is only allowed in the model block");
    d.hint = ctx_.function ? "only functions whose names end in _lp may increment target"
                           : "move it to the model block";
  }
  Type v = expr(*t.value);
  if (v.is_error() || is_numeric_type(v)) return;
  Diagnostic& d = diags_.error(t.value->span, "'target +=' needs a real value (or a container of them, summed)");
  d.found = v.str();
}

// ---------------------------------------------------------------------------------------------
// Declarations

void Checker::check_size_expr(ast::Expr& e, bool top_level, const char* what) {
  Type t = expr(e);
  if (t.is_error()) return;
  if (!t.is_int()) {
    Diagnostic& d = diags_.error(e.span, std::string("a ") + what + " must be an int");
    d.found = t.str();
    d.expected = "int";
    return;
  }
  if (top_level) {
    if (const ast::Variable* v = first_non_data(e); v && v->origin != Origin::Unresolved) {
      Diagnostic& d = diags_.error(v->span, std::string("a ") + what + " of a top-level declaration must depend on data only");
      d.found = "'" + v->name + "', " + origin_words(v->origin);
      d.hint = "top-level sizes may use only literals, data and transformed data";
      return;
    }
  }
  Dim n = size_of(e);
  if (n.kind == Dim::Kind::Const && n.value < 0) {
    Diagnostic& d = diags_.error(e.span, std::string("a ") + what + " cannot be negative");
    d.found = std::to_string(n.value);
  }
}

Type Checker::declared_type(ast::VarDecl& d, bool top_level_sizes) {
  for (ast::ExprPtr& e : d.type.array_dims) check_size_expr(*e, top_level_sizes, "size");
  for (ast::ExprPtr& e : d.type.sizes) check_size_expr(*e, top_level_sizes, "size");
  Type t;
  t.array_dims = static_cast<int>(d.type.array_dims.size());
  std::vector<Dim> dims;
  for (const ast::ExprPtr& e : d.type.array_dims) dims.push_back(size_of(*e));
  auto size = [&](size_t i) { return i < d.type.sizes.size() ? size_of(*d.type.sizes[i]) : Dim::unknown(); };
  switch (d.type.element) {
    case ElementKind::Int: t.base = BaseKind::Int; break;
    case ElementKind::Real: t.base = BaseKind::Real; break;
    case ElementKind::RowVector:
      t.base = BaseKind::RowVector;
      dims.push_back(size(0));
      break;
    case ElementKind::Vector:
    case ElementKind::Simplex:
    case ElementKind::UnitVector:
    case ElementKind::SumToZeroVector:
    case ElementKind::Ordered:
    case ElementKind::PositiveOrdered:
      t.base = BaseKind::Vector;
      dims.push_back(size(0));
      break;
    case ElementKind::Matrix:
      t.base = BaseKind::Matrix;
      dims.push_back(size(0));
      dims.push_back(size(1));
      break;
    case ElementKind::CholeskyFactorCov:
      t.base = BaseKind::Matrix;
      dims.push_back(size(0));
      dims.push_back(d.type.sizes.size() > 1 ? size(1) : size(0));
      break;
    case ElementKind::CholeskyFactorCorr:
    case ElementKind::CorrMatrix:
    case ElementKind::CovMatrix:
      t.base = BaseKind::Matrix;
      dims.push_back(size(0));
      dims.push_back(size(0));
      break;
  }
  t.dims = dims;
  return normalized(t);
}

void Checker::constraints(ast::VarDecl& d, const Type& declared) {
  auto& cs = d.type.constraints;
  if (cs.empty()) return;
  if (d.origin == Origin::Local) {
    for (ast::ConstraintItem& c : cs) expr(*c.value);
    Span all = Span::cover(cs.front().key_span, cs.back().value->span);
    Diagnostic& diag = diags_.error(all, "a local variable cannot have a constraint");
    diag.hint = "constraints belong to top-level declarations of data, transformed data, parameters, "
                "transformed parameters and generated quantities";
    return;
  }
  const bool is_int = d.type.element == ElementKind::Int;
  const bool special = is_special(d.type.element);
  bool bounds = false, affine = false;
  std::set<std::string> seen;
  static const std::vector<std::string> keys = {"lower", "upper", "offset", "multiplier"};
  // The type a container bound must have: the declared one, with real elements (int for ints).
  for (ast::ConstraintItem& c : cs) {
    Type vt = expr(*c.value);
    if (special) {
      Diagnostic& diag = diags_.error(c.key_span, std::string(ast::to_string(d.type.element)) + " takes no constraint");
      diag.hint = "it is constrained by its type";
      continue;
    }
    if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) {
      Diagnostic& diag = diags_.error(c.key_span, "unknown constraint '" + c.key + "'");
      std::string close = closest_match(c.key, keys);
      if (!close.empty()) diag.hint = "did you mean '" + close + "'?";
      diag.expected = "lower, upper, offset or multiplier";
      continue;
    }
    if (!seen.insert(c.key).second) {
      Diagnostic& diag = diags_.error(c.key_span, "the constraint '" + c.key + "' is given twice");
      diag.hint = "give each of lower, upper, offset and multiplier at most once";
      continue;
    }
    const bool is_bound = c.key == "lower" || c.key == "upper";
    if ((is_bound && affine) || (!is_bound && bounds)) {
      Diagnostic& diag = diags_.error(c.key_span, "lower/upper cannot be combined with offset/multiplier");
      diag.hint = "use either bounds (lower, upper) or an affine transform (offset, multiplier)";
      continue;
    }
    (is_bound ? bounds : affine) = true;
    if (is_int && !is_bound) {
      Diagnostic& diag = diags_.error(c.key_span, "an int takes only lower and upper bounds, not " + c.key);
      diag.hint = "offset and multiplier apply to real, vector, row_vector and matrix";
      continue;
    }
    if (vt.is_error()) continue;
    if (vt.is_scalar()) {
      if (is_int && !vt.is_int()) {
        Diagnostic& diag = diags_.error(c.value->span, "the bounds of an int must be ints");
        diag.found = vt.str();
        diag.expected = "int";
      }
      continue;
    }
    Type want = declared;
    if (!is_int) want.base = want.base == BaseKind::Int ? BaseKind::Real : want.base;
    const bool fits = is_int ? vt.same_kind(want) : assignable_kind(want, vt);
    if (!fits || want.is_scalar()) {
      Diagnostic& diag = diags_.error(c.value->span, "the " + c.key + " of '" + d.name +
                                                         "' must be a scalar or a container of its shape");
      diag.found = vt.str();
      diag.expected = std::string(is_int ? "int" : "real") + (want.is_scalar() ? "" : " or " + want.str());
      continue;
    }
    if (conflicting_dim(want, vt) >= 0) {
      Diagnostic& diag = diags_.error(c.value->span, "the " + c.key + " of '" + d.name + "' has the wrong size");
      diag.found = vt.str();
      diag.expected = want.str();
    }
  }
}

void Checker::var_decl(ast::VarDecl& d) {
  const bool global = !ctx_.function && ctx_.top_level && ctx_.block != BlockKind::Model;
  Origin origin = Origin::Local;
  if (global) {
    switch (ctx_.block) {
      case BlockKind::Data: origin = Origin::Data; break;
      case BlockKind::TransformedData: origin = Origin::TransformedData; break;
      case BlockKind::Parameters: origin = Origin::Parameter; break;
      case BlockKind::TransformedParameters: origin = Origin::TransformedParameter; break;
      case BlockKind::GeneratedQuantities: origin = Origin::GeneratedQuantity; break;
      default: break;
    }
  }
  d.origin = origin;

  if (d.batch) {
    if (ctx_.function || ctx_.block != BlockKind::Data) {
      Diagnostic& diag = diags_.error(d.type.span, "'batch' is only allowed in the data block");
      diag.hint = "mark the data size that minibatches run over: `batch int<lower=1> N;` in data";
    } else if (!(d.type.element == ElementKind::Int && d.type.array_dims.empty())) {
      Diagnostic& diag = diags_.error(d.type.span, "the batch dimension must be an int");
      diag.found = std::string(d.type.array_dims.empty() ? "" : "array of ") + ast::to_string(d.type.element);
      diag.expected = "int";
    } else if (first_batch_) {
      Diagnostic& diag = diags_.error(d.type.span, "only one batch dimension may be declared");
      diag.hint = "'" + first_batch_->name + "' is the batch dimension (" + line_of(first_batch_->name_span) + ")";
    } else {
      first_batch_ = &d;
    }
  }
  if (d.init && (origin == Origin::Data || origin == Origin::Parameter)) {
    const bool data = origin == Origin::Data;
    Diagnostic& diag = diags_.error(d.init->span, std::string(data ? "data" : "a parameter") +
                                                      " cannot have an initial value");
    diag.hint = data ? "data are read from the data file; compute derived values in transformed data"
                     : "parameters are set by the sampler; compute derived values in transformed parameters";
  }
  if ((origin == Origin::Parameter || origin == Origin::TransformedParameter) && d.type.element == ElementKind::Int) {
    Diagnostic& diag = diags_.error(d.type.span, std::string(origin == Origin::Parameter ? "parameters" : "transformed parameters") +
                                                     " must be real-valued; '" + d.name + "' is an int");
    diag.found = "int";
    diag.expected = "real, vector, row_vector, matrix or a constrained type";
    diag.hint = "discrete unknowns are summed out of the model (marginalised) in Stan-like languages";
  }
  if (origin == Origin::Local && is_special(d.type.element)) {
    Diagnostic& diag = diags_.error(d.type.span, std::string("a local variable cannot have the constrained type ") +
                                                     ast::to_string(d.type.element));
    diag.hint = std::string("declare it as ") +
                (d.type.element >= ElementKind::CholeskyFactorCorr ? "a matrix" : "a vector");
  }

  Type t = declared_type(d, origin != Origin::Local);
  constraints(d, t);
  if (d.init) {
    Type v = expr(*d.init);
    if (!v.is_error()) {
      if (!assignable_kind(t, v)) {
        Diagnostic& diag = diags_.error(d.init->span, "the initial value of '" + d.name + "' has the wrong type");
        diag.found = v.str();
        diag.expected = t.str();
        if (t.base == BaseKind::Int && v.base == BaseKind::Real) diag.hint = "a real cannot be stored in an int";
      } else if (conflicting_dim(t, v) >= 0) {
        Diagnostic& diag = diags_.error(d.init->span, "the initial value of '" + d.name + "' has the wrong size");
        diag.found = v.str();
        diag.expected = t.str();
      }
    }
  }
  Symbol s;
  s.name = d.name;
  s.type = t;
  s.origin = origin;
  s.span = d.name_span;
  s.block = ctx_.block;
  s.in_function = ctx_.function != nullptr;
  const bool int_valued = d.type.element == ElementKind::Int;
  switch (origin) {
    case Origin::Parameter:
    case Origin::TransformedParameter: s.data_only = false; break;
    case Origin::Local:
      s.data_only = int_valued || (!ctx_.function && (ctx_.block == BlockKind::TransformedData ||
                                                       ctx_.block == BlockKind::GeneratedQuantities));
      break;
    default: s.data_only = true; break;
  }
  declare(std::move(s));
}

bool Checker::may_assign(const Symbol& sym, const ast::Variable& v) {
  auto refuse = [&](const std::string& message, const std::string& hint) {
    Diagnostic& d = diags_.error(v.span, message);
    d.hint = hint;
    return false;
  };
  const std::string q = "'" + sym.name + "'";
  switch (sym.origin) {
    case Origin::LoopVariable: return refuse("the loop variable " + q + " cannot be assigned", "loop variables are read-only");
    case Origin::FunctionArgument:
      return refuse("the function argument " + q + " cannot be assigned", "arguments are read-only; copy it into a local variable");
    case Origin::Data:
      return refuse("the data variable " + q + " cannot be assigned", "data are read-only: they come from the data file");
    case Origin::Parameter:
      return refuse("the parameter " + q + " cannot be assigned",
                    "parameters are set by the sampler; declare a transformed parameter for a derived value");
    case Origin::TransformedData:
    case Origin::TransformedParameter:
    case Origin::GeneratedQuantity:
      if (!ctx_.function && sym.block == ctx_.block) return true;
      return refuse(q + " is " + origin_words(sym.origin) + " and cannot be assigned " +
                        (ctx_.function ? "in a function" : std::string("in the ") + ast::to_string(ctx_.block) + " block"),
                    std::string("it is read-only after the ") + ast::to_string(sym.block) + " block");
    default: return true;
  }
}

void Checker::assign(ast::Assign& a) {
  ast::Expr* root = a.lhs.get();
  while (root->kind == ast::ExprKind::Index) root = static_cast<ast::Index*>(root)->base.get();
  bool writable = true;
  if (root->kind == ast::ExprKind::Variable) {
    auto& v = static_cast<ast::Variable&>(*root);
    if (const Symbol* sym = lookup(v.name)) {
      if (sym->network) {
        v.origin = sym->origin;
        Diagnostic& d = diags_.error(v.span, "the network '" + v.name + "' cannot be assigned");
        d.hint = "its weights are parameters";
        expr(*a.rhs);
        return;
      }
      writable = may_assign(*sym, v);
    }
  }
  Type lt = expr(*a.lhs);
  Type rt = expr(*a.rhs);
  if (!writable || lt.is_error() || rt.is_error()) return;
  const std::string target = text(*a.lhs);
  if (a.op == ast::AssignOp::Assign) {
    if (!assignable_kind(lt, rt)) {
      Diagnostic& d = diags_.error(a.rhs->span, "the value assigned to '" + target + "' has the wrong type");
      d.found = rt.str();
      d.expected = lt.str();
      if (lt.base == BaseKind::Int && rt.base == BaseKind::Real) d.hint = "a real cannot be stored in an int";
    } else if (conflicting_dim(lt, rt) >= 0) {
      Diagnostic& d = diags_.error(a.rhs->span, "the value assigned to '" + target + "' has the wrong size");
      d.found = rt.str();
      d.expected = lt.str();
    }
    return;
  }
  ast::BinaryOp op = ast::BinaryOp::Add;
  switch (a.op) {
    case ast::AssignOp::AddAssign: op = ast::BinaryOp::Add; break;
    case ast::AssignOp::SubAssign: op = ast::BinaryOp::Sub; break;
    case ast::AssignOp::MulAssign: op = ast::BinaryOp::Mul; break;
    case ast::AssignOp::DivAssign: op = ast::BinaryOp::Div; break;
    case ast::AssignOp::EltMulAssign: op = ast::BinaryOp::EltMul; break;
    case ast::AssignOp::EltDivAssign: op = ast::BinaryOp::EltDiv; break;
    case ast::AssignOp::Assign: break;
  }
  OpResult r = binary_result(op, lt, rt);
  if (!r.ok()) {
    Diagnostic& d = diags_.error(a.rhs->span, std::string("'") + ast::to_string(a.op) + "': " + r.message);
    d.found = r.found;
    d.hint = r.hint;
    return;
  }
  if (!assignable_kind(lt, r.type) || conflicting_dim(lt, r.type) >= 0) {
    const bool int_target = lt.base == BaseKind::Int;
    Diagnostic& d = diags_.error(a.rhs->span, std::string("'") + ast::to_string(a.op) + "' would store " +
                                                  (r.type.base == BaseKind::Int ? "an " : "a ") + r.type.str() +
                                                  " in '" + target + "', which is " + (int_target ? "an " : "a ") +
                                                  lt.str());
    d.found = lt.str() + " " + ast::to_string(op) + " " + rt.str() + " is " + r.type.str();
    d.expected = lt.str();
  }
}

// ---------------------------------------------------------------------------------------------
// Distribution statements

void Checker::tilde(ast::Tilde& t) {
  if (!block_allows_target()) {
    Diagnostic& d = diags_.error(Span::cover(t.lhs->span, t.distribution_span),
                                 "'~' statements are only allowed in the model block");
    d.hint = ctx_.function ? "only functions whose names end in _lp may use '~'" : "move it to the model block";
  }
  Type lt = expr_any(*t.lhs);
  if (lt.is_error()) {
    for (auto& a : t.args) expr(*a);
    if (t.truncation_lo) expr(*t.truncation_lo);
    if (t.truncation_hi) expr(*t.truncation_hi);
    return;
  }
  if (is_network_rooted(*t.lhs)) {
    network_prior(t);
    return;
  }
  if (!is_value_type(lt)) {
    expr(*t.lhs);  // reports why it is not a value
    return;
  }
  std::vector<ast::Expr*> arg_exprs = {t.lhs.get()};
  std::vector<ArgInfo> args = {{lt, lt.is_int() ? size_of(*t.lhs) : Dim::unknown()}};
  bool bad = false;
  for (auto& a : t.args) {
    Type at = expr(*a);
    bad = bad || at.is_error();
    arg_exprs.push_back(a.get());
    args.push_back({at, at.is_int() ? size_of(*a) : Dim::unknown()});
  }
  const std::string& dist = t.distribution;
  const bool builtin = is_builtin_function(dist + "_lpdf") || is_builtin_function(dist + "_lpmf");
  const bool user = functions_.count(dist + "_lpdf") || functions_.count(dist + "_lpmf");
  if (!builtin && !user) {
    Diagnostic& d = diags_.error(t.distribution_span, "unknown distribution '" + dist + "'");
    std::vector<std::string> names = distribution_families();
    for (const auto& [n, _] : functions_) {
      if (ends_with(n, "_lpdf") || ends_with(n, "_lpmf")) names.push_back(n.substr(0, n.size() - 5));
    }
    std::string close = closest_match(dist, names);
    if (!close.empty()) d.hint = "did you mean '" + close + "'?";
    else if (is_builtin_function(dist)) d.hint = "'" + dist + "' is a function, not a distribution";
    return;
  }
  if (bad) return;
  const std::string user_name = functions_.count(dist + "_lpdf") ? dist + "_lpdf" : dist + "_lpmf";
  Resolution r = resolve({dist + "_lpdf", dist + "_lpmf"}, user_name, t.distribution_span,
                         Span::cover(t.lhs->span, t.distribution_span), arg_exprs, args, true, dist);
  t.signature = r.signature;
  t.user_function = r.user;
  t.resolved = r.text;
  if (t.truncated && !r.result.is_error()) truncation(t, args);
}

void Checker::truncation(ast::Tilde& t, const std::vector<ArgInfo>& args) {
  const std::string& dist = t.distribution;
  std::vector<ast::ExprPtr*> bounds;
  if (t.truncation_lo) bounds.push_back(&t.truncation_lo);
  if (t.truncation_hi) bounds.push_back(&t.truncation_hi);
  const Type& lt = args[0].type;
  if (!lt.is_scalar()) {
    Diagnostic& d = diags_.error(t.lhs->span, "only a scalar can be truncated");
    d.found = lt.str();
    d.hint = "truncate each element in a loop";
    for (auto* b : bounds) expr(**b);
    return;
  }
  const bool builtin_cdf = t.signature >= 0 && family_has_cdf(dist);
  const bool user_cdf = t.user_function && functions_.count(dist + "_lcdf") && functions_.count(dist + "_lccdf");
  if (!builtin_cdf && !user_cdf) {
    Diagnostic& d = diags_.error(t.distribution_span, "'" + dist + "' has no CDF, so it cannot be truncated");
    d.hint = "truncation needs " + dist + "_lcdf and " + dist + "_lccdf";
    for (auto* b : bounds) expr(**b);
    return;
  }
  for (auto* b : bounds) {
    Type bt = expr(**b);
    if (bt.is_error()) continue;
    if (!bt.is_scalar()) {
      Diagnostic& d = diags_.error((*b)->span, "a truncation bound must be an int or a real");
      d.found = bt.str();
      continue;
    }
    // The bound takes the variate's place in the CDF: it must fit it (an int for discrete
    // distributions).
    std::vector<ast::Expr*> arg_exprs = {b->get()};
    std::vector<ArgInfo> cdf_args = args;
    cdf_args[0] = {bt, bt.is_int() ? size_of(**b) : Dim::unknown()};
    for (auto& a : t.args) arg_exprs.push_back(a.get());
    const ast::Expr* variate = t.lhs.get();
    if (lt.is_int() && !bt.is_int()) {
      Diagnostic& d = diags_.error((*b)->span, "the truncation bounds of '" + text(*variate) + "' must be ints");
      d.found = bt.str();
      d.expected = "int";
      continue;
    }
    resolve({dist + "_lcdf"}, dist + "_lcdf", t.distribution_span, (*b)->span, arg_exprs, cdf_args, false, dist + "_lcdf");
  }
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<ast::Program> check(std::unique_ptr<ast::Program> program, Diagnostics& diags) {
  if (!program) return nullptr;
  const size_t errors_before = diags.error_count();
  Checker checker(diags);
  checker.program(*program);
  if (diags.error_count() > errors_before) return nullptr;
  return program;
}

}  // namespace halo::semantic
