// The back half of haloc: typed program -> IR -> gradient IR -> LLVM -> model.so.
#pragma once
#include <string>

#include "ast/ast.h"
#include "common/diagnostics.h"

namespace halo::driver {

struct CompileOptions {
  std::string model_name;   // the library's model name (the file's stem)
  std::string output;       // path of the .so to write
  std::string dump;         // "", "ir", "grad-ir", "llvm", "asm": print that stage and stop
  int opt_level = 3;
  std::string target_cpu;   // empty: the host
  // Link the model runtime (the BridgeStan API) into the library. Tests that call the
  // generated entry points directly with their own workspace turn it off.
  bool link_runtime = true;
};

// Returns the process exit code: 0 success, 1 diagnostics (reported into `diags`), 2 internal
// or environment errors (message in `error`). Dumps go to stdout.
int compile_model(const ast::Program& program, const CompileOptions& options, Diagnostics& diags,
                  std::string& error);

// The JSON description of a model's layout that the runtime reads (docs/abi.md).
}  // namespace halo::driver
