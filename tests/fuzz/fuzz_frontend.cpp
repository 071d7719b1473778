// libFuzzer target for the front end: any byte string must give either a typed program or
// diagnostics, never a crash, a hang, or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/diagnostics.h"
#include "frontend/frontend.h"
#include "semantic/semantic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  halo::SourceFile file("fuzz.model", std::string(reinterpret_cast<const char*>(data), size));
  halo::Diagnostics diags;
  auto program = halo::frontend::parse(file, diags);
  if (program) program = halo::semantic::check(std::move(program), diags);
  // Rendering exercises the span arithmetic of every diagnostic.
  (void)halo::render_all(diags, file);
  return 0;
}
