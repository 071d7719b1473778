#include <doctest/doctest.h>
#include <dlfcn.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "codegen/target.h"

using namespace halo::codegen;

namespace {
// double f(const double* x, long n) { double s = 0; for (i < n) s += <fn>(x[i]); return s; }
std::unique_ptr<llvm::Module> make_sum_module(llvm::LLVMContext& ctx, const char* fn) {
  auto m = std::make_unique<llvm::Module>("t", ctx);
  llvm::IRBuilder<> b(ctx);
  auto* f64 = b.getDoubleTy();
  auto* i64 = b.getInt64Ty();
  auto* ptr = b.getPtrTy();
  auto* f = llvm::Function::Create(llvm::FunctionType::get(f64, {ptr, i64}, false),
                                   llvm::Function::ExternalLinkage, "f", *m);
  f->addParamAttr(0, llvm::Attribute::NoAlias);
  auto* callee = m->getOrInsertFunction(fn, llvm::FunctionType::get(f64, {f64}, false)).getCallee();
  llvm::cast<llvm::Function>(callee)->setDoesNotAccessMemory();
  llvm::cast<llvm::Function>(callee)->setDoesNotThrow();
  auto* entry = llvm::BasicBlock::Create(ctx, "entry", f);
  auto* loop = llvm::BasicBlock::Create(ctx, "loop", f);
  auto* done = llvm::BasicBlock::Create(ctx, "done", f);
  b.SetInsertPoint(entry);
  auto* n = f->getArg(1);
  b.CreateCondBr(b.CreateICmpSGT(n, b.getInt64(0)), loop, done);
  b.SetInsertPoint(loop);
  auto* i = b.CreatePHI(i64, 2);
  auto* s = b.CreatePHI(f64, 2);
  i->addIncoming(b.getInt64(0), entry);
  s->addIncoming(llvm::ConstantFP::get(f64, 0.0), entry);
  auto* x = b.CreateLoad(f64, b.CreateGEP(f64, f->getArg(0), i));
  llvm::FastMathFlags fmf;
  fmf.setAllowReassoc();
  b.setFastMathFlags(fmf);
  auto* s2 = b.CreateFAdd(s, b.CreateCall(llvm::cast<llvm::Function>(callee), {x}));
  auto* i2 = b.CreateAdd(i, b.getInt64(1));
  i->addIncoming(i2, loop);
  s->addIncoming(s2, loop);
  b.CreateCondBr(b.CreateICmpSLT(i2, n), loop, done);
  b.SetInsertPoint(done);
  auto* r = b.CreatePHI(f64, 2);
  r->addIncoming(llvm::ConstantFP::get(f64, 0.0), entry);
  r->addIncoming(s2, loop);
  b.CreateRet(r);
  REQUIRE_FALSE(llvm::verifyModule(*m, &llvm::errs()));
  return m;
}

std::string temp_path(const std::string& name) {
  return "/tmp/halo_codegen_test_" + std::to_string(::getpid()) + "_" + name;
}
}  // namespace

TEST_CASE("a module is optimised, vectorised with libmvec, linked in process and loaded") {
  std::string error;
  auto target = Target::create(TargetOptions{}, error);
  REQUIRE_MESSAGE(target, error);
  // tanh as Clang 19 emits std::tanh: the intrinsic llvm.tanh.f64, mapped to libmvec's tanh.
  for (const char* callee : {"exp", "log1p", "llvm.tanh.f64"}) {
    const std::string name = callee;
    const char* fn = name == "llvm.tanh.f64" ? "tanh" : callee;
    CAPTURE(callee);
    llvm::LLVMContext ctx;
    auto m = make_sum_module(ctx, callee);
    target->configure(*m);
    target->optimize(*m);
    std::string assembly;
    REQUIRE(target->emit_assembly(*m, assembly, error));
    // The loop calls a vector variant (4 or 8 lanes) of the function.
    bool vectorised = assembly.find(std::string("_ZGVdN4v_") + fn) != std::string::npos ||
                      assembly.find(std::string("_ZGVeN8v_") + fn) != std::string::npos;
    CHECK(vectorised);

    std::string object;
    REQUIRE(target->emit_object(*m, object, error));
    std::string obj_path = temp_path(std::string(fn) + ".o");
    std::string so_path = temp_path(std::string(fn) + ".so");
    std::ofstream(obj_path, std::ios::binary) << object;
    REQUIRE_MESSAGE(link_shared_library({obj_path}, so_path, error), error);
    void* lib = dlopen(so_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    REQUIRE_MESSAGE(lib, dlerror());
    auto* f = reinterpret_cast<double (*)(const double*, long)>(dlsym(lib, "f"));
    REQUIRE(reinterpret_cast<void*>(f) != nullptr);
    std::vector<double> x(103);
    double expected = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = -2.0 + 0.037 * static_cast<double>(i);
      expected += std::string(fn) == "exp"    ? std::exp(x[i])
                  : std::string(fn) == "tanh" ? std::tanh(x[i])
                                              : std::log1p(std::exp(x[i]));
      if (std::string(fn) == "log1p") x[i] = std::exp(x[i]);
    }
    CHECK(f(x.data(), static_cast<long>(x.size())) == doctest::Approx(expected).epsilon(1e-13));
    dlclose(lib);
    std::remove(obj_path.c_str());
    std::remove(so_path.c_str());
  }
}

TEST_CASE("a failed link leaves an existing library untouched") {
  std::string so_path = temp_path("keep.so");
  std::ofstream(so_path) << "previous";
  std::string error;
  CHECK_FALSE(link_shared_library({temp_path("missing.o")}, so_path, error));
  CHECK(error.find("linking failed") != std::string::npos);
  std::ifstream in(so_path);
  std::string content;
  in >> content;
  CHECK(content == "previous");
  std::remove(so_path.c_str());
}
