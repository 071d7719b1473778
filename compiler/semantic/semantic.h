// The semantic stage: AST -> typed AST (names resolved, types and shapes assigned, block rules
// and constraints checked), or diagnostics.
#pragma once
#include <memory>

#include "ast/ast.h"
#include "common/diagnostics.h"

namespace halo::semantic {

// Checks `program` and fills its annotation fields in place. Reports every error that can be
// found soundly in one run. Returns the typed program, or null if any error was reported.
std::unique_ptr<ast::Program> check(std::unique_ptr<ast::Program> program, Diagnostics& diags);

}  // namespace halo::semantic
