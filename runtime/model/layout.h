// The model layout: what a model library's generated code tells the runtime about its data and
// parameters. haloc emits it as the NUL-terminated JSON string `halo_model_layout` (schema in
// docs/abi.md, written by compiler/driver/compile.cpp from ir::ModelLayout).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace halo::model {

struct VariableLayout {
  std::string name;
  bool is_int = false;   // "elem": "int" | "real"
  int array_rank = 0;
  int elem_rank = 0;     // 0 scalar, 1 vector / row vector, 2 matrix
  bool row = false;      // a row vector
  std::string constraint;
  int rank() const { return array_rank + elem_rank; }
  // "int", "vector", "array[,] matrix", ...: the declared type, for messages.
  std::string type_text() const;
};

struct ModelLayout {
  std::string name;
  std::string compiler_version;
  std::vector<VariableLayout> data;
  std::vector<VariableLayout> transformed_data;
  std::vector<VariableLayout> parameters;
  std::vector<VariableLayout> transformed_parameters;
  std::vector<VariableLayout> generated_quantities;
  std::string batch_dimension;
};

// Throws std::runtime_error naming the problem when the text is not a valid layout.
ModelLayout parse_model_layout(std::string_view json);

}  // namespace halo::model
