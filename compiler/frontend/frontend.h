// The front end: program text -> AST with source spans, or syntax diagnostics.
#pragma once
#include <memory>
#include <string>

#include "ast/ast.h"
#include "common/diagnostics.h"

namespace halo::frontend {

// Parses `file` into an AST. Syntax errors go to `diags` (from Halo's own error listener,
// never ANTLR's console output); the result is null when any error was reported.
std::unique_ptr<ast::Program> parse(const SourceFile& file, Diagnostics& diags);

// --dump=tokens: one token per line, "line:col KIND 'text'".
std::string dump_tokens(const SourceFile& file);

}  // namespace halo::frontend
