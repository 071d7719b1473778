#include "support/compile_ir.h"

#include <doctest/doctest.h>
#include <dlfcn.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include "codegen/codegen.h"
#include "codegen/target.h"

namespace halo::testing {

TestWorkspace::TestWorkspace() : stack(1 << 10) { reset(); }

void TestWorkspace::reset() {
  ws.cur = nullptr;
  ws.end = nullptr;
  chunks.clear();
  ws.stack_cur = stack.data();
  ws.stack_end = stack.data() + stack.size();
  error.clear();
}

CompiledIr::~CompiledIr() {
  if (lib) dlclose(lib);
  if (!path.empty()) std::remove(path.c_str());
}

Entry CompiledIr::get(const std::string& name) const {
  return reinterpret_cast<Entry>(dlsym(lib, ("halo_gen_" + name).c_str()));
}

std::unique_ptr<CompiledIr> compile_ir(const ir::Module& m) {
  auto problems = ir::verify(m);
  INFO(ir::print(m));
  REQUIRE(problems.empty());
  std::string error;
  llvm::LLVMContext ctx;
  auto llvm_module = codegen::lower(m, ctx, error);
  REQUIRE_MESSAGE(llvm_module, error);
  auto target = codegen::Target::create(codegen::TargetOptions{}, error);
  REQUIRE(target);
  target->configure(*llvm_module);
  target->optimize(*llvm_module);
  std::string object;
  REQUIRE(target->emit_object(*llvm_module, object, error));
  static int counter = 0;
  std::string base = "/tmp/halo_ir_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::ofstream(base + ".o", std::ios::binary) << object;
  auto c = std::make_unique<CompiledIr>();
  c->path = base + ".so";
  REQUIRE_MESSAGE(codegen::link_shared_library({base + ".o"}, c->path, error), error);
  std::remove((base + ".o").c_str());
  c->lib = dlopen(c->path.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE_MESSAGE(c->lib, dlerror());
  return c;
}

halo_tensor make_tensor(std::vector<double>& data, std::vector<int64_t> dims) {
  halo_tensor t{};
  t.data = data.data();
  for (size_t k = 0; k < dims.size(); ++k) t.dims[k] = dims[k];
  return t;
}

}  // namespace halo::testing

using halo::testing::TestWorkspace;

// The runtime half of the ABI, exported from the test executable (ENABLE_EXPORTS).
extern "C" {
void* halo_ws_grow(halo_ws* ws, int64_t bytes) {
  auto* t = reinterpret_cast<TestWorkspace*>(ws);
  size_t size = static_cast<size_t>(bytes) + 64 + (1 << 16);
  t->chunks.emplace_back(new char[size]);
  char* base = t->chunks.back().get();
  char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base) + 15) & ~uintptr_t{15});
  ws->cur = aligned + bytes;
  ws->end = base + size;
  return aligned;
}
char* halo_ws_stack_grow(halo_ws* ws, int64_t bytes) {
  auto* t = reinterpret_cast<TestWorkspace*>(ws);
  size_t used = static_cast<size_t>(ws->stack_cur - t->stack.data());
  t->stack.resize(std::max(t->stack.size() * 2, used + static_cast<size_t>(bytes) + 1024));
  ws->stack_cur = t->stack.data() + used;
  ws->stack_end = t->stack.data() + t->stack.size();
  return ws->stack_cur;
}
int32_t halo_ws_fail(halo_ws* ws, const char* message, double a, double b) {
  auto* t = reinterpret_cast<TestWorkspace*>(ws);
  std::string m = message;
  for (double v : {a, b}) {
    size_t hole = m.find("{}");
    if (hole == std::string::npos) break;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    m.replace(hole, 2, buf);
  }
  t->error = m;
  return 1;
}
void halo_ws_print(halo_ws*, const char*, int64_t, const double*) {}
int32_t halo_ws_reject(halo_ws* ws, const char* text, int64_t, const double*) {
  reinterpret_cast<TestWorkspace*>(ws)->error = text;
  return 1;
}
// Stand-ins for stdlib kernels used by the IR tests (the real stdlib is tested on its own).
double halo_exp(double x) { return std::exp(x); }
void halo_exp_grad(double, double result, double* d) { *d = result; }
double halo_log(double x) { return std::log(x); }
void halo_log_grad(double x, double, double* d) { *d = 1.0 / x; }
double halo_sqrt(double x) { return std::sqrt(x); }
void halo_sqrt_grad(double, double r, double* d) { *d = 0.5 / r; }
double halo_fabs(double x) { return std::fabs(x); }
void halo_fabs_grad(double x, double, double* d) { *d = x < 0 ? -1.0 : 1.0; }
double halo_inv_logit(double x) { return 1.0 / (1.0 + std::exp(-x)); }
void halo_inv_logit_grad(double, double r, double* d) { *d = r * (1 - r); }
double halo_log_inv_logit(double x) { return -std::log1p(std::exp(-x)); }
void halo_log_inv_logit_grad(double x, double, double* d) { *d = 1.0 / (1.0 + std::exp(x)); }
double halo_log1m_inv_logit(double x) { return -std::log1p(std::exp(x)); }
void halo_log1m_inv_logit_grad(double x, double, double* d) { *d = -1.0 / (1.0 + std::exp(-x)); }
double halo_logit(double x) { return std::log(x / (1 - x)); }
void halo_logit_grad(double x, double, double* d) { *d = 1.0 / (x * (1 - x)); }
// cauchy_lpdf(y | mu, sigma) with partials; flags bit 0 = drop constants.
double halo_cauchy_lpdf(double y, double mu, double sigma, int flags, double* d) {
  double z = (y - mu) / sigma;
  double q = 1 + z * z;
  d[0] = -2 * z / (sigma * q);
  d[1] = -d[0];
  d[2] = (z * z - 1) / (sigma * q);
  double lp = -std::log(sigma) - std::log(q);
  if (!(flags & 1)) lp -= std::log(M_PI);
  return lp;
}
// C = alpha op(A) op(B) + beta C (column-major; beta = 0 overwrites): matrix products call it.
void halo_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, const double* B,
               double beta, double* C) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += (ta ? A[p + i * k] : A[i + p * m]) * (tb ? B[j + p * n] : B[p + j * k]);
      C[i + j * m] = alpha * s + (beta == 0.0 ? 0.0 : beta * C[i + j * m]);
    }
}
// normal_lpdf(y | mu, sigma) with partials; flags bit 0 = drop constants.
double halo_normal_lpdf(double y, double mu, double sigma, int flags, double* d) {
  double z = (y - mu) / sigma;
  d[0] = -z / sigma;
  d[1] = z / sigma;
  d[2] = (z * z - 1.0) / sigma;
  double lp = -0.5 * z * z - std::log(sigma);
  if (!(flags & 1)) lp -= 0.9189385332046727;
  return lp;
}
}
