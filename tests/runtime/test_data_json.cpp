// CmdStan JSON data: every rule of shared/ecosystem.md section 3 and every error message the
// model library relies on.
#include <doctest/doctest.h>

#include <charconv>
#include <functional>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "data/cmdstan_json.h"

using halo::check_variable;
using halo::DataError;
using halo::DataSet;
using halo::parse_cmdstan_json;
using halo::Variable;
using halo::VarSpec;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string parse_error(const std::string& json) {
  return error_of([&] { parse_cmdstan_json(json); });
}

std::string check_error(const std::string& json, const VarSpec& spec) {
  return error_of([&] { check_variable(parse_cmdstan_json(json), spec); });
}

VarSpec spec(std::string name, std::vector<size_t> dims, bool is_int = false) {
  VarSpec s;
  s.name = std::move(name);
  s.dims = std::move(dims);
  s.is_int = is_int;
  return s;
}

std::string scratch_dir() {
  std::string dir = HALO_TEST_SCRATCH_DIR;
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("json: int vs real is decided by the token") {
  DataSet d = parse_cmdstan_json(
      R"({"N": 5, "x": 2.5, "e": 1e3, "one": 1.0, "neg": -7, "z": -0, "E": 2E-2})");
  CHECK(d.get("N").all_int);
  CHECK(d.get("N").ints == std::vector<int64_t>{5});
  CHECK(d.get("N").dims.empty());
  CHECK(d.get("N").values == std::vector<double>{5.0});
  CHECK_FALSE(d.get("x").all_int);
  CHECK(d.get("x").values == std::vector<double>{2.5});
  CHECK(d.get("x").ints.empty());
  CHECK_FALSE(d.get("e").all_int);  // exponent -> real even if integral
  CHECK(d.get("e").values[0] == 1000.0);
  CHECK_FALSE(d.get("one").all_int);  // "1.0" is a real token
  CHECK(d.get("neg").ints[0] == -7);
  CHECK(d.get("z").all_int);
  CHECK_FALSE(d.get("E").all_int);
  CHECK(d.get("E").values[0] == doctest::Approx(0.02));
}

TEST_CASE("json: arrays, mixed arrays promoted to real, exact int64") {
  DataSet d = parse_cmdstan_json(
      R"({"y": [1, 2, 3], "m": [1, 2.5, 3], "big": [9007199254740993, -9223372036854775808]})");
  const Variable& y = d.get("y");
  CHECK(y.dims == std::vector<size_t>{3});
  CHECK(y.all_int);
  CHECK(y.ints == std::vector<int64_t>{1, 2, 3});
  const Variable& m = d.get("m");
  CHECK_FALSE(m.all_int);
  CHECK(m.values == std::vector<double>{1, 2.5, 3});
  CHECK(m.first_real == 1);
  const Variable& big = d.get("big");
  REQUIRE(big.all_int);
  CHECK(big.ints[0] == 9007199254740993LL);  // not representable as a double: kept exactly
  CHECK(big.ints[1] == std::numeric_limits<int64_t>::min());
}

TEST_CASE("json: integers beyond 64 bits are reals, as in Stan") {
  DataSet d = parse_cmdstan_json(
      R"({"u": 18446744073709551615, "huge": [1, 123456789012345678901234567890], "neg": -99999999999999999999})");
  CHECK_FALSE(d.get("u").all_int);
  CHECK(d.get("u").values[0] == 18446744073709551615.0);
  CHECK_FALSE(d.get("huge").all_int);
  CHECK(d.get("huge").values[1] == doctest::Approx(1.2345678901234568e29));
  CHECK(d.get("neg").values[0] == doctest::Approx(-1e20));
  CHECK(parse_error(R"({"x": 1e400})") ==
        "malformed JSON data at line 1, column 7: number 1e400 is too large for a double");
}

TEST_CASE("json: a matrix is an array of rows, stored column-major") {
  DataSet d = parse_cmdstan_json(R"({"X": [[1, 2, 3], [4, 5, 6]]})");
  const Variable& x = d.get("X");
  CHECK(x.dims == std::vector<size_t>{2, 3});
  CHECK(x.values == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(x.ints == std::vector<int64_t>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("json: a 3-d array is converted to column-major (first index fastest)") {
  // a[i][j][k] = 100 i + 10 j + k (0-based), dims 2 x 3 x 4.
  std::string json = "{\"a\": [";
  for (int i = 0; i < 2; ++i) {
    json += i ? ", [" : "[";
    for (int j = 0; j < 3; ++j) {
      json += j ? ", [" : "[";
      for (int k = 0; k < 4; ++k) {
        json += (k ? ", " : "") + std::to_string(100 * i + 10 * j + k) + (i == 1 && j == 2 && k == 3 ? ".5" : "");
      }
      json += "]";
    }
    json += "]";
  }
  json += "]}";
  DataSet d = parse_cmdstan_json(json);
  const Variable& a = d.get("a");
  REQUIRE(a.dims == std::vector<size_t>{2, 3, 4});
  CHECK_FALSE(a.all_int);  // the last element is 123.5
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        double expected = 100 * i + 10 * j + k + (i == 1 && j == 2 && k == 3 ? 0.5 : 0.0);
        CHECK(a.values[i + 2 * (j + 3 * k)] == expected);
      }
  // The first real token (file order) is the last element, a[2, 3, 4] in 1-based terms.
  CHECK(halo::element_name("a", a.dims, a.first_real) == "a[2, 3, 4]");
}

TEST_CASE("json: first real element of a matrix is reported in Stan bracket style") {
  DataSet d = parse_cmdstan_json(R"({"K": [[1, 2, 3], [4, 5.5, 6]]})");
  CHECK(check_error(R"({"K": [[1, 2, 3], [4, 5.5, 6]]})", spec("K", {2, 3}, true)) ==
        "'K' is declared int but the data has K[2, 2] = 5.5");
  CHECK(halo::element_name("K", {2, 3}, d.get("K").first_real) == "K[2, 2]");
}

TEST_CASE("json: non-finite values as strings and bare atoms") {
  DataSet d = parse_cmdstan_json(R"({
    "s": ["Inf", "Infinity", "-Inf", "-Infinity", "NaN", "+inf", "-inf", "inf", "nan", "+Infinity"],
    "bare": [NaN, Infinity, -Infinity, Inf, -Inf, 1],
    "one": NaN,
    "ni": -Infinity
  })");
  const double inf = std::numeric_limits<double>::infinity();
  const Variable& s = d.get("s");
  CHECK_FALSE(s.all_int);
  std::vector<double> expected = {inf, inf, -inf, -inf, NAN, inf, -inf, inf, NAN, inf};
  REQUIRE(s.values.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      CHECK(std::isnan(s.values[i]));
    } else {
      CHECK(s.values[i] == expected[i]);
    }
  }
  const Variable& bare = d.get("bare");
  CHECK(std::isnan(bare.values[0]));
  CHECK(bare.values[1] == inf);
  CHECK(bare.values[2] == -inf);
  CHECK(bare.values[3] == inf);
  CHECK(bare.values[4] == -inf);
  CHECK(bare.values[5] == 1.0);
  CHECK(std::isnan(d.get("one").values[0]));
  CHECK(d.get("one").dims.empty());
  CHECK(d.get("ni").values[0] == -inf);
  // Atoms inside strings are left alone; other strings are a problem of that variable only.
  DataSet e = parse_cmdstan_json(R"({"label": "NaN and more", "x": 1})");
  CHECK(e.get("x").values[0] == 1.0);
  CHECK(error_of([&] { e.get("label"); }) ==
        "data variable 'label' holds the string \"NaN and more\"; only numbers (and \"Inf\", "
        "\"-Inf\", \"NaN\") are allowed");
}

TEST_CASE("json: empty arrays") {
  DataSet d = parse_cmdstan_json(R"({"e": [], "e2": [[], []], "N": 0})");
  CHECK(d.get("e").dims == std::vector<size_t>{0});
  CHECK(d.get("e").all_int);
  CHECK(d.get("e").size() == 0);
  CHECK(d.get("e2").dims == std::vector<size_t>{2, 0});
  // Declared zero sizes accept [] whatever the inner sizes, and an absent variable.
  CHECK(check_variable(d, spec("e", {0})) != nullptr);
  CHECK(check_variable(d, spec("e", {0, 5})) != nullptr);
  CHECK(check_variable(d, spec("e2", {2, 0})) != nullptr);
  CHECK(check_variable(d, spec("absent", {0, 3})) == nullptr);
  CHECK(check_error(R"({"e": []})", spec("e", {3})) == "'e' should have 3 elements, found 0");
  CHECK(check_error(R"({"e": [[], []]})", spec("e", {0})) ==
        "'e' should be a list of 0, found 2 x 0");
  CHECK(check_error(R"({"e": [[], [1]]})", spec("e", {2, 0})) ==
        "e[2]: expected 0 elements, found 1 (data variable 'e' must be a rectangular array)");
}

TEST_CASE("json: ragged arrays name the variable and the index path") {
  // A 5 x 25 matrix whose third row has 24 elements.
  std::string json = "{\"X\": [";
  for (int r = 0; r < 5; ++r) {
    json += r ? ", [" : "[";
    int n = r == 2 ? 24 : 25;
    for (int c = 0; c < n; ++c) json += (c ? "," : "") + std::to_string(c);
    json += "]";
  }
  json += "], \"ok\": 1}";
  DataSet d = parse_cmdstan_json(json);
  CHECK(d.get("ok").values[0] == 1.0);  // other variables are unaffected
  CHECK_FALSE(d.contains("X"));
  const std::string expected =
      "X[3]: expected 25 elements, found 24 (data variable 'X' must be a rectangular array)";
  CHECK(error_of([&] { d.get("X"); }) == expected);
  CHECK(error_of([&] { check_variable(d, spec("X", {5, 25})); }) == expected);
  CHECK(error_of([&] { d.throw_first_problem(); }) == expected);

  CHECK(error_of([&] { parse_cmdstan_json(R"({"a": [[[1,2],[3,4]],[[5,6],[7]]]})").get("a"); }) ==
        "a[2, 2]: expected 2 elements, found 1 (data variable 'a' must be a rectangular array)");
  CHECK(error_of([&] { parse_cmdstan_json(R"({"a": [[1, 2], 3]})").get("a"); }) ==
        "a[2]: expected an array of 2 elements, found a number (data variable 'a' must be a "
        "rectangular array)");
  CHECK(error_of([&] { parse_cmdstan_json(R"({"a": [1, [2]]})").get("a"); }) ==
        "a[2]: expected a number, found an array (data variable 'a' must be a rectangular array)");
}

TEST_CASE("json: booleans, null, objects are problems of their variable") {
  DataSet d = parse_cmdstan_json(
      R"({"b": true, "n": [1, null], "t": {"1": 2}, "fine": [0.5]})");
  CHECK(d.contains("fine"));
  CHECK(error_of([&] { d.get("b"); }) == "data variable 'b' holds a boolean; only numbers are allowed");
  CHECK(error_of([&] { d.get("n"); }) == "data variable 'n': n[2] holds null; only numbers are allowed");
  CHECK(error_of([&] { d.get("t"); }) ==
        "data variable 't' is a JSON object (a tuple); tuples are not supported");
}

TEST_CASE("json: keys that are not identifiers are ignored") {
  DataSet d = parse_cmdstan_json(
      R"({"1abc": [1, [2]], "a-b": "text", "_x": true, "": 3, "a b": 1, "ok_1": 1, "x.y": 2})");
  CHECK(d.names() == std::vector<std::string>{"ok_1"});
  CHECK(d.problem("a-b") == nullptr);
  CHECK_NOTHROW(d.throw_first_problem());
}

TEST_CASE("json: malformed text gives line and column") {
  CHECK(parse_error("{\"a\": 1,\n \"b\": 2\n \"c\": 3}") ==
        "malformed JSON data at line 3, column 2: expected ',' or '}' after an object member, found '\"'");
  CHECK(parse_error(R"({"a": [1, 2,]})") ==
        "malformed JSON data at line 1, column 13: a trailing comma is not allowed before ']'");
  CHECK(parse_error(R"({"a": [1 2]})") ==
        "malformed JSON data at line 1, column 10: expected ',' or ']' after an array element, found '2'");
  CHECK(parse_error("{\"a\": \"abc}") ==
        "malformed JSON data at line 1, column 7: unterminated string");
  CHECK(parse_error("{'a': 1}") ==
        "malformed JSON data at line 1, column 2: expected a key in double quotes, found a single "
        "quote (JSON strings need double quotes)");
  CHECK(parse_error(R"({"a": 01})") ==
        "malformed JSON data at line 1, column 7: invalid number: leading zeros are not allowed");
  CHECK(parse_error(R"({"a": 1} x)") ==
        "malformed JSON data at line 1, column 10: unexpected 'x' after the end of the JSON value");
  CHECK(parse_error(R"({"a": True})") ==
        "malformed JSON data at line 1, column 7: unexpected 'True'; expected a value (a number, "
        "string, array or object)");
  CHECK(parse_error("  ") == "malformed JSON data at line 1, column 3: the text is empty; expected a JSON object");
  CHECK(parse_error("{\"a\": [1,\n2,\n") ==
        "malformed JSON data at line 3, column 1: unexpected end of the text; expected a value");
  // Columns count characters: the 'é' (two bytes) is one column.
  CHECK(parse_error("{\"é\": 1 \"b\": 2}") ==
        "malformed JSON data at line 1, column 9: expected ',' or '}' after an object member, found '\"'");
}

TEST_CASE("json: structure errors") {
  CHECK(parse_error("[1, 2]") ==
        "the data must be a JSON object ({\"name\": value, ...}), found an array");
  CHECK(parse_error(R"({"a": 1, "a": 2})") == "variable 'a' is defined twice in the data");
  CHECK(parse_cmdstan_json("{}").empty());
}

TEST_CASE("json: text vs path, as BridgeStan decides") {
  std::string path = scratch_dir() + "/small.data.json";
  {
    std::ofstream f(path);
    f << R"({"N": 3, "y": [1, 0, 1]})";
  }
  DataSet from_file = halo::load_cmdstan_json(path);
  CHECK(from_file.get("y").ints == std::vector<int64_t>{1, 0, 1});
  DataSet from_text = halo::load_cmdstan_json(R"({"N": 3})");
  CHECK(from_text.get("N").ints[0] == 3);
  CHECK(halo::load_cmdstan_json("").empty());
  std::string missing = scratch_dir() + "/no-such-file.json";
  CHECK(error_of([&] { halo::load_cmdstan_json(missing); }) ==
        "could not open data file '" + missing + "': No such file or directory");
  // Errors in a file name the file.
  std::string bad = scratch_dir() + "/bad.json";
  {
    std::ofstream f(bad);
    f << "{\"N\": 3,\n\"y\": [1, 0 1]}";
  }
  CHECK(error_of([&] { halo::load_cmdstan_json(bad); }) ==
        bad + ": malformed JSON data at line 2, column 12: expected ',' or ']' after an array element, found '1'");
}

TEST_CASE("check_variable: one clear message per problem") {
  CHECK(check_error(R"({"N": 3})", spec("y", {3})) == "variable 'y' is missing from the data");

  // 'X' should be 5000 x 25, found 5000 x 24 (the example of the issue, at full size).
  std::string json = "{\"X\": [";
  for (int r = 0; r < 5000; ++r) {
    json += r ? ",[" : "[";
    for (int c = 0; c < 24; ++c) json += c ? ",0.5" : "0.5";
    json += "]";
  }
  json += "]}";
  CHECK(check_error(json, spec("X", {5000, 25})) == "'X' should be 5000 x 25, found 5000 x 24");
  CHECK(check_error(R"({"N": [3]})", spec("N", {})) == "'N' should be a single number, found a list of 1");
  CHECK(check_error(R"({"y": 3})", spec("y", {2})) == "'y' should be a list of 2, found a single number");
  CHECK(check_error(R"({"y": [1, 2, 3]})", spec("y", {4})) == "'y' should have 4 elements, found 3");

  CHECK(check_error(R"({"N": 3.5})", spec("N", {}, true)) == "'N' is declared int but the data has 3.5");
  CHECK(check_error(R"({"N": 3.0})", spec("N", {}, true)) == "'N' is declared int but the data has 3.0");
  CHECK(check_error(R"({"y": [1, 0, 2.0, 1]})", spec("y", {4}, true)) ==
        "'y' is declared int but the data has y[3] = 2.0");
  CHECK(check_error(R"({"N": "NaN"})", spec("N", {}, true)) == "'N' is declared int but the data has nan");
  // A real may be written as an int.
  CHECK(check_error(R"({"x": 17})", spec("x", {})) == "<no error>");

  VarSpec sigma = spec("sigma", {4});
  sigma.lower = 0.0;
  CHECK(check_error(R"({"sigma": [1, 2, -1, 3]})", sigma) == "'sigma[3]' = -1 violates lower=0");
  CHECK(check_error(R"({"sigma": [1, 2, "NaN", 3]})", sigma) == "'sigma[3]' = nan violates lower=0");
  CHECK(check_error(R"({"sigma": [1, 2, 0, 3]})", sigma) == "<no error>");
  VarSpec p = spec("p", {});
  p.lower = 0.0;
  p.upper = 1.0;
  CHECK(check_error(R"({"p": 1.25})", p) == "'p' = 1.25 violates upper=1");
  VarSpec m = spec("M", {2, 3});
  m.upper = 10.0;
  CHECK(check_error(R"({"M": [[1, 2, 3], [4, 5, 60]]})", m) == "'M[2, 3]' = 60 violates upper=10");

  VarSpec finite = spec("z", {3});
  finite.allow_non_finite = false;
  CHECK(check_error(R"({"z": [1, "Inf", 2]})", finite) == "'z[2]' = inf, but 'z' must be finite");
  CHECK(check_error(R"({"z": [1, "Inf", 2]})", spec("z", {3})) == "<no error>");
}

TEST_CASE("json: a 40 MB data file loads fast (time printed, not asserted)") {
  // 400000 x 5 matrix of reals (17 significant digits) + 400000 ints: about 44 MB.
  const size_t rows = 400000, cols = 5;
  std::mt19937_64 rng(20240601);
  std::normal_distribution<double> normal(0.0, 3.0);
  std::vector<double> rm(rows * cols);
  for (double& x : rm) x = normal(rng);
  std::string text;
  text.reserve(48u << 20);
  text += "{\"N\": " + std::to_string(rows) + ", \"X\": [";
  char buf[64];
  for (size_t r = 0; r < rows; ++r) {
    text += r ? ",\n[" : "[";
    for (size_t c = 0; c < cols; ++c) {
      if (c) text += ", ";
      auto res = std::to_chars(buf, buf + sizeof buf, rm[r * cols + c], std::chars_format::general, 17);
      text.append(buf, res.ptr);
    }
    text += "]";
  }
  text += "],\n\"y\": [";
  for (size_t r = 0; r < rows; ++r) {
    if (r) text += ",";
    text += std::to_string((r * 7919) % 1000003);
  }
  text += "]}\n";
  std::string path = scratch_dir() + "/large.data.json";
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  auto t0 = std::chrono::steady_clock::now();
  DataSet d = halo::load_cmdstan_json(path);
  auto t1 = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(t1 - t0).count();
  MESSAGE("read_cmdstan_json_file: " << text.size() / 1e6 << " MB in " << seconds << " s");
  std::printf("[timing] CmdStan JSON %.1f MB loaded in %.3f s\n", text.size() / 1e6, seconds);
  const Variable& x = d.get("X");
  REQUIRE(x.dims == std::vector<size_t>{rows, cols});
  // Exact round trip, column-major.
  for (size_t r : {size_t(0), size_t(1), rows / 2, rows - 1}) {
    for (size_t c = 0; c < cols; ++c) CHECK(x.values[r + rows * c] == rm[r * cols + c]);
  }
  CHECK(d.get("y").ints[rows - 1] == static_cast<int64_t>(((rows - 1) * 7919) % 1000003));
  std::filesystem::remove(path);
}
