// Test support: compiles hand-built IR into a shared library (codegen -> O3 -> lld) and
// provides the runtime half of the generated-code ABI (a simple workspace), so that tests can
// call generated functions directly.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "runtime/model/generated_abi.h"

namespace halo::testing {

struct TestWorkspace {
  halo_ws ws{};
  std::vector<std::unique_ptr<char[]>> chunks;
  std::vector<char> stack;
  std::string error;
  TestWorkspace();
  // Resets the arena and the value stack between calls (keeps the memory).
  void reset();
};

using Entry = int32_t (*)(halo_ws*, void* const*, void* const*);

struct CompiledIr {
  void* lib = nullptr;
  std::string path;
  ~CompiledIr();
  Entry get(const std::string& function_name) const;
};

// Verifies, lowers, optimises (O3, host CPU), links and loads the module. Fails the current
// doctest case on any error.
std::unique_ptr<CompiledIr> compile_ir(const ir::Module& m);

halo_tensor make_tensor(std::vector<double>& data, std::vector<int64_t> dims);

}  // namespace halo::testing
