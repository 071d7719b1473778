// The semantic checker's state and rules, shared by semantic.cpp (program, blocks,
// declarations, functions, statements), expressions.cpp (expressions, operators, indexing,
// calls) and networks.cpp (neural components). Internal to compiler/semantic.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ast/ast.h"
#include "common/diagnostics.h"
#include "semantic/signatures.h"

namespace halo::semantic {

using ast::BaseKind;
using ast::Dim;
using ast::Origin;
using ast::Type;

// A name in scope.
struct Symbol {
  std::string name;
  Type type;
  Origin origin = Origin::Unresolved;
  Span span;                    // the declared name
  ast::BlockKind block = ast::BlockKind::Data;  // the block that declared it
  bool in_function = false;     // declared in a function body or as its argument
  bool read_only = false;       // loop variables, function arguments
  bool data_only = true;        // never carries parameters (Stan's "data" level)
  const ast::NetworkDecl* network = nullptr;
};

// One user-defined function (its definition, or its forward declaration if never defined).
struct UserFunction {
  const ast::FunctionDef* def = nullptr;
  const ast::FunctionDef* forward = nullptr;
};

// What the statement being checked may do.
struct Context {
  ast::BlockKind block = ast::BlockKind::Data;
  const ast::FunctionDef* function = nullptr;  // inside a function body
  int loop_depth = 0;
  bool top_level = true;  // directly in a program block (not in { }, loops, branches)
};

class Checker {
 public:
  explicit Checker(Diagnostics& diags) : diags_(diags) {}
  void program(ast::Program& p);

  // ---- expressions (expressions.cpp) ----
  // The type of a value expression; networks, layers and void calls are errors here.
  Type expr(ast::Expr& e);
  // Also accepts networks and layers (for the subject of `~`, member bases, application).
  Type expr_any(ast::Expr& e);
  // A call in statement position: must return void.
  void call_statement(ast::Call& c);

  // ---- sizes ----
  // The value of an int expression as a size: literal (folded), data symbol, or unknown.
  Dim size_of(const ast::Expr& e) const;
  // Canonical Stan-like text of an expression ("K - 1", "rows(x)").
  static std::string text(const ast::Expr& e);
  // The first variable of `e` that is not data or transformed data (for sizes of top-level
  // declarations), or null.
  const ast::Variable* first_non_data(const ast::Expr& e) const;
  // Whether `e` carries no parameter (Stan's data-only argument rule).
  bool is_data_only(const ast::Expr& e) const;

 private:
  // ---- scopes ----
  void push_scope();
  void pop_scope();
  Symbol* lookup(const std::string& name);
  const Symbol* lookup(const std::string& name) const;
  // Declares `sym` in the innermost scope; reports a redeclaration. Returns false if not added.
  bool declare(Symbol sym);
  void report_unknown_name(const std::string& name, const Span& span);
  std::vector<std::string> names_in_scope() const;

  // ---- program structure (semantic.cpp) ----
  void collect_functions(ast::Program& p);
  void check_function(ast::FunctionDef& f);
  void block_items(std::vector<ast::StmtPtr>& items);
  void stmt(ast::Stmt& s);
  void var_decl(ast::VarDecl& d);
  Type declared_type(ast::VarDecl& d, bool top_level_sizes);
  void constraints(ast::VarDecl& d, const Type& declared);
  void assign(ast::Assign& a);
  void tilde(ast::Tilde& t);
  void truncation(ast::Tilde& t, const std::vector<ArgInfo>& args);
  void target_plus(ast::TargetPlus& t);
  void for_range(ast::ForRange& f);
  void for_each(ast::ForEach& f);
  void condition(ast::Expr& cond, const char* what);
  void return_stmt(ast::Return& r);
  void printables(ast::PrintLike& p);
  bool may_assign(const Symbol& sym, const ast::Variable& v);
  void check_size_expr(ast::Expr& e, bool top_level, const char* what);

  // ---- networks (networks.cpp) ----
  void network_decl(ast::NetworkDecl& n);
  Type member(ast::Member& m);
  Type apply_network(ast::Call& c, const Symbol& net);
  void network_prior(ast::Tilde& t);
  static bool is_network_rooted(const ast::Expr& e);

  // ---- calls (expressions.cpp) ----
  Type call(ast::Call& c, bool as_statement);
  // reduce_sum(f, x, grainsize, args...) rewritten in place to f(x, 1, size(x), args...).
  bool desugar_reduce_sum(ast::Call& c);
  // Resolves `name` against built-ins and user functions. `span` is where errors go;
  // `arg_exprs` are the argument expressions (for spans and data-only checks); `variate_first`
  // numbers arguments for messages as `~` writes them.
  struct Resolution {
    int signature = -1;
    const ast::FunctionDef* user = nullptr;
    Type result = Type::error();
    std::string text;
  };
  Resolution resolve(const std::vector<std::string>& builtin_names, const std::string& user_name,
                     const Span& name_span, const Span& call_span,
                     const std::vector<ast::Expr*>& arg_exprs, const std::vector<ArgInfo>& args,
                     bool tilde_form, const std::string& shown_name);
  Type index(ast::Index& ix);
  Type array_literal(ast::ArrayLit& a);
  Type row_vector_literal(ast::RowVectorLit& r);
  bool block_allows_rng() const;
  bool block_allows_target() const;
  bool block_allows_lupdf() const;

  Diagnostics& diags_;
  ast::Program* program_ = nullptr;
  std::vector<std::unordered_map<std::string, Symbol>> scopes_;
  // Top-level declarations of the whole program (for "used before its declaration").
  std::unordered_map<std::string, Span> all_top_level_;
  // Locals whose scope has ended (for "out of scope" hints).
  std::unordered_map<std::string, Span> ended_locals_;
  // Unknown names already reported (each is reported once).
  std::set<std::string> reported_unknown_;
  // Declarations still ahead in the statement lists being checked (for "used before").
  std::vector<std::pair<const std::vector<ast::StmtPtr>*, size_t>> pending_lists_;
  std::map<std::string, std::vector<UserFunction>> functions_;
  Context ctx_;
  const ast::VarDecl* first_batch_ = nullptr;
};

// The result of a binary operator on two value types (compound assignments use it too).
struct OpResult {
  Type type;
  std::string message, found, hint;  // message empty: well typed
  bool ok() const { return message.empty(); }
};
OpResult binary_result(ast::BinaryOp op, const Type& a, const Type& b);
// "real my_normal_lpdf(real | real, real)" for dumps.
std::string user_function_text(const ast::FunctionDef& f);

// Names of types and helpers shared by the checker's files.
std::string type_str(const Type& t);
bool is_value_type(const Type& t);
bool is_numeric_type(const Type& t);
bool is_container_type(const Type& t);
int rank_of(const Type& t);  // array dims + element rank
// Whether a value of type `from` can be stored where `to` is expected (int -> real promotion
// of scalars and arrays); sizes checked separately.
bool assignable_kind(const Type& to, const Type& from);
// The first definitely conflicting dimension of two types of one kind, or -1.
int conflicting_dim(const Type& a, const Type& b);
bool is_reserved_name(const std::string& name);

}  // namespace halo::semantic
