// The in-process compiler for `halo run` (haloc's pipeline: parse, check, compile to a model
// library). Kept apart from the rest of runtime/cli so that only the `halo` program links the
// compiler.
#pragma once
#include "cli/model_cache.h"

namespace halo::cli {

// Throws CliError with haloc's diagnostics (file:line:col, caret, hint) when the model does not
// compile. Warnings go to stderr.
void compile_model_source(const CompileRequest& request);

}  // namespace halo::cli
