// The abstract syntax tree of a Halo program.
//
// One tree serves two stages: compiler/frontend builds it from the parse tree with a source span
// on every node; compiler/semantic checks it and fills the annotation fields (marked
// "semantic:") in place, which makes it the typed AST. Later stages read only typed trees.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ast/types.h"
#include "common/source.h"

namespace halo::ast {

// ---------------------------------------------------------------------------------------------
// Expressions

enum class ExprKind {
  IntLit,        // 3
  RealLit,       // 2.5, 1e-3
  Variable,      // sigma
  Call,          // normal_lpdf(y | mu, sigma), exp(x), net(x)
  Unary,         // -x, !b, +x
  Binary,        // a + b, a .* b, a && b, ...
  Conditional,   // c ? a : b
  Index,         // x[i, 2:N, :]
  Member,        // net.layer1.W
  Transpose,     // x'
  ArrayLit,      // {1, 2, 3}
  RowVectorLit,  // [1, 2, 3]; [[1, 2], [3, 4]] is a matrix
};

enum class UnaryOp { Neg, Not, Plus };
enum class BinaryOp {
  Pow, EltPow,                                  // ^  .^
  Mul, Div, Mod, LeftDiv, EltMul, EltDiv, IntDiv,  // *  /  %  \  .*  ./  %/%
  Add, Sub,                                     // +  -
  Lt, Le, Gt, Ge, Eq, Ne,                       // <  <=  >  >=  ==  !=
  And, Or,                                      // &&  ||
};
const char* to_string(UnaryOp op);
const char* to_string(BinaryOp op);

// Where a variable was declared; filled by semantic.
enum class Origin {
  Unresolved,
  Data, TransformedData, Parameter, TransformedParameter, GeneratedQuantity,
  Local,         // local declaration in a statement block
  LoopVariable,  // for (i in ...)
  FunctionArgument,
};
const char* to_string(Origin o);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
struct FunctionDef;

struct Expr {
  ExprKind kind;
  Span span;
  Type type;  // semantic: the expression's type and shape (Error until checked)

  explicit Expr(ExprKind k, Span s) : kind(k), span(s) {}
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;
};

struct IntLit : Expr {
  long long value = 0;
  std::string text;
  IntLit(Span s) : Expr(ExprKind::IntLit, s) {}
};

struct RealLit : Expr {
  double value = 0;
  std::string text;
  RealLit(Span s) : Expr(ExprKind::RealLit, s) {}
};

struct Variable : Expr {
  std::string name;
  Origin origin = Origin::Unresolved;  // semantic
  Variable(Span s) : Expr(ExprKind::Variable, s) {}
};

struct Call : Expr {
  std::string name;
  Span name_span;
  std::vector<ExprPtr> args;
  bool has_bar = false;  // written f(a | b, c): args[0] is the variate
  int signature = -1;    // semantic: index into the signature table (see semantic/signatures.h)
  std::string resolved;  // semantic: the chosen signature as text, for dumps
  const FunctionDef* user_function = nullptr;  // semantic: the user-defined function called
  Call(Span s) : Expr(ExprKind::Call, s) {}
};

struct Unary : Expr {
  UnaryOp op;
  ExprPtr operand;
  Unary(Span s, UnaryOp o) : Expr(ExprKind::Unary, s), op(o) {}
};

struct Binary : Expr {
  BinaryOp op;
  Span op_span;
  ExprPtr lhs, rhs;
  Binary(Span s, BinaryOp o) : Expr(ExprKind::Binary, s), op(o) {}
};

struct Conditional : Expr {
  ExprPtr cond, then_expr, else_expr;
  Conditional(Span s) : Expr(ExprKind::Conditional, s) {}
};

// One position of an index list.
struct IndexItem {
  enum class Kind {
    Single,  // x[i]       (lo)
    All,     // x[:] or x[]
    From,    // x[lo:]     (lo)
    UpTo,    // x[:hi]     (hi)
    Range,   // x[lo:hi]   (lo, hi)
  };
  Kind kind = Kind::All;
  Span span;
  ExprPtr lo, hi;
};

struct Index : Expr {
  ExprPtr base;
  std::vector<IndexItem> indices;
  Index(Span s) : Expr(ExprKind::Index, s) {}
};

struct Member : Expr {
  ExprPtr base;
  std::string member;
  Span member_span;
  Member(Span s) : Expr(ExprKind::Member, s) {}
};

struct Transpose : Expr {
  ExprPtr operand;
  Transpose(Span s) : Expr(ExprKind::Transpose, s) {}
};

struct ArrayLit : Expr {
  std::vector<ExprPtr> elements;
  ArrayLit(Span s) : Expr(ExprKind::ArrayLit, s) {}
};

struct RowVectorLit : Expr {
  std::vector<ExprPtr> elements;
  RowVectorLit(Span s) : Expr(ExprKind::RowVectorLit, s) {}
};

// ---------------------------------------------------------------------------------------------
// Declared types

enum class ElementKind {
  Int, Real, Vector, RowVector, Matrix,
  Simplex, UnitVector, SumToZeroVector, Ordered, PositiveOrdered,
  CholeskyFactorCorr, CholeskyFactorCov, CorrMatrix, CovMatrix,
};
const char* to_string(ElementKind k);

// `<lower=a, upper=b>` / `<offset=o, multiplier=m>`; the key is kept as written so that the
// semantic stage can report unknown keys at their place.
struct ConstraintItem {
  std::string key;
  Span key_span;
  ExprPtr value;
};

// `array[A, B] vector<lower=0>[N]`: array dims, element kind, element sizes, constraints.
struct DeclType {
  Span span;
  std::vector<ExprPtr> array_dims;
  ElementKind element = ElementKind::Real;
  std::vector<ExprPtr> sizes;  // vector/row_vector/special vectors: 1; matrix: 2; cholesky_factor_cov: 1 or 2
  std::vector<ConstraintItem> constraints;
};

// ---------------------------------------------------------------------------------------------
// Statements

enum class StmtKind {
  VarDecl, NetworkDecl, Block, Assign, Tilde, TargetPlus, ForRange, ForEach, While, If,
  Break, Continue, Return, Print, Reject, FatalError, ExprStmt, Empty,
};

struct Stmt {
  StmtKind kind;
  Span span;
  explicit Stmt(StmtKind k, Span s) : kind(k), span(s) {}
  virtual ~Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
};
using StmtPtr = std::unique_ptr<Stmt>;

struct VarDecl : Stmt {
  DeclType type;
  std::string name;
  Span name_span;
  ExprPtr init;        // optional `= expr`
  bool batch = false;  // `batch int N;`: N is the observation dimension minibatches run over
  Origin origin = Origin::Unresolved;  // semantic: which block declared it
  VarDecl(Span s) : Stmt(StmtKind::VarDecl, s) {}
};

enum class NetworkKind { Mlp, Dense };

// `mlp(14 -> 128 -> 64, relu, tanh) body;` / `dense(64 -> 15) head;`
struct NetworkDecl : Stmt {
  NetworkKind network = NetworkKind::Mlp;
  std::vector<ExprPtr> widths;  // input width, hidden widths..., output width
  struct Activation {
    std::string name;
    Span span;
  };
  std::vector<Activation> activations;  // as written
  std::string name;
  Span name_span;
  Origin origin = Origin::Unresolved;     // semantic
  std::vector<std::string> layer_activations;  // semantic: one per layer, after the defaults rule
  NetworkDecl(Span s) : Stmt(StmtKind::NetworkDecl, s) {}
};

struct Block : Stmt {
  std::vector<StmtPtr> items;
  Block(Span s) : Stmt(StmtKind::Block, s) {}
};

enum class AssignOp { Assign, AddAssign, SubAssign, MulAssign, DivAssign, EltMulAssign, EltDivAssign };
const char* to_string(AssignOp op);

struct Assign : Stmt {
  ExprPtr lhs;  // a Variable, or an Index chain on a Variable
  AssignOp op = AssignOp::Assign;
  ExprPtr rhs;
  Assign(Span s) : Stmt(StmtKind::Assign, s) {}
};

struct Tilde : Stmt {
  ExprPtr lhs;
  std::string distribution;
  Span distribution_span;
  std::vector<ExprPtr> args;
  bool truncated = false;
  ExprPtr truncation_lo, truncation_hi;  // each optional
  int signature = -1;  // semantic: the `<distribution>_lpdf/_lpmf` signature used
  std::string resolved;  // semantic: the chosen signature as text, for dumps
  const FunctionDef* user_function = nullptr;  // semantic: a user-defined _lpdf/_lpmf used
  Tilde(Span s) : Stmt(StmtKind::Tilde, s) {}
};

struct TargetPlus : Stmt {
  ExprPtr value;
  TargetPlus(Span s) : Stmt(StmtKind::TargetPlus, s) {}
};

struct ForRange : Stmt {
  std::string variable;
  Span variable_span;
  ExprPtr lo, hi;
  StmtPtr body;
  ForRange(Span s) : Stmt(StmtKind::ForRange, s) {}
};

struct ForEach : Stmt {
  std::string variable;
  Span variable_span;
  ExprPtr container;
  StmtPtr body;
  Type variable_type;  // semantic
  ForEach(Span s) : Stmt(StmtKind::ForEach, s) {}
};

struct While : Stmt {
  ExprPtr cond;
  StmtPtr body;
  While(Span s) : Stmt(StmtKind::While, s) {}
};

struct If : Stmt {
  ExprPtr cond;
  StmtPtr then_stmt, else_stmt;  // else optional
  If(Span s) : Stmt(StmtKind::If, s) {}
};

struct Break : Stmt { Break(Span s) : Stmt(StmtKind::Break, s) {} };
struct Continue : Stmt { Continue(Span s) : Stmt(StmtKind::Continue, s) {} };

struct Return : Stmt {
  ExprPtr value;  // optional
  Return(Span s) : Stmt(StmtKind::Return, s) {}
};

// An item of print / reject / fatal_error: a string literal (unescaped) or an expression.
struct Printable {
  std::optional<std::string> text;
  ExprPtr expr;
  Span span;
};

struct PrintLike : Stmt {  // Print, Reject, FatalError
  std::vector<Printable> items;
  PrintLike(StmtKind k, Span s) : Stmt(k, s) {}
};

struct ExprStmt : Stmt {
  ExprPtr expr;
  ExprStmt(Span s) : Stmt(StmtKind::ExprStmt, s) {}
};

struct Empty : Stmt { Empty(Span s) : Stmt(StmtKind::Empty, s) {} };

// ---------------------------------------------------------------------------------------------
// Functions and the program

struct FunctionArg {
  bool data_only = false;
  Type type;  // unsized: base kind and array dims only
  std::string name;
  Span span;
};

struct FunctionDef {
  Span span;
  Type return_type;  // Void for procedures
  std::string name;
  Span name_span;
  std::vector<FunctionArg> args;
  std::unique_ptr<Block> body;  // null for a forward declaration
};

enum class BlockKind {
  Functions, Data, TransformedData, Parameters, TransformedParameters, Model, GeneratedQuantities,
};
const char* to_string(BlockKind k);  // "data", "transformed data", ...

struct ProgramBlock {
  BlockKind kind;
  Span span;  // from the block keyword to the closing brace
  std::vector<StmtPtr> items;
};

struct Program {
  std::string path;
  std::vector<FunctionDef> functions;  // from the functions block, if any
  // The blocks that are present, in source order (which the grammar fixes to Stan's order).
  std::vector<ProgramBlock> blocks;

  const ProgramBlock* block(BlockKind k) const;
  ProgramBlock* block(BlockKind k);
};

// Printers for --dump=ast (types omitted) and --dump=typed (types and resolutions shown).
// S-expression style, one node per line, indented by depth; stable for golden files.
std::string print(const Program& program, bool with_types);
std::string print(const Expr& expr, bool with_types);

}  // namespace halo::ast
