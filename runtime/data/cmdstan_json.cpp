#include "data/cmdstan_json.h"

#include <simdjson.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "data/json_syntax.h"

namespace halo {

// ---------------------------------------------------------------------------------------------
// DataSet

const Variable* DataSet::find(std::string_view name) const {
  auto it = vars_.find(name);
  return it == vars_.end() ? nullptr : &it->second;
}

const std::string* DataSet::problem(std::string_view name) const {
  auto it = problems_.find(name);
  return it == problems_.end() ? nullptr : &it->second;
}

const Variable& DataSet::get(std::string_view name) const {
  if (const Variable* v = find(name)) return *v;
  if (const std::string* p = problem(name)) throw DataError(*p);
  throw DataError("variable '" + std::string(name) + "' is missing from the data");
}

bool DataSet::contains(std::string_view name) const { return find(name) != nullptr; }

std::vector<std::string> DataSet::names() const {
  std::vector<std::string> out;
  out.reserve(vars_.size());
  for (const auto& kv : vars_) out.push_back(kv.first);
  return out;
}

void DataSet::throw_first_problem() const {
  if (!problems_.empty()) throw DataError(problems_.begin()->second);
}

void DataSet::add(std::string name, Variable v) {
  problems_.erase(name);
  vars_[std::move(name)] = std::move(v);
}

void DataSet::add_problem(std::string name, std::string message) {
  vars_.erase(name);
  problems_[std::move(name)] = std::move(message);
}

// ---------------------------------------------------------------------------------------------
// Text helpers

std::string format_number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

std::string element_name(std::string_view name, const std::vector<size_t>& dims, size_t offset) {
  std::string out(name);
  if (dims.empty()) return out;
  out += '[';
  for (size_t k = 0; k < dims.size(); ++k) {
    size_t d = dims[k] == 0 ? 1 : dims[k];
    if (k > 0) out += ", ";
    out += std::to_string(offset % d + 1);
    offset /= d;
  }
  out += ']';
  return out;
}

namespace {

// Stan's rule for a variable name (json_data_handler.hpp valid_varname): a letter, then
// letters, digits or underscores. Other keys are ignored.
bool is_identifier(std::string_view key) {
  if (key.empty() || !std::isalpha(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key.substr(1)) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// "Inf", "-Infinity", "+inf", "NaN", ... (any case, optional sign) -> the value.
bool parse_non_finite(std::string_view s, double& out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  auto iequals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    }
    return true;
  };
  if (iequals(s, "inf") || iequals(s, "infinity")) {
    out = negative ? -std::numeric_limits<double>::infinity()
                   : std::numeric_limits<double>::infinity();
    return true;
  }
  if (iequals(s, "nan")) {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  return false;
}

std::string index_path(std::string_view name, const std::vector<size_t>& path) {
  std::string out(name);
  if (path.empty()) return out;
  out += '[';
  for (size_t k = 0; k < path.size(); ++k) {
    if (k > 0) out += ", ";
    out += std::to_string(path[k] + 1);
  }
  out += ']';
  return out;
}

const char* kind_of(const simdjson::dom::element& e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    default: return "a number";
  }
}

struct ValueProblem {
  std::string message;
};

// Converts one variable's JSON value. Values are gathered in JSON (row-major) order, then
// permuted to column-major.
class VariableBuilder {
 public:
  explicit VariableBuilder(std::string_view name) : name_(name) {}

  Variable build(const simdjson::dom::element& value) {
    if (value.is_array()) {
      find_dims(value);
      size_t total = 1;
      for (size_t d : v_.dims) total *= d;
      rm_values_.reserve(total);
      if (total > 0) rm_ints_.reserve(total);
      std::vector<size_t> path;
      walk(value.get_array().value_unsafe(), 0, path);
    } else {
      std::vector<size_t> path;
      leaf(value, path);
    }
    to_column_major();
    return std::move(v_);
  }

 private:
  // Shape from the first element at each level; walk() then checks every other element.
  void find_dims(simdjson::dom::element e) {
    while (e.is_array()) {
      simdjson::dom::array a = e.get_array().value_unsafe();
      size_t n = a.size();
      v_.dims.push_back(n);
      if (n == 0) break;
      e = *a.begin();
    }
  }

  void walk(simdjson::dom::array a, size_t level, std::vector<size_t>& path) {
    size_t n = a.size();
    size_t expected = v_.dims[level];
    if (n != expected) {
      throw ValueProblem{index_path(name_, path) + ": expected " + std::to_string(expected) +
                         " elements, found " + std::to_string(n) + " (data variable '" +
                         std::string(name_) + "' must be a rectangular array)"};
    }
    bool inner_is_array = level + 1 < v_.dims.size();
    path.push_back(0);
    for (simdjson::dom::element e : a) {
      if (inner_is_array) {
        if (!e.is_array()) {
          throw ValueProblem{index_path(name_, path) + ": expected an array of " +
                             std::to_string(v_.dims[level + 1]) + " elements, found " +
                             kind_of(e) + " (data variable '" + std::string(name_) +
                             "' must be a rectangular array)"};
        }
        walk(e.get_array().value_unsafe(), level + 1, path);
      } else {
        leaf(e, path);
      }
      ++path.back();
    }
    path.pop_back();
  }

  void leaf(const simdjson::dom::element& e, const std::vector<size_t>& path) {
    switch (e.type()) {
      case simdjson::dom::element_type::INT64: {
        int64_t i = e.get_int64().value_unsafe();
        rm_values_.push_back(static_cast<double>(i));
        if (v_.all_int) rm_ints_.push_back(i);
        return;
      }
      case simdjson::dom::element_type::DOUBLE:
        push_real(e.get_double().value_unsafe());
        return;
      case simdjson::dom::element_type::UINT64:
        // Beyond int64: read as a real, as Stan promotes integers that overflow.
        push_real(static_cast<double>(e.get_uint64().value_unsafe()));
        return;
      case simdjson::dom::element_type::STRING: {
        std::string_view s = e.get_string().value_unsafe();
        double x;
        if (parse_non_finite(s, x)) {
          push_real(x);
          return;
        }
        throw ValueProblem{where(path) + " holds the string \"" + std::string(s.substr(0, 40)) +
                           "\"; only numbers (and \"Inf\", \"-Inf\", \"NaN\") are allowed"};
      }
      case simdjson::dom::element_type::ARRAY:
        throw ValueProblem{index_path(name_, path) + ": expected a number, found an array (data variable '" +
                           std::string(name_) + "' must be a rectangular array)"};
      case simdjson::dom::element_type::OBJECT:
        if (path.empty()) {
          throw ValueProblem{"data variable '" + std::string(name_) +
                             "' is a JSON object (a tuple); tuples are not supported"};
        }
        [[fallthrough]];
      default:
        throw ValueProblem{where(path) + " holds " + kind_of(e) + "; only numbers are allowed"};
    }
  }

  std::string where(const std::vector<size_t>& path) const {
    if (path.empty()) return "data variable '" + std::string(name_) + "'";
    return "data variable '" + std::string(name_) + "': " + index_path(name_, path);
  }

  void push_real(double x) {
    if (v_.all_int) {
      v_.all_int = false;
      first_real_rm_ = rm_values_.size();
      rm_ints_.clear();
      rm_ints_.shrink_to_fit();
    }
    rm_values_.push_back(x);
  }

  // Row-major offset -> column-major offset, for the whole array at once.
  template <typename T>
  static std::vector<T> permute(const std::vector<T>& rm, const std::vector<size_t>& dims) {
    std::vector<T> cm(rm.size());
    size_t rank = dims.size();
    std::vector<size_t> idx(rank, 0);
    // Column-major strides.
    std::vector<size_t> stride(rank, 1);
    for (size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * dims[k - 1];
    size_t cm_off = 0;
    for (size_t i = 0; i < rm.size(); ++i) {
      cm[cm_off] = rm[i];
      // Advance the row-major odometer (last index fastest), updating the column-major offset.
      for (size_t k = rank; k-- > 0;) {
        if (++idx[k] < dims[k]) {
          cm_off += stride[k];
          break;
        }
        cm_off -= (dims[k] - 1) * stride[k];
        idx[k] = 0;
      }
    }
    return cm;
  }

  static size_t rm_to_cm(size_t off, const std::vector<size_t>& dims) {
    size_t rank = dims.size();
    size_t cm = 0;
    size_t stride = 1;
    std::vector<size_t> idx(rank);
    for (size_t k = rank; k-- > 0;) {
      idx[k] = off % dims[k];
      off /= dims[k];
    }
    for (size_t k = 0; k < rank; ++k) {
      cm += idx[k] * stride;
      stride *= dims[k];
    }
    return cm;
  }

  void to_column_major() {
    if (v_.dims.size() <= 1) {
      v_.values = std::move(rm_values_);
      if (v_.all_int) v_.ints = std::move(rm_ints_);
      v_.first_real = first_real_rm_;
      return;
    }
    v_.values = permute(rm_values_, v_.dims);
    if (v_.all_int) v_.ints = permute(rm_ints_, v_.dims);
    if (!v_.all_int) v_.first_real = rm_to_cm(first_real_rm_, v_.dims);
  }

  std::string_view name_;
  Variable v_;
  std::vector<double> rm_values_;
  std::vector<int64_t> rm_ints_;
  size_t first_real_rm_ = 0;
};

std::string source_prefix(std::string_view source) {
  return source.empty() ? std::string() : std::string(source) + ": ";
}

DataSet build_data_set(const simdjson::dom::element& doc, std::string_view source) {
  if (!doc.is_object()) {
    throw DataError(source_prefix(source) + "the data must be a JSON object ({\"name\": value, ...}), found " +
                    kind_of(doc));
  }
  DataSet data;
  simdjson::dom::object members = doc.get_object().value_unsafe();
  for (simdjson::dom::key_value_pair field : members) {
    std::string_view key = field.key;
    if (!is_identifier(key)) continue;
    if (data.contains(key) || data.problem(key)) {
      throw DataError(source_prefix(source) + "variable '" + std::string(key) +
                      "' is defined twice in the data");
    }
    try {
      data.add(std::string(key), VariableBuilder(key).build(field.value));
    } catch (const ValueProblem& p) {
      data.add_problem(std::string(key), p.message);
    }
  }
  return data;
}

DataSet parse_padded(const simdjson::padded_string& padded, std::string_view text,
                     std::string_view source) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::error_code err = parser.parse(padded).get(doc);
  if (!err) return build_data_set(doc, source);

  // Slow path: locate the problem, or rewrite the extensions simdjson does not accept.
  json_syntax::ScanResult scan = json_syntax::scan(text);
  if (!scan.ok) {
    json_syntax::LineColumn lc = json_syntax::line_column(text, scan.error_offset);
    throw DataError(source_prefix(source) + "malformed JSON data at line " + std::to_string(lc.line) +
                    ", column " + std::to_string(lc.column) + ": " + scan.error);
  }
  if (!scan.edits.empty()) {
    std::string fixed = json_syntax::apply_edits(text, scan.edits);
    simdjson::padded_string padded_fixed(fixed);
    err = parser.parse(padded_fixed).get(doc);
    if (!err) return build_data_set(doc, source);
  }
  throw DataError(source_prefix(source) + "could not read the JSON data: " +
                  simdjson::error_message(err));
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

DataSet parse_cmdstan_json(std::string_view json_text, std::string_view source) {
  simdjson::padded_string padded(json_text);
  return parse_padded(padded, json_text, source);
}

DataSet read_cmdstan_json_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    throw DataError("could not open data file '" + path + "': " + std::strerror(errno));
  }
  if (std::fseek(f.get(), 0, SEEK_END) != 0) {
    throw DataError("could not read data file '" + path + "': " + std::strerror(errno));
  }
  long size = std::ftell(f.get());
  if (size < 0) throw DataError("could not read data file '" + path + "': " + std::strerror(errno));
  std::rewind(f.get());
  // Read straight into simdjson's padded buffer: no second copy of a large file.
  simdjson::padded_string padded(static_cast<size_t>(size));
  size_t got = std::fread(padded.data(), 1, static_cast<size_t>(size), f.get());
  if (got != static_cast<size_t>(size)) {
    throw DataError("could not read data file '" + path + "': " + std::strerror(errno));
  }
  return parse_padded(padded, std::string_view(padded.data(), padded.size()), path);
}

DataSet load_cmdstan_json(std::string_view text_or_path) {
  if (text_or_path.empty()) return DataSet();
  if (ends_with(text_or_path, ".json")) return read_cmdstan_json_file(std::string(text_or_path));
  return parse_cmdstan_json(text_or_path);
}

// ---------------------------------------------------------------------------------------------
// Validation against a declaration

namespace {

size_t product(const std::vector<size_t>& dims) {
  size_t n = 1;
  for (size_t d : dims) n *= d;
  return n;
}

std::string shape_text(const std::vector<size_t>& dims) {
  if (dims.empty()) return "a single number";
  if (dims.size() == 1) return "a list of " + std::to_string(dims[0]);
  std::string out;
  for (size_t k = 0; k < dims.size(); ++k) {
    if (k > 0) out += " x ";
    out += std::to_string(dims[k]);
  }
  return out;
}

// A real token printed so that it reads as a real: 3.0, not 3.
std::string real_token_text(double x) {
  std::string s = format_number(x);
  if (std::isfinite(x) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

const Variable* check_variable(const DataSet& data, const VarSpec& spec) {
  const std::string& name = spec.name;
  size_t declared_size = product(spec.dims);
  const Variable* v = data.find(name);
  if (v == nullptr) {
    if (const std::string* p = data.problem(name)) throw DataError(*p);
    if (declared_size == 0 && !spec.dims.empty()) return nullptr;
    throw DataError("variable '" + name + "' is missing from the data");
  }

  bool shape_ok = v->dims == spec.dims;
  if (!shape_ok && declared_size == 0 && !spec.dims.empty()) {
    shape_ok = v->size() == 0 && !v->dims.empty() && v->dims.size() <= spec.dims.size();
  }
  if (!shape_ok) {
    if (spec.dims.size() == 1 && v->dims.size() == 1) {
      throw DataError("'" + name + "' should have " + std::to_string(spec.dims[0]) +
                      " elements, found " + std::to_string(v->dims[0]));
    }
    throw DataError("'" + name + "' should be " + shape_text(spec.dims) + ", found " +
                    shape_text(v->dims));
  }

  if (spec.is_int && !v->all_int) {
    double bad = v->values[v->first_real];
    if (v->dims.empty()) {
      throw DataError("'" + name + "' is declared int but the data has " + real_token_text(bad));
    }
    throw DataError("'" + name + "' is declared int but the data has " +
                    element_name(name, v->dims, v->first_real) + " = " + real_token_text(bad));
  }

  bool check_finite = !spec.allow_non_finite;
  bool check_lower = spec.lower.has_value();
  bool check_upper = spec.upper.has_value();
  if (!(check_finite || check_lower || check_upper)) return v;
  double lo = check_lower ? *spec.lower : 0.0;
  double hi = check_upper ? *spec.upper : 0.0;
  const std::vector<double>& x = v->values;
  for (size_t i = 0; i < x.size(); ++i) {
    double xi = x[i];
    if (check_finite && !std::isfinite(xi)) {
      throw DataError("'" + element_name(name, v->dims, i) + "' = " + format_number(xi) +
                      ", but '" + name + "' must be finite");
    }
    // Written as !(x >= lo) so that NaN violates a bound, as in Stan's check_greater_or_equal.
    if (check_lower && !(xi >= lo)) {
      throw DataError("'" + element_name(name, v->dims, i) + "' = " + format_number(xi) +
                      " violates lower=" + format_number(lo));
    }
    if (check_upper && !(xi <= hi)) {
      throw DataError("'" + element_name(name, v->dims, i) + "' = " + format_number(xi) +
                      " violates upper=" + format_number(hi));
    }
  }
  return v;
}

}  // namespace halo
