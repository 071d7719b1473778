#include "driver/compile.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_os_ostream.h>
#include <llvm/Support/raw_ostream.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include "ad/ad.h"
#include "codegen/codegen.h"
#include "codegen/target.h"
#include "ir/lower.h"

#ifdef HALO_HAVE_STDLIB_BITCODE
extern "C" const unsigned char halo_stdlib_bitcode[];
extern "C" const size_t halo_stdlib_bitcode_size;
#endif

namespace halo::driver {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

std::string json_variables(const std::vector<ir::VariableLayout>& vars) {
  std::string out = "[";
  for (size_t k = 0; k < vars.size(); ++k) {
    const auto& v = vars[k];
    out += k ? "," : "";
    out += "{\"name\":" + json_string(v.name) + ",\"elem\":\"" + (v.elem == ir::Elem::I64 ? "int" : "real") +
           "\",\"array_rank\":" + std::to_string(v.array_rank) + ",\"elem_rank\":" + std::to_string(v.elem_rank) +
           ",\"row\":" + (v.row ? "true" : "false") + ",\"constraint\":" + json_string(v.constraint) + "}";
  }
  return out + "]";
}

// The layout JSON the runtime reads at construction (docs/abi.md).
std::string layout_json(const ir::ModelLayout& l) {
  return "{\"name\":" + json_string(l.name) + ",\"compiler_version\":" + json_string(HALO_VERSION) +
         ",\"data\":" + json_variables(l.data) + ",\"transformed_data\":" + json_variables(l.transformed_data) +
         ",\"parameters\":" + json_variables(l.parameters) +
         ",\"transformed_parameters\":" + json_variables(l.transformed_parameters) +
         ",\"generated_quantities\":" + json_variables(l.generated_quantities) +
         ",\"batch_dimension\":" + json_string(l.batch_dimension) + "}";
}

// Links the stdlib bitcode (only what the model uses) and hides everything but the entry
// points, so that stdlib kernels inline and nothing else is exported.
bool link_stdlib(llvm::Module& m, std::string& error) {
#ifdef HALO_HAVE_STDLIB_BITCODE
  auto buffer = llvm::MemoryBuffer::getMemBuffer(
      llvm::StringRef(reinterpret_cast<const char*>(halo_stdlib_bitcode), halo_stdlib_bitcode_size),
      "halo_stdlib.bc", /*RequiresNullTerminator=*/false);
  auto stdlib = llvm::parseBitcodeFile(buffer->getMemBufferRef(), m.getContext());
  if (!stdlib) {
    error = "cannot read the stdlib bitcode: " + llvm::toString(stdlib.takeError());
    return false;
  }
  (*stdlib)->setDataLayout(m.getDataLayout());
  (*stdlib)->setTargetTriple(m.getTargetTriple());
  if (llvm::Linker::linkModules(m, std::move(*stdlib), llvm::Linker::LinkOnlyNeeded)) {
    error = "cannot link the stdlib bitcode";
    return false;
  }
  // A stdlib function the lowering asked for but the stdlib lacks would only surface when the
  // library is loaded (an undefined symbol): report it now.
  for (llvm::Function& f : m.functions()) {
    if (!f.isDeclaration() || f.isIntrinsic()) continue;
    llvm::StringRef name = f.getName();
    if (name.starts_with("halo_") && !name.starts_with("halo_ws_")) {
      error = "internal error: the generated code calls " + name.str() + ", which the stdlib does not define";
      return false;
    }
  }
#else
  (void)m;
  (void)error;
#endif
  for (llvm::Function& f : m.functions()) {
    if (f.isDeclaration()) continue;
    if (!f.getName().starts_with("halo_gen_")) f.setLinkage(llvm::GlobalValue::InternalLinkage);
  }
  return true;
}

std::string temporary_path(const std::string& output, const char* suffix) {
  return output + ".tmp" + std::to_string(::getpid()) + suffix;
}

}  // namespace

int compile_model(const ast::Program& program, const CompileOptions& options, Diagnostics& diags,
                  std::string& error) {
  auto lowered = ir::lower(program, options.model_name, diags);
  if (!lowered) return 1;
  ir::Module& module = lowered->module;
  if (options.dump == "ir") {
    std::cout << ir::print(module);
    return 0;
  }
  // Gradients of both log density variants.
  std::vector<ir::Function> gradients;
  for (const ir::Function& f : module.functions) {
    if (f.role != ir::FunctionRole::LogDensity) continue;
    auto g = ad::differentiate(f, 0, error);
    if (!g) {
      error = "internal error in automatic differentiation of " + f.name + ": " + error;
      return 2;
    }
    gradients.push_back(std::move(*g));
  }
  for (auto& g : gradients) module.functions.push_back(std::move(g));
  if (options.dump == "grad-ir") {
    for (const ir::Function& f : module.functions)
      if (f.name.size() > 5 && f.name.compare(f.name.size() - 5, 5, "_grad") == 0) std::cout << ir::print(f) << "\n";
    return 0;
  }
  auto problems = ir::verify(module);
  if (!problems.empty()) {
    error = "internal error: invalid IR:\n";
    for (const auto& p : problems) error += "  " + p + "\n";
    return 2;
  }

  llvm::LLVMContext context;
  auto llvm_module = codegen::lower(module, context, error);
  if (!llvm_module) return 2;
  codegen::TargetOptions target_options;
  target_options.opt_level = options.opt_level;
  target_options.cpu = options.target_cpu;
  auto target = codegen::Target::create(target_options, error);
  if (!target) return 2;
  target->configure(*llvm_module);
  // The layout description, exported for the runtime.
  std::string layout = layout_json(lowered->layout);
  auto* init = llvm::ConstantDataArray::getString(context, layout, /*AddNull=*/true);
  auto* global = new llvm::GlobalVariable(*llvm_module, init->getType(), /*isConstant=*/true,
                                          llvm::GlobalValue::ExternalLinkage, init, "halo_model_layout");
  global->setVisibility(llvm::GlobalValue::DefaultVisibility);
  if (!link_stdlib(*llvm_module, error)) return 2;
  target->optimize(*llvm_module);
#ifndef NDEBUG
  {
    std::string problems_text;
    llvm::raw_string_ostream os(problems_text);
    if (llvm::verifyModule(*llvm_module, &os)) {
      error = "internal error: invalid LLVM IR after optimisation:\n" + os.str();
      return 2;
    }
  }
#endif
  if (options.dump == "llvm") {
    llvm::raw_os_ostream os(std::cout);
    llvm_module->print(os, nullptr);
    return 0;
  }
  if (options.dump == "asm") {
    std::string text;
    if (!target->emit_assembly(*llvm_module, text, error)) return 2;
    std::cout << text;
    return 0;
  }
  std::string object;
  if (!target->emit_object(*llvm_module, object, error)) return 2;
  std::string object_path = temporary_path(options.output, ".o");
  {
    std::ofstream out(object_path, std::ios::binary);
    out << object;
    if (!out) {
      error = "cannot write '" + object_path + "'";
      return 2;
    }
  }
  std::vector<std::string> inputs = {object_path};
#ifdef HALO_RUNTIME_ARCHIVE
  if (options.link_runtime) {
    inputs.push_back(HALO_RUNTIME_ARCHIVE);
    inputs.push_back("-L" HALO_GCC_LIB_DIR);
    for (const char* lib : {"-lsimdjson", "-lstdc++", "-lgcc_s"}) inputs.push_back(lib);
  }
#endif
  bool linked = codegen::link_shared_library(inputs, options.output, error);
  std::remove(object_path.c_str());
  return linked ? 0 : 2;
}

}  // namespace halo::driver
