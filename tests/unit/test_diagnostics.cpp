#include <doctest/doctest.h>

#include "common/diagnostics.h"

using namespace halo;

TEST_CASE("diagnostics render the place, the line and a caret under the span") {
  SourceFile file("m.model", "data {\n  real x\n}\n");
  Diagnostics diags;
  Span s{2, 9, 2, 10};
  Diagnostic& d = diags.error(s, "expected ';' after the declaration of 'x'");
  d.found = "'}'";
  d.expected = "';'";
  CHECK(render(d, file) ==
        "m.model:2:9: error: expected ';' after the declaration of 'x'\n"
        " 2 |   real x\n"
        "   |         ^\n"
        "  found: '}'\n"
        "  expected: ';'\n");
}

TEST_CASE("a multi-character span is underlined") {
  SourceFile file("m.model", "  sigam ~ normal(0, 1);\n");
  Diagnostic d{Severity::Error, Span{1, 3, 1, 8}, "unknown name 'sigam'", {}, {}, "did you mean 'sigma'?"};
  CHECK(render(d, file) ==
        "m.model:1:3: error: unknown name 'sigam'\n"
        " 1 |   sigam ~ normal(0, 1);\n"
        "   |   ^~~~~\n"
        "  hint: did you mean 'sigma'?\n");
}

TEST_CASE("closest_match finds plausible typos only") {
  CHECK(closest_match("sigam", {"sigma", "mu", "tau"}) == "sigma");
  CHECK(closest_match("nromal", {"normal", "lognormal"}) == "normal");
  CHECK(closest_match("x", {"sigma", "mu"}) == "");
  CHECK(closest_match("completely_different", {"sigma"}) == "");
}

TEST_CASE("diagnostics are sorted by position") {
  Diagnostics diags;
  diags.error(Span{3, 1, 3, 2}, "b");
  diags.error(Span{1, 5, 1, 6}, "a");
  auto s = diags.sorted();
  REQUIRE(s.size() == 2);
  CHECK(s[0].message == "a");
  CHECK(diags.error_count() == 2);
}
