// --dump=ast / --dump=typed: the AST as an indented tree of S-expression heads, one node per
// line, children two spaces deeper. Every line is closed (no parentheses spanning lines), so a
// change to one node changes only its own lines in a golden-file diff.
//
//   (program)
//     (data)
//       (decl int N data)              <- origin shown in typed dumps
//         lower: (int 1) : int         <- "role: " names a child; " : type" in typed dumps
//     (model)
//       (tilde normal [normal_lpdf(vector | real, real)])
//         lhs: (var y data) : vector[N]
//         (var mu parameter) : real
//
// Expressions: (int 3) (real 2.5) (var x) (call f) (call normal_lpdf |) (unary -) (binary +)
// (conditional) (index) with items (single) (all) (from) (upto) (range), (member W)
// (transpose) (array) (row_vector). Statements: (decl ...) (network ...) (block) (assign =)
// (tilde d) (target+=) (for i) (foreach x) (while) (if) (break) (continue) (return) (print)
// (reject) (fatal_error) (expr_stmt) (empty); strings as (string "...").
#include <string>

#include "ast/ast.h"

namespace halo::ast {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out += c; break;
    }
  }
  return out + "\"";
}

std::string decl_type_name(const DeclType& t) {
  std::string out;
  if (!t.array_dims.empty()) out = "array[" + std::string(t.array_dims.size() - 1, ',') + "] ";
  return out + to_string(t.element);
}

class Printer {
 public:
  explicit Printer(bool with_types) : typed_(with_types) {}

  std::string take() { return std::move(out_); }

  void program(const Program& p) {
    line(0, "", "(program)");
    for (const ProgramBlock& b : p.blocks) {
      line(1, "", std::string("(") + to_string(b.kind) + ")");
      if (b.kind == BlockKind::Functions)
        for (const FunctionDef& f : p.functions) function(f, 2);
      for (const StmtPtr& s : b.items) stmt(*s, 2, "");
    }
  }

  void expr(const Expr& e, int depth, const char* role) {
    std::string head;
    switch (e.kind) {
      case ExprKind::IntLit: head = "(int " + static_cast<const IntLit&>(e).text + ")"; break;
      case ExprKind::RealLit: head = "(real " + static_cast<const RealLit&>(e).text + ")"; break;
      case ExprKind::Variable: {
        const auto& v = static_cast<const Variable&>(e);
        head = "(var " + v.name + (typed_ ? std::string(" ") + to_string(v.origin) : "") + ")";
        break;
      }
      case ExprKind::Call: {
        const auto& c = static_cast<const Call&>(e);
        head = "(call " + c.name + (c.has_bar ? " |" : "") + resolved(c.resolved) + ")";
        break;
      }
      case ExprKind::Unary:
        head = std::string("(unary ") + to_string(static_cast<const Unary&>(e).op) + ")";
        break;
      case ExprKind::Binary:
        head = std::string("(binary ") + to_string(static_cast<const Binary&>(e).op) + ")";
        break;
      case ExprKind::Conditional: head = "(conditional)"; break;
      case ExprKind::Index: head = "(index)"; break;
      case ExprKind::Member: head = "(member " + static_cast<const Member&>(e).member + ")"; break;
      case ExprKind::Transpose: head = "(transpose)"; break;
      case ExprKind::ArrayLit: head = "(array)"; break;
      case ExprKind::RowVectorLit: head = "(row_vector)"; break;
    }
    if (typed_) head += " : " + e.type.str();
    line(depth, role, head);
    const int d = depth + 1;
    switch (e.kind) {
      case ExprKind::Call:
        for (const ExprPtr& a : static_cast<const Call&>(e).args) expr(*a, d, "");
        break;
      case ExprKind::Unary: expr(*static_cast<const Unary&>(e).operand, d, ""); break;
      case ExprKind::Binary: {
        const auto& b = static_cast<const Binary&>(e);
        expr(*b.lhs, d, "");
        expr(*b.rhs, d, "");
        break;
      }
      case ExprKind::Conditional: {
        const auto& c = static_cast<const Conditional&>(e);
        expr(*c.cond, d, "");
        expr(*c.then_expr, d, "");
        expr(*c.else_expr, d, "");
        break;
      }
      case ExprKind::Index: {
        const auto& i = static_cast<const Index&>(e);
        expr(*i.base, d, "");
        for (const IndexItem& item : i.indices) index_item(item, d);
        break;
      }
      case ExprKind::Member: expr(*static_cast<const Member&>(e).base, d, ""); break;
      case ExprKind::Transpose: expr(*static_cast<const Transpose&>(e).operand, d, ""); break;
      case ExprKind::ArrayLit:
        for (const ExprPtr& x : static_cast<const ArrayLit&>(e).elements) expr(*x, d, "");
        break;
      case ExprKind::RowVectorLit:
        for (const ExprPtr& x : static_cast<const RowVectorLit&>(e).elements) expr(*x, d, "");
        break;
      default: break;
    }
  }

 private:
  void line(int depth, const char* role, const std::string& text) {
    out_.append(static_cast<size_t>(depth) * 2, ' ');
    if (role[0] != '\0') {
      out_ += role;
      out_ += ": ";
    }
    out_ += text;
    out_ += '\n';
  }

  std::string resolved(const std::string& r) const {
    return typed_ && !r.empty() ? " [" + r + "]" : "";
  }

  void index_item(const IndexItem& item, int depth) {
    switch (item.kind) {
      case IndexItem::Kind::Single: line(depth, "", "(single)"); break;
      case IndexItem::Kind::All: line(depth, "", "(all)"); break;
      case IndexItem::Kind::From: line(depth, "", "(from)"); break;
      case IndexItem::Kind::UpTo: line(depth, "", "(upto)"); break;
      case IndexItem::Kind::Range: line(depth, "", "(range)"); break;
    }
    if (item.lo) expr(*item.lo, depth + 1, "");
    if (item.hi) expr(*item.hi, depth + 1, "");
  }

  void function(const FunctionDef& f, int depth) {
    line(depth, "", "(function " + f.name + " " + f.return_type.unsized_str() + ")");
    for (const FunctionArg& a : f.args)
      line(depth + 1, "", "(arg " + std::string(a.data_only ? "data " : "") + a.type.unsized_str() + " " + a.name + ")");
    if (f.body) stmt(*f.body, depth + 1, "");
    else line(depth + 1, "", "(forward)");
  }

  void stmt(const Stmt& s, int depth, const char* role) {
    const int d = depth + 1;
    switch (s.kind) {
      case StmtKind::VarDecl: {
        const auto& v = static_cast<const VarDecl&>(s);
        line(depth, role, "(decl " + std::string(v.batch ? "batch " : "") + decl_type_name(v.type) + " " +
                              v.name + (typed_ ? std::string(" ") + to_string(v.origin) : "") + ")");
        for (const ExprPtr& e : v.type.array_dims) expr(*e, d, "dim");
        for (const ExprPtr& e : v.type.sizes) expr(*e, d, "size");
        for (const ConstraintItem& c : v.type.constraints) expr(*c.value, d, c.key.c_str());
        if (v.init) expr(*v.init, d, "init");
        break;
      }
      case StmtKind::NetworkDecl: {
        const auto& n = static_cast<const NetworkDecl&>(s);
        line(depth, role, std::string("(network ") + (n.network == NetworkKind::Mlp ? "mlp " : "dense ") +
                              n.name + (typed_ ? std::string(" ") + to_string(n.origin) : "") + ")");
        for (const ExprPtr& w : n.widths) expr(*w, d, "width");
        for (const NetworkDecl::Activation& a : n.activations) line(d, "", "(activation " + a.name + ")");
        if (typed_ && !n.layer_activations.empty()) {
          std::string layers = "(layers";
          for (const std::string& a : n.layer_activations) layers += " " + a;
          line(d, "", layers + ")");
        }
        break;
      }
      case StmtKind::Block:
        line(depth, role, "(block)");
        for (const StmtPtr& item : static_cast<const Block&>(s).items) stmt(*item, d, "");
        break;
      case StmtKind::Assign: {
        const auto& a = static_cast<const Assign&>(s);
        line(depth, role, std::string("(assign ") + to_string(a.op) + ")");
        expr(*a.lhs, d, "");
        expr(*a.rhs, d, "");
        break;
      }
      case StmtKind::Tilde: {
        const auto& t = static_cast<const Tilde&>(s);
        line(depth, role, "(tilde " + t.distribution + (t.truncated ? " truncated" : "") +
                              resolved(t.resolved) + ")");
        expr(*t.lhs, d, "lhs");
        for (const ExprPtr& a : t.args) expr(*a, d, "");
        if (t.truncation_lo) expr(*t.truncation_lo, d, "lo");
        if (t.truncation_hi) expr(*t.truncation_hi, d, "hi");
        break;
      }
      case StmtKind::TargetPlus:
        line(depth, role, "(target+=)");
        expr(*static_cast<const TargetPlus&>(s).value, d, "");
        break;
      case StmtKind::ForRange: {
        const auto& f = static_cast<const ForRange&>(s);
        line(depth, role, "(for " + f.variable + ")");
        expr(*f.lo, d, "from");
        expr(*f.hi, d, "to");
        stmt(*f.body, d, "body");
        break;
      }
      case StmtKind::ForEach: {
        const auto& f = static_cast<const ForEach&>(s);
        line(depth, role, "(foreach " + f.variable + (typed_ ? " : " + f.variable_type.str() : "") + ")");
        expr(*f.container, d, "in");
        stmt(*f.body, d, "body");
        break;
      }
      case StmtKind::While: {
        const auto& w = static_cast<const While&>(s);
        line(depth, role, "(while)");
        expr(*w.cond, d, "cond");
        stmt(*w.body, d, "body");
        break;
      }
      case StmtKind::If: {
        const auto& i = static_cast<const If&>(s);
        line(depth, role, "(if)");
        expr(*i.cond, d, "cond");
        stmt(*i.then_stmt, d, "then");
        if (i.else_stmt) stmt(*i.else_stmt, d, "else");
        break;
      }
      case StmtKind::Break: line(depth, role, "(break)"); break;
      case StmtKind::Continue: line(depth, role, "(continue)"); break;
      case StmtKind::Empty: line(depth, role, "(empty)"); break;
      case StmtKind::Return: {
        line(depth, role, "(return)");
        if (const auto& v = static_cast<const Return&>(s).value) expr(*v, d, "");
        break;
      }
      case StmtKind::Print:
      case StmtKind::Reject:
      case StmtKind::FatalError: {
        const char* name = s.kind == StmtKind::Print ? "(print)" : s.kind == StmtKind::Reject ? "(reject)" : "(fatal_error)";
        line(depth, role, name);
        for (const Printable& p : static_cast<const PrintLike&>(s).items) {
          if (p.text) line(d, "", "(string " + quoted(*p.text) + ")");
          else expr(*p.expr, d, "");
        }
        break;
      }
      case StmtKind::ExprStmt:
        line(depth, role, "(expr_stmt)");
        expr(*static_cast<const ExprStmt&>(s).expr, d, "");
        break;
    }
  }

  bool typed_;
  std::string out_;
};

}  // namespace

std::string print(const Program& program, bool with_types) {
  Printer p(with_types);
  p.program(program);
  return p.take();
}

std::string print(const Expr& expr, bool with_types) {
  Printer p(with_types);
  p.expr(expr, 0, "");
  return p.take();
}

}  // namespace halo::ast
