#include "codegen/target.h"

#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <lld/Common/Driver.h>

#include <cstdio>
#include <mutex>
#include <unistd.h>

LLD_HAS_DRIVER(elf)

namespace halo::codegen {

namespace {

void initialise_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

// glibc 2.36's libmvec has AVX2 (4 x f64, "_ZGVdN4v_") and AVX-512 (8 x f64, "_ZGVeN8v_")
// variants of these; LLVM 19's LIBMVEC_X86 table maps only sin, cos, tan, exp, log and pow.
const char* const kExtraVectorFunctions[] = {
    "log1p", "expm1", "tanh", "sinh", "cosh", "erf", "erfc", "exp2", "log2", "log10",
    "cbrt", "atan", "asin", "acos", "asinh", "acosh", "atanh",
};

}  // namespace

Target::~Target() = default;

std::unique_ptr<Target> Target::create(const TargetOptions& options, std::string& error) {
  initialise_llvm();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) {
    error = llvm::toString(builder.takeError());
    return nullptr;
  }
  if (!options.cpu.empty()) {
    builder->setCPU(options.cpu);
    builder->getFeatures() = llvm::SubtargetFeatures(options.features);
  } else if (!options.features.empty()) {
    builder->getFeatures().AddFeature(options.features);
  }
  // detectHost() defaults to the large code model, meant for JIT; a shared library wants the
  // small one with PIC (toolchain.md, pitfall 5).
  builder->setCodeModel(llvm::CodeModel::Small);
  builder->setRelocationModel(llvm::Reloc::PIC_);
  llvm::CodeGenOptLevel level = options.opt_level <= 0   ? llvm::CodeGenOptLevel::None
                                : options.opt_level == 1 ? llvm::CodeGenOptLevel::Less
                                : options.opt_level == 2 ? llvm::CodeGenOptLevel::Default
                                                         : llvm::CodeGenOptLevel::Aggressive;
  builder->setCodeGenOptLevel(level);
  auto machine = builder->createTargetMachine();
  if (!machine) {
    error = llvm::toString(machine.takeError());
    return nullptr;
  }
  std::unique_ptr<Target> target(new Target());
  target->options_ = options;
  target->machine_ = std::move(*machine);
  return target;
}

void Target::configure(llvm::Module& module) const {
  module.setTargetTriple(machine_->getTargetTriple().str());
  module.setDataLayout(machine_->createDataLayout());
}

void Target::optimize(llvm::Module& module) const {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // The loop vectoriser gives the remainder of a vectorised loop its own vector loop only when
  // the main loop's vector factor is 16 or more: with AVX-512's 8 doubles (interleaved 4 times,
  // 32 per iteration) a loop over a dozen data points (eight schools, a GP's 11 x 11 matrix,
  // a regression's few predictors) then ran entirely scalar. From 8 on it runs 8 at a time:
  // eight_schools' gradient -20%, kilpisjarvi's -12%, gp_pois_regr's -3%, large loops
  // unchanged (measured on every benchmarked model).
  static std::once_flag llvm_flags;
  std::call_once(llvm_flags, [] {
    const char* argv[] = {"haloc", "-epilogue-vectorization-minimum-VF=8"};
    // An LLVM without the option would print to the null stream and carry on (not exit).
    llvm::cl::ParseCommandLineOptions(2, argv, "", &llvm::nulls());
  });
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = options_.opt_level >= 2;
  tuning.SLPVectorization = options_.opt_level >= 2;
  llvm::PassBuilder pb(machine_.get(), tuning);

  llvm::Triple triple(module.getTargetTriple());
  llvm::TargetLibraryInfoImpl tlii(triple);
  tlii.addVectorizableFunctionsFromVecLib(llvm::TargetLibraryInfoImpl::LIBMVEC_X86, triple);
  std::vector<llvm::VecDesc> extra;
  // VecDesc keeps StringRefs: the names must outlive the analysis, hence static storage.
  static std::vector<std::string> names, intrinsics;
  static std::once_flag once;
  std::call_once(once, [] {
    for (const char* f : kExtraVectorFunctions) {
      names.push_back(std::string("_ZGVdN4v_") + f);
      names.push_back(std::string("_ZGVeN8v_") + f);
      intrinsics.push_back(std::string("llvm.") + f + ".f64");
    }
  });
  for (size_t i = 0; i < sizeof kExtraVectorFunctions / sizeof *kExtraVectorFunctions; ++i) {
    const char* f = kExtraVectorFunctions[i];
    // Clang 19 emits some of these as intrinsics (std::tanh -> llvm.tanh.f64, likewise sinh,
    // cosh, asin, acos, atan): the vectoriser looks those up by the intrinsic's name. Without it
    // a tanh layer ran scalar libm (half the time of a 128-wide tanh network).
    for (llvm::StringRef scalar : {llvm::StringRef(f), llvm::StringRef(intrinsics[i])}) {
      extra.push_back(llvm::VecDesc(scalar, names[2 * i], llvm::ElementCount::getFixed(4), false, "_ZGV_LLVM_N4v"));
      extra.push_back(llvm::VecDesc(scalar, names[2 * i + 1], llvm::ElementCount::getFixed(8), false,
                                    "_ZGV_LLVM_N8v"));
    }
  }
  tlii.addVectorizableFunctions(extra);
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });

  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = options_.opt_level <= 0   ? llvm::OptimizationLevel::O0
                                  : options_.opt_level == 1 ? llvm::OptimizationLevel::O1
                                  : options_.opt_level == 2 ? llvm::OptimizationLevel::O2
                                                            : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = level == llvm::OptimizationLevel::O0
                                    ? pb.buildO0DefaultPipeline(level)
                                    : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
}

namespace {
bool emit(llvm::TargetMachine& machine, llvm::Module& module, llvm::CodeGenFileType type,
          std::string& out, std::string& error) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, stream, nullptr, type)) {
    error = "the target cannot emit this file type";
    return false;
  }
  pm.run(module);
  out.assign(buffer.begin(), buffer.end());
  return true;
}
}  // namespace

bool Target::emit_object(llvm::Module& module, std::string& bytes, std::string& error) const {
  return emit(*machine_, module, llvm::CodeGenFileType::ObjectFile, bytes, error);
}

bool Target::emit_assembly(llvm::Module& module, std::string& text, std::string& error) const {
  return emit(*machine_, module, llvm::CodeGenFileType::AssemblyFile, text, error);
}

bool link_shared_library(const std::vector<std::string>& objects, const std::string& output,
                         std::string& error) {
  // lld's driver state is global: one link at a time per process.
  static std::mutex lld_mutex;
  std::lock_guard<std::mutex> lock(lld_mutex);
  std::string temporary = output + ".tmp." + std::to_string(::getpid());
  // --eh-frame-hdr: the unwinder finds the FDEs of C++ code linked in (the model runtime)
  // through PT_GNU_EH_FRAME; without it a thrown exception terminates the process.
  std::vector<std::string> args = {"ld.lld", "-shared", "--eh-frame-hdr", "--as-needed", "-o", temporary,
                                   "-L/lib/x86_64-linux-gnu", "-L/usr/lib/x86_64-linux-gnu"};
  for (const auto& o : objects) args.push_back(o);
  for (const char* lib : {"-lmvec", "-lm", "-lc"}) args.push_back(lib);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::string out_text, err_text;
  llvm::raw_string_ostream out(out_text), err(err_text);
  lld::Result result = lld::lldMain(argv, out, err, {{lld::Gnu, &lld::elf::link}});
  out.flush();
  err.flush();
  if (result.retCode != 0) {
    std::remove(temporary.c_str());
    error = "linking failed: " + err_text;
    return false;
  }
  if (std::rename(temporary.c_str(), output.c_str()) != 0) {
    std::remove(temporary.c_str());
    error = "cannot write '" + output + "'";
    return false;
  }
  return true;
}

}  // namespace halo::codegen
