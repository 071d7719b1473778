// haloc: the Halo compiler driver. Reads as the pipeline:
//   text -> frontend::parse -> semantic::check -> (ir -> ad -> codegen -> model.so)
// Each stage can be printed with --dump=<stage>.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/diagnostics.h"
#include "driver/compile.h"
#include "frontend/frontend.h"
#include "semantic/semantic.h"

namespace {

bool read_file(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  text = ss.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"haloc: compile a Halo .model file into a native model library"};
  app.set_version_flag("--version", std::string("haloc ") + HALO_VERSION);
  std::string input;
  std::string dump;
  std::string output;
  bool check_only = false;
  int opt_level = 3;
  std::string target_cpu;
  app.add_option("model", input, "the .model file to compile")->required();
  app.add_option("-o,--output", output, "the model library to write (default: <model>.so beside the model)");
  app.add_option("--dump", dump, "print one stage and stop: tokens, ast, typed, ir, grad-ir, llvm, asm")
      ->check(CLI::IsMember({"tokens", "ast", "typed", "ir", "grad-ir", "llvm", "asm"}));
  app.add_flag("--check", check_only, "check the program (syntax, names, types) and stop");
  app.add_option("-O", opt_level, "optimisation level 0..3 (default 3)")->check(CLI::Range(0, 3));
  bool timings = false;
  app.add_flag("--time", timings, "print the time each stage took to stderr");
  app.add_option("--target-cpu", target_cpu, "generate code for this CPU (default: the host's), e.g. x86-64-v3");
  CLI11_PARSE(app, argc, argv);

  std::string text;
  if (!read_file(input, text)) {
    std::fprintf(stderr, "haloc: error: cannot read '%s'\n", input.c_str());
    return 1;
  }
  halo::SourceFile file(input, std::move(text));

  if (dump == "tokens") {
    std::cout << halo::frontend::dump_tokens(file);
    return 0;
  }

  halo::Diagnostics diags;
  auto report = [&]() {
    std::cerr << halo::render_all(diags, file);
    if (diags.has_errors()) {
      size_t n = diags.error_count();
      std::cerr << n << (n == 1 ? " error" : " errors") << " in " << file.path() << "\n";
    }
  };

  using clock = std::chrono::steady_clock;
  auto stage_start = clock::now();
  auto lap = [&](const char* stage) {
    auto now = clock::now();
    if (timings)
      std::fprintf(stderr, "haloc: %-8s %8.3f ms\n", stage,
                   std::chrono::duration<double, std::milli>(now - stage_start).count());
    stage_start = now;
  };
  auto program = halo::frontend::parse(file, diags);
  lap("parse");
  if (!program) {
    report();
    return 1;
  }
  if (dump == "ast") {
    std::cout << halo::ast::print(*program, /*with_types=*/false);
    return 0;
  }

  auto typed = halo::semantic::check(std::move(program), diags);
  lap("check");
  if (!typed) {
    report();
    return 1;
  }
  if (!diags.all().empty()) report();  // warnings only
  if (dump == "typed") {
    std::cout << halo::ast::print(*typed, /*with_types=*/true);
    return 0;
  }
  if (check_only) return 0;

  halo::driver::CompileOptions options;
  std::string stem = input;
  if (auto slash = stem.find_last_of('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
  if (auto dot = stem.rfind(".model"); dot != std::string::npos && dot + 6 == stem.size()) stem = stem.substr(0, dot);
  options.model_name = stem;
  options.output = output.empty() ? input.substr(0, input.size() - (input.size() >= 6 && input.compare(input.size() - 6, 6, ".model") == 0 ? 6 : 0)) + ".so" : output;
  options.dump = dump;
  options.opt_level = opt_level;
  options.target_cpu = target_cpu;
  std::string error;
  int code = halo::driver::compile_model(*typed, options, diags, error);
  lap("back end");
  if (code == 1) report();
  if (code == 2) std::fprintf(stderr, "haloc: error: %s\n", error.c_str());
  return code;
}
