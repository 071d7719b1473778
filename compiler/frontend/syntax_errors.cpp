// Turns the parser's first error (offending token, expected token set, rule context) into a
// diagnostic a person can act on: "expected ';'" placed after the previous token rather than
// ANTLR's "mismatched input 'real' expecting {...}", with hints for the mistakes that can be
// recognised (blocks out of order, a reserved word as a name, an unclosed bracket, ...).
#include <algorithm>
#include <cstdio>

#include "frontend/antlr_support.h"

namespace halo::frontend::detail {
namespace {

using P = HaloParser;
using antlr4::Token;
using antlr4::misc::IntervalSet;

// Literal token types by their text (the T__n numbers depend on the grammar's order).
struct Literals {
  size_t semi, lbrace, rbrace, lparen, rparen, lbrack, rbrack, comma, less, slash, star;
  std::vector<size_t> operators;
  std::vector<size_t> assignments;  // = += -= ...
  const antlr4::dfa::Vocabulary* vocabulary;

  static const Literals& get(const antlr4::dfa::Vocabulary& vocabulary) {
    static const Literals l = make(vocabulary);
    return l;
  }

 private:
  static Literals make(const antlr4::dfa::Vocabulary& vocabulary) {
    Literals l{};
    l.vocabulary = &vocabulary;
    auto find = [&](const char* quoted) -> size_t {
      for (size_t t = 1; t <= l.vocabulary->getMaxTokenType(); ++t)
        if (l.vocabulary->getLiteralName(t) == quoted) return t;
      return 0;
    };
    l.semi = find("';'"), l.lbrace = find("'{'"), l.rbrace = find("'}'");
    l.lparen = find("'('"), l.rparen = find("')'"), l.lbrack = find("'['");
    l.rbrack = find("']'"), l.comma = find("','"), l.less = find("'<'");
    l.slash = find("'/'"), l.star = find("'*'");
    for (const char* op : {"'^'", "'.^'", "'*'", "'/'", "'%'", "'\\'", "'.*'", "'./'", "'%/%'",
                           "'+'", "'-'", "'<'", "'<='", "'>'", "'>='", "'=='", "'!='", "'&&'",
                           "'||'", "'?'", "'.'", "'''", "'['"})
      if (size_t t = find(op)) l.operators.push_back(t);
    for (const char* op : {"'='", "'+='", "'-='", "'*='", "'/='", "'.*='", "'./='"})
      if (size_t t = find(op)) l.assignments.push_back(t);
    return l;
  }
};

bool is_name_token(size_t t) {
  return t == P::ID || t == P::LOWER || t == P::UPPER || t == P::OFFSET || t == P::MULTIPLIER ||
         t == P::BATCH || t == P::MLP || t == P::DENSE;
}
bool is_reserved(size_t t) { return t >= P::FUNCTIONS && t <= P::FATAL_ERROR; }
bool is_type_word(size_t t) { return t >= P::INT && t <= P::COV_MATRIX; }
bool is_statement_word(size_t t) { return t >= P::FOR && t <= P::FATAL_ERROR; }
bool is_block_word(size_t t) {
  return t == P::FUNCTIONS || t == P::DATA || t == P::TRANSFORMED || t == P::PARAMETERS ||
         t == P::MODEL || t == P::GENERATED;
}
bool is_special_type_word(size_t t) { return t >= P::SIMPLEX && t <= P::COV_MATRIX; }

const char* const kBlockNames[] = {"functions",  "data",  "transformed data",
                                   "parameters", "transformed parameters", "model",
                                   "generated quantities"};
const char* const kBlockOrder =
    "blocks go in this order: functions, data, transformed data, parameters, transformed "
    "parameters, model, generated quantities";

std::string join_alternatives(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += (i + 1 == parts.size()) ? " or " : ", ";
    out += parts[i];
  }
  return out;
}

class Describer {
 public:
  Describer(const SyntaxErrorInfo& info, antlr4::CommonTokenStream& tokens,
            const antlr4::dfa::Vocabulary& vocabulary, const SourceFile& file, Diagnostics& diags)
      : info_(info), tokens_(tokens), file_(file), diags_(diags), lit_(Literals::get(vocabulary)) {
    t_ = info.offending;
    size_t index = t_->getTokenIndex();
    prev_ = index > 0 ? tokens_.get(index - 1) : nullptr;
  }

  void run() {
    if (info_.kind == SyntaxErrorInfo::Kind::TooDeep) {
      Diagnostic& d = diags_.error(token_span(t_, file_), "the program is nested too deeply here");
      d.hint = "split the expression or statement into smaller parts (local variables help)";
      return;
    }
    if (lexical_problem()) return;
    if (rule(info_.context) == P::RuleProgram && top_level()) return;
    if (t_->getType() == Token::EOF && end_of_file_in_bracket()) return;
    if (reserved_word()) return;
    if (truncation_as_missing_semicolon()) return;
    if (missing_at_end_of_previous_line()) return;
    generic();
  }

 private:
  static size_t rule(const antlr4::ParserRuleContext* ctx) {
    return ctx ? ctx->getRuleIndex() : static_cast<size_t>(-1);
  }
  bool in_rule(size_t rule_index) const {
    for (auto* c = info_.context; c; c = dynamic_cast<antlr4::ParserRuleContext*>(c->parent))
      if (c->getRuleIndex() == rule_index) return true;
    return false;
  }
  bool expects(size_t type) const { return info_.expected.contains(type); }
  Token* token_at(size_t index) const { return index < tokens_.size() ? tokens_.get(index) : nullptr; }
  std::string_view text(const Token* t) const { return token_text(t, file_); }

  // What the user wrote, for "found: ...".
  std::string display(const Token* t) const {
    if (t->getType() == Token::EOF) return "the end of the file";
    std::string_view s = text(t);
    std::string shown(s.substr(0, 40));
    if (s.size() > 40) shown += "...";
    return "'" + shown + "'";
  }

  // A token type as an expected item: "';'", "'real'", "a name", "an integer", ...
  std::string expected_name(size_t type) const {
    if (type == Token::EOF) return "the end of the file";
    std::string literal = lit_.vocabulary->getLiteralName(type);
    if (!literal.empty()) return literal;
    switch (type) {
      case P::ID: return "a name";
      case P::INT_LITERAL: return "an integer";
      case P::REAL_LITERAL: return "a real number";
      case P::STRING: return "a string";
      default: return lit_.vocabulary->getSymbolicName(type);
    }
  }

  std::vector<size_t> types(const IntervalSet& set) const {
    std::vector<size_t> out;
    for (ssize_t t : set.toList())
      if (t == static_cast<ssize_t>(Token::EOF) || t > 0) out.push_back(static_cast<size_t>(t));
    return out;
  }

  // Summarises an expected-token set: whole groups become phrases ("a declaration or a
  // statement", "an expression", "an operator"), the rest are listed.
  std::string describe(const IntervalSet& set) const {
    std::vector<size_t> left = types(set);
    auto has = [&](size_t t) { return std::find(left.begin(), left.end(), t) != left.end(); };
    auto drop = [&](auto pred) { left.erase(std::remove_if(left.begin(), left.end(), pred), left.end()); };
    auto is_expr_start = [&](size_t t) {
      return is_name_token(t) || t == P::INT_LITERAL || t == P::REAL_LITERAL || t == lit_.lparen ||
             t == lit_.lbrack || t == lit_.lbrace || expected_name(t) == "'-'" ||
             expected_name(t) == "'!'" || expected_name(t) == "'+'" || t == P::TARGET;  // target()
    };
    std::vector<std::string> parts;
    const bool decl = has(P::REAL) && has(P::ARRAY);
    const bool stmt = has(P::FOR);
    if (decl && stmt) {
      parts.push_back("a declaration");
      parts.push_back("a statement");
      drop([&](size_t t) {
        return is_type_word(t) || is_statement_word(t) || is_expr_start(t) || t == lit_.semi;
      });
    } else if (decl) {
      parts.push_back("a declaration");
      drop([&](size_t t) { return is_type_word(t) || t == P::BATCH || t == P::MLP || t == P::DENSE; });
    } else if (stmt) {
      parts.push_back("a statement");
      drop([&](size_t t) { return is_statement_word(t) || is_expr_start(t) || t == lit_.semi; });
    }
    if (has(P::INT_LITERAL)) {
      parts.push_back("an expression");
      drop(is_expr_start);
    }
    if (has(P::ID)) {
      parts.push_back("a name");
      drop(is_name_token);
    }
    size_t operators = 0;
    for (size_t op : lit_.operators) operators += has(op) ? 1 : 0;
    if (operators >= 5) {
      parts.push_back("an operator");
      drop([&](size_t t) {
        return std::find(lit_.operators.begin(), lit_.operators.end(), t) != lit_.operators.end();
      });
    }
    if (has(lit_.assignments.front()) && has(lit_.assignments.back())) {
      parts.push_back("an assignment");
      drop([&](size_t t) {
        return std::find(lit_.assignments.begin(), lit_.assignments.end(), t) != lit_.assignments.end();
      });
    }
    if (has(P::TRANSFORMED) || has(P::MODEL) || has(P::GENERATED)) {
      parts.push_back("a block");
      drop(is_block_word);
    }
    bool eof = has(static_cast<size_t>(Token::EOF));
    drop([](size_t t) { return t == static_cast<size_t>(Token::EOF); });
    for (size_t t : left) parts.push_back(expected_name(t));
    if (eof) parts.push_back("the end of the file");
    return join_alternatives(parts);
  }

  // ---- lexical problems: a character no token starts with, an unterminated string or comment
  bool lexical_problem() {
    const size_t type = t_->getType();
    if (type == P::ERROR_CHAR) {
      std::string_view s = text(t_);
      Span at = token_span(t_, file_);
      if (s == "\"") {
        // A string literal that does not end on its line: underline the rest of the line.
        at.end_col = static_cast<uint32_t>(file_.line(at.begin_line).size()) + 1;
        Diagnostic& d = diags_.error(at, "unterminated string literal");
        d.hint = "a string ends with '\"' on the same line";
        return true;
      }
      const auto lead = static_cast<unsigned char>(s.empty() ? 0 : s[0]);
      std::string shown;
      if (lead >= 0xC0) {
        // Show a whole UTF-8 character (ANTLR reads bytes, so it spans several tokens).
        size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        std::string_view rest = std::string_view(file_.text()).substr(t_->getStartIndex(), length);
        bool valid = rest.size() == length;
        for (size_t i = 1; valid && i < length; ++i)
          valid = (static_cast<unsigned char>(rest[i]) & 0xC0) == 0x80;
        if (valid) {
          shown = std::string(rest);
          at.end_col = at.begin_col + static_cast<uint32_t>(length);
        }
      }
      if (shown.empty()) {
        if (lead >= 0x20 && lead < 0x7f) {
          shown = std::string(1, static_cast<char>(lead));
        } else {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", lead);
          shown = buf;
        }
      }
      Diagnostic& d = diags_.error(at, "unexpected character '" + shown + "'");
      if (lead == '&') d.hint = "logical and is written '&&'";
      return true;
    }
    // `/*` that is never closed lexes as '/' '*' (BLOCK_COMMENT needs its `*/`).
    auto adjacent = [](const Token* a, const Token* b) {
      return a && b && b->getStartIndex() == a->getStopIndex() + 1;
    };
    const Token* slash = nullptr;
    if (type == lit_.slash) {
      const Token* next = token_at(t_->getTokenIndex() + 1);
      if (next && next->getType() == lit_.star && adjacent(t_, next)) slash = t_;
    } else if (type == lit_.star && prev_ && prev_->getType() == lit_.slash && adjacent(prev_, t_)) {
      slash = prev_;
    }
    if (slash == nullptr) return false;
    Span at = token_span(slash, file_);
    at.end_col += 1;
    Diagnostic& d = diags_.error(at, "unterminated comment");
    d.hint = "a comment that starts with '/*' ends with '*/'";
    return true;
  }

  // ---- between blocks
  int block_index_at(const Token* t) const {
    switch (t->getType()) {
      case P::FUNCTIONS: return 0;
      case P::DATA: return 1;
      case P::PARAMETERS: return 3;
      case P::MODEL: return 5;
      case P::GENERATED: return 6;
      case P::TRANSFORMED: {
        const Token* next = token_at(t->getTokenIndex() + 1);
        if (next && next->getType() == P::DATA) return 2;
        if (next && next->getType() == P::PARAMETERS) return 4;
        return -1;
      }
      default: return -1;
    }
  }

  bool top_level() {
    const size_t type = t_->getType();
    if (is_block_word(type)) {
      const int kind = block_index_at(t_);
      if (kind < 0) return false;
      int last = -1;
      bool seen = false;
      for (antlr4::tree::ParseTree* child : info_.context->children) {
        auto* block = dynamic_cast<antlr4::ParserRuleContext*>(child);
        if (block == nullptr) continue;
        int index = static_cast<int>(block->getRuleIndex()) - static_cast<int>(P::RuleFunctionsBlock);
        last = std::max(last, index);
        seen = seen || index == kind;
      }
      Span at = token_span(t_, file_);
      if (kind == 2 || kind == 4 || kind == 6) at = Span::cover(at, token_span(token_at(t_->getTokenIndex() + 1), file_));
      if (seen) {
        Diagnostic& d = diags_.error(at, std::string("a second ") + kBlockNames[kind] + " block");
        d.hint = "a program has at most one block of each kind";
        return true;
      }
      if (last > kind) {
        Diagnostic& d = diags_.error(at, std::string("the ") + kBlockNames[kind] +
                                             " block must come before the " + kBlockNames[last] + " block");
        d.hint = kBlockOrder;
        return true;
      }
      return false;
    }
    if (type == lit_.rbrace) {
      Diagnostic& d = diags_.error(token_span(t_, file_), "unmatched '}'");
      d.hint = "no block is open here; is there an extra '}' above?";
      return true;
    }
    if (is_name_token(type)) {
      Diagnostic& d = diags_.error(token_span(t_, file_), "expected " + describe(info_.expected));
      d.found = display(t_);
      std::string match = closest_match(std::string(text(t_)),
                                        {"functions", "data", "transformed", "parameters", "model",
                                         "generated", "quantities"});
      d.hint = match.empty() ? std::string(kBlockOrder) : "did you mean '" + match + "'?";
      return true;
    }
    return false;
  }

  // ---- unclosed brackets
  // The innermost bracket opened before `limit` (a token index) and not closed before it.
  const Token* unclosed_bracket(size_t limit, size_t only_type = 0) const {
    std::vector<const Token*> open;
    for (size_t i = 0; i < limit && i < tokens_.size(); ++i) {
      const Token* t = tokens_.get(i);
      const size_t type = t->getType();
      if (type == lit_.lbrace || type == lit_.lparen || type == lit_.lbrack) {
        open.push_back(t);
      } else if (type == lit_.rbrace || type == lit_.rparen || type == lit_.rbrack) {
        const size_t opener = type == lit_.rbrace ? lit_.lbrace : type == lit_.rparen ? lit_.lparen : lit_.lbrack;
        // Tolerate a mismatch: close up to the nearest opener of the same kind.
        auto it = std::find_if(open.rbegin(), open.rend(), [&](const Token* o) { return o->getType() == opener; });
        if (it != open.rend()) open.erase(std::next(it).base(), open.end());
      }
    }
    for (auto it = open.rbegin(); it != open.rend(); ++it)
      if (only_type == 0 || (*it)->getType() == only_type) return *it;
    return nullptr;
  }

  std::string place(const Token* t) const {
    return "line " + std::to_string(t->getLine()) + ", column " +
           std::to_string(t->getCharPositionInLine() + 1);
  }

  static std::string closer_of(std::string_view opener) {
    return opener == "{" ? "}" : opener == "(" ? ")" : "]";
  }

  bool end_of_file_in_bracket() {
    const Token* open = unclosed_bracket(t_->getTokenIndex());
    if (open == nullptr || prev_ == nullptr) return false;
    std::string closer = closer_of(text(open));
    Diagnostic& d = diags_.error(span_after(prev_, file_), "missing '" + closer + "' at the end of the file");
    d.found = display(t_);
    d.hint = "the '" + std::string(text(open)) + "' at " + place(open) + " is never closed";
    return true;
  }

  // ---- `real data;`: a reserved word where a name belongs
  bool reserved_word() {
    const size_t type = t_->getType();
    if (!is_reserved(type) || !expects(P::ID)) return false;
    if (is_block_word(type) && expects(lit_.rbrace)) {
      // A block keyword where a statement could start: the previous block is still open.
      Diagnostic& d = diags_.error(token_span(t_, file_),
                                   "expected '}' before '" + std::string(text(t_)) + "'");
      d.found = display(t_);
      if (const Token* open = unclosed_bracket(t_->getTokenIndex(), lit_.lbrace))
        d.hint = "the '{' at " + place(open) + " is never closed";
      return true;
    }
    if (expects(P::FOR) || expects(P::REAL)) return false;
    Diagnostic& d = diags_.error(token_span(t_, file_), "'" + std::string(text(t_)) +
                                                            "' is a reserved word and cannot be used as a name");
    d.found = display(t_);
    d.expected = "a name";
    return true;
  }

  // `y ~ normal(0, 1)` + newline + `z ~ ...`: the parser reads `z` as the start of a
  // truncation `T[...]` and fails at `~`; the real mistake is the ';' missing before `z`.
  bool truncation_as_missing_semicolon() {
    auto* trunc = dynamic_cast<P::TruncationContext*>(info_.context);
    if (trunc == nullptr || trunc->identifier() == nullptr) return false;
    const Token* start = trunc->getStart();
    if (text(start) == "T" || start->getTokenIndex() == 0) return false;
    const Token* before = tokens_.get(start->getTokenIndex() - 1);
    if (start->getLine() <= token_span(before, file_).end_line) return false;
    Diagnostic& d = diags_.error(span_after(before, file_), "expected ';'");
    d.found = display(start);
    return true;
  }

  // A token that belongs at the end of the previous line (most often ';'): point there.
  bool missing_at_end_of_previous_line() {
    if (prev_ == nullptr) return false;
    const bool next_line = t_->getLine() > token_span(prev_, file_).end_line;
    const bool closes = t_->getType() == lit_.rbrace || t_->getType() == Token::EOF;
    if (!next_line && !closes) return false;
    // Where a statement may start, ';' is the empty statement, not a missing terminator.
    const size_t before = prev_->getType();
    if (expects(P::FOR) || before == lit_.semi || before == lit_.lbrace || before == lit_.rbrace)
      return false;
    std::string what;
    if (expects(lit_.semi)) {
      what = "';'";
    } else {
      std::vector<size_t> expected = types(info_.expected);
      if (expected.size() != 1 || lit_.vocabulary->getLiteralName(expected[0]).empty() ||
          is_reserved(expected[0]))
        return false;
      what = expected_name(expected[0]);
    }
    if (!next_line && what != "';'") return false;
    std::string message = "expected " + what;
    if (what == "';'") {
      if (auto* decl = dynamic_cast<P::VarDeclContext*>(info_.context); decl && decl->identifier())
        message += " after the declaration of '" + std::string(text(decl->identifier()->getStart())) + "'";
    } else {
      message += " after " + display(prev_);
    }
    Diagnostic& d = diags_.error(span_after(prev_, file_), message);
    d.found = display(t_);
    return true;
  }

  // ---- everything else: "expected X", found, and the hints that apply
  void generic() {
    const size_t type = t_->getType();
    Span at = type == Token::EOF && prev_ ? span_after(prev_, file_) : token_span(t_, file_);
    std::string message;
    std::string hint;
    if (type == lit_.less && prev_ && is_special_type_word(prev_->getType())) {
      message = "'" + std::string(text(prev_)) + "' takes no <...> constraint";
      hint = "its values are constrained already; lower, upper, offset and multiplier apply to "
             "int, real, vector, row_vector and matrix";
    } else {
      message = "expected " + describe(info_.expected);
    }
    if (type == P::STRING) {
      hint = "a string literal is allowed only in print, reject and fatal_error";
    } else if (in_rule(P::RuleTruncation)) {
      hint = "a truncation is written T[lo, hi], T[lo, ] or T[, hi]";
    } else if (in_rule(P::RuleNetworkDecl) && expects(P::ARROW) && type == lit_.comma) {
      hint = "the widths of a network are separated by '->', as in `mlp(3 -> 8 -> 1, relu) net;`";
    }
    if (hint.empty() && is_name_token(type)) {
      std::vector<std::string> keywords;
      for (size_t t : types(info_.expected))
        if (is_reserved(t)) keywords.push_back(std::string(lit_.vocabulary->getLiteralName(t), 1,
                                                           lit_.vocabulary->getLiteralName(t).size() - 2));
      std::string match = closest_match(std::string(text(t_)), keywords);
      if (!match.empty()) hint = "did you mean '" + match + "'?";
    }
    if (hint.empty() && (rule(info_.context) == P::RuleDataBlock || rule(info_.context) == P::RuleParametersBlock) &&
        (is_name_token(type) || is_statement_word(type) || type == lit_.lbrace)) {
      hint = rule(info_.context) == P::RuleDataBlock
                 ? "the data block holds declarations only; statements go in transformed data"
                 : "the parameters block holds declarations only; statements go in transformed "
                   "parameters or model";
    }
    if (hint.empty()) {
      const bool wants_paren = expects(lit_.rparen);
      const bool wants_bracket = expects(lit_.rbrack);
      if (wants_paren || wants_bracket) {
        if (const Token* open = unclosed_bracket(t_->getTokenIndex(), wants_paren ? lit_.lparen : lit_.lbrack))
          hint = "to close the '" + std::string(text(open)) + "' at " + place(open);
      }
    }
    Diagnostic& d = diags_.error(at, message);
    d.found = display(t_);
    d.hint = hint;
  }

  const SyntaxErrorInfo& info_;
  antlr4::CommonTokenStream& tokens_;
  const SourceFile& file_;
  Diagnostics& diags_;
  const Literals& lit_;
  Token* t_ = nullptr;
  const Token* prev_ = nullptr;
};

}  // namespace

void describe_syntax_error(const SyntaxErrorInfo& info, antlr4::CommonTokenStream& tokens,
                           const antlr4::dfa::Vocabulary& vocabulary, const SourceFile& file,
                           Diagnostics& diags) {
  Describer(info, tokens, vocabulary, file, diags).run();
}

}  // namespace halo::frontend::detail
