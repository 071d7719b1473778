// The front end's driver: bytes -> tokens -> parse tree (ANTLR) -> AST (ast_builder.cpp).
//
// ANTLR never prints: its console listeners are removed from the lexer and the parser, and
// syntax errors reach Halo through FirstErrorStrategy, which records the first one and stops
// the parse (ANTLR's recovery after the first error mostly yields follow-on noise).
// syntax_errors.cpp turns that record into a human diagnostic.
#include "frontend/frontend.h"

#include <cstdio>
#include <functional>
#include <set>
#include <utility>

#include "frontend/antlr_support.h"

namespace halo::frontend {
namespace detail {

ByteStream::ByteStream(const std::string& text) : antlr4::ANTLRInputStream() {
  _data.reserve(text.size());
  for (unsigned char c : text) _data.push_back(static_cast<char32_t>(c));
  p = 0;
}

std::string_view token_text(const antlr4::Token* t, const SourceFile& file) {
  if (t == nullptr || t->getType() == antlr4::Token::EOF) return {};
  const size_t begin = t->getStartIndex(), stop = t->getStopIndex();
  const std::string& text = file.text();
  if (begin >= text.size() || stop < begin || stop >= text.size()) return {};
  return std::string_view(text).substr(begin, stop - begin + 1);
}

Span token_span(const antlr4::Token* t, const SourceFile& file) {
  Span s;
  s.begin_line = s.end_line = static_cast<uint32_t>(t->getLine());
  s.begin_col = s.end_col = static_cast<uint32_t>(t->getCharPositionInLine()) + 1;
  for (char c : token_text(t, file)) {
    if (c == '\n') {
      ++s.end_line;
      s.end_col = 1;
    } else {
      ++s.end_col;
    }
  }
  return s;
}

Span span_after(const antlr4::Token* t, const SourceFile& file) {
  Span end = token_span(t, file);
  return Span{end.end_line, end.end_col, end.end_line, end.end_col + 1};
}

Span context_span(const antlr4::ParserRuleContext* ctx, const SourceFile& file) {
  const antlr4::Token* start = ctx->start;
  const antlr4::Token* stop = ctx->stop;
  Span begin = token_span(start, file);
  if (stop == nullptr || stop->getTokenIndex() < start->getTokenIndex()) {
    return Span{begin.begin_line, begin.begin_col, begin.begin_line, begin.begin_col};
  }
  Span end = token_span(stop, file);
  return Span{begin.begin_line, begin.begin_col, end.end_line, end.end_col};
}

namespace {

// The tokens that could have come instead of the offending one of a NoViableAltException.
// ANTLR's own expected set for it is the one at the start of the failed decision (e.g. "a
// statement" for `for (i 1:N)`), which is wrong when prediction failed tokens later. The
// prediction's last configurations (dead ends) say where each alternative stood: follow each
// to the tokens it could match next, through the rule-return states of its context; where an
// alternative can finish the decision's rule, add what may follow that rule in this parse.
antlr4::misc::IntervalSet expected_at_dead_end(antlr4::Parser& parser,
                                               const antlr4::NoViableAltException& e) {
  using antlr4::atn::ATNState;
  using antlr4::atn::PredictionContext;
  const antlr4::atn::ATN& atn = parser.getATN();
  antlr4::misc::IntervalSet out;
  bool rule_can_end = false;
  std::set<std::pair<const ATNState*, const PredictionContext*>> seen;
  std::function<void(ATNState*, const std::shared_ptr<PredictionContext>&, int)> follow =
      [&](ATNState* state, const std::shared_ptr<PredictionContext>& ctx, int depth) {
        if (depth > 64 || !seen.insert({state, ctx.get()}).second) return;
        const antlr4::misc::IntervalSet& next = atn.nextTokens(state);
        out.addAll(next);
        if (!next.contains(antlr4::Token::EPSILON)) return;
        if (!ctx || ctx->isEmpty()) {
          rule_can_end = true;
          return;
        }
        for (size_t i = 0; i < ctx->size(); ++i) {
          const size_t return_state = ctx->getReturnState(i);
          if (return_state == PredictionContext::EMPTY_RETURN_STATE) rule_can_end = true;
          else follow(atn.states[return_state], ctx->getParent(i), depth + 1);
        }
      };
  for (const auto& config : e.getDeadEndConfigs()->configs)
    follow(config->state, config->context, 0);
  if (rule_can_end) {
    antlr4::ParserRuleContext* ctx = parser.getContext();
    out.addAll(atn.getExpectedTokens(atn.ruleToStopState[ctx->getRuleIndex()]->stateNumber, ctx));
  }
  out.remove(antlr4::Token::EPSILON);
  return out;
}

// Records the first syntax error and stops the parse by throwing StopParsing through the
// generated code (the pattern of ANTLR's BailErrorStrategy, which throws from recover()).
class FirstErrorStrategy : public antlr4::DefaultErrorStrategy {
 public:
  explicit FirstErrorStrategy(SyntaxErrorInfo& info) : info_(info) {}

  void reportError(antlr4::Parser* parser, const antlr4::RecognitionException& e) override {
    info_.kind = SyntaxErrorInfo::Kind::Mismatch;
    if (auto* nva = dynamic_cast<const antlr4::NoViableAltException*>(&e)) {
      info_.kind = SyntaxErrorInfo::Kind::NoViableAlt;
      info_.decision_start = nva->getStartToken();
    }
    info_.offending = e.getOffendingToken() ? e.getOffendingToken() : parser->getCurrentToken();
    info_.expected = e.getExpectedTokens();
    if (info_.kind == SyntaxErrorInfo::Kind::NoViableAlt && info_.decision_start != info_.offending) {
      auto& nva = static_cast<const antlr4::NoViableAltException&>(e);
      if (nva.getDeadEndConfigs() != nullptr) info_.expected = expected_at_dead_end(*parser, nva);
    }
    info_.context = parser->getContext();
    throw StopParsing{};
  }

 protected:
  void reportUnwantedToken(antlr4::Parser* parser) override {
    record(parser, SyntaxErrorInfo::Kind::Extraneous);
  }
  void reportMissingToken(antlr4::Parser* parser) override {
    record(parser, SyntaxErrorInfo::Kind::Missing);
  }

 private:
  void record(antlr4::Parser* parser, SyntaxErrorInfo::Kind kind) {
    info_.kind = kind;
    info_.offending = parser->getCurrentToken();
    info_.expected = parser->getExpectedTokens();
    info_.context = parser->getContext();
    throw StopParsing{};
  }
  SyntaxErrorInfo& info_;
};

// Bounds the depth of the parse tree. Every later stage walks the AST recursively (and ANTLR
// itself recurses per nesting level), so an absurdly nested input (say 100000 unary minuses
// from a fuzzer) must become an error instead of a stack overflow. Real programs nest a few
// dozen levels; a sum of 900 terms still fits.
class DepthGuard : public antlr4::tree::ParseTreeListener {
 public:
  static constexpr int kMaxDepth = 1000;
  DepthGuard(antlr4::Parser& parser, SyntaxErrorInfo& info) : parser_(parser), info_(info) {}
  void reset() { depth_ = 0; }
  void enterEveryRule(antlr4::ParserRuleContext* ctx) override {
    if (++depth_ > kMaxDepth) {
      info_.kind = SyntaxErrorInfo::Kind::TooDeep;
      info_.offending = parser_.getCurrentToken();
      info_.context = ctx;
      throw StopParsing{};
    }
  }
  void exitEveryRule(antlr4::ParserRuleContext*) override { --depth_; }
  void visitTerminal(antlr4::tree::TerminalNode*) override {}
  void visitErrorNode(antlr4::tree::ErrorNode*) override {}

 private:
  antlr4::Parser& parser_;
  SyntaxErrorInfo& info_;
  int depth_ = 0;
};

// The grammar lexes every character (ERROR_CHAR catches the rest), so the lexer reports
// nothing; this listener only replaces ANTLR's console listener, so that nothing is printed
// even if that ever changes.
class SilentLexerListener : public antlr4::BaseErrorListener {
 public:
  void syntaxError(antlr4::Recognizer*, antlr4::Token*, size_t line, size_t col,
                   const std::string&, std::exception_ptr) override {
    if (!seen) seen = true, this->line = line, this->col = col;
  }
  bool seen = false;
  size_t line = 0, col = 0;
};

}  // namespace
}  // namespace detail

std::unique_ptr<ast::Program> parse(const SourceFile& file, Diagnostics& diags) {
  using namespace detail;
  ByteStream input(file.text());
  HaloLexer lexer(&input);
  lexer.removeErrorListeners();
  SilentLexerListener lexer_errors;
  lexer.addErrorListener(&lexer_errors);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  if (lexer_errors.seen) {
    auto line = static_cast<uint32_t>(lexer_errors.line);
    auto col = static_cast<uint32_t>(lexer_errors.col) + 1;
    diags.error(Span{line, col, line, col + 1}, "unexpected character");
    return nullptr;
  }

  HaloParser parser(&tokens);
  parser.removeErrorListeners();
  SyntaxErrorInfo info;
  parser.setErrorHandler(std::make_shared<FirstErrorStrategy>(info));
  DepthGuard guard(parser, info);
  parser.addParseListener(&guard);

  // Two-stage parsing (the ANTLR 4 book, section "Maximizing parser speed"): SLL prediction is
  // much cheaper and almost always right; only if it fails is the input parsed again with full
  // LL, whose verdict (accept, or the error) is the real one.
  auto* interpreter = parser.getInterpreter<antlr4::atn::ParserATNSimulator>();
  interpreter->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  HaloParser::ProgramContext* tree = nullptr;
  bool failed = false;
  try {
    tree = parser.program();
  } catch (const StopParsing&) {
    failed = true;
  }
  if (failed && info.kind != SyntaxErrorInfo::Kind::TooDeep) {
    tokens.seek(0);
    parser.reset();
    guard.reset();
    info = SyntaxErrorInfo{};
    interpreter->setPredictionMode(antlr4::atn::PredictionMode::LL);
    try {
      tree = parser.program();
      failed = false;
    } catch (const StopParsing&) {
      failed = true;
    }
  }
  if (failed) {
    describe_syntax_error(info, tokens, parser.getVocabulary(), file, diags);
    return nullptr;
  }
  return build_ast(tree, file, diags);
}

std::string dump_tokens(const SourceFile& file) {
  using namespace detail;
  ByteStream input(file.text());
  HaloLexer lexer(&input);
  lexer.removeErrorListeners();
  SilentLexerListener lexer_errors;
  lexer.addErrorListener(&lexer_errors);
  const antlr4::dfa::Vocabulary& vocabulary = lexer.getVocabulary();
  std::string out;
  for (;;) {
    std::unique_ptr<antlr4::Token> t = lexer.nextToken();
    const size_t type = t->getType();
    out += std::to_string(t->getLine()) + ":" + std::to_string(t->getCharPositionInLine() + 1) + " ";
    if (type == antlr4::Token::EOF) {
      out += "EOF\n";
      break;
    }
    std::string kind = vocabulary.getSymbolicName(type);
    out += kind.empty() ? vocabulary.getLiteralName(type) : kind;
    out += " '";
    for (unsigned char c : token_text(t.get(), file)) {
      if (c >= 0x20 && c < 0x7f) {
        out += static_cast<char>(c);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
    }
    out += "'\n";
  }
  return out;
}

}  // namespace halo::frontend
