#include "cli/compile_source.h"

#include <cstdio>

#include "cli/errors.h"
#include "common/diagnostics.h"
#include "driver/compile.h"
#include "frontend/frontend.h"
#include "semantic/semantic.h"

namespace halo::cli {

void compile_model_source(const CompileRequest& request) {
  SourceFile file(request.source_path, request.source);
  Diagnostics diags;
  auto fail = [&]() {
    std::string text = render_all(diags, file);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    throw CliError("'" + request.source_path + "' does not compile:\n" + text);
  };
  auto program = frontend::parse(file, diags);
  if (!program) fail();
  auto typed = semantic::check(std::move(program), diags);
  if (!typed) fail();
  if (!diags.all().empty()) std::fprintf(stderr, "%s", render_all(diags, file).c_str());
  driver::CompileOptions options;
  options.model_name = request.model_name;
  options.output = request.output;
  std::string error;
  int code = driver::compile_model(*typed, options, diags, error);
  if (code == 1) fail();
  if (code != 0) throw CliError("compiling '" + request.source_path + "' failed: " + error);
}

}  // namespace halo::cli
