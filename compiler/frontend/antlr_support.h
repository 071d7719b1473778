// Internal to the front end: the ANTLR plumbing (byte input, token spans, the first-error
// strategy) shared by the parser driver, the syntax-error describer and the AST builder.
#pragma once
#include <antlr4-runtime.h>

#include <memory>
#include <string>
#include <string_view>

#include "HaloLexer.h"
#include "HaloParser.h"
#include "ast/ast.h"
#include "common/diagnostics.h"
#include "common/source.h"

namespace halo::frontend::detail {

using halo_grammar::HaloLexer;
using halo_grammar::HaloParser;

// ANTLR reads the program byte by byte (one byte, one ANTLR character), so ANTLR's character
// positions are byte offsets and its columns count bytes, as Span's do; and bytes that are not
// valid UTF-8 cannot make the runtime's UTF-8 decoder throw.
class ByteStream : public antlr4::ANTLRInputStream {
 public:
  explicit ByteStream(const std::string& text);
};

// Token text as it is in the source (never through ANTLR's UTF-32 round trip).
std::string_view token_text(const antlr4::Token* t, const SourceFile& file);
// The token's span; multi-line tokens end on their last line. EOF is an empty span.
Span token_span(const antlr4::Token* t, const SourceFile& file);
// An empty span just after the token (where a missing ';' belongs).
Span span_after(const antlr4::Token* t, const SourceFile& file);
// From the context's first token to the end of its last; an empty context (an alternative
// that matched nothing) is an empty span at the token that follows it.
Span context_span(const antlr4::ParserRuleContext* ctx, const SourceFile& file);

// What the parser saw at its first syntax error; the parse stops there (ANTLR's recovery
// only produces follow-on noise).
struct SyntaxErrorInfo {
  enum class Kind { Mismatch, Missing, Extraneous, NoViableAlt, TooDeep };
  Kind kind = Kind::Mismatch;
  antlr4::Token* offending = nullptr;
  antlr4::Token* decision_start = nullptr;  // NoViableAlt: where the failed decision began
  antlr4::misc::IntervalSet expected;
  antlr4::ParserRuleContext* context = nullptr;
};

// Thrown through ANTLR's generated code to stop the parse at the first error.
struct StopParsing {};

// Adds one diagnostic describing `info` in human terms (expected ';', a reserved word used
// as a name, blocks out of order, an unterminated comment, ...).
void describe_syntax_error(const SyntaxErrorInfo& info, antlr4::CommonTokenStream& tokens,
                           const antlr4::dfa::Vocabulary& vocabulary, const SourceFile& file,
                           Diagnostics& diags);

// Turns a parse tree without syntax errors into the AST. The checks that the grammar leaves to
// the front end (old array syntax, `T` of truncations, int literal range, expression
// statements that are not calls) report every error they find; the result is null then.
std::unique_ptr<ast::Program> build_ast(HaloParser::ProgramContext* tree, const SourceFile& file,
                                        Diagnostics& diags);

}  // namespace halo::frontend::detail
