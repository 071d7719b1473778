// Code generation: Halo IR -> LLVM IR.
//
// Every IR function becomes an external LLVM function with the generated-code ABI of
// runtime/model/generated_abi.h:  int32_t name(halo_ws*, void* const* args, void* const* results).
// Stdlib functions are declared (halo_<name>) and resolved by linking the stdlib bitcode before
// optimisation, so they inline.
#pragma once
#include <memory>
#include <string>

#include "ir/ir.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace halo::codegen {

// Null with `error` set if the IR uses something code generation does not support.
std::unique_ptr<llvm::Module> lower(const ir::Module& module, llvm::LLVMContext& context,
                                    std::string& error);

// The LLVM function name of an IR function (a prefix keeps generated symbols apart).
std::string symbol_name(const ir::Function& function);

}  // namespace halo::codegen
