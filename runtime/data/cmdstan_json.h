// CmdStan JSON data (and init) files -> named, shaped arrays; and the checks a model runs on
// them before it trusts them.
//
// Format (../../shared/ecosystem.md section 3; Stan's src/stan/io/json/json_data_handler.hpp):
// one top-level object, each member "name": value is a variable. Int vs real is decided by the
// number token (no '.' and no exponent = int); an array mixing both is real. Non-finite values
// are the strings "Inf", "Infinity", "NaN" (any case, optional sign: "-inf", "+Infinity") or the
// bare atoms NaN, Inf, Infinity, -Inf, -Infinity. Arrays nest row-major (outer = first index) and
// must be rectangular; `[]` is an empty container. Keys that are not identifiers are ignored.
//
// Text vs path follows BridgeStan (bs_model_construct): a string ending in ".json" is a file
// path, "" is "no data", anything else is JSON text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace halo {

// Every problem with data is reported as one DataError whose what() is a complete, one-line
// message naming the variable (and index) concerned. The model-library ABI turns it into the
// BridgeStan error string.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One variable of a data file.
struct Variable {
  // Dimensions as the JSON nests them, outermost first: [[1,2,3],[4,5,6]] has dims {2, 3};
  // a scalar has dims {}. A zero dimension hides the ones inside it: [] is {0}, [[],[]] is {2, 0}.
  std::vector<size_t> dims;
  // True when every number token was an integer (vacuously true for an empty array).
  bool all_int = true;
  // All values as doubles, COLUMN-MAJOR (first index fastest; Stan's internal order):
  // element (i0, i1, ..., ik) sits at i0 + d0 * (i1 + d1 * (i2 + ...)).
  std::vector<double> values;
  // The same values exactly, column-major, filled only when all_int.
  std::vector<int64_t> ints;
  // Column-major index of the first real (non-integer) token in file order; meaningful only
  // when !all_int. Used to name the offending element when an int was declared.
  size_t first_real = 0;

  size_t size() const { return values.size(); }
};

// The variables of one data file. Problems inside one variable's value (ragged array, a string
// or boolean where a number belongs, a tuple object) are recorded, not thrown, so that extra
// entries the model never reads cannot break a run; they are thrown by get() / check_variable()
// when that variable is asked for, or all at once by throw_first_problem().
class DataSet {
 public:
  // nullptr when absent or unusable.
  const Variable* find(std::string_view name) const;
  // Throws DataError when missing ("variable 'y' is missing from the data") or unusable.
  const Variable& get(std::string_view name) const;
  bool contains(std::string_view name) const;  // present and usable
  // Names of usable variables, sorted.
  std::vector<std::string> names() const;
  // The recorded problem of `name`, or nullptr.
  const std::string* problem(std::string_view name) const;
  void throw_first_problem() const;
  size_t size() const { return vars_.size(); }
  bool empty() const { return vars_.empty() && problems_.empty(); }

  // Building (used by the parser; tests may build data sets by hand).
  void add(std::string name, Variable v);
  void add_problem(std::string name, std::string message);

 private:
  std::map<std::string, Variable, std::less<>> vars_;
  std::map<std::string, std::string, std::less<>> problems_;
};

// Parses JSON text. Malformed JSON throws DataError "malformed JSON data at line L, column C:
// <what>"; `source` (a file name, or "" for text) prefixes the message when given.
DataSet parse_cmdstan_json(std::string_view json_text, std::string_view source = {});
// Reads and parses a file.
DataSet read_cmdstan_json_file(const std::string& path);
// BridgeStan's rule: a path when `text_or_path` ends in ".json", an empty data set for "",
// otherwise JSON text.
DataSet load_cmdstan_json(std::string_view text_or_path);

// What a model declares about one data variable, with sizes already resolved to numbers.
struct VarSpec {
  std::string name;
  bool is_int = false;
  // Declared dimensions, outermost first, in the same convention as Variable::dims: array
  // dims, then vector length, or matrix rows, cols. {} for a scalar.
  std::vector<size_t> dims;
  std::optional<double> lower;
  std::optional<double> upper;
  // Stan accepts inf and nan in real data unless a constraint rules them out.
  bool allow_non_finite = true;
};

// Checks one declared variable against the data and throws one DataError naming the variable
// (and the first offending element, Stan bracket style, 1-based: y[3], X[2, 5]) when:
//   missing                 variable 'y' is missing from the data
//   wrong shape             'X' should be 5000 x 25, found 5000 x 24
//   real for an int         'N' is declared int but the data has 3.5
//   non-finite disallowed   'y[2]' = inf, but 'y' must be finite
//   bound violated          'sigma[3]' = -1 violates lower=0
// A declared size of zero is satisfied by an absent variable or any empty array (JSON cannot
// spell the inner sizes of an empty array).
// Returns the variable (nullptr for an absent zero-size one).
const Variable* check_variable(const DataSet& data, const VarSpec& spec);

// "y", "y[3]", "X[2, 5]": the element at column-major offset `offset` of an array of `dims`.
std::string element_name(std::string_view name, const std::vector<size_t>& dims, size_t offset);
// Shortest text that reads back as the same double ("0.1", "-1", "1e+300", "inf", "nan").
std::string format_number(double x);

}  // namespace halo
