// The semantic stage: scopes and names, block rules, types and shapes, constraints, the
// signature table and overload resolution, neural components, batch, and the diagnostics'
// places and contents. Programs are parsed by the real front end, then checked.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "common/diagnostics.h"
#include "frontend/frontend.h"
#include "semantic/semantic.h"
#include "semantic/signatures.h"

using namespace halo;

namespace {

struct Checked {
  SourceFile file;
  Diagnostics diags;
  std::unique_ptr<ast::Program> program;
  explicit Checked(std::string text) : file("t.model", std::move(text)) {
    auto parsed = frontend::parse(file, diags);
    REQUIRE_MESSAGE(parsed != nullptr, render_all(diags, file));
    program = semantic::check(std::move(parsed), diags);
  }
  std::string rendered() const { return render_all(diags, file); }
};

// A program that must check without any diagnostic.
std::unique_ptr<ast::Program> ok(const std::string& text) {
  Checked c(text);
  INFO(c.rendered());
  REQUIRE(c.program != nullptr);
  REQUIRE(c.diags.all().empty());
  return std::move(c.program);
}

// All errors of a program that must fail (in the order found).
std::vector<Diagnostic> errors(const std::string& text) {
  Checked c(text);
  INFO(c.rendered());
  REQUIRE(c.program == nullptr);
  REQUIRE(c.diags.has_errors());
  return c.diags.all();
}

// The single error of a program that must fail.
Diagnostic error(const std::string& text) {
  Checked c(text);
  INFO(c.rendered());
  REQUIRE(c.program == nullptr);
  REQUIRE(c.diags.error_count() == 1);
  return c.diags.all().front();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class T>
T& as(ast::Stmt& s) {
  return static_cast<T&>(s);
}
template <class T>
T& as(ast::Expr& e) {
  return static_cast<T&>(e);
}

ast::ProgramBlock& block(ast::Program& p, ast::BlockKind k) {
  ast::ProgramBlock* b = p.block(k);
  REQUIRE(b != nullptr);
  return *b;
}

// The type of `expr` (printed) in the transformed data block after `decls` in data.
std::string type_of(const std::string& decls, const std::string& expr) {
  auto p = ok("data {\n" + decls + "\n}\ntransformed data {\n  print(" + expr + ");\n}\n");
  auto& pr = as<ast::PrintLike>(*block(*p, ast::BlockKind::TransformedData).items.at(0));
  return pr.items.at(0).expr->type.str();
}

// The single error of `expr` in the same setting.
Diagnostic expr_error(const std::string& decls, const std::string& expr) {
  return error("data {\n" + decls + "\n}\ntransformed data {\n  print(" + expr + ");\n}\n");
}

// The type of `expr` in the model block, with `params` (networks) in parameters.
std::string model_type_of(const std::string& decls, const std::string& params, const std::string& expr) {
  auto p = ok("data {\n" + decls + "\n}\nparameters {\n" + params + "\n}\nmodel {\n  print(" + expr + ");\n}\n");
  auto& pr = as<ast::PrintLike>(*block(*p, ast::BlockKind::Model).items.at(0));
  return pr.items.at(0).expr->type.str();
}

Diagnostic model_error(const std::string& decls, const std::string& params, const std::string& stmts) {
  return error("data {\n" + decls + "\n}\nparameters {\n" + params + "\n}\nmodel {\n" + stmts + "\n}\n");
}

void check_span(const Span& s, uint32_t line, uint32_t col, uint32_t end_col) {
  CHECK(s.begin_line == line);
  CHECK(s.begin_col == col);
  CHECK(s.end_col == end_col);
}

}  // namespace

// =============================================================================================
// Scopes and names

TEST_CASE("names: a name is used only after its declaration") {
  Diagnostic d = error("transformed data {\n  real a = b;\n  real b = 1;\n}\n");
  CHECK(d.message == "'b' is used before its declaration");
  CHECK(d.hint == "'b' is declared at line 3");
  check_span(d.span, 2, 12, 13);

  Diagnostic p = error("data {\n  real<lower=mu> x;\n}\nparameters {\n  real mu;\n}\n");
  CHECK(p.message == "'mu' is used before its declaration");
  CHECK(contains(p.hint, "line 5, in a later block"));
}

TEST_CASE("names: unknown names get a did-you-mean hint from the names in scope") {
  Diagnostic d = error("parameters {\n  real mu;\n  real<lower=0> sigma;\n}\nmodel {\n  sigam ~ exponential(1);\n}\n");
  CHECK(d.message == "unknown variable 'sigam'");
  CHECK(d.hint == "did you mean 'sigma'?");
  check_span(d.span, 6, 3, 8);
  Diagnostic far = error("parameters {\n  real mu;\n}\nmodel {\n  zzzzzz ~ normal(0, 1);\n}\n");
  CHECK(far.message == "unknown variable 'zzzzzz'");
  CHECK(far.hint.empty());
  Diagnostic boolean = error("transformed data {\n  int b = true;\n}\n");
  CHECK(contains(boolean.hint, "no boolean literals"));
}

TEST_CASE("names: no redeclaration while a name is visible, sibling scopes may reuse it") {
  Diagnostic d = error("data {\n  real mu;\n}\nparameters {\n  real mu;\n}\n");
  CHECK(d.message == "'mu' is already declared");
  CHECK(contains(d.hint, "line 2"));
  check_span(d.span, 5, 8, 10);
  // A local cannot reuse a global's name (Stan has no shadowing), nor a loop variable.
  CHECK(error("parameters {\n  real mu;\n}\nmodel {\n  { real mu = 1; }\n}\n").message == "'mu' is already declared");
  CHECK(error("parameters {\n  real mu;\n}\nmodel {\n  for (mu in 1:3) { }\n}\n").message ==
        "'mu' is already declared");
  ok("transformed data {\n  { real x = 1; }\n  { real x = 2; }\n  for (i in 1:2) { }\n  for (i in 1:3) { }\n}\n");
}

TEST_CASE("names: a local out of scope is reported with where it was declared") {
  Diagnostic d = error("transformed data {\n  real total = 0;\n  {\n    real partial = 1;\n  }\n  total += partial;\n}\n");
  CHECK(d.message == "'partial' is not in scope here");
  CHECK(contains(d.hint, "line 4"));
}

TEST_CASE("names: variables cannot take a user function's name or a reserved word") {
  Diagnostic f = error("functions {\n  real twice(real x) { return 2 * x; }\n}\ndata {\n  real twice;\n}\n");
  CHECK(f.message == "'twice' is the name of a user-defined function");
  CHECK(error("data {\n  real x__;\n}\n").message == "'x__' is reserved and cannot be used as a name");
  CHECK(error("data {\n  real true;\n}\n").message == "'true' is reserved and cannot be used as a name");
  // Built-in names may be reused by variables, as in current Stan (`beta`, `e` are common).
  ok("data {\n  vector[2] beta;\n  real e;\n}\n");
}

TEST_CASE("names: loop variables are read-only") {
  Diagnostic d = error("transformed data {\n  for (i in 1:10) {\n    i = 2;\n  }\n}\n");
  CHECK(d.message == "the loop variable 'i' cannot be assigned");
  check_span(d.span, 3, 5, 6);
  CHECK(error("data {\n  vector[3] v;\n}\ntransformed data {\n  for (x in v) x = 1;\n}\n").message ==
        "the loop variable 'x' cannot be assigned");
}

TEST_CASE("names: resolution fills the origins of declarations and uses") {
  auto p = ok(R"(data {
  int N;
}
transformed data {
  int M = N;
}
parameters {
  real mu;
}
transformed parameters {
  real tp = mu;
}
model {
  real local = tp;
  for (i in 1:M) local += i;
}
generated quantities {
  real g = mu;
}
)");
  auto& data = block(*p, ast::BlockKind::Data);
  CHECK(as<ast::VarDecl>(*data.items[0]).origin == ast::Origin::Data);
  auto& td = as<ast::VarDecl>(*block(*p, ast::BlockKind::TransformedData).items[0]);
  CHECK(td.origin == ast::Origin::TransformedData);
  CHECK(as<ast::Variable>(*td.init).origin == ast::Origin::Data);
  auto& tp = as<ast::VarDecl>(*block(*p, ast::BlockKind::TransformedParameters).items[0]);
  CHECK(tp.origin == ast::Origin::TransformedParameter);
  CHECK(as<ast::Variable>(*tp.init).origin == ast::Origin::Parameter);
  auto& model = block(*p, ast::BlockKind::Model);
  auto& local = as<ast::VarDecl>(*model.items[0]);
  CHECK(local.origin == ast::Origin::Local);
  CHECK(as<ast::Variable>(*local.init).origin == ast::Origin::TransformedParameter);
  auto& loop = as<ast::ForRange>(*model.items[1]);
  auto& body = as<ast::Assign>(*loop.body);
  CHECK(as<ast::Variable>(*body.lhs).origin == ast::Origin::Local);
  CHECK(as<ast::Variable>(*body.rhs).origin == ast::Origin::LoopVariable);
  CHECK(as<ast::Variable>(*as<ast::ForRange>(*model.items[1]).hi).origin == ast::Origin::TransformedData);
  CHECK(as<ast::VarDecl>(*block(*p, ast::BlockKind::GeneratedQuantities).items[0]).origin ==
        ast::Origin::GeneratedQuantity);
}

TEST_CASE("names: functions see only their arguments and locals") {
  Diagnostic d = error("functions {\n  real f() { return N; }\n}\ndata {\n  int N;\n}\n");
  CHECK(d.message == "unknown variable 'N'");
  CHECK(contains(d.hint, "pass 'N' as an argument"));
}

// =============================================================================================
// Block rules

TEST_CASE("blocks: data and transformed data are read-only after their block") {
  CHECK(error("data {\n  vector[3] y;\n}\nmodel {\n  y[1] = 0;\n}\n").message ==
        "the data variable 'y' cannot be assigned");
  Diagnostic td = error("transformed data {\n  real x = 1;\n}\nmodel {\n  x = 2;\n}\n");
  CHECK(td.message == "'x' is transformed data and cannot be assigned in the model block");
  CHECK(td.hint == "it is read-only after the transformed data block");
  CHECK(error("parameters {\n  real mu;\n}\ntransformed parameters {\n  real t = 1;\n}\nmodel {\n  t = 2;\n}\n")
            .message == "'t' is a transformed parameter and cannot be assigned in the model block");
  // Assignments in the declaring block, and to locals anywhere, are fine.
  ok("transformed data {\n  real x = 1;\n  x = 2;\n  { x += 1; }\n}\nparameters {\n  real mu;\n}\nmodel {\n"
     "  real l = 1;\n  l = mu;\n}\ngenerated quantities {\n  real g = 1;\n  g = mu;\n}\n");
}

TEST_CASE("blocks: parameters are read-only") {
  Diagnostic d = error("parameters {\n  real mu;\n}\ntransformed parameters {\n  real t = mu;\n  mu = 1;\n}\n");
  CHECK(d.message == "the parameter 'mu' cannot be assigned");
  check_span(d.span, 6, 3, 5);
}

TEST_CASE("blocks: data and parameters hold declarations without initial values") {
  Diagnostic d = error("data {\n  int N = 3;\n}\n");
  CHECK(d.message == "data cannot have an initial value");
  check_span(d.span, 2, 11, 12);
  CHECK(error("parameters {\n  real mu = 1;\n}\n").message == "a parameter cannot have an initial value");
}

TEST_CASE("blocks: parameters and transformed parameters are real-valued") {
  Diagnostic d = error("parameters {\n  int k;\n}\n");
  CHECK(d.message == "parameters must be real-valued; 'k' is an int");
  CHECK(d.found == "int");
  CHECK(error("parameters {\n  real mu;\n}\ntransformed parameters {\n  array[2] int k;\n}\n").message ==
        "transformed parameters must be real-valued; 'k' is an int");
  ok("parameters {\n  real mu;\n}\ngenerated quantities {\n  int k = 1;\n}\n");
}

TEST_CASE("blocks: ~, target += and target() only in the model block (and _lp functions)") {
  Diagnostic t = error("parameters {\n  real mu;\n}\ntransformed parameters {\n  real m = mu;\n  mu ~ normal(0, 1);\n}\n");
  CHECK(t.message == "'~' statements are only allowed in the model block");
  check_span(t.span, 6, 3, 14);
  CHECK(error("parameters {\n  real mu;\n}\ngenerated quantities {\n  target += 1;\n}\n").message ==
        "'target +=' is only allowed in the model block");
  ok("functions {\n  void prior_lp(real x) {\n    target += -x * x;\n    x ~ normal(0, 1);\n  }\n}\n"
     "parameters {\n  real mu;\n}\ntransformed parameters {\n  real t = mu;\n  prior_lp(mu);\n}\nmodel {\n"
     "  prior_lp(mu);\n}\n");
  CHECK(error("functions {\n  void f(real x) {\n    target += x;\n  }\n}\n").message ==
        "'target +=' is only allowed in the model block");
  Diagnostic lp = error("functions {\n  void prior_lp(real x) {\n    target += x;\n  }\n}\nparameters {\n  real mu;\n}\n"
                        "generated quantities {\n  prior_lp(mu);\n}\n");
  CHECK(lp.message == "'prior_lp' increments target and cannot be called here");
}

TEST_CASE("blocks: _rng functions only in transformed data, generated quantities and _rng functions") {
  Diagnostic m = error("parameters {\n  real mu;\n}\nmodel {\n  real noise = normal_rng(0, 1);\n}\n");
  CHECK(m.message == "'normal_rng' draws random numbers and is not allowed here");
  check_span(m.span, 5, 16, 26);
  CHECK(error("parameters {\n  real mu;\n}\ntransformed parameters {\n  real j = mu + normal_rng(0, 1);\n}\n").message ==
        "'normal_rng' draws random numbers and is not allowed here");
  Diagnostic f = error("functions {\n  real f(real x) { return normal_rng(x, 1); }\n}\n");
  CHECK(f.hint == "only functions whose names end in _rng may call _rng functions");
  ok("functions {\n  real f_rng(real x) { return normal_rng(x, 1); }\n}\ntransformed data {\n"
     "  real a = f_rng(1);\n}\nparameters {\n  real mu;\n}\ngenerated quantities {\n  real b = f_rng(mu);\n}\n");
}

TEST_CASE("blocks: _lupdf only in the model block") {
  ok("parameters {\n  real mu;\n}\nmodel {\n  target += normal_lupdf(mu | 0, 1);\n}\n");
  CHECK(error("parameters {\n  real mu;\n}\ngenerated quantities {\n  real l = normal_lupdf(mu | 0, 1);\n}\n")
            .message == "'normal_lupdf' (an unnormalised density) is not allowed here");
}

TEST_CASE("blocks: constraints only on top-level declarations of the variable blocks") {
  Diagnostic d = error("parameters {\n  real mu;\n}\nmodel {\n  real<lower=0> scale = 2;\n}\n");
  CHECK(d.message == "a local variable cannot have a constraint");
  check_span(d.span, 5, 8, 15);
  CHECK(error("transformed data {\n  {\n    real<lower=0> x = 1;\n  }\n}\n").message ==
        "a local variable cannot have a constraint");
  CHECK(error("parameters {\n  real mu;\n}\nmodel {\n  simplex[3] s;\n}\n").message ==
        "a local variable cannot have the constrained type simplex");
  ok("data {\n  int<lower=0> N;\n}\ntransformed data {\n  real<lower=0> t = 1;\n}\nparameters {\n"
     "  real<lower=0> s;\n}\ntransformed parameters {\n  real<lower=0> s2 = s * s;\n}\n"
     "generated quantities {\n  real<upper=0> g = -s;\n}\n");
}

TEST_CASE("blocks: break and continue only in loops") {
  CHECK(error("transformed data {\n  break;\n}\n").message == "'break' is only allowed inside a loop");
  CHECK(error("transformed data {\n  if (1) {\n    continue;\n  }\n}\n").message ==
        "'continue' is only allowed inside a loop");
  ok("transformed data {\n  while (1) {\n    if (1) break;\n    continue;\n  }\n  for (i in 1:3) {\n"
     "    if (i == 2) continue;\n  }\n}\n");
}

TEST_CASE("blocks: top-level sizes are int expressions of data only, local sizes are free") {
  Diagnostic d = error("parameters {\n  vector[3] beta;\n}\ntransformed parameters {\n"
                       "  vector[rows(beta)] gamma = 2 * beta;\n}\n");
  CHECK(d.message == "a size of a top-level declaration must depend on data only");
  CHECK(d.found == "'beta', a parameter");
  check_span(d.span, 5, 15, 19);
  CHECK(error("parameters {\n  real mu;\n}\ngenerated quantities {\n  int K = 3;\n  vector[K] z;\n}\n").found ==
        "'K', a generated quantity");
  Diagnostic r = error("data {\n  real x;\n  vector[x] v;\n}\n");
  CHECK(r.message == "a size must be an int");
  CHECK(r.found == "real");
  CHECK(error("data {\n  vector[-1] v;\n}\n").message == "a size cannot be negative");
  ok("data {\n  int N;\n}\ntransformed data {\n  int K = N - 1;\n  vector[K] v;\n}\nparameters {\n"
     "  vector[3] beta;\n}\nmodel {\n  vector[rows(beta)] g = beta;\n  for (n in 1:N) {\n    vector[n] w;\n  }\n}\n");
}

TEST_CASE("blocks: bounds of a parameter may use data and earlier parameters (garch)") {
  ok("parameters {\n  real<lower=0, upper=1> alpha1;\n  real<lower=0, upper=(1 - alpha1)> beta1;\n}\n");
  CHECK(error("parameters {\n  real<upper=b> a;\n  real b;\n}\n").message == "'b' is used before its declaration");
}

TEST_CASE("blocks: return only in functions, with the declared type, on every path") {
  CHECK(error("parameters {\n  real mu;\n}\nmodel {\n  return;\n}\n").message ==
        "'return' is only allowed inside functions");
  Diagnostic t = error("functions {\n  real twice(vector v) {\n    return 2 * v;\n  }\n}\n");
  CHECK(t.message == "the returned value does not have the return type of 'twice'");
  CHECK(t.expected == "real");
  Diagnostic p = error("functions {\n  real g(real x) {\n    if (x > 0) return x;\n  }\n}\n");
  CHECK(p.message == "'g' may end without returning a value");
  CHECK(error("functions {\n  void f() {\n    return 1;\n  }\n}\n").message ==
        "'f' returns nothing (void) but a value is returned");
  ok("functions {\n  real g(real x) {\n    if (x > 0) return x;\n    else reject(\"negative\");\n  }\n"
     "  int fib(int n);\n  int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n}\n");
}

// =============================================================================================
// Types and shapes

TEST_CASE("types: arithmetic follows Stan's rules") {
  const std::string decls =
      "int i;\nint j;\nreal x;\nvector[3] v;\nrow_vector[3] r;\nmatrix[2, 3] A;\nmatrix[3, 4] B;\n"
      "matrix[3, 3] S;";
  CHECK(type_of(decls, "i + j") == "int");
  CHECK(type_of(decls, "i + x") == "real");
  CHECK(type_of(decls, "i / j") == "int");
  CHECK(type_of(decls, "i %/% j") == "int");
  CHECK(type_of(decls, "i % j") == "int");
  CHECK(type_of(decls, "i ^ j") == "real");
  CHECK(type_of(decls, "v + x") == "vector[3]");
  CHECK(type_of(decls, "x - v") == "vector[3]");
  CHECK(type_of(decls, "i * v") == "vector[3]");
  CHECK(type_of(decls, "v / 2") == "vector[3]");
  CHECK(type_of(decls, "v .* v") == "vector[3]");
  CHECK(type_of(decls, "1 ./ v") == "vector[3]");
  CHECK(type_of(decls, "v .^ 2") == "vector[3]");
  CHECK(type_of(decls, "r * v") == "real");
  CHECK(type_of(decls, "v * r") == "matrix[3, 3]");
  CHECK(type_of(decls, "A * v") == "vector[2]");
  CHECK(type_of(decls, "r * B") == "row_vector[4]");
  CHECK(type_of(decls, "A * B") == "matrix[2, 4]");
  CHECK(type_of(decls, "S \\ v") == "vector[3]");
  CHECK(type_of(decls, "r / S") == "row_vector[3]");
  CHECK(type_of(decls, "A / S") == "matrix[2, 3]");
  CHECK(type_of(decls, "v'") == "row_vector[3]");
  CHECK(type_of(decls, "A'") == "matrix[3, 2]");
  CHECK(type_of(decls, "-A") == "matrix[2, 3]");
  CHECK(type_of(decls, "x < i") == "int");
  CHECK(type_of(decls, "x == i && j || !x") == "int");
  CHECK(type_of(decls, "i ? x : j") == "real");
  CHECK(type_of(decls, "i ? v : v") == "vector[3]");
  CHECK(type_of(decls, "v' * S * v") == "real");
}

TEST_CASE("types: operators reject what Stan rejects, with hints") {
  const std::string decls = "vector[3] v;\nvector[3] w;\nrow_vector[3] r;\narray[3] real a;\nreal x;";
  Diagnostic vv = expr_error(decls, "v * w");
  CHECK(vv.message == "operator '*' is not defined for vector and vector");
  CHECK(vv.found == "vector[3] * vector[3]");
  CHECK(contains(vv.hint, "'.*'"));
  check_span(vv.span, 9, 9, 14);
  CHECK(contains(expr_error(decls, "v + r").hint, "transpose"));
  CHECK(contains(expr_error(decls, "a + 1").hint, "arrays have no arithmetic"));
  CHECK(expr_error(decls, "x % 2").message == "operator '%' is not defined for real and int");
  CHECK(contains(expr_error(decls, "v ^ 2").hint, "'.^'"));
  CHECK(contains(expr_error(decls, "1 / v").hint, "'./'"));
  CHECK(expr_error(decls, "a'").message == "only vectors, row vectors and matrices can be transposed");
  CHECK(expr_error(decls, "!v").message == "operator '!' takes an int or a real");
  CHECK(expr_error(decls, "x ? 1 : 2").message == "the condition of '?:' must be an int");
  CHECK(expr_error(decls, "1 ? v : x").message == "the branches of '?:' have different types");
}

TEST_CASE("shapes: literal sizes and same symbols are checked, different symbols are not") {
  Diagnostic add = expr_error("vector[3] v;\nvector[4] w;", "v + w");
  CHECK(add.message == "the operands of '+' have different sizes");
  CHECK(add.found == "vector[3] + vector[4]");
  Diagnostic mul = expr_error("matrix[2, 3] A;\nvector[2] x;", "A * x");
  CHECK(mul.message == "the inner sizes of '*' differ");
  CHECK(mul.found == "matrix[2, 3] * vector[2]");
  // Symbols: only definite conflicts are errors; the rest is checked when data are loaded.
  CHECK(type_of("int N;\nint K;\nint J;\nmatrix[N, K] X;\nvector[J] b;", "X * b") == "vector[N]");
  CHECK(type_of("int N;\nint K;\nmatrix[N, K] X;\nvector[K] b;", "X * b") == "vector[N]");
  CHECK(type_of("int N;\nvector[N] v;\nvector[3] w;", "v + w") == "vector[3]");
  CHECK(type_of("int K;\nvector[K - 1] v;", "v") == "vector[K - 1]");
  CHECK(type_of("int N;\nvector[N] v;", "v[2:]") == "vector[N - 1]");
  Diagnostic init = error("transformed data {\n  vector[3] v = [1, 2]';\n}\n");
  CHECK(init.message == "the initial value of 'v' has the wrong size");
  CHECK(init.found == "vector[2]");
  CHECK(init.expected == "vector[3]");
}

TEST_CASE("types: indexing drops single-indexed dimensions and keeps ranges and multi-indexes") {
  const std::string decls =
      "int N;\nvector[N] v;\nrow_vector[N] r;\nmatrix[N, 4] m;\narray[N] vector[5] av;\n"
      "array[N, 6] real a2;\narray[3] int idx;";
  CHECK(type_of(decls, "v[1]") == "real");
  CHECK(type_of(decls, "v[2:3]") == "vector[2]");
  CHECK(type_of(decls, "v[:2]") == "vector[2]");
  CHECK(type_of(decls, "v[:]") == "vector[N]");
  CHECK(type_of(decls, "v[idx]") == "vector[3]");
  CHECK(type_of(decls, "r[1:2]") == "row_vector[2]");
  CHECK(type_of(decls, "m[1]") == "row_vector[4]");
  CHECK(type_of(decls, "m[1, 2]") == "real");
  CHECK(type_of(decls, "m[:, 2]") == "vector[N]");
  CHECK(type_of(decls, "m[, 2]") == "vector[N]");
  CHECK(type_of(decls, "m[idx, :]") == "matrix[3, 4]");
  CHECK(type_of(decls, "m[1:2, idx]") == "matrix[2, 3]");
  CHECK(type_of(decls, "av[1]") == "vector[5]");
  CHECK(type_of(decls, "av[1, 2]") == "real");
  CHECK(type_of(decls, "av[1][2]") == "real");
  CHECK(type_of(decls, "av[:, 2]") == "array[N] real");
  CHECK(type_of(decls, "av[1:2]") == "array[2] vector[5]");
  CHECK(type_of(decls, "a2[1]") == "array[6] real");
  CHECK(type_of(decls, "a2[:, 1]") == "array[N] real");
  CHECK(type_of(decls, "{1.5, 2.5}[2]") == "real");
  CHECK(type_of(decls, "(m * m')[1]") == "row_vector[N]");
}

TEST_CASE("types: bad indexes") {
  Diagnostic many = expr_error("vector[3] v;", "v[1, 2]");
  CHECK(many.message == "too many indexes: 'v' has 1 dimension but is indexed with 2");
  check_span(many.span, 5, 14, 15);
  Diagnostic real_index = expr_error("vector[3] v;", "v[1.5]");
  CHECK(real_index.message == "an index must be an int, an array of ints or a range");
  CHECK(real_index.found == "real");
  check_span(real_index.span, 5, 11, 14);
  CHECK(expr_error("vector[3] v;", "v[1:2.5]").message == "a range bound must be an int");
  CHECK(expr_error("vector[3] v;\narray[2, 2] int ii;", "v[ii]").message ==
        "an index must be an int, an array of ints or a range");
}

TEST_CASE("types: literals") {
  CHECK(type_of("", "{1, 2.5}") == "array[2] real");
  CHECK(type_of("", "{{1, 2}, {3, 4}, {5, 6}}") == "array[3, 2] int");
  CHECK(type_of("", "[1, 2.5, 3]") == "row_vector[3]");
  CHECK(type_of("", "[1, 2]'") == "vector[2]");
  CHECK(type_of("", "[[1, 2], [3, 4], [5, 6]]") == "matrix[3, 2]");
  CHECK(type_of("vector[3] v;", "{v, 2 * v}") == "array[2] vector[3]");
  CHECK(expr_error("vector[3] v;", "{1, v}").message == "the elements of an array literal have different types");
  CHECK(expr_error("", "{{1, 2}, {3}}").message == "the elements of an array literal have different sizes");
  CHECK(expr_error("vector[3] v;", "[v, v]").message ==
        "the elements of [...] must be ints and reals (a row vector) or row vectors (a matrix)");
  CHECK(expr_error("", "[[1, 2], [3]]").message == "the rows of a matrix literal have different sizes");
}

TEST_CASE("types: assignment compatibility") {
  ok("data {\n  array[3] int k;\n  vector[3] v;\n  matrix[3, 3] m;\n}\ntransformed data {\n  real x = 1;\n"
     "  array[3] real a = k;\n  row_vector[3] r = v';\n  r *= m;\n  x += 2;\n  matrix[3, 3] q = m;\n  q[1] = r;\n"
     "  q[:, 2] = v;\n  q[1:2, 1:2] = rep_matrix(0, 2, 2);\n}\n");
  Diagnostic m = error("data {\n  matrix[3, 3] A;\n}\ntransformed data {\n  vector[3] v = A;\n}\n");
  CHECK(m.message == "the initial value of 'v' has the wrong type");
  CHECK(m.found == "matrix[3, 3]");
  CHECK(m.expected == "vector[3]");
  Diagnostic i = error("transformed data {\n  int n;\n  n = 2.5;\n}\n");
  CHECK(i.message == "the value assigned to 'n' has the wrong type");
  CHECK(i.hint == "a real cannot be stored in an int");
  Diagnostic c = error("transformed data {\n  int n = 1;\n  n += 1.5;\n}\n");
  CHECK(c.message == "'+=' would store a real in 'n', which is an int");
  CHECK(c.found == "int + real is real");
  check_span(c.span, 3, 8, 11);
  CHECK(error("data {\n  vector[3] v;\n}\ntransformed data {\n  vector[4] w;\n  w[1:3] = v;\n  w = v;\n}\n")
            .message == "the value assigned to 'w' has the wrong size");
}

TEST_CASE("types: conditions and loops") {
  Diagnostic c = error("data {\n  vector[3] v;\n}\ntransformed data {\n  if (v) { }\n}\n");
  CHECK(c.message == "the condition of 'if' must be an int or a real");
  CHECK(c.found == "vector[3]");
  ok("data {\n  real x;\n}\ntransformed data {\n  while (x) { break; }\n  if (x) { }\n}\n");
  Diagnostic f = error("data {\n  int N;\n}\ntransformed data {\n  for (x in N) { }\n}\n");
  CHECK(f.message == "for (x in ...) needs a container");
  CHECK(f.hint == "write for (x in 1:N) to count");
  CHECK(error("transformed data {\n  for (i in 1:2.5) { }\n}\n").message == "the bounds of a for loop must be ints");
  auto p = ok("data {\n  matrix[2, 3] m;\n  array[4] vector[5] av;\n  array[2, 3] int ai;\n}\ntransformed data {\n"
              "  for (x in m) { }\n  for (x in av) { }\n  for (x in ai) { }\n}\n");
  auto& td = block(*p, ast::BlockKind::TransformedData);
  CHECK(as<ast::ForEach>(*td.items[0]).variable_type.str() == "real");
  CHECK(as<ast::ForEach>(*td.items[1]).variable_type.str() == "vector[5]");
  CHECK(as<ast::ForEach>(*td.items[2]).variable_type.str() == "array[3] int");
}

TEST_CASE("types: calls as statements and values") {
  CHECK(error("transformed data {\n  exp(1.0);\n}\n").message == "the value of 'exp(...)' is not used");
  Diagnostic v = error("functions {\n  void check(real x) { print(x); }\n}\ntransformed data {\n  real y = check(1.0);\n}\n");
  CHECK(v.message == "'check' returns nothing (void) and cannot be used as a value");
  ok("functions {\n  void check(real x) { print(x); }\n}\ntransformed data {\n  check(1.0);\n}\n");
}

TEST_CASE("errors: all independent errors are reported, an error does not cascade") {
  auto all = errors("data {\n  vector[3] v;\n}\ntransformed data {\n  real a = sigam + 1;\n  real b = a * v[1.5];\n"
                    "  vector[3] c = exq(v) + v;\n  vector[3] d = (sigam * v)' * 2;\n}\n");
  // The second use of `sigam` is poison too: an unknown name is reported at its first use.
  REQUIRE(all.size() == 3);
  CHECK(all[0].message == "unknown variable 'sigam'");
  CHECK(all[1].message == "an index must be an int, an array of ints or a range");
  CHECK(all[2].message == "unknown function 'exq'");
  auto three = errors("data {\n  vector[3] v;\n}\ntransformed data {\n  real a = v[1] * 2.5 + v;\n  int i = 1.5;\n"
                      "  vector[3] w = v';\n}\n");
  REQUIRE(three.size() == 3);
  CHECK(three[0].message == "the initial value of 'a' has the wrong type");  // real + vector is a vector
  CHECK(three[1].message == "the initial value of 'i' has the wrong type");
  CHECK(three[2].message == "the initial value of 'w' has the wrong type");
}

// =============================================================================================
// Constraints

TEST_CASE("constraints: valid keys on valid types") {
  ok(R"(data {
  int<lower=0> N;
  int<lower=1, upper=N> first;
  vector<lower=0>[N] lo;
  real mu0;
}
parameters {
  real<upper=1, lower=0> p;
  real<offset=mu0, multiplier=2> a;
  vector<offset=1>[N] b;
  matrix<lower=0>[2, 2] m;
  row_vector<lower=-1, upper=1>[N] r;
  array[2] real<lower=0> pos;
  vector<lower=lo>[N] above;
}
)");
}

TEST_CASE("constraints: errors") {
  Diagnostic dup = error("parameters {\n  real<lower=0, lower=1> x;\n}\n");
  CHECK(dup.message == "the constraint 'lower' is given twice");
  check_span(dup.span, 2, 17, 22);
  Diagnostic unknown = error("parameters {\n  real<lowr=0> sigma;\n}\n");
  CHECK(unknown.message == "unknown constraint 'lowr'");
  CHECK(unknown.hint == "did you mean 'lower'?");
  check_span(unknown.span, 2, 8, 12);
  CHECK(error("parameters {\n  real<lower=0, offset=1> x;\n}\n").message ==
        "lower/upper cannot be combined with offset/multiplier");
  CHECK(error("data {\n  int<offset=1> n;\n}\n").message == "an int takes only lower and upper bounds, not offset");
  Diagnostic ib = error("data {\n  int<lower=0.5> n;\n}\n");
  CHECK(ib.message == "the bounds of an int must be ints");
  CHECK(ib.found == "real");
  Diagnostic shape = error("data {\n  vector<lower=[1, 2, 3]'>[4] v;\n}\n");
  CHECK(shape.message == "the lower of 'v' has the wrong size");
  CHECK(shape.expected == "vector[4]");
  Diagnostic kind = error("data {\n  matrix[2, 2] m;\n  vector<lower=m>[2] v;\n}\n");
  CHECK(kind.message == "the lower of 'v' must be a scalar or a container of its shape");
  CHECK(kind.expected == "real or vector[2]");
}

// =============================================================================================
// The signature table

TEST_CASE("signatures: the table is built, indexed and keyed") {
  using namespace semantic;
  const auto& table = signature_table();
  CHECK(table.size() > 400);
  std::set<std::string> keys;
  for (size_t i = 0; i < table.size(); ++i) {
    CHECK(table[i].id == static_cast<int>(i));
    CHECK(keys.insert(table[i].key).second);
    CHECK(find_signature(table[i].key) == static_cast<int>(i));
  }
  int normal = find_signature("real normal_lpdf(reals | reals, reals)");
  REQUIRE(normal >= 0);
  CHECK(signature(normal).kind == SigKind::Lpdf);
  CHECK(signature(normal).family == "normal");
  CHECK(signature(normal).display == "normal_lpdf(reals y | reals mu, reals sigma)");
  CHECK(find_signature("reals normal_rng(reals, reals)") >= 0);
  CHECK(find_signature("real std_normal_lpdf(reals |)") >= 0);
  CHECK(find_signature("vector[$2] rep_vector(real, int)") >= 0);
  CHECK(find_signature("real no_such_function(real)") == -1);
  CHECK(signatures_named("exp").size() == 1);
  CHECK(signatures_named("nope").empty());
}

TEST_CASE("signatures: every required distribution has its forms") {
  using namespace semantic;
  const std::vector<std::string> continuous = {
      "normal", "std_normal", "lognormal", "cauchy", "student_t", "exponential", "gamma", "inv_gamma",
      "beta", "uniform", "double_exponential", "logistic", "weibull", "chi_square"};
  for (const std::string& d : continuous) {
    INFO(d);
    for (const char* suffix : {"_lpdf", "_lupdf", "_cdf", "_lcdf", "_lccdf", "_rng"})
      CHECK(is_builtin_function(d + suffix));
    CHECK(family_has_cdf(d));
  }
  const std::vector<std::string> discrete = {"bernoulli", "bernoulli_logit", "binomial", "binomial_logit", "poisson",
                                             "poisson_log", "neg_binomial_2", "neg_binomial_2_log", "categorical",
                                             "categorical_logit"};
  for (const std::string& d : discrete) {
    INFO(d);
    CHECK(is_builtin_function(d + "_lpmf"));
    CHECK_FALSE(is_builtin_function(d + "_lpdf"));
  }
  for (const char* d : {"bernoulli", "binomial", "poisson", "neg_binomial_2"}) CHECK(family_has_cdf(d));
  CHECK_FALSE(family_has_cdf("poisson_log"));
  for (const char* d : {"multi_normal", "multi_normal_cholesky", "lkj_corr_cholesky", "dirichlet", "normal_mixture"})
    CHECK(is_builtin_function(std::string(d) + "_lpdf"));
  for (const char* r : {"bernoulli_rng", "poisson_rng", "categorical_rng", "multi_normal_rng", "dirichlet_rng",
                        "lkj_corr_cholesky_rng", "neg_binomial_2_rng"})
    CHECK(is_builtin_function(r));
  const auto& fams = distribution_families();
  CHECK(std::find(fams.begin(), fams.end(), "normal_mixture") != fams.end());
}

TEST_CASE("signatures: the required math functions exist") {
  for (const char* f :
       {"exp", "log", "log1p", "expm1", "sqrt", "square", "inv", "inv_sqrt", "abs", "fabs", "lgamma", "digamma",
        "tgamma", "lbeta", "lchoose", "erf", "erfc", "Phi", "Phi_approx", "inv_Phi", "logit", "inv_logit",
        "log_inv_logit", "log1m_inv_logit", "log1m", "log1p_exp", "log1m_exp", "log_diff_exp", "sin", "cos", "tan",
        "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "pow", "fmin", "fmax", "fmod", "floor", "ceil",
        "round", "trunc", "step", "softplus", "relu", "sigmoid", "gelu", "elu", "leaky_relu", "fma", "hypot", "cbrt",
        "exp2", "log2", "log10", "int_step", "is_inf", "is_nan", "min", "max", "sum", "prod", "mean", "sd",
        "variance", "log_sum_exp", "norm1", "norm2", "dot_self", "squared_distance", "distance", "log_mix",
        "softmax", "log_softmax", "rep_vector", "rep_row_vector", "rep_matrix", "rep_array", "diag_matrix",
        "diagonal", "diag_pre_multiply", "diag_post_multiply", "multiply_lower_tri_self_transpose",
        "cholesky_decompose", "dot_product", "rows_dot_product", "columns_dot_product", "crossprod", "tcrossprod",
        "quad_form", "quad_form_diag", "mdivide_left_tri_low", "mdivide_right_tri_low", "mdivide_left",
        "log_determinant", "determinant", "inverse", "cumulative_sum", "sort_asc", "sort_desc", "rank", "reverse",
        "segment", "head", "tail", "to_vector", "to_row_vector", "to_matrix", "to_array_1d", "to_int", "size",
        "num_elements", "rows", "cols", "append_row", "append_col", "block", "sub_col", "sub_row", "col", "row",
        "add_diag", "identity_matrix", "linspaced_vector", "one_hot_vector", "cov_exp_quad", "gp_exp_quad_cov",
        "target", "pi", "e", "sqrt2", "not_a_number", "positive_infinity", "negative_infinity",
        "machine_precision"}) {
    INFO(f);
    CHECK(semantic::is_builtin_function(f));
  }
}

TEST_CASE("signatures: results of polymorphic and sized functions") {
  const std::string decls =
      "int N;\nint k;\nvector[N] v;\nmatrix[2, 3] A;\narray[N] real a;\narray[N] int ai;\nreal x;\n"
      "cov_matrix[3] S;";
  CHECK(type_of(decls, "exp(A)") == "matrix[2, 3]");
  CHECK(type_of(decls, "log1p(a)") == "array[N] real");
  CHECK(type_of(decls, "exp(k)") == "real");
  CHECK(type_of(decls, "abs(k)") == "int");
  CHECK(type_of(decls, "abs(ai)") == "array[N] int");
  CHECK(type_of(decls, "pow(v, 2)") == "vector[N]");
  CHECK(type_of(decls, "pow(2, v)") == "vector[N]");
  CHECK(type_of(decls, "max(1, 2)") == "int");
  CHECK(type_of(decls, "max(1, 2.5)") == "real");
  CHECK(type_of(decls, "sum(ai)") == "int");
  CHECK(type_of(decls, "sum(a)") == "real");
  CHECK(type_of(decls, "rep_vector(0, N)") == "vector[N]");
  CHECK(type_of(decls, "rep_matrix(0, 2, k)") == "matrix[2, k]");
  CHECK(type_of(decls, "rep_matrix(v, 3)") == "matrix[N, 3]");
  CHECK(type_of(decls, "rep_array(v, 4)") == "array[4] vector[N]");
  CHECK(type_of(decls, "rep_array(1, 2, 3)") == "array[2, 3] int");
  CHECK(type_of(decls, "to_vector(A)") == "vector[6]");
  CHECK(type_of(decls, "to_array_1d(A)") == "array[6] real");
  CHECK(type_of(decls, "to_matrix(v, 2, k)") == "matrix[2, k]");
  CHECK(type_of(decls, "append_row(v, v)") == "vector[N + N]");
  CHECK(type_of(decls, "append_col(A, A)") == "matrix[2, 6]");
  CHECK(type_of(decls, "head(v, 2)") == "vector[2]");
  CHECK(type_of(decls, "segment(a, 1, 3)") == "array[3] real");
  CHECK(type_of(decls, "diag_matrix(v)") == "matrix[N, N]");
  CHECK(type_of(decls, "crossprod(A)") == "matrix[3, 3]");
  CHECK(type_of(decls, "cholesky_decompose(S)") == "matrix[3, 3]");
  CHECK(type_of(decls, "gp_exp_quad_cov(a, 1.0, 2.0)") == "matrix[N, N]");
  CHECK(type_of(decls, "sort_indices_asc(v)") == "array[N] int");
  CHECK(type_of(decls, "softmax(v)") == "vector[N]");
  CHECK(type_of(decls, "pi() + e() + machine_precision()") == "real");
  CHECK(type_of(decls, "normal_rng(0, 1)") == "real");
  CHECK(type_of(decls, "normal_rng(v, 1)") == "array[N] real");
  CHECK(type_of(decls, "poisson_rng(3)") == "int");
  CHECK(type_of(decls, "poisson_log_rng(a)") == "array[N] int");
  CHECK(type_of(decls, "dirichlet_rng(v)") == "vector[N]");
  CHECK(type_of(decls, "multi_normal_rng(rep_vector(0, 3), S)") == "vector[3]");
  CHECK(type_of(decls, "lkj_corr_cholesky_rng(4, 2.0)") == "matrix[4, 4]");
  CHECK(type_of(decls, "normal_lpdf(v | 0, 1)") == "real");
}

TEST_CASE("signatures: calls record the chosen entry") {
  auto p = ok("data {\n  int N;\n  vector[N] y;\n  array[N] int k;\n}\nparameters {\n  real mu;\n}\nmodel {\n"
              "  y ~ normal(mu, 1);\n  k ~ poisson(exp(mu));\n  target += normal_lpdf(y | mu, 1);\n}\n");
  auto& model = block(*p, ast::BlockKind::Model);
  auto& t1 = as<ast::Tilde>(*model.items[0]);
  REQUIRE(t1.signature >= 0);
  CHECK(semantic::signature(t1.signature).name == "normal_lpdf");
  CHECK(t1.resolved == "normal_lpdf(reals | reals, reals)");
  auto& t2 = as<ast::Tilde>(*model.items[1]);
  REQUIRE(t2.signature >= 0);
  CHECK(semantic::signature(t2.signature).name == "poisson_lpmf");  // ints variate: a mass
  auto& exp_call = as<ast::Call>(*t2.args[0]);
  CHECK(semantic::signature(exp_call.signature).name == "exp");
  CHECK(exp_call.resolved == "exp(T)");
  auto& target = as<ast::TargetPlus>(*model.items[2]);
  auto& lpdf = as<ast::Call>(*target.value);
  CHECK(semantic::signature(lpdf.signature).key == "real normal_lpdf(reals | reals, reals)");
}

TEST_CASE("signatures: overloads prefer exact matches, ints promote to reals") {
  auto p = ok("transformed data {\n  int a = max(1, 2);\n  real b = max(1, 2.5);\n}\n");
  auto& td = block(*p, ast::BlockKind::TransformedData);
  auto& a = as<ast::Call>(*as<ast::VarDecl>(*td.items[0]).init);
  auto& b = as<ast::Call>(*as<ast::VarDecl>(*td.items[1]).init);
  CHECK(semantic::signature(a.signature).key == "int max(int, int)");
  CHECK(semantic::signature(b.signature).key == "real max(real, real)");
}

TEST_CASE("signatures: lpmf needs int variates, vectorised sizes must agree") {
  Diagnostic d = error("data {\n  vector[5] y;\n}\nparameters {\n  real<lower=0> lambda;\n}\nmodel {\n"
                       "  y ~ poisson(lambda);\n}\n");
  CHECK(d.message == "the left-hand side of '~' does not fit 'poisson'");
  CHECK(d.found == "vector[5]");
  CHECK(d.expected == "ints (int or array[] int)");
  CHECK(d.hint == "the signature is poisson_lpmf(ints n | reals lambda)");
  check_span(d.span, 8, 3, 4);
  Diagnostic s = error("data {\n  vector[3] y;\n  vector[4] m;\n}\nmodel {\n  y ~ normal(m, 1);\n}\n");
  CHECK(s.message == "size mismatch in 'normal': argument 1 (mu) has size 4 but the left-hand side of '~' (y) has size 3");
  check_span(s.span, 6, 14, 15);
}

TEST_CASE("signatures: unknown names and wrong arities") {
  Diagnostic d = error("data {\n  vector[3] y;\n}\nmodel {\n  y ~ nromal(0, 1);\n}\n");
  CHECK(d.message == "unknown distribution 'nromal'");
  CHECK(d.hint == "did you mean 'normal'?");
  check_span(d.span, 5, 7, 13);
  Diagnostic f = error("data {\n  real x;\n}\ntransformed data {\n  real y = exq(x);\n}\n");
  CHECK(f.message == "unknown function 'exq'");
  CHECK(f.hint == "did you mean 'exp'?");
  Diagnostic n = error("data {\n  vector[5] y;\n}\nparameters {\n  real mu;\n}\nmodel {\n  y ~ normal(mu);\n}\n");
  CHECK(n.message == "wrong number of arguments for distribution 'normal'");
  CHECK(n.found == "1 argument: vector[5] ~ normal(real)");
  CHECK(n.expected == "normal_lpdf(reals y | reals mu, reals sigma)");
  Diagnostic v = error("data {\n  real x;\n}\ntransformed data {\n  real y = x(1);\n}\n");
  CHECK(v.message == "'x' is a variable, not a function");
}

TEST_CASE("signatures: no-match errors list the types found and at most three signatures") {
  Diagnostic d = expr_error("array[2] vector[3] av;", "sum(av)");
  CHECK(d.message == "no signature of 'sum' matches these argument types");
  CHECK(d.found == "sum(array[2] vector[3])");
  CHECK(std::count(d.expected.begin(), d.expected.end(), '\n') == 3);
  CHECK(contains(d.expected, "more signatures)"));
  Diagnostic two = expr_error("vector[3] v;\nvector[4] w;", "log_sum_exp(v, w)");
  CHECK(contains(two.expected, "log_sum_exp(real x, real y)"));
}

TEST_CASE("signatures: the conditional bar is required for densities and refused elsewhere") {
  Diagnostic d = error("data {\n  vector[3] y;\n}\nparameters {\n  real mu;\n}\nmodel {\n  target += normal_lpdf(y, mu, 1);\n}\n");
  CHECK(d.message == "a call to 'normal_lpdf' needs '|' after its first argument");
  check_span(d.span, 8, 13, 34);
  CHECK(error("data {\n  real x;\n}\ntransformed data {\n  real y = exp(x | 1);\n}\n").message ==
        "'|' is only for _lpdf, _lpmf, _lcdf, _lccdf and _cdf calls; 'exp' is not one");
  ok("parameters {\n  real mu;\n}\nmodel {\n  target += std_normal_lpdf(mu |);\n  target += normal_lcdf(0 | mu, 1);\n}\n");
}

TEST_CASE("signatures: normal_mixture in both shapes") {
  ok(R"(data {
  int N;
  int K;
  vector[N] y;
  matrix[N, K] L;
}
parameters {
  vector[K] logits;
  vector[K] locs;
  vector<lower=0>[K] scales;
  matrix[N, K] M;
}
model {
  y[1] ~ normal_mixture(logits, locs, scales);
  y ~ normal_mixture(L, M, exp(M));
  target += normal_mixture_lpdf(y | L, M, exp(M));
}
)");
  Diagnostic d = error("data {\n  real y;\n}\nparameters {\n  vector[3] a;\n  vector[4] b;\n  vector[3] c;\n}\n"
                       "model {\n  y ~ normal_mixture(a, b, c);\n}\n");
  CHECK(d.message == "size mismatch in 'normal_mixture': argument 2 (locs) has size 4 but argument 1 (logits) has size 3");
  check_span(d.span, 10, 25, 26);
  Diagnostic rows = error("data {\n  vector[5] y;\n  matrix[4, 3] L;\n}\nmodel {\n  y ~ normal_mixture(L, L, L);\n}\n");
  CHECK(contains(rows.message, "has 4 rows but the left-hand side of '~' (y) has size 5"));
}

TEST_CASE("signatures: truncation needs a CDF and bounds of the variate's kind") {
  ok("data {\n  real L;\n  int k;\n}\nparameters {\n  real mu;\n  real<lower=0> lambda;\n}\nmodel {\n"
     "  mu ~ normal(0, 1) T[L, ];\n  mu ~ normal(0, 1) T[, 3];\n  k ~ poisson(lambda) T[0, 10];\n}\n");
  Diagnostic cdf = error("data {\n  int k;\n}\nparameters {\n  real mu;\n}\nmodel {\n  k ~ poisson_log(mu) T[0, 10];\n}\n");
  CHECK(cdf.message == "'poisson_log' has no CDF, so it cannot be truncated");
  Diagnostic b = error("data {\n  int k;\n}\nparameters {\n  real<lower=0> l;\n}\nmodel {\n  k ~ poisson(l) T[0.5, ];\n}\n");
  CHECK(b.message == "the truncation bounds of 'k' must be ints");
  Diagnostic s = error("data {\n  vector[3] y;\n}\nmodel {\n  y ~ normal(0, 1) T[0, ];\n}\n");
  CHECK(s.message == "only a scalar can be truncated");
}

TEST_CASE("functions: overloads, forward declarations, data arguments, user densities") {
  ok(R"(functions {
  real twice(real x) { return 2 * x; }
  vector twice(vector x) { return 2 * x; }
  int fib(int n);
  int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
  real scaled(data real x, real s) { return x * s; }
  real my_normal_lpdf(real y, real mu, real s) { return normal_lpdf(y | mu, s); }
}
data {
  real x;
}
parameters {
  real mu;
}
model {
  vector[2] v = twice([1, 2]');
  real t = twice(mu) + scaled(x, mu) + fib(3);
  mu ~ my_normal(0, 1);
  target += my_normal_lpdf(mu | 0, 1) + my_normal_lupdf(mu | 0, 1);
}
)");
  auto p = ok("functions {\n  real f(real x) { return x; }\n}\ntransformed data {\n  real y = f(1);\n}\n");
  auto& call = as<ast::Call>(*as<ast::VarDecl>(*block(*p, ast::BlockKind::TransformedData).items[0]).init);
  CHECK(call.signature == -1);
  REQUIRE(call.user_function != nullptr);
  CHECK(call.user_function->name == "f");
  CHECK(call.resolved == "f(real)");

  Diagnostic data = error("functions {\n  real d(data real x) { return x; }\n}\nparameters {\n  real mu;\n}\nmodel {\n"
                          "  real y = d(mu);\n}\n");
  CHECK(data.message == "argument 'x' of 'd' must be data");
  check_span(data.span, 8, 14, 16);
  CHECK(error("functions {\n  real f(real x);\n}\n").message == "'f' is declared but never defined");
  CHECK(error("functions {\n  real f(real x) { return x; }\n  real f(real y) { return y; }\n}\n").message ==
        "'f' is defined twice with the same argument types");
  CHECK(error("functions {\n  real exp(real x) { return x; }\n}\n").message == "'exp' is a built-in function");
  CHECK(error("functions {\n  real h_lpdf(int y) { return 0; }\n}\n").message ==
        "the variate of an _lpdf function must be real-valued");
  CHECK(error("functions {\n  real h_lpmf(real y) { return 0; }\n}\n").message ==
        "the variate of an _lpmf function must be an int or int array");
  CHECK(error("functions {\n  void f(real x) { x = 1; }\n}\n").message == "the function argument 'x' cannot be assigned");
}

// =============================================================================================
// Neural components

TEST_CASE("networks: activations follow the defaulting rule") {
  auto p = ok(R"(parameters {
  mlp(3 -> 8 -> 8 -> 2, relu, relu, sigmoid) per_layer;
  mlp(3 -> 8 -> 8 -> 2, tanh) shared;
  mlp(3 -> 8 -> 8 -> 2, elu, gelu) hidden;
  mlp(3 -> 4 -> 2) linear;
  mlp(3 -> 2, sigmoid) single;
  dense(4 -> 1) head;
  dense(4 -> 2, softplus) features;
}
)");
  auto& params = block(*p, ast::BlockKind::Parameters);
  auto acts = [&](size_t i) { return as<ast::NetworkDecl>(*params.items[i]).layer_activations; };
  using V = std::vector<std::string>;
  CHECK(acts(0) == V{"relu", "relu", "sigmoid"});
  CHECK(acts(1) == V{"tanh", "tanh", "identity"});
  CHECK(acts(2) == V{"elu", "gelu", "identity"});
  CHECK(acts(3) == V{"identity", "identity"});
  CHECK(acts(4) == V{"sigmoid"});
  CHECK(acts(5) == V{"identity"});
  CHECK(acts(6) == V{"softplus"});
  CHECK(as<ast::NetworkDecl>(*params.items[0]).origin == ast::Origin::Parameter);
}

TEST_CASE("networks: declaration errors") {
  Diagnostic count = error("parameters {\n  mlp(3 -> 8 -> 8 -> 8 -> 1, relu, tanh) net;\n}\n");
  CHECK(count.message == "2 activations for 4 layers");
  CHECK(count.expected == "0, 1, 3 or 4 activations");
  check_span(count.span, 2, 30, 40);
  CHECK(error("parameters {\n  mlp(3 -> 8 -> 8 -> 1, relu, relu, relu, relu) net;\n}\n").message ==
        "4 activations for 3 layers");
  Diagnostic act = error("parameters {\n  mlp(3 -> 8 -> 1, rleu) net;\n}\n");
  CHECK(act.message == "unknown activation 'rleu'");
  CHECK(act.hint == "did you mean 'relu'?");
  CHECK(error("data {\n  int N;\n}\nmodel {\n  mlp(1 -> 8 -> 1, tanh) net;\n}\n").message ==
        "networks can only be declared in the parameters block");
  CHECK(error("parameters {\n  dense(3 -> 8 -> 1) head;\n}\n").message ==
        "dense(a -> b) has exactly one layer, so it takes two widths");
  CHECK(error("parameters {\n  dense(3 -> 8, relu, tanh) head;\n}\n").message ==
        "dense(...) takes at most one activation");
  CHECK(error("parameters {\n  mlp(3 -> 0 -> 1) net;\n}\n").message == "a network width must be positive");
  CHECK(error("parameters {\n  real w;\n  mlp(3 -> w -> 1) net;\n}\n").message == "a network width must be an int");
  CHECK(error("functions {\n  real net(real x) { return x; }\n}\nparameters {\n  mlp(3 -> 1) net;\n}\n").message ==
        "'net' is the name of a user-defined function");
  ok("data {\n  int D;\n}\ntransformed data {\n  int H = 2 * D;\n}\nparameters {\n  mlp(D -> H -> 1) net;\n}\n");
}

TEST_CASE("networks: members and their types") {
  const std::string params = "mlp(D -> 16 -> 4, relu) net;\ndense(4 -> 2) head;";
  CHECK(model_type_of("int D;", params, "net.layer1.W") == "matrix[16, D]");
  CHECK(model_type_of("int D;", params, "net.layer2.W") == "matrix[4, 16]");
  CHECK(model_type_of("int D;", params, "net.layer2.b") == "vector[4]");
  CHECK(model_type_of("int D;", params, "head.W") == "matrix[2, 4]");
  CHECK(model_type_of("int D;", params, "head.b[1]") == "real");
  CHECK(model_type_of("int D;", params, "head.layer1.b") == "vector[2]");
  CHECK(model_type_of("int D;", params, "to_vector(net.layer1.W)") == "vector[16 * D]");

  Diagnostic bad = model_error("", "mlp(3 -> 8 -> 1, relu) net;", "  net.weights ~ normal(0, 1);");
  CHECK(bad.message == "'net' has no member 'weights'");
  CHECK(bad.hint == "its members are layer1, layer2");
  check_span(bad.span, 8, 7, 14);
  Diagnostic range = model_error("", "mlp(3 -> 8 -> 1, relu) net;", "  net.layer3.W ~ normal(0, 1);");
  CHECK(range.message == "'net' has 2 layers; 'layer3' does not exist");
  Diagnostic layer = model_error("", "mlp(3 -> 8 -> 1, relu) net;", "  net.layer1.bias ~ normal(0, 1);");
  CHECK(layer.message == "a layer has the members W and b; 'bias' is not one");
  CHECK(model_error("vector[3] v;", "real mu;", "  print(v.layer1);").message == "'v' has no members");
  CHECK(contains(model_error("", "dense(3 -> 1) head;", "  head.w ~ normal(0, 1);").hint, "did you mean 'W'?"));
}

TEST_CASE("networks: application shapes") {
  const std::string decls = "int N;\nint D;\nvector[D] x;\nmatrix[N, D] X;\narray[N] vector[D] xs;\nvector[N] t;";
  const std::string params =
      "mlp(D -> 16 -> 4, relu) body;\ndense(4 -> 1) scalar;\nmlp(1 -> 8 -> 1, tanh) curve;\n"
      "mlp(1 -> 8 -> 3, tanh) curve3;";
  CHECK(model_type_of(decls, params, "body(x)") == "vector[4]");
  CHECK(model_type_of(decls, params, "body(X)") == "matrix[N, 4]");
  CHECK(model_type_of(decls, params, "body(xs)") == "array[N] vector[4]");
  CHECK(model_type_of(decls, params, "scalar(body(X))") == "vector[N]");
  CHECK(model_type_of(decls, params, "scalar(body(x))") == "vector[1]");
  CHECK(model_type_of(decls, params, "curve(t)") == "vector[N]");
  CHECK(model_type_of(decls, params, "curve3(t)") == "matrix[N, 3]");
  CHECK(model_type_of(decls, params, "body(X[1:2, :])") == "matrix[2, 4]");
  // A network shares the name of a built-in function: the network wins.
  CHECK(model_type_of(decls, "dense(D -> 2) head;", "head(x)") == "vector[2]");

  Diagnostic w = model_error("vector[5] x;", "mlp(3 -> 8 -> 1, relu) net;", "  print(net(x));");
  CHECK(w.message == "'net' takes inputs of width 3, but the argument has width 5");
  CHECK(w.found == "vector[5]");
  CHECK(w.expected == "vector[3]");
  check_span(w.span, 8, 13, 14);
  Diagnostic comp = model_error("int N;\nmatrix[N, 14] x;", "mlp(14 -> 128 -> 64, relu) body;\ndense(32 -> 15) head;",
                                "  print(head(body(x)));");
  CHECK(comp.message == "'head' takes inputs of width 32, but the argument has width 64");
  CHECK(comp.found == "matrix[N, 64]");
  Diagnostic row = model_error("row_vector[3] r;", "mlp(3 -> 1) net;", "  print(net(r));");
  CHECK(row.message == "a network is applied to a vector, a matrix or an array of vectors");
  CHECK(row.hint == "transpose it with ' to make a column vector");
  CHECK(model_error("vector[3] x;", "mlp(3 -> 1) net;", "  print(net(x, x));").message == "a network takes one argument");
}

TEST_CASE("networks: priors, and networks are not values") {
  auto p = ok("parameters {\n  mlp(3 -> 8 -> 1, relu) net;\n  real<lower=0> s;\n}\nmodel {\n  net ~ normal(0, s);\n"
              "  net.layer2 ~ normal(0, 1);\n  net.layer1.W ~ student_t(3, 0, 1);\n  net.layer1.b ~ normal(0, 10);\n}\n");
  auto& model = block(*p, ast::BlockKind::Model);
  for (size_t i = 0; i < 4; ++i) {
    auto& t = as<ast::Tilde>(*model.items[i]);
    REQUIRE(t.signature >= 0);
    CHECK(semantic::signature(t.signature).kind == semantic::SigKind::Lpdf);
  }
  CHECK(as<ast::Tilde>(*model.items[0]).lhs->type.base == ast::BaseKind::Network);
  CHECK(as<ast::Tilde>(*model.items[1]).lhs->type.str() == "layer 2");

  Diagnostic vec = model_error("", "mlp(3 -> 8 -> 1, relu) net;", "  net ~ normal(rep_vector(0, 3), 1);");
  CHECK(vec.message == "a prior on network weights takes scalar arguments");
  CHECK(vec.found == "vector[3]");
  check_span(vec.span, 8, 16, 32);
  CHECK(model_error("", "mlp(3 -> 1) net;", "  net ~ poisson(3);").message ==
        "a prior on network weights needs a continuous distribution");
  Diagnostic value = model_error("", "mlp(3 -> 8 -> 1, relu) net;\nreal mu;", "  mu ~ normal(net, 1);");
  CHECK(value.message == "'net' is a network, not a value");
  check_span(value.span, 9, 15, 18);
  CHECK(model_error("", "mlp(3 -> 1) net;", "  print(net.layer1);").message == "'net.layer1' is a layer, not a value");
  CHECK(model_error("", "mlp(3 -> 1) net;", "  net = 1;").message == "the network 'net' cannot be assigned");
  CHECK(error("functions {\n  real f(vector x) { return 0; }\n}\nparameters {\n  mlp(3 -> 1) net;\n}\nmodel {\n"
              "  print(f(net));\n}\n")
            .message == "'net' is a network, not a value");
}

// =============================================================================================
// batch

TEST_CASE("batch: one int in the data block") {
  auto p = ok("data {\n  batch int<lower=1> N;\n  vector[N] y;\n}\n");
  CHECK(as<ast::VarDecl>(*block(*p, ast::BlockKind::Data).items[0]).batch);
  Diagnostic real = error("data {\n  batch real N;\n}\n");
  CHECK(real.message == "the batch dimension must be an int");
  check_span(real.span, 2, 9, 13);
  CHECK(error("data {\n  batch array[2] int N;\n}\n").message == "the batch dimension must be an int");
  CHECK(error("data {\n  int<lower=1> N;\n}\ntransformed data {\n  batch int M = N;\n}\n").message ==
        "'batch' is only allowed in the data block");
  Diagnostic twice = error("data {\n  batch int<lower=1> N;\n  batch int<lower=1> M;\n}\n");
  CHECK(twice.message == "only one batch dimension may be declared");
  CHECK(twice.hint == "'N' is the batch dimension (line 2)");
}

// =============================================================================================
// The bundled programs check (the golden tests compare their full typed dumps)

TEST_CASE("the typed AST is filled in for a whole model (garch)") {
  auto p = ok(R"(data {
  int<lower=0> T;
  array[T] real y;
  real<lower=0> sigma1;
}
parameters {
  real mu;
  real<lower=0> alpha0;
  real<lower=0, upper=1> alpha1;
  real<lower=0, upper=(1 - alpha1)> beta1;
}
model {
  array[T] real sigma;
  sigma[1] = sigma1;
  for (t in 2:T) {
    sigma[t] = sqrt(alpha0 + alpha1 * square(y[t - 1] - mu) + beta1 * square(sigma[t - 1]));
  }
  y ~ normal(mu, sigma);
}
)");
  std::string dump = ast::print(*p, true);
  CHECK(contains(dump, "(decl array[] real sigma local)"));
  CHECK(contains(dump, "(tilde normal [normal_lpdf(reals | reals, reals)])"));
  CHECK(contains(dump, "lhs: (var y data) : array[T] real"));
  CHECK(contains(dump, "(call sqrt [sqrt(T)]) : real"));
}
