// Lowering: typed AST -> IR module with the model's entry functions, plus the model's layout
// (what the runtime needs to know: the data it reads, the parameters it reports).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "common/diagnostics.h"
#include "ir/ir.h"

namespace halo::ir {

// One variable as the runtime sees it.
struct VariableLayout {
  std::string name;
  Elem elem = Elem::F64;
  int array_rank = 0;
  int elem_rank = 0;  // 0 scalar, 1 vector / row vector, 2 matrix
  bool row = false;
  std::string constraint;  // "", "lower", "upper", "lower_upper", "offset_multiplier", "simplex", ...
};

struct ModelLayout {
  std::string name;
  std::vector<VariableLayout> data;             // in declaration order: the `data` function's parameters
  std::vector<VariableLayout> transformed_data; // the `data` function's results
  std::vector<VariableLayout> parameters;       // constrained parameters, as reported
  std::vector<VariableLayout> transformed_parameters;
  std::vector<VariableLayout> generated_quantities;
  std::string batch_dimension;  // the `batch` data variable, or empty
};

// The entry functions (IR function names; codegen prefixes them with "halo_gen_"):
//   data(data...) -> (tdata...)            validates the data, computes transformed data
//   sizes(data..., tdata...) -> (i64 vec)  per parameter: unconstrained size, then its dims;
//                                          then per transformed parameter and generated
//                                          quantity: its dims (rank numbers each)
//   log_density(theta, jacobian, data..., tdata...) -> f64         (propto = false)
//   log_density_propto(...) -> f64                                  (propto = true)
//   constrain(theta, data..., tdata...) -> (params vec, tparams vec) flattened, Stan order
//   unconstrain(params vec, data..., tdata...) -> (theta vec)
//   generated_quantities(theta, rng, data..., tdata...) -> (gq vec)  flattened, Stan order;
//                                          rng: the address of a halo_rng (stdlib) as an i64
struct LoweredModel {
  Module module;
  ModelLayout layout;
};

// Null with diagnostics when the program uses something the back end does not support yet.
std::optional<LoweredModel> lower(const ast::Program& program, const std::string& model_name,
                                  Diagnostics& diags);

}  // namespace halo::ir
