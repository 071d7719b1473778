// Back-end coverage of the signature table: for every signature (semantic::signature(i)) one or
// more tiny programs that call it with arguments of the right types, compiled through the whole
// back end, and a report of which compile.
//
// Each program declares one variable per argument (reals and containers of reals as parameters,
// so that the gradient code is generated too; ints as data), calls the function once in the
// model block (the _rng functions in generated quantities) and uses one element of the result.
// Flexible argument classes (reals, ints, vectors, T, any, anyarray) are tried in several
// shapes, one program ("variant") each; a signature compiles when all its variants do.
//
// Compiling means: parse, check, lower, differentiate, verify the IR, generate LLVM IR and find
// every stdlib function the generated code calls defined in the stdlib bitcode (what haloc
// checks when it links the stdlib). --full also runs haloc's whole pipeline to a .so.
//
// Usage: halo_coverage [--list FILE] [--update] [--full] [--verbose] [--only NAME]
//   --list FILE  the signatures expected to compile (one key per line); the run fails when one
//                of them does not compile any more, and mentions new ones
//   --update     rewrites FILE with the signatures that compile now
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/MemoryBuffer.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "ad/ad.h"
#include "codegen/codegen.h"
#include "driver/compile.h"
#include "frontend/frontend.h"
#include "ir/lower.h"
#include "semantic/semantic.h"
#include "semantic/signatures.h"

#ifdef HALO_HAVE_STDLIB_BITCODE
extern "C" const unsigned char halo_stdlib_bitcode[];
extern "C" const size_t halo_stdlib_bitcode_size;
#endif

namespace {

using halo::ast::BaseKind;
using halo::semantic::ParamClass;
using halo::semantic::Signature;
using halo::semantic::SigKind;

constexpr int kSize = 3;  // every container dimension

// One concrete argument type: a base kind with array dimensions.
struct Shape {
  BaseKind base = BaseKind::Real;
  int array_dims = 0;
  bool operator==(const Shape& o) const { return base == o.base && array_dims == o.array_dims; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

int element_rank(BaseKind b) {
  return b == BaseKind::Vector || b == BaseKind::RowVector ? 1 : b == BaseKind::Matrix ? 2 : 0;
}

std::string declaration(const Shape& s, const std::string& name) {
  std::string t;
  if (s.array_dims > 0) {
    t = "array[";
    for (int k = 0; k < s.array_dims; ++k) t += (k ? ", " : "") + std::to_string(kSize);
    t += "] ";
  }
  const std::string n = std::to_string(kSize);
  switch (s.base) {
    case BaseKind::Int: t += "int"; break;
    case BaseKind::Real: t += "real"; break;
    case BaseKind::Vector: t += "vector[" + n + "]"; break;
    case BaseKind::RowVector: t += "row_vector[" + n + "]"; break;
    case BaseKind::Matrix: t += "matrix[" + n + ", " + n + "]"; break;
    default: t += "?"; break;
  }
  return t + " " + name + ";";
}

// The shapes tried for an argument class, the first being the plain (scalar) one.
std::vector<Shape> options(const halo::semantic::ParamSpec& p) {
  using B = BaseKind;
  switch (p.cls) {
    case ParamClass::Type: return {{p.base, p.array_dims}};
    case ParamClass::Reals: return {{B::Real, 0}, {B::Vector, 0}, {B::RowVector, 0}, {B::Real, 1}};
    case ParamClass::Ints: return {{B::Int, 0}, {B::Int, 1}};
    case ParamClass::Vectors: return {{B::Vector, 0}, {B::RowVector, 0}, {B::Vector, 1}, {B::RowVector, 1}};
    case ParamClass::Elementwise:
      return {{B::Real, 0}, {B::Vector, 0}, {B::RowVector, 0}, {B::Matrix, 0}, {B::Real, 1}, {B::Int, 0}, {B::Vector, 1}};
    case ParamClass::Any: return {{B::Real, 0}, {B::Vector, 0}, {B::Matrix, 0}, {B::Int, 0}, {B::Real, 1}};
    case ParamClass::AnyArray: return {{B::Real, 1}, {B::Int, 1}, {B::Vector, 1}, {B::Real, 2}};
    case ParamClass::SameAs: return {};
  }
  return {};
}

// The argument shapes of every variant of a signature (deduplicated).
std::vector<std::vector<Shape>> variants(const Signature& sig) {
  const size_t n = sig.params.size();
  std::vector<std::vector<Shape>> opts(n);
  size_t most = 1;
  std::vector<size_t> flexible;
  for (size_t k = 0; k < n; ++k) {
    opts[k] = options(sig.params[k]);
    most = std::max(most, opts[k].size());
    if (opts[k].size() > 1) flexible.push_back(k);
  }
  auto resolve = [&](std::vector<Shape> shapes) {
    for (size_t k = 0; k < n; ++k)
      if (sig.params[k].cls == ParamClass::SameAs) shapes[k] = shapes[sig.params[k].same_as];
    return shapes;
  };
  std::vector<std::vector<Shape>> out;
  auto add = [&](const std::vector<Shape>& v) {
    for (const auto& o : out)
      if (o == v) return;
    out.push_back(v);
  };
  for (size_t v = 0; v < most; ++v) {
    std::vector<Shape> shapes(n);
    for (size_t k = 0; k < n; ++k)
      if (!opts[k].empty()) shapes[k] = opts[k][v < opts[k].size() ? v : 0];
    add(resolve(shapes));
  }
  // The common vectorised form: only the first flexible argument a container (y ~ normal(mu, s)).
  if (flexible.size() > 1) {
    std::vector<Shape> shapes(n);
    for (size_t k = 0; k < n; ++k)
      if (!opts[k].empty()) shapes[k] = opts[k][k == flexible[0] ? 1 : 0];
    add(resolve(shapes));
  }
  return out;
}

std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string s = "(";
  for (size_t k = 0; k < shapes.size(); ++k) {
    std::string d = declaration(shapes[k], "");
    s += (k ? ", " : "") + d.substr(0, d.size() - 2);
  }
  return s + ")";
}

// The program of one variant (real arguments as parameters, or with `all_data` as data). Its
// call's result type comes from the signature table, so that the program can use one element.
std::string program_text(const Signature& sig, const std::vector<Shape>& shapes, bool all_data = false) {
  std::vector<halo::semantic::ArgInfo> infos;
  std::string data, params, args;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const Shape& s = shapes[k];
    std::string name = "a" + std::to_string(k + 1);
    halo::semantic::ArgInfo info;
    info.type.base = s.base;
    info.type.array_dims = s.array_dims;
    for (int d = 0; d < s.array_dims + element_rank(s.base); ++d) info.type.dims.push_back(halo::ast::Dim::constant(kSize));
    if (s.base == BaseKind::Int && s.array_dims == 0) info.value = halo::ast::Dim::sym(name);
    infos.push_back(info);
    (s.base == BaseKind::Int || all_data ? data : params) += "  " + declaration(s, name) + "\n";
    args += (k == 0 ? "" : (k == 1 && halo::semantic::needs_bar(sig.kind)) ? " | " : ", ") + name;
  }
  // A density of the variate alone is written std_normal_lpdf(y |), as Stan allows.
  if (halo::semantic::needs_bar(sig.kind) && shapes.size() == 1) args += " |";
  halo::ast::Type result = halo::semantic::result_type(sig, infos, nullptr);
  std::string call = sig.name + "(" + args + ")";
  const int rank = result.array_dims + element_rank(result.base);
  if (rank > 0) {
    call += "[";
    for (int k = 0; k < rank; ++k) call += k ? ", 1" : "1";
    call += "]";
  }
  std::string text;
  if (!data.empty()) text += "data {\n" + data + "}\n";
  if (!params.empty()) text += "parameters {\n" + params + "}\n";
  if (sig.kind == SigKind::Rng) {
    text += "model {\n}\ngenerated quantities {\n  " + std::string(result.base == BaseKind::Int ? "int" : "real") +
            " draw = " + call + ";\n}\n";
  } else {
    text += "model {\n  target += " + call + ";\n}\n";
  }
  return text;
}

// The stdlib functions the bitcode defines (empty when haloc has no embedded stdlib).
std::set<std::string> stdlib_functions(llvm::LLVMContext& context) {
  std::set<std::string> names;
#ifdef HALO_HAVE_STDLIB_BITCODE
  auto buffer = llvm::MemoryBuffer::getMemBuffer(
      llvm::StringRef(reinterpret_cast<const char*>(halo_stdlib_bitcode), halo_stdlib_bitcode_size), "halo_stdlib.bc",
      /*RequiresNullTerminator=*/false);
  auto module = llvm::parseBitcodeFile(buffer->getMemBufferRef(), context);
  if (!module) {
    llvm::consumeError(module.takeError());
    return names;
  }
  for (const llvm::Function& f : **module)
    if (!f.isDeclaration()) names.insert(f.getName().str());
#else
  (void)context;
#endif
  return names;
}

enum class Outcome { Compiles, Rejected /* by the front end: a generator problem */, Fails };

struct Result {
  Outcome outcome = Outcome::Fails;
  std::string message;
};

// The first line of a message (diagnostics render several).
std::string first_line(const std::string& s) {
  size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

Result compile(const std::string& text, const std::set<std::string>& stdlib, bool full) {
  halo::SourceFile file("coverage.model", text);
  halo::Diagnostics diags;
  auto program = halo::frontend::parse(file, diags);
  if (program) program = halo::semantic::check(std::move(program), diags);
  if (!program) return {Outcome::Rejected, first_line(halo::render_all(diags, file))};
  if (full) {
    static int counter = 0;
    std::string path = "/tmp/halo_coverage_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".so";
    halo::driver::CompileOptions options;
    options.model_name = "coverage";
    options.output = path;
    options.link_runtime = false;
    std::string error;
    int code = halo::driver::compile_model(*program, options, diags, error);
    std::remove(path.c_str());
    if (code != 0) return {Outcome::Fails, first_line(error.empty() ? halo::render_all(diags, file) : error)};
    return {Outcome::Compiles, ""};
  }
  auto lowered = halo::ir::lower(*program, "coverage", diags);
  if (!lowered) {
    std::string msg = diags.all().empty() ? "lowering failed" : diags.all().back().message;
    return {Outcome::Fails, msg};
  }
  halo::ir::Module& module = lowered->module;
  std::vector<halo::ir::Function> gradients;
  for (const halo::ir::Function& f : module.functions) {
    if (f.role != halo::ir::FunctionRole::LogDensity) continue;
    std::string error;
    auto g = halo::ad::differentiate(f, 0, error);
    if (!g) return {Outcome::Fails, "AD: " + error};
    gradients.push_back(std::move(*g));
  }
  for (auto& g : gradients) module.functions.push_back(std::move(g));
  auto problems = halo::ir::verify(module);
  if (!problems.empty()) return {Outcome::Fails, "invalid IR: " + problems[0]};
  llvm::LLVMContext context;
  std::string error;
  auto llvm_module = halo::codegen::lower(module, context, error);
  if (!llvm_module) return {Outcome::Fails, "codegen: " + first_line(error)};
  if (!stdlib.empty()) {
    for (const llvm::Function& f : *llvm_module) {
      if (!f.isDeclaration() || f.isIntrinsic()) continue;
      std::string name = f.getName().str();
      if (name.rfind("halo_", 0) == 0 && name.rfind("halo_ws_", 0) != 0 && !stdlib.count(name))
        return {Outcome::Fails, "the stdlib lacks " + name};
    }
  }
  return {Outcome::Compiles, ""};
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  std::string list_path, only;
  bool update = false, full = false, verbose = false;
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a == "--list" && k + 1 < argc) list_path = argv[++k];
    else if (a == "--only" && k + 1 < argc) only = argv[++k];
    else if (a == "--update") update = true;
    else if (a == "--full") full = true;
    else if (a == "--verbose") verbose = true;
    else {
      std::cerr << "usage: halo_coverage [--list FILE] [--update] [--full] [--verbose] [--only NAME]\n";
      return 2;
    }
  }
  auto start = std::chrono::steady_clock::now();
  llvm::LLVMContext context;
  const std::set<std::string> stdlib = stdlib_functions(context);
  if (stdlib.empty()) std::cout << "note: no stdlib bitcode; calls to missing stdlib functions are not detected\n";

  const auto& table = halo::semantic::signature_table();
  struct KindCount {
    int total = 0, compiling = 0;
  };
  std::map<std::string, KindCount> by_kind;
  std::set<std::string> compiling;
  std::map<std::string, std::vector<std::string>> failures;  // name -> "key: shapes: message"
  int variants_total = 0, variants_ok = 0, rejected = 0, signatures_total = 0;
  std::set<std::string> data_only;  // names whose failing programs compile with data arguments
  for (const Signature& sig : table) {
    if (!only.empty() && sig.name != only) continue;
    ++signatures_total;
    bool all = true;
    for (const auto& shapes : variants(sig)) {
      ++variants_total;
      std::string text = program_text(sig, shapes);
      Result r = compile(text, stdlib, full);
      if (r.outcome == Outcome::Compiles) {
        ++variants_ok;
        continue;
      }
      all = false;
      if (r.outcome == Outcome::Rejected) ++rejected;
      if (r.outcome == Outcome::Fails && compile(program_text(sig, shapes, true), stdlib, full).outcome == Outcome::Compiles)
        data_only.insert(sig.name);
      failures[sig.name].push_back(sig.key + " " + shapes_text(shapes) + ": " +
                                   (r.outcome == Outcome::Rejected ? "front end rejects the test program: " : "") +
                                   r.message);
      if (verbose) std::cout << "---- " << sig.key << " " << shapes_text(shapes) << "\n" << text << r.message << "\n";
    }
    KindCount& kc = by_kind[halo::semantic::to_string(sig.kind)];
    ++kc.total;
    if (all) {
      ++kc.compiling;
      compiling.insert(sig.key);
    }
  }

  std::cout << "Signatures whose programs all compile: " << compiling.size() << " / " << signatures_total
            << " (variants: " << variants_ok << " / " << variants_total << ")\n";
  for (const auto& [kind, kc] : by_kind) std::cout << "  " << kind << ": " << kc.compiling << " / " << kc.total << "\n";
  if (rejected) std::cout << "  (" << rejected << " test programs rejected by the front end: a generator problem)\n";
  if (!data_only.empty()) {
    std::cout << "Compiling only with data arguments (not differentiable in Halo):";
    for (const std::string& name : data_only) std::cout << " " << name;
    std::cout << "\n";
  }
  std::cout << "Not compiling, by function name (" << failures.size() << " names):\n";
  for (const auto& [name, list] : failures) {
    std::cout << "  " << name << ": " << list.size() << " variant(s); e.g. " << list[0] << "\n";
  }

  int status = 0;
  if (!list_path.empty()) {
    if (update) {
      std::ofstream out(list_path);
      out << "# Signature keys whose coverage programs compile (tests/coverage: halo_coverage --update).\n";
      for (const Signature& sig : table)
        if (compiling.count(sig.key)) out << sig.key << "\n";
      std::cout << "wrote " << list_path << "\n";
    } else {
      std::set<std::string> expected;
      for (const std::string& key : read_lines(list_path)) expected.insert(key);
      for (const std::string& key : expected) {
        if (halo::semantic::find_signature(key) < 0) {
          std::cout << "REGRESSION: " << key << " is listed but is no longer in the signature table\n";
          status = 1;
        } else if (!compiling.count(key) && (only.empty() || key.find(" " + only + "(") != std::string::npos)) {
          std::cout << "REGRESSION: " << key << " is listed as compiling but does not compile\n";
          status = 1;
        }
      }
      int fresh = 0;
      for (const std::string& key : compiling) fresh += expected.count(key) ? 0 : 1;
      if (fresh) std::cout << fresh << " signature(s) compile that " << list_path << " does not list (--update adds them)\n";
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "(" << seconds << " s)\n";
  return status;
}
