// Parse tree -> AST: a plain recursive walk over the generated contexts. Expressions, the hot
// path, are told apart by their shape (children count) rather than by dynamic_cast on the
// labelled alternatives; statements and primaries use dynamic_cast.
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "frontend/antlr_support.h"

namespace halo::frontend::detail {
namespace {

using P = HaloParser;
using antlr4::ParserRuleContext;
using antlr4::Token;
using antlr4::tree::ParseTree;
using antlr4::tree::TerminalNode;

std::string unescape_string_literal(std::string_view quoted) {
  std::string out;
  if (quoted.size() < 2) return out;
  std::string_view body = quoted.substr(1, quoted.size() - 2);
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out += c;
      continue;
    }
    char next = body[++i];
    switch (next) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      default: out += '\\'; out += next; break;  // kept as written
    }
  }
  return out;
}

class AstBuilder {
 public:
  AstBuilder(const SourceFile& file, Diagnostics& diags) : file_(file), diags_(diags) {}

  std::unique_ptr<ast::Program> program(P::ProgramContext* ctx) {
    auto prog = std::make_unique<ast::Program>();
    prog->path = file_.path();
    for (ParseTree* child : ctx->children) {
      if (auto* c = dynamic_cast<P::FunctionsBlockContext*>(child)) {
        for (P::FunctionDefContext* f : c->functionDef()) prog->functions.push_back(function(f));
        prog->blocks.push_back(ast::ProgramBlock{ast::BlockKind::Functions, span(c), {}});
      } else if (auto* c = dynamic_cast<P::DataBlockContext*>(child)) {
        prog->blocks.push_back(top_block(ast::BlockKind::Data, c, c->topDecl()));
      } else if (auto* c = dynamic_cast<P::TransformedDataBlockContext*>(child)) {
        prog->blocks.push_back(item_block(ast::BlockKind::TransformedData, c, c->blockItem()));
      } else if (auto* c = dynamic_cast<P::ParametersBlockContext*>(child)) {
        prog->blocks.push_back(top_block(ast::BlockKind::Parameters, c, c->topDecl()));
      } else if (auto* c = dynamic_cast<P::TransformedParametersBlockContext*>(child)) {
        prog->blocks.push_back(
            item_block(ast::BlockKind::TransformedParameters, c, c->blockItem()));
      } else if (auto* c = dynamic_cast<P::ModelBlockContext*>(child)) {
        prog->blocks.push_back(item_block(ast::BlockKind::Model, c, c->blockItem()));
      } else if (auto* c = dynamic_cast<P::GeneratedQuantitiesBlockContext*>(child)) {
        prog->blocks.push_back(item_block(ast::BlockKind::GeneratedQuantities, c, c->blockItem()));
      }
    }
    return prog;
  }

 private:
  // ---- spans and text ----
  Span span(const ParserRuleContext* ctx) const { return context_span(ctx, file_); }
  Span span(const Token* t) const { return token_span(t, file_); }
  Span span(TerminalNode* n) const { return token_span(n->getSymbol(), file_); }
  std::string text(const Token* t) const { return std::string(token_text(t, file_)); }
  std::string name(P::IdentifierContext* id) const { return text(id->getStart()); }
  static Token* token(ParseTree* t) { return static_cast<TerminalNode*>(t)->getSymbol(); }

  ast::ProgramBlock top_block(ast::BlockKind kind, ParserRuleContext* ctx,
                              const std::vector<P::TopDeclContext*>& decls) {
    ast::ProgramBlock block{kind, span(ctx), {}};
    block.items.reserve(decls.size());
    for (P::TopDeclContext* d : decls) {
      if (d->varDecl()) block.items.push_back(var_decl(d->varDecl()));
      else block.items.push_back(network_decl(d->networkDecl()));
    }
    return block;
  }

  ast::ProgramBlock item_block(ast::BlockKind kind, ParserRuleContext* ctx,
                               const std::vector<P::BlockItemContext*>& items) {
    ast::ProgramBlock block{kind, span(ctx), {}};
    block.items.reserve(items.size());
    for (P::BlockItemContext* item : items) block.items.push_back(block_item(item));
    return block;
  }

  ast::StmtPtr block_item(P::BlockItemContext* ctx) {
    if (ctx->varDecl()) return var_decl(ctx->varDecl());
    if (ctx->networkDecl()) return network_decl(ctx->networkDecl());
    return statement(ctx->statement());
  }

  // ---- functions ----
  ast::Type fn_type(P::FnTypeContext* ctx) {
    ast::Type t;
    if (ctx->VOID()) {
      t.base = ast::BaseKind::Void;
      return t;
    }
    P::FnBaseTypeContext* base = ctx->fnBaseType();
    if (base->INT()) t.base = ast::BaseKind::Int;
    else if (base->REAL()) t.base = ast::BaseKind::Real;
    else if (base->VECTOR()) t.base = ast::BaseKind::Vector;
    else if (base->ROW_VECTOR()) t.base = ast::BaseKind::RowVector;
    else t.base = ast::BaseKind::Matrix;
    if (ctx->ARRAY()) {
      // array[] T, array[,] T, ...: one dimension more than there are commas.
      t.array_dims = 1;
      for (ParseTree* child : ctx->children)
        if (auto* term = dynamic_cast<TerminalNode*>(child); term && term->getText() == ",")
          ++t.array_dims;
    }
    return t;
  }

  ast::FunctionDef function(P::FunctionDefContext* ctx) {
    ast::FunctionDef f;
    f.span = span(ctx);
    f.return_type = fn_type(ctx->returnType);
    f.name = name(ctx->identifier());
    f.name_span = span(ctx->identifier());
    for (P::FnArgContext* a : ctx->fnArg()) {
      ast::FunctionArg arg;
      arg.data_only = a->DATA() != nullptr;
      arg.type = fn_type(a->fnType());
      arg.name = name(a->identifier());
      arg.span = span(a);
      f.args.push_back(std::move(arg));
    }
    if (ctx->body) f.body = block(ctx->body);
    return f;
  }

  // ---- declarations ----
  ast::StmtPtr var_decl(P::VarDeclContext* ctx) {
    auto d = std::make_unique<ast::VarDecl>(span(ctx));
    d->batch = ctx->BATCH() != nullptr;
    decl_type(ctx->varType(), d->type);
    d->name = name(ctx->identifier());
    d->name_span = span(ctx->identifier());
    if (ctx->oldDims) old_array_syntax(ctx);
    if (ctx->expr()) d->init = expr(ctx->expr());
    return d;
  }

  void old_array_syntax(P::VarDeclContext* ctx) {
    Diagnostic& d = diags_.error(span(ctx->oldDims), "array dimensions after the variable name");
    d.found = "'" + source(ctx->oldDims) + "'";
    d.hint = "Stan's old array syntax `real y[N]` is written `array[N] real y`";
    if (auto* plain = dynamic_cast<P::PlainTypeContext*>(ctx->varType())) {
      d.hint += ": here `array" + source(ctx->oldDims) + " " + source(plain) + " " +
                name(ctx->identifier()) + "`";
    }
  }

  std::string source(const ParserRuleContext* ctx) const {
    const Token* start = ctx->start;
    const Token* stop = ctx->stop;
    if (stop == nullptr || stop->getTokenIndex() < start->getTokenIndex()) return {};
    size_t b = start->getStartIndex(), e = stop->getStopIndex();
    return file_.text().substr(b, e - b + 1);
  }

  void decl_type(P::VarTypeContext* ctx, ast::DeclType& t) {
    t.span = span(ctx);
    P::ElementTypeContext* element = nullptr;
    if (auto* a = dynamic_cast<P::ArrayTypeContext*>(ctx)) {
      for (P::ExprContext* e : a->dims()->expr()) t.array_dims.push_back(expr(e));
      element = a->elementType();
    } else {
      element = static_cast<P::PlainTypeContext*>(ctx)->elementType();
    }
    if (auto* e = dynamic_cast<P::IntTypeContext*>(element)) {
      t.element = ast::ElementKind::Int;
      constraints(e->constraint(), t);
    } else if (auto* e = dynamic_cast<P::RealTypeContext*>(element)) {
      t.element = ast::ElementKind::Real;
      constraints(e->constraint(), t);
    } else if (auto* e = dynamic_cast<P::VectorTypeContext*>(element)) {
      t.element = ast::ElementKind::Vector;
      constraints(e->constraint(), t);
      t.sizes.push_back(expr(e->expr()));
    } else if (auto* e = dynamic_cast<P::RowVectorTypeContext*>(element)) {
      t.element = ast::ElementKind::RowVector;
      constraints(e->constraint(), t);
      t.sizes.push_back(expr(e->expr()));
    } else if (auto* e = dynamic_cast<P::MatrixTypeContext*>(element)) {
      t.element = ast::ElementKind::Matrix;
      constraints(e->constraint(), t);
      for (P::ExprContext* s : e->expr()) t.sizes.push_back(expr(s));
    } else if (auto* e = dynamic_cast<P::SpecialVectorTypeContext*>(element)) {
      switch (e->kind->getType()) {
        case P::SIMPLEX: t.element = ast::ElementKind::Simplex; break;
        case P::UNIT_VECTOR: t.element = ast::ElementKind::UnitVector; break;
        case P::SUM_TO_ZERO_VECTOR: t.element = ast::ElementKind::SumToZeroVector; break;
        case P::ORDERED: t.element = ast::ElementKind::Ordered; break;
        case P::POSITIVE_ORDERED: t.element = ast::ElementKind::PositiveOrdered; break;
        case P::CHOLESKY_FACTOR_CORR: t.element = ast::ElementKind::CholeskyFactorCorr; break;
        case P::CORR_MATRIX: t.element = ast::ElementKind::CorrMatrix; break;
        default: t.element = ast::ElementKind::CovMatrix; break;
      }
      t.sizes.push_back(expr(e->expr()));
    } else if (auto* e = dynamic_cast<P::CholeskyCovTypeContext*>(element)) {
      t.element = ast::ElementKind::CholeskyFactorCov;
      for (P::ExprContext* s : e->expr()) t.sizes.push_back(expr(s));
    }
  }

  void constraints(P::ConstraintContext* ctx, ast::DeclType& t) {
    if (ctx == nullptr) return;
    for (P::ConstraintItemContext* item : ctx->constraintItem()) {
      ast::ConstraintItem c;
      c.key = name(item->key);
      c.key_span = span(item->key);
      c.value = constraint_expr(item->constraintExpr());
      t.constraints.push_back(std::move(c));
    }
  }

  ast::StmtPtr network_decl(P::NetworkDeclContext* ctx) {
    auto n = std::make_unique<ast::NetworkDecl>(span(ctx));
    n->network = ctx->kind->getType() == P::MLP ? ast::NetworkKind::Mlp : ast::NetworkKind::Dense;
    for (P::ExprContext* w : ctx->expr()) n->widths.push_back(expr(w));
    std::vector<P::IdentifierContext*> ids = ctx->identifier();  // activations..., name
    for (size_t i = 0; i + 1 < ids.size(); ++i)
      n->activations.push_back({name(ids[i]), span(ids[i])});
    n->name = name(ids.back());
    n->name_span = span(ids.back());
    return n;
  }

  // ---- statements ----
  std::unique_ptr<ast::Block> block(P::BlockContext* ctx) {
    auto b = std::make_unique<ast::Block>(span(ctx));
    for (P::BlockItemContext* item : ctx->blockItem()) b->items.push_back(block_item(item));
    return b;
  }

  static ast::AssignOp assign_op(std::string_view op) {
    if (op == "+=") return ast::AssignOp::AddAssign;
    if (op == "-=") return ast::AssignOp::SubAssign;
    if (op == "*=") return ast::AssignOp::MulAssign;
    if (op == "/=") return ast::AssignOp::DivAssign;
    if (op == ".*=") return ast::AssignOp::EltMulAssign;
    if (op == "./=") return ast::AssignOp::EltDivAssign;
    return ast::AssignOp::Assign;
  }

  std::vector<ast::Printable> printables(const std::vector<P::PrintableContext*>& items) {
    std::vector<ast::Printable> out;
    for (P::PrintableContext* item : items) {
      ast::Printable p;
      p.span = span(item);
      if (item->STRING()) p.text = unescape_string_literal(token_text(item->STRING()->getSymbol(), file_));
      else p.expr = expr(item->expr());
      out.push_back(std::move(p));
    }
    return out;
  }

  ast::StmtPtr statement(P::StatementContext* ctx) {
    const Span s = span(ctx);
    if (auto* c = dynamic_cast<P::TildeStmtContext*>(ctx)) {
      auto t = std::make_unique<ast::Tilde>(s);
      t->lhs = expr(c->expr());
      t->distribution = name(c->identifier());
      t->distribution_span = span(c->identifier());
      if (c->exprList()) t->args = expr_list(c->exprList());
      if (P::TruncationContext* tr = c->truncation()) {
        t->truncated = true;
        if (name(tr->identifier()) != "T") {
          Diagnostic& d = diags_.error(span(tr->identifier()), "expected 'T' to truncate the distribution");
          d.found = "'" + name(tr->identifier()) + "'";
          d.hint = "a truncation is written T[lo, hi], T[lo, ] or T[, hi]";
        }
        if (tr->lo) t->truncation_lo = expr(tr->lo);
        if (tr->hi) t->truncation_hi = expr(tr->hi);
      }
      return t;
    }
    if (auto* c = dynamic_cast<P::AssignStmtContext*>(ctx)) {
      auto a = std::make_unique<ast::Assign>(s);
      a->lhs = lhs(c->lhs());
      a->op = assign_op(token_text(c->op, file_));
      a->rhs = expr(c->expr());
      return a;
    }
    if (auto* c = dynamic_cast<P::TargetStmtContext*>(ctx)) {
      auto t = std::make_unique<ast::TargetPlus>(s);
      t->value = expr(c->expr());
      return t;
    }
    if (auto* c = dynamic_cast<P::BlockStmtContext*>(ctx)) return block(c->block());
    if (auto* c = dynamic_cast<P::ProfileStmtContext*>(ctx)) {
      // Stan's `profile("name") { ... }` (2.26): a timing scope in Stan; here a plain block
      // (docs/language.md). The keyword is checked here so that `profile` stays a usable name.
      if (name(c->identifier()) != "profile") {
        Diagnostic& d = diags_.error(span(c->identifier()), "expected 'profile' before a string and a block");
        d.found = "'" + name(c->identifier()) + "'";
        d.hint = "a profile block is written profile(\"name\") { ... }";
      }
      return block(c->block());
    }
    if (auto* c = dynamic_cast<P::ForRangeStmtContext*>(ctx)) {
      auto f = std::make_unique<ast::ForRange>(s);
      f->variable = name(c->identifier());
      f->variable_span = span(c->identifier());
      f->lo = expr(c->expr(0));
      f->hi = expr(c->expr(1));
      f->body = statement(c->statement());
      return f;
    }
    if (auto* c = dynamic_cast<P::ForEachStmtContext*>(ctx)) {
      auto f = std::make_unique<ast::ForEach>(s);
      f->variable = name(c->identifier());
      f->variable_span = span(c->identifier());
      f->container = expr(c->expr());
      f->body = statement(c->statement());
      return f;
    }
    if (auto* c = dynamic_cast<P::IfStmtContext*>(ctx)) {
      auto i = std::make_unique<ast::If>(s);
      i->cond = expr(c->expr());
      i->then_stmt = statement(c->statement(0));
      if (c->ELSE()) i->else_stmt = statement(c->statement(1));
      return i;
    }
    if (auto* c = dynamic_cast<P::WhileStmtContext*>(ctx)) {
      auto w = std::make_unique<ast::While>(s);
      w->cond = expr(c->expr());
      w->body = statement(c->statement());
      return w;
    }
    if (dynamic_cast<P::BreakStmtContext*>(ctx)) return std::make_unique<ast::Break>(s);
    if (dynamic_cast<P::ContinueStmtContext*>(ctx)) return std::make_unique<ast::Continue>(s);
    if (auto* c = dynamic_cast<P::ReturnStmtContext*>(ctx)) {
      auto r = std::make_unique<ast::Return>(s);
      if (c->expr()) r->value = expr(c->expr());
      return r;
    }
    if (auto* c = dynamic_cast<P::PrintStmtContext*>(ctx)) {
      auto p = std::make_unique<ast::PrintLike>(ast::StmtKind::Print, s);
      p->items = printables(c->printable());
      return p;
    }
    if (auto* c = dynamic_cast<P::RejectStmtContext*>(ctx)) {
      auto p = std::make_unique<ast::PrintLike>(ast::StmtKind::Reject, s);
      p->items = printables(c->printable());
      return p;
    }
    if (auto* c = dynamic_cast<P::FatalErrorStmtContext*>(ctx)) {
      auto p = std::make_unique<ast::PrintLike>(ast::StmtKind::FatalError, s);
      p->items = printables(c->printable());
      return p;
    }
    if (auto* c = dynamic_cast<P::ExprStmtContext*>(ctx)) {
      auto e = std::make_unique<ast::ExprStmt>(s);
      e->expr = expr(c->expr());
      if (e->expr->kind != ast::ExprKind::Call) expression_statement_error(*e->expr);
      return e;
    }
    return std::make_unique<ast::Empty>(s);
  }

  // Stan's rule: an expression statement must be a function call (a value computed and
  // dropped is a mistake). Recognises two common mistakes: Stan's removed `x <- v;`
  // assignment, which lexes as `x < -v`, and `x == v;` meant as an assignment.
  void expression_statement_error(const ast::Expr& e) {
    if (e.kind == ast::ExprKind::Binary) {
      const auto& b = static_cast<const ast::Binary&>(e);
      if (b.op == ast::BinaryOp::Lt && b.rhs->kind == ast::ExprKind::Unary &&
          static_cast<const ast::Unary&>(*b.rhs).op == ast::UnaryOp::Neg &&
          b.rhs->span.begin_line == b.op_span.end_line &&
          b.rhs->span.begin_col == b.op_span.end_col) {
        Span arrow{b.op_span.begin_line, b.op_span.begin_col, b.op_span.end_line,
                   b.op_span.end_col + 1};
        Diagnostic& d = diags_.error(arrow, "'<-' is not an assignment operator");
        d.hint = "Stan's old assignment `x <- v;` is written `x = v;`";
        return;
      }
      if (b.op == ast::BinaryOp::Eq) {
        Diagnostic& d = diags_.error(e.span, "an expression statement must be a function call");
        d.hint = "to assign a value, write '=' instead of '=='";
        return;
      }
    }
    diags_.error(e.span, "an expression statement must be a function call");
  }

  ast::ExprPtr lhs(P::LhsContext* ctx) {
    // identifier ('[' indexList ']')*: each [...] indexes the result of the previous one.
    P::IdentifierContext* id = ctx->identifier();
    auto var = std::make_unique<ast::Variable>(span(id));
    var->name = name(id);
    ast::ExprPtr result = std::move(var);
    const Span begin = span(id);
    for (size_t i = 1; i + 2 < ctx->children.size(); i += 3) {
      auto* list = static_cast<P::IndexListContext*>(ctx->children[i + 1]);
      Span close = span(token(ctx->children[i + 2]));
      auto index = std::make_unique<ast::Index>(
          Span{begin.begin_line, begin.begin_col, close.end_line, close.end_col});
      index->base = std::move(result);
      index_list(list, index->indices);
      result = std::move(index);
    }
    return result;
  }

  // ---- expressions ----
  std::vector<ast::ExprPtr> expr_list(P::ExprListContext* ctx) {
    std::vector<ast::ExprPtr> out;
    std::vector<P::ExprContext*> items = ctx->expr();
    out.reserve(items.size());
    for (P::ExprContext* e : items) out.push_back(expr(e));
    return out;
  }

  static ast::BinaryOp binary_op(std::string_view op) {
    static const std::pair<std::string_view, ast::BinaryOp> table[] = {
        {"^", ast::BinaryOp::Pow},     {".^", ast::BinaryOp::EltPow},  {"*", ast::BinaryOp::Mul},
        {"/", ast::BinaryOp::Div},     {"%", ast::BinaryOp::Mod},      {"\\", ast::BinaryOp::LeftDiv},
        {".*", ast::BinaryOp::EltMul}, {"./", ast::BinaryOp::EltDiv},  {"%/%", ast::BinaryOp::IntDiv},
        {"+", ast::BinaryOp::Add},     {"-", ast::BinaryOp::Sub},      {"<", ast::BinaryOp::Lt},
        {"<=", ast::BinaryOp::Le},     {">", ast::BinaryOp::Gt},       {">=", ast::BinaryOp::Ge},
        {"==", ast::BinaryOp::Eq},     {"!=", ast::BinaryOp::Ne},      {"&&", ast::BinaryOp::And},
        {"||", ast::BinaryOp::Or},
    };
    for (const auto& [text, op_value] : table)
      if (text == op) return op_value;
    return ast::BinaryOp::Add;  // unreachable: the grammar has no other operator
  }

  static ast::UnaryOp unary_op(std::string_view op) {
    if (op == "-") return ast::UnaryOp::Neg;
    if (op == "!") return ast::UnaryOp::Not;
    return ast::UnaryOp::Plus;
  }

  // Left-associative chains (`a + b + ... + z`, `x''...'`) are loops in ANTLR but nest in the
  // AST, which every later stage walks recursively: bound their depth as the parser bounds
  // the rest (DepthGuard in frontend.cpp).
  static constexpr int kMaxExprDepth = 1000;
  struct DepthScope {
    int& depth;
    ~DepthScope() { --depth; }
  };
  bool too_deep(ParserRuleContext* ctx) {
    if (++depth_ <= kMaxExprDepth) return false;
    --depth_;
    if (!reported_too_deep_) {
      reported_too_deep_ = true;
      Diagnostic& d = diags_.error(span(ctx), "the expression is nested too deeply");
      d.hint = "split it into smaller parts (local variables help)";
    }
    return true;
  }

  // expr and constraintExpr have the same shapes: [postfix], [op, e], [e, op, e],
  // [c, '?', a, ':', b].
  ast::ExprPtr expr(ParserRuleContext* ctx) {
    if (too_deep(ctx)) return std::make_unique<ast::IntLit>(span(ctx));
    DepthScope scope{depth_};
    const auto& kids = ctx->children;
    switch (kids.size()) {
      case 1:
        return postfix(static_cast<P::PostfixExprContext*>(kids[0]));
      case 2: {
        auto u = std::make_unique<ast::Unary>(span(ctx), unary_op(token_text(token(kids[0]), file_)));
        u->operand = expr(static_cast<ParserRuleContext*>(kids[1]));
        return u;
      }
      case 3: {
        Token* op = token(kids[1]);
        auto b = std::make_unique<ast::Binary>(span(ctx), binary_op(token_text(op, file_)));
        b->op_span = span(op);
        b->lhs = expr(static_cast<ParserRuleContext*>(kids[0]));
        b->rhs = expr(static_cast<ParserRuleContext*>(kids[2]));
        return b;
      }
      default: {
        auto c = std::make_unique<ast::Conditional>(span(ctx));
        c->cond = expr(static_cast<ParserRuleContext*>(kids[0]));
        c->then_expr = expr(static_cast<ParserRuleContext*>(kids[2]));
        c->else_expr = expr(static_cast<ParserRuleContext*>(kids[4]));
        return c;
      }
    }
  }
  ast::ExprPtr constraint_expr(P::ConstraintExprContext* ctx) { return expr(ctx); }

  // postfixExpr shapes: [primary], [base, '\''], [base, '.', identifier],
  // [base, '[', indexList, ']'].
  ast::ExprPtr postfix(P::PostfixExprContext* ctx) {
    if (too_deep(ctx)) return std::make_unique<ast::IntLit>(span(ctx));
    DepthScope scope{depth_};
    const auto& kids = ctx->children;
    switch (kids.size()) {
      case 1:
        return primary(static_cast<P::PrimaryContext*>(kids[0]));
      case 2: {
        auto t = std::make_unique<ast::Transpose>(span(ctx));
        t->operand = postfix(static_cast<P::PostfixExprContext*>(kids[0]));
        return t;
      }
      case 3: {
        auto m = std::make_unique<ast::Member>(span(ctx));
        m->base = postfix(static_cast<P::PostfixExprContext*>(kids[0]));
        auto* id = static_cast<P::IdentifierContext*>(kids[2]);
        m->member = name(id);
        m->member_span = span(id);
        return m;
      }
      default: {
        auto i = std::make_unique<ast::Index>(span(ctx));
        i->base = postfix(static_cast<P::PostfixExprContext*>(kids[0]));
        index_list(static_cast<P::IndexListContext*>(kids[2]), i->indices);
        return i;
      }
    }
  }

  void index_list(P::IndexListContext* ctx, std::vector<ast::IndexItem>& out) {
    for (P::IndexContext* index : ctx->index()) {
      ast::IndexItem item;
      item.span = span(index);
      if (auto* single = dynamic_cast<P::SingleIndexContext*>(index)) {
        item.kind = ast::IndexItem::Kind::Single;
        item.lo = expr(single->expr());
      } else if (auto* range = dynamic_cast<P::RangeIndexContext*>(index)) {
        if (range->lo) item.lo = expr(range->lo);
        if (range->hi) item.hi = expr(range->hi);
        item.kind = range->lo ? (range->hi ? ast::IndexItem::Kind::Range : ast::IndexItem::Kind::From)
                              : (range->hi ? ast::IndexItem::Kind::UpTo : ast::IndexItem::Kind::All);
      } else {
        item.kind = ast::IndexItem::Kind::All;
      }
      out.push_back(std::move(item));
    }
  }

  ast::ExprPtr primary(P::PrimaryContext* ctx) {
    const Span s = span(ctx);
    if (auto* c = dynamic_cast<P::VariableContext*>(ctx)) {
      auto v = std::make_unique<ast::Variable>(s);
      v->name = name(c->identifier());
      return v;
    }
    if (auto* c = dynamic_cast<P::IntLitContext*>(ctx)) return int_literal(c->getStart(), s);
    if (auto* c = dynamic_cast<P::RealLitContext*>(ctx)) return real_literal(c->getStart(), s);
    if (auto* c = dynamic_cast<P::CallContext*>(ctx)) {
      auto call = std::make_unique<ast::Call>(s);
      call->name = name(c->identifier());
      call->name_span = span(c->identifier());
      if (c->exprList()) call->args = expr_list(c->exprList());
      return call;
    }
    if (auto* c = dynamic_cast<P::CondCallContext*>(ctx)) {
      auto call = std::make_unique<ast::Call>(s);
      call->name = name(c->identifier());
      call->name_span = span(c->identifier());
      call->has_bar = true;
      call->args.push_back(expr(c->expr()));
      if (c->exprList())
        for (auto& a : expr_list(c->exprList())) call->args.push_back(std::move(a));
      return call;
    }
    if (auto* c = dynamic_cast<P::TargetCallContext*>(ctx)) {
      // `target()`: the current value of the log density (a keyword elsewhere).
      auto call = std::make_unique<ast::Call>(s);
      call->name = "target";
      call->name_span = span(c);
      return call;
    }
    if (auto* c = dynamic_cast<P::ParenContext*>(ctx)) return expr(c->expr());
    if (auto* c = dynamic_cast<P::ArrayExprContext*>(ctx)) {
      auto a = std::make_unique<ast::ArrayLit>(s);
      a->elements = expr_list(c->exprList());
      return a;
    }
    auto* c = static_cast<P::RowVectorExprContext*>(ctx);
    auto r = std::make_unique<ast::RowVectorLit>(s);
    if (c->exprList()) r->elements = expr_list(c->exprList());
    return r;
  }

  ast::ExprPtr int_literal(Token* t, Span s) {
    auto lit = std::make_unique<ast::IntLit>(s);
    lit->text = text(t);
    unsigned long long value = 0;
    bool overflow = false;
    for (char c : lit->text) {
      if (c == '_') continue;
      const unsigned digit = static_cast<unsigned>(c - '0');
      if (value > (static_cast<unsigned long long>(LLONG_MAX) - digit) / 10) {
        overflow = true;
        break;
      }
      value = value * 10 + digit;
    }
    if (overflow) {
      Diagnostic& d = diags_.error(s, "integer literal is too large");
      d.found = "'" + lit->text + "'";
      d.hint = "ints are 64-bit (at most 9223372036854775807); a real literal such as 1e20 can be larger";
    } else {
      lit->value = static_cast<long long>(value);
    }
    return lit;
  }

  ast::ExprPtr real_literal(Token* t, Span s) {
    auto lit = std::make_unique<ast::RealLit>(s);
    lit->text = text(t);
    std::string digits;
    digits.reserve(lit->text.size());
    for (char c : lit->text)
      if (c != '_') digits += c;
    errno = 0;
    lit->value = std::strtod(digits.c_str(), nullptr);
    if (errno == ERANGE && (lit->value > 1.0 || lit->value < -1.0)) {
      Diagnostic& d = diags_.error(s, "real literal is too large");
      d.found = "'" + lit->text + "'";
      d.hint = "the largest finite real is about 1.8e308";
    }
    return lit;
  }

  const SourceFile& file_;
  Diagnostics& diags_;
  int depth_ = 0;
  bool reported_too_deep_ = false;
};

}  // namespace

std::unique_ptr<ast::Program> build_ast(HaloParser::ProgramContext* tree, const SourceFile& file,
                                        Diagnostics& diags) {
  const size_t errors_before = diags.error_count();
  auto program = AstBuilder(file, diags).program(tree);
  if (diags.error_count() > errors_before) return nullptr;
  return program;
}

}  // namespace halo::frontend::detail
