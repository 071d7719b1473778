// The front end: real snippets parsed into the AST (shape and spans), syntax errors (one per
// file, human messages, placed where the mistake is), --dump=tokens and the AST printer.
#include <doctest/doctest.h>

#include <iostream>
#include <sstream>
#include <string>

#include "ast/ast.h"
#include "common/diagnostics.h"
#include "frontend/frontend.h"

using namespace halo;

namespace {

struct Parsed {
  SourceFile file;
  Diagnostics diags;
  std::unique_ptr<ast::Program> program;
  explicit Parsed(std::string text) : file("t.model", std::move(text)) {
    program = frontend::parse(file, diags);
  }
  std::string errors() const { return render_all(diags, file); }
};

std::unique_ptr<ast::Program> parse_ok(const std::string& text) {
  Parsed p(text);
  INFO(p.errors());
  REQUIRE(p.program != nullptr);
  REQUIRE(p.diags.all().empty());
  return std::move(p.program);
}

// The single diagnostic of a program that must fail.
Diagnostic parse_error(const std::string& text) {
  Parsed p(text);
  INFO(p.errors());
  REQUIRE(p.program == nullptr);
  REQUIRE(p.diags.error_count() == 1);
  return p.diags.all().front();
}

template <class T>
const T& as(const ast::Stmt& s) {
  return static_cast<const T&>(s);
}
template <class T>
const T& as(const ast::Expr& e) {
  return static_cast<const T&>(e);
}

// The grouping of an expression, fully parenthesised: `-a^b` -> "(-(a ^ b))".
std::string grouping(const ast::Expr& e) {
  switch (e.kind) {
    case ast::ExprKind::IntLit: return as<ast::IntLit>(e).text;
    case ast::ExprKind::RealLit: return as<ast::RealLit>(e).text;
    case ast::ExprKind::Variable: return as<ast::Variable>(e).name;
    case ast::ExprKind::Unary: {
      const auto& u = as<ast::Unary>(e);
      return std::string("(") + ast::to_string(u.op) + grouping(*u.operand) + ")";
    }
    case ast::ExprKind::Binary: {
      const auto& b = as<ast::Binary>(e);
      return "(" + grouping(*b.lhs) + " " + ast::to_string(b.op) + " " + grouping(*b.rhs) + ")";
    }
    case ast::ExprKind::Conditional: {
      const auto& c = as<ast::Conditional>(e);
      return "(" + grouping(*c.cond) + " ? " + grouping(*c.then_expr) + " : " + grouping(*c.else_expr) + ")";
    }
    case ast::ExprKind::Transpose: return grouping(*as<ast::Transpose>(e).operand) + "'";
    case ast::ExprKind::Call: {
      const auto& c = as<ast::Call>(e);
      std::string out = c.name + "(";
      for (size_t i = 0; i < c.args.size(); ++i)
        out += (i == 0 ? "" : (i == 1 && c.has_bar) ? " | " : ", ") + grouping(*c.args[i]);
      return out + ")";
    }
    case ast::ExprKind::Index: {
      const auto& i = as<ast::Index>(e);
      return grouping(*i.base) + "[" + std::to_string(i.indices.size()) + "]";
    }
    case ast::ExprKind::Member: {
      const auto& m = as<ast::Member>(e);
      return grouping(*m.base) + "." + m.member;
    }
    default: return "?";
  }
}

// The initialiser of the first declaration of `transformed data { real x = <expr>; }`.
struct ParsedExpr {
  std::unique_ptr<ast::Program> program;
  const ast::Expr* expr = nullptr;
};
ParsedExpr parse_expr(const std::string& expr) {
  ParsedExpr out;
  out.program = parse_ok("transformed data {\n  real x = " + expr + ";\n}\n");
  out.expr = as<ast::VarDecl>(*out.program->blocks.at(0).items.at(0)).init.get();
  REQUIRE(out.expr != nullptr);
  return out;
}
std::string grouping_of(const std::string& expr) { return grouping(*parse_expr(expr).expr); }

bool same_span(const Span& s, uint32_t bl, uint32_t bc, uint32_t el, uint32_t ec) {
  return s.begin_line == bl && s.begin_col == bc && s.end_line == el && s.end_col == ec;
}
std::string span_text(const Span& s) {
  return std::to_string(s.begin_line) + ":" + std::to_string(s.begin_col) + "-" +
         std::to_string(s.end_line) + ":" + std::to_string(s.end_col);
}
#define CHECK_SPAN(s, bl, bc, el, ec) \
  CHECK_MESSAGE(same_span((s), bl, bc, el, ec), span_text(s))

}  // namespace

TEST_CASE("operator precedence and associativity follow Stan") {
  CHECK(grouping_of("-a ^ b") == "(-(a ^ b))");
  CHECK(grouping_of("a ^ b ^ c") == "(a ^ (b ^ c))");
  CHECK(grouping_of("a ^ -b") == "(a ^ (-b))");
  CHECK(grouping_of("a - b - c") == "((a - b) - c)");
  CHECK(grouping_of("a / b * c") == "((a / b) * c)");
  CHECK(grouping_of("a + b * c") == "(a + (b * c))");
  CHECK(grouping_of("-a * b") == "((-a) * b)");
  CHECK(grouping_of("2 * M \\ v") == "(2 * (M \\ v))");   // \ binds tighter than *
  CHECK(grouping_of("i * j %/% k") == "(i * (j %/% k))");  // so does %/%
  CHECK(grouping_of("M \\ v * 2") == "((M \\ v) * 2)");
  CHECK(grouping_of("a .* b * c") == "((a .* b) * c)");    // .* is at *'s level
  CHECK(grouping_of("a .* b + c ./ d") == "((a .* b) + (c ./ d))");
  CHECK(grouping_of("a .^ b .^ c") == "(a .^ (b .^ c))");
  CHECK(grouping_of("i < j == j < k") == "((i < j) == (j < k))");
  CHECK(grouping_of("!i == j") == "((!i) == j)");
  CHECK(grouping_of("a || b && c") == "(a || (b && c))");
  CHECK(grouping_of("a && b || c") == "((a && b) || c)");
  CHECK(grouping_of("a ? b : c ? d : e") == "(a ? b : (c ? d : e))");
  CHECK(grouping_of("a || b ? c + d : e") == "((a || b) ? (c + d) : e)");
  CHECK(grouping_of("x'") == "x'");
  CHECK(grouping_of("-v'") == "(-v')");
  CHECK(grouping_of("v' * M * v") == "((v' * M) * v)");
  CHECK(grouping_of("2 * v'[2]") == "(2 * v'[1])");
  CHECK(grouping_of("(a + b) * c") == "((a + b) * c)");
  CHECK(grouping_of("- -a") == "(-(-a))");
  CHECK(grouping_of("net.layer1.W") == "net.layer1.W");
}

TEST_CASE("expression spans are 1-based, end one past the last character, and may span lines") {
  auto p = parse_expr("a +\n    b * c");
  const auto& sum = as<ast::Binary>(*p.expr);
  CHECK_SPAN(sum.span, 2, 12, 3, 10);
  CHECK_SPAN(sum.op_span, 2, 14, 2, 15);
  CHECK_SPAN(sum.lhs->span, 2, 12, 2, 13);
  CHECK_SPAN(sum.rhs->span, 3, 5, 3, 10);
  CHECK_SPAN(as<ast::Binary>(*sum.rhs).rhs->span, 3, 9, 3, 10);
}

TEST_CASE("every index kind") {
  auto p = parse_expr("x[1, :, 2:, :3, 1:2, ]");
  const auto& index = as<ast::Index>(*p.expr);
  REQUIRE(index.indices.size() == 6);
  using K = ast::IndexItem::Kind;
  CHECK(index.indices[0].kind == K::Single);
  CHECK(index.indices[1].kind == K::All);
  CHECK(index.indices[2].kind == K::From);
  CHECK(index.indices[3].kind == K::UpTo);
  CHECK(index.indices[4].kind == K::Range);
  CHECK(index.indices[5].kind == K::All);  // the empty index
  CHECK(as<ast::IntLit>(*index.indices[0].lo).value == 1);
  CHECK(as<ast::IntLit>(*index.indices[2].lo).value == 2);
  CHECK(index.indices[2].hi == nullptr);
  CHECK(index.indices[3].lo == nullptr);
  CHECK(as<ast::IntLit>(*index.indices[3].hi).value == 3);
  CHECK(as<ast::IntLit>(*index.indices[4].lo).value == 1);
  CHECK(as<ast::IntLit>(*index.indices[4].hi).value == 2);
  CHECK_SPAN(index.indices[4].span, 2, 28, 2, 31);  // "1:2"
  CHECK_SPAN(index.span, 2, 12, 2, 34);
  CHECK(grouping_of("a[i][j]") == "a[1][1]");
  CHECK(as<ast::Index>(*parse_expr("m[]").expr).indices.at(0).kind == K::All);
}

TEST_CASE("calls, conditional-density calls and literals") {
  auto p = parse_expr("normal_lpdf(y | m, s)");
  const auto& call = as<ast::Call>(*p.expr);
  CHECK(call.has_bar);
  CHECK(call.name == "normal_lpdf");
  CHECK_SPAN(call.name_span, 2, 12, 2, 23);
  CHECK(grouping(call) == "normal_lpdf(y | m, s)");

  const auto& none = as<ast::Call>(*parse_expr("f()").expr);
  CHECK_FALSE(none.has_bar);
  CHECK(none.args.empty());
  const auto& bar_only = as<ast::Call>(*parse_expr("g(x |)").expr);
  CHECK(bar_only.has_bar);
  CHECK(bar_only.args.size() == 1);

  CHECK(as<ast::IntLit>(*parse_expr("1_000_000").expr).value == 1000000);
  CHECK(as<ast::IntLit>(*parse_expr("9223372036854775807").expr).value == 9223372036854775807LL);
  CHECK(as<ast::RealLit>(*parse_expr("2.5E-3").expr).value == doctest::Approx(0.0025));
  CHECK(as<ast::RealLit>(*parse_expr(".5").expr).value == 0.5);
  CHECK(as<ast::RealLit>(*parse_expr("1_000.5").expr).value == 1000.5);
  CHECK(as<ast::RealLit>(*parse_expr("1_000.5").expr).text == "1_000.5");
  CHECK(as<ast::ArrayLit>(*parse_expr("{1, 2, 3}").expr).elements.size() == 3);
  CHECK(as<ast::RowVectorLit>(*parse_expr("[[1, 2], [3, 4]]").expr).elements.size() == 2);
}

TEST_CASE("int and real literals out of range are errors") {
  Diagnostic d = parse_error("transformed data {\n  int n = 9223372036854775808;\n}\n");
  CHECK(d.message == "integer literal is too large");
  CHECK_SPAN(d.span, 2, 11, 2, 30);
  d = parse_error("transformed data {\n  real r = 1e400;\n}\n");
  CHECK(d.message == "real literal is too large");
}

TEST_CASE("declarations: types, sizes, constraints, initialisers and spans") {
  auto prog = parse_ok(
      "data {\n"
      "  int<lower=1> N;\n"
      "  array[N, 2] vector<lower=0, upper=1>[3] y;\n"
      "  batch int B;\n"
      "  cholesky_factor_cov[4, 3] L;\n"
      "}\n"
      "transformed data {\n"
      "  matrix<offset=1, multiplier=2>[N, N] m = rep_matrix(0, N, N);\n"
      "}\n");
  const auto& data = prog->blocks.at(0);
  CHECK(data.kind == ast::BlockKind::Data);
  REQUIRE(data.items.size() == 4);
  const auto& n = as<ast::VarDecl>(*data.items[0]);
  CHECK(n.name == "N");
  CHECK(n.type.element == ast::ElementKind::Int);
  REQUIRE(n.type.constraints.size() == 1);
  CHECK(n.type.constraints[0].key == "lower");
  CHECK_SPAN(n.type.constraints[0].key_span, 2, 7, 2, 12);
  CHECK_SPAN(n.span, 2, 3, 2, 18);
  CHECK_SPAN(n.name_span, 2, 16, 2, 17);

  const auto& y = as<ast::VarDecl>(*data.items[1]);
  CHECK(y.type.array_dims.size() == 2);
  CHECK(y.type.element == ast::ElementKind::Vector);
  CHECK(y.type.sizes.size() == 1);
  CHECK(y.type.constraints.size() == 2);
  CHECK_SPAN(y.type.span, 3, 3, 3, 42);

  CHECK(as<ast::VarDecl>(*data.items[2]).batch);
  CHECK(as<ast::VarDecl>(*data.items[3]).type.element == ast::ElementKind::CholeskyFactorCov);
  CHECK(as<ast::VarDecl>(*data.items[3]).type.sizes.size() == 2);

  const auto& m = as<ast::VarDecl>(*prog->blocks.at(1).items.at(0));
  CHECK(m.type.element == ast::ElementKind::Matrix);
  CHECK(m.type.constraints.at(1).key == "multiplier");
  REQUIRE(m.init != nullptr);
  CHECK(m.init->kind == ast::ExprKind::Call);
}

TEST_CASE("blocks are kept in source order with their kinds and spans") {
  auto prog = parse_ok(
      "functions {\n  real twice(real x) { return 2 * x; }\n}\n"
      "data { }\ntransformed data { }\nparameters { }\ntransformed parameters { }\n"
      "model { }\ngenerated quantities { }\n");
  using B = ast::BlockKind;
  std::vector<B> kinds;
  for (const auto& b : prog->blocks) kinds.push_back(b.kind);
  CHECK(kinds == std::vector<B>{B::Functions, B::Data, B::TransformedData, B::Parameters,
                                B::TransformedParameters, B::Model, B::GeneratedQuantities});
  CHECK_SPAN(prog->blocks[2].span, 5, 1, 5, 21);
  CHECK(prog->block(B::Model) == &prog->blocks[5]);
}

TEST_CASE("user-defined functions: unsized types, data arguments, forward declarations") {
  auto prog = parse_ok(
      "functions {\n"
      "  real f(data array[,] real xs, vector v);\n"
      "  void g() { }\n"
      "  array[] matrix h(int n) { return {rep_matrix(0, n, n)}; }\n"
      "}\n");
  REQUIRE(prog->functions.size() == 3);
  const auto& f = prog->functions[0];
  CHECK(f.name == "f");
  CHECK(f.return_type.base == ast::BaseKind::Real);
  CHECK(f.body == nullptr);
  REQUIRE(f.args.size() == 2);
  CHECK(f.args[0].data_only);
  CHECK(f.args[0].type.base == ast::BaseKind::Real);
  CHECK(f.args[0].type.array_dims == 2);
  CHECK(f.args[0].name == "xs");
  CHECK_FALSE(f.args[1].data_only);
  CHECK(f.args[1].type.unsized_str() == "vector");
  CHECK(prog->functions[1].return_type.base == ast::BaseKind::Void);
  REQUIRE(prog->functions[1].body != nullptr);
  CHECK(prog->functions[2].return_type.unsized_str() == "array[] matrix");
  CHECK(prog->functions[2].body->items.at(0)->kind == ast::StmtKind::Return);
}

TEST_CASE("statements") {
  auto prog = parse_ok(
      "model {\n"
      "  y[1, 2][3] += 1;\n"
      "  for (i in 1:N) target += i;\n"
      "  for (x in xs) { print(\"x = \\\"\", x, \"\\\\\"); }\n"
      "  while (k < 3) k = k + 1;\n"
      "  if (a) b = 1; else if (c) b = 2; else { }\n"
      "  reject(\"bad\");\n"
      "  f(x);\n"
      "  ;\n"
      "}\n");
  const auto& items = prog->blocks.at(0).items;
  REQUIRE(items.size() == 8);
  const auto& assign = as<ast::Assign>(*items[0]);
  CHECK(assign.op == ast::AssignOp::AddAssign);
  // y[1, 2][3]: the second index applies to the first; each spans from `y` to its ']'.
  const auto& outer = as<ast::Index>(*assign.lhs);
  CHECK(outer.indices.size() == 1);
  CHECK_SPAN(outer.span, 2, 3, 2, 13);
  const auto& inner = as<ast::Index>(*outer.base);
  CHECK(inner.indices.size() == 2);
  CHECK_SPAN(inner.span, 2, 3, 2, 10);
  CHECK(as<ast::Variable>(*inner.base).name == "y");

  const auto& loop = as<ast::ForRange>(*items[1]);
  CHECK(loop.variable == "i");
  CHECK(loop.body->kind == ast::StmtKind::TargetPlus);
  CHECK_SPAN(loop.span, 3, 3, 3, 30);

  const auto& each = as<ast::ForEach>(*items[2]);
  const auto& print = as<ast::PrintLike>(*as<ast::Block>(*each.body).items.at(0));
  CHECK(print.kind == ast::StmtKind::Print);
  REQUIRE(print.items.size() == 3);
  CHECK(*print.items[0].text == "x = \"");  // escapes are unescaped
  CHECK(print.items[1].expr != nullptr);
  CHECK(*print.items[2].text == "\\");

  CHECK(items[3]->kind == ast::StmtKind::While);
  const auto& branch = as<ast::If>(*items[4]);
  REQUIRE(branch.else_stmt != nullptr);
  CHECK(branch.else_stmt->kind == ast::StmtKind::If);
  CHECK(as<ast::If>(*branch.else_stmt).else_stmt->kind == ast::StmtKind::Block);
  CHECK(items[5]->kind == ast::StmtKind::Reject);
  CHECK(as<ast::ExprStmt>(*items[6]).expr->kind == ast::ExprKind::Call);
  CHECK(items[7]->kind == ast::StmtKind::Empty);
}

TEST_CASE("tilde statements and truncation") {
  auto prog = parse_ok(
      "model {\n"
      "  y ~ normal(mu, sigma) T[0, ];\n"
      "  z ~ normal(0, 1) T[, 5];\n"
      "  w ~ std_normal();\n"
      "  v ~ normal(0, 1) T[-1, 1];\n"
      "}\n");
  const auto& items = prog->blocks.at(0).items;
  const auto& t0 = as<ast::Tilde>(*items[0]);
  CHECK(t0.distribution == "normal");
  CHECK_SPAN(t0.distribution_span, 2, 7, 2, 13);
  CHECK(t0.args.size() == 2);
  CHECK(t0.truncated);
  CHECK(t0.truncation_lo != nullptr);
  CHECK(t0.truncation_hi == nullptr);
  const auto& t1 = as<ast::Tilde>(*items[1]);
  CHECK(t1.truncation_lo == nullptr);
  CHECK(as<ast::IntLit>(*t1.truncation_hi).value == 5);
  const auto& t2 = as<ast::Tilde>(*items[2]);
  CHECK_FALSE(t2.truncated);
  CHECK(t2.args.empty());
  CHECK(grouping(*as<ast::Tilde>(*items[3]).truncation_lo) == "(-1)");

  Diagnostic d = parse_error("model {\n  p ~ normal(0.5, 1) U[0, 1];\n}\n");
  CHECK(d.message == "expected 'T' to truncate the distribution");
  CHECK_SPAN(d.span, 2, 22, 2, 23);
  CHECK(d.hint.find("T[lo, hi]") != std::string::npos);
}

TEST_CASE("networks: kind, widths, activations with spans, name") {
  auto prog = parse_ok(
      "parameters {\n"
      "  mlp(14 -> 128 -> 64, relu, tanh) body;\n"
      "  dense(64 -> K) head;\n"
      "}\n");
  const auto& body = as<ast::NetworkDecl>(*prog->blocks.at(0).items.at(0));
  CHECK(body.network == ast::NetworkKind::Mlp);
  REQUIRE(body.widths.size() == 3);
  CHECK(as<ast::IntLit>(*body.widths[1]).value == 128);
  REQUIRE(body.activations.size() == 2);
  CHECK(body.activations[0].name == "relu");
  CHECK_SPAN(body.activations[0].span, 2, 24, 2, 28);
  CHECK(body.activations[1].name == "tanh");
  CHECK(body.name == "body");
  CHECK_SPAN(body.name_span, 2, 36, 2, 40);
  const auto& head = as<ast::NetworkDecl>(*prog->blocks.at(0).items.at(1));
  CHECK(head.network == ast::NetworkKind::Dense);
  CHECK(head.activations.empty());
  CHECK(as<ast::Variable>(*head.widths[1]).name == "K");
  // Contextual keywords stay usable as names.
  parse_ok("data {\n  int mlp;\n  int lower;\n  real T;\n}\n");
}

TEST_CASE("Stan's old array syntax is an error with the rewrite as a hint") {
  Diagnostic d = parse_error("data {\n  int N;\n  real<lower=0> sigma[N];\n}\n");
  CHECK_SPAN(d.span, 3, 22, 3, 25);
  CHECK(d.hint.find("Stan's old array syntax `real y[N]` is written `array[N] real y`") == 0);
  CHECK(d.hint.find("`array[N] real<lower=0> sigma`") != std::string::npos);
}

TEST_CASE("all front-end errors of a parsed file are reported, but only the first syntax error") {
  Parsed several("data {\n  real a[2];\n  real b[3];\n}\n");
  CHECK(several.diags.error_count() == 2);
  // Two syntax errors: ANTLR would report both (and recovery noise); Halo reports the first.
  Parsed p("data {\n  real a\n  real b\n  int c = ;\n}\nmodel { x = ; }\n");
  CHECK(p.program == nullptr);
  REQUIRE(p.diags.error_count() == 1);
  CHECK(p.diags.all()[0].span.begin_line == 2);
}

TEST_CASE("a missing semicolon is reported just after the previous token") {
  Diagnostic d = parse_error("parameters {\n  real mu\n  real<lower=0> sigma;\n}\n");
  CHECK(d.message == "expected ';' after the declaration of 'mu'");
  CHECK_SPAN(d.span, 2, 10, 2, 11);
  CHECK(d.found == "'real'");
  d = parse_error("model {\n  y ~ normal(0, 1)\n  z ~ normal(0, 1);\n}\n");
  CHECK(d.message == "expected ';'");
  CHECK_SPAN(d.span, 2, 19, 2, 20);
  d = parse_error("model {\n  x = 1\n}\n");
  CHECK(d.message == "expected ';'");
  CHECK_SPAN(d.span, 2, 8, 2, 9);
}

TEST_CASE("syntax error messages are human and underline the offending token") {
  Diagnostic d = parse_error("parameters {\n  real data;\n}\n");
  CHECK(d.message == "'data' is a reserved word and cannot be used as a name");
  CHECK_SPAN(d.span, 2, 8, 2, 12);

  d = parse_error("data { }\nmodel { }\nparameters { }\n");
  CHECK(d.message == "the parameters block must come before the model block");
  CHECK(d.hint.find("functions, data, transformed data, parameters") != std::string::npos);
  CHECK_SPAN(d.span, 3, 1, 3, 11);

  d = parse_error("model { }\ntransformed data { }\n");
  CHECK(d.message == "the transformed data block must come before the model block");
  CHECK_SPAN(d.span, 2, 1, 2, 17);

  d = parse_error("model {\n  x = a $ b;\n}\n");
  CHECK(d.message == "unexpected character '$'");
  CHECK_SPAN(d.span, 2, 9, 2, 10);

  d = parse_error("model {\n  y ~ normal(mu, 1;\n}\n");
  CHECK(d.message == "expected ')'");
  CHECK(d.found == "';'");
  CHECK(d.hint == "to close the '(' at line 2, column 13");

  d = parse_error("parameter {\n}\n");
  CHECK(d.hint == "did you mean 'parameters'?");

  d = parse_error("model {\n  x = 1;\n");
  CHECK(d.message == "missing '}' at the end of the file");
  CHECK(d.hint == "the '{' at line 1, column 7 is never closed");

  d = parse_error("model {\n}\n/* never closed\n");
  CHECK(d.message == "unterminated comment");
  CHECK_SPAN(d.span, 3, 1, 3, 3);

  d = parse_error("model {\n  print(\"abc);\n}\n");
  CHECK(d.message == "unterminated string literal");

  d = parse_error("parameters {\n  simplex<lower=0>[3] s;\n}\n");
  CHECK(d.message == "'simplex' takes no <...> constraint");

  d = parse_error("model {\n  for (i 1:N) { }\n}\n");
  CHECK(d.message == "expected 'in'");  // not ANTLR's set at the start of the statement

  d = parse_error("data {\n  vectr[3] v;\n}\n");
  CHECK(d.hint == "did you mean 'vector'?");

  d = parse_error("parameters {\n  mlp(3, 8, 1) net;\n}\n");
  CHECK(d.message == "expected '->'");

  d = parse_error("data {\n  int N;\n  N = 3;\n}\n");
  CHECK(d.hint.find("declarations only") != std::string::npos);
}

TEST_CASE("expression statements must be calls, `<-` is recognised") {
  Diagnostic d = parse_error("model {\n  x + 1;\n}\n");
  CHECK(d.message == "an expression statement must be a function call");
  CHECK_SPAN(d.span, 2, 3, 2, 8);
  d = parse_error("model {\n  x <- 1;\n}\n");
  CHECK(d.message == "'<-' is not an assignment operator");
  CHECK_SPAN(d.span, 2, 5, 2, 7);
  // `x < -1;` written with a space is a comparison, not the old operator.
  d = parse_error("model {\n  x < -1;\n}\n");
  CHECK(d.message == "an expression statement must be a function call");
}

TEST_CASE("ANTLR never writes to the console") {
  std::ostringstream captured_err, captured_out;
  std::streambuf* old_err = std::cerr.rdbuf(captured_err.rdbuf());
  std::streambuf* old_out = std::cout.rdbuf(captured_out.rdbuf());
  {
    Parsed p("model {\n  x = = 1 ;; @ }\n}\n} data");
    CHECK(p.program == nullptr);
  }
  std::cerr.rdbuf(old_err);
  std::cout.rdbuf(old_out);
  CHECK(captured_err.str().empty());
  CHECK(captured_out.str().empty());
}

TEST_CASE("hostile input gives diagnostics, never a crash") {
  Diagnostic d = parse_error("model {\n  x = " + std::string(5000, '(') + "1" + std::string(5000, ')') + ";\n}\n");
  CHECK(d.message == "the program is nested too deeply here");
  std::string sum = "1";
  for (int i = 0; i < 20000; ++i) sum += " + 1";
  d = parse_error("model {\n  x = " + sum + ";\n}\n");
  CHECK(d.message == "the expression is nested too deeply");
  std::string ok_sum = "1";
  for (int i = 0; i < 500; ++i) ok_sum += " + 1";
  parse_ok("model {\n  x = " + ok_sum + ";\n}\n");
  // Bytes that are not UTF-8, NUL included.
  const char raw[] = "model {\n  x = \xff\xfe\0 1;\n}\n";
  d = parse_error(std::string(raw, sizeof raw - 1));
  CHECK(d.message == "unexpected character '\\xff'");
  d = parse_error("model {\n  x = 1 \xc3\x97 2;\n}\n");
  CHECK(d.message == "unexpected character '\xc3\x97'");
  Parsed empty("");
  CHECK(empty.program != nullptr);  // every block is optional
}

TEST_CASE("dump_tokens: one token per line with its place, kind and text, ending with EOF") {
  SourceFile file("t.model", "data {\n  int<lower=0> N; // c\n}\n");
  std::string dump = frontend::dump_tokens(file);
  CHECK(dump ==
        "1:1 DATA 'data'\n"
        "1:6 '{' '{'\n"
        "2:3 INT 'int'\n"
        "2:6 '<' '<'\n"
        "2:7 LOWER 'lower'\n"
        "2:12 '=' '='\n"
        "2:13 INT_LITERAL '0'\n"
        "2:14 '>' '>'\n"
        "2:16 ID 'N'\n"
        "2:17 ';' ';'\n"
        "3:1 '}' '}'\n"
        "4:1 EOF\n");
}

TEST_CASE("the printer: one node per line, roles, and types/origins/resolutions when typed") {
  auto prog = parse_ok(
      "data {\n  int<lower=1> N;\n}\n"
      "parameters {\n  real sigma;\n}\n"
      "model {\n  sigma ~ normal(0, 1) T[0, ];\n}\n");
  CHECK(ast::print(*prog, false) ==
        "(program)\n"
        "  (data)\n"
        "    (decl int N)\n"
        "      lower: (int 1)\n"
        "  (parameters)\n"
        "    (decl real sigma)\n"
        "  (model)\n"
        "    (tilde normal truncated)\n"
        "      lhs: (var sigma)\n"
        "      (int 0)\n"
        "      (int 1)\n"
        "      lo: (int 0)\n");
  // Fill what the semantic stage would, and print typed.
  auto& tilde = static_cast<ast::Tilde&>(*prog->blocks[2].items[0]);
  tilde.resolved = "normal_lpdf(real | int, int)";
  auto& lhs = static_cast<ast::Variable&>(*tilde.lhs);
  lhs.origin = ast::Origin::Parameter;
  lhs.type = ast::Type::real();
  CHECK(ast::print(lhs, true) == "(var sigma parameter) : real\n");
  std::string typed = ast::print(*prog, true);
  CHECK(typed.find("    (tilde normal truncated [normal_lpdf(real | int, int)])\n"
                   "      lhs: (var sigma parameter) : real\n") != std::string::npos);
  CHECK(typed.find("(decl int N unresolved)") != std::string::npos);

  auto e = parse_expr("-a ^ b[1:2]'");
  CHECK(ast::print(*e.expr, false) ==
        "(unary -)\n"
        "  (binary ^)\n"
        "    (var a)\n"
        "    (transpose)\n"
        "      (index)\n"
        "        (var b)\n"
        "        (range)\n"
        "          (int 1)\n"
        "          (int 2)\n");
}
