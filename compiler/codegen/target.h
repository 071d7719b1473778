// The LLVM side of code generation that does not depend on Halo's IR: a TargetMachine for the
// host (or a named CPU), the optimisation pipeline with the vector math library, object and
// assembly emission, and linking objects into a shared library with lld, in process.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Module;
class TargetMachine;
class LLVMContext;
}  // namespace llvm

namespace halo::codegen {

struct TargetOptions {
  int opt_level = 3;        // 0..3
  std::string cpu;          // empty: the host CPU (like -march=native)
  std::string features;     // empty: the host's (or the CPU's) features
};

class Target {
 public:
  // Null and `error` set when the target cannot be created.
  static std::unique_ptr<Target> create(const TargetOptions& options, std::string& error);
  ~Target();

  llvm::TargetMachine& machine() { return *machine_; }
  const TargetOptions& options() const { return options_; }
  // Sets the module's triple and data layout to this target's.
  void configure(llvm::Module& module) const;
  // Runs the new pass manager's default pipeline at the chosen level, with glibc's libmvec
  // registered (plus the variants LLVM's table lacks: log1p, expm1, tanh, erf, ...), so that
  // loops calling those functions vectorise.
  void optimize(llvm::Module& module) const;
  // Object file or assembly text of the module.
  bool emit_object(llvm::Module& module, std::string& bytes, std::string& error) const;
  bool emit_assembly(llvm::Module& module, std::string& text, std::string& error) const;

 private:
  Target() = default;
  TargetOptions options_;
  std::unique_ptr<llvm::TargetMachine> machine_;
};

// Links object files into a shared library at `output` with lld as a library. The library is
// written to a temporary file next to `output` and renamed over it only when the link
// succeeded, so an existing library is never left half-written.
bool link_shared_library(const std::vector<std::string>& objects, const std::string& output,
                         std::string& error);

}  // namespace halo::codegen
