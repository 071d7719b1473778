// haloc: the Halo compiler driver. Reads as the pipeline:
//   text -> frontend::parse -> semantic::check -> (ir -> ad -> codegen -> model.so)
// Each stage can be printed with --dump=<stage>.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/diagnostics.h"
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
  bool check_only = false;
  app.add_option("model", input, "the .model file to compile")->required();
  app.add_option("--dump", dump, "print one stage and stop: tokens, ast, typed")
      ->check(CLI::IsMember({"tokens", "ast", "typed"}));
  app.add_flag("--check", check_only, "check the program (syntax, names, types) and stop");
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

  auto program = halo::frontend::parse(file, diags);
  if (!program) {
    report();
    return 1;
  }
  if (dump == "ast") {
    std::cout << halo::ast::print(*program, /*with_types=*/false);
    return 0;
  }

  auto typed = halo::semantic::check(std::move(program), diags);
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

  std::fprintf(stderr, "haloc: the back end (ir, ad, codegen) is not built yet; use --check or --dump\n");
  return 2;
}
