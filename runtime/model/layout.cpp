#include "model/layout.h"

#include <simdjson.h>

#include <stdexcept>

namespace halo::model {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw std::runtime_error("invalid model layout in the library: " + what);
}

std::string string_field(simdjson::dom::object object, const char* key) {
  std::string_view text;
  if (object[key].get_string().get(text) != simdjson::SUCCESS) invalid(std::string("no string \"") + key + "\"");
  return std::string(text);
}

int rank_field(simdjson::dom::object object, const char* key) {
  int64_t value = 0;
  if (object[key].get_int64().get(value) != simdjson::SUCCESS || value < 0 || value > 6)
    invalid(std::string("no rank \"") + key + "\"");
  return static_cast<int>(value);
}

std::vector<VariableLayout> variables(simdjson::dom::object root, const char* key) {
  simdjson::dom::array array;
  if (root[key].get_array().get(array) != simdjson::SUCCESS) invalid(std::string("no array \"") + key + "\"");
  std::vector<VariableLayout> out;
  for (simdjson::dom::element e : array) {
    simdjson::dom::object v;
    if (e.get_object().get(v) != simdjson::SUCCESS) invalid(std::string("an entry of \"") + key + "\" is not an object");
    VariableLayout layout;
    layout.name = string_field(v, "name");
    std::string elem = string_field(v, "elem");
    if (elem != "int" && elem != "real") invalid("elem of '" + layout.name + "' is \"" + elem + "\"");
    layout.is_int = elem == "int";
    layout.array_rank = rank_field(v, "array_rank");
    layout.elem_rank = rank_field(v, "elem_rank");
    if (layout.elem_rank > 2 || layout.rank() > 6) invalid("rank of '" + layout.name + "'");
    bool row = false;
    if (v["row"].get_bool().get(row) != simdjson::SUCCESS) invalid("no \"row\" for '" + layout.name + "'");
    layout.row = row;
    layout.constraint = string_field(v, "constraint");
    out.push_back(std::move(layout));
  }
  return out;
}

}  // namespace

std::string VariableLayout::type_text() const {
  std::string element;
  switch (elem_rank) {
    case 0: element = is_int ? "int" : "real"; break;
    case 1: element = row ? "row_vector" : "vector"; break;
    default: element = "matrix"; break;
  }
  if (array_rank == 0) return element;
  return "array[" + std::string(static_cast<size_t>(array_rank - 1), ',') + "] " + element;
}

ModelLayout parse_model_layout(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(json);
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) invalid("not JSON");
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) invalid("not a JSON object");
  ModelLayout layout;
  layout.name = string_field(object, "name");
  layout.compiler_version = string_field(object, "compiler_version");
  layout.data = variables(object, "data");
  layout.transformed_data = variables(object, "transformed_data");
  layout.parameters = variables(object, "parameters");
  layout.transformed_parameters = variables(object, "transformed_parameters");
  layout.generated_quantities = variables(object, "generated_quantities");
  layout.batch_dimension = string_field(object, "batch_dimension");
  return layout;
}

}  // namespace halo::model
