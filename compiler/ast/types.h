// Types and shapes of Halo values, as the semantic stage assigns them to the AST.
//
// A type is a base kind (int, real, vector, ...) with a number of array dimensions, plus a
// shape: one Dim per array dimension followed by one Dim per element dimension
// (vector/row_vector: 1, matrix: 2). A Dim is known exactly (a literal), known symbolically
// (a canonical expression over data, e.g. "N" or "K - 1": two equal symbols are equal sizes),
// or unknown (then it is checked when data are loaded or at run time).
#pragma once
#include <string>
#include <vector>

namespace halo::ast {

enum class BaseKind {
  Error,      // poison: an expression that already produced a diagnostic
  Int,
  Real,
  Vector,     // column vector
  RowVector,
  Matrix,
  String,     // only in print/reject
  Void,       // result of procedures
  Network,    // an mlp(...) or dense(...) declaration; see network_* below
  Layer,      // net.layer2
};

struct Dim {
  enum class Kind { Unknown, Const, Symbol };
  Kind kind = Kind::Unknown;
  long long value = 0;  // Const
  std::string symbol;   // Symbol: canonical text of a data-only integer expression

  static Dim unknown() { return {}; }
  static Dim constant(long long v) { return {Kind::Const, v, {}}; }
  static Dim sym(std::string s) { return {Kind::Symbol, 0, std::move(s)}; }
  // Definitely different (both known and unequal); unknown dims never conflict statically.
  bool conflicts_with(const Dim& o) const;
  bool same_as(const Dim& o) const;  // definitely equal
  std::string str() const;           // "3", "N", "?"
};

struct NetworkDecl;  // ast.h

struct Type {
  BaseKind base = BaseKind::Error;
  int array_dims = 0;
  std::vector<Dim> dims;  // array dims, then element dims; may be empty when unknown/unsized
  // Network and Layer values refer to their declaration.
  const NetworkDecl* network = nullptr;
  int layer = 0;  // Layer: 1-based

  static Type error() { return {}; }
  static Type scalar(BaseKind b) { return Type{b, 0, {}, nullptr, 0}; }
  static Type int_() { return scalar(BaseKind::Int); }
  static Type real() { return scalar(BaseKind::Real); }
  static Type vector(Dim n) { return Type{BaseKind::Vector, 0, {n}, nullptr, 0}; }
  static Type row_vector(Dim n) { return Type{BaseKind::RowVector, 0, {n}, nullptr, 0}; }
  static Type matrix(Dim m, Dim n) { return Type{BaseKind::Matrix, 0, {m, n}, nullptr, 0}; }

  bool is_error() const { return base == BaseKind::Error; }
  bool is_scalar() const { return array_dims == 0 && (base == BaseKind::Int || base == BaseKind::Real); }
  bool is_int() const { return array_dims == 0 && base == BaseKind::Int; }
  bool is_real() const { return array_dims == 0 && base == BaseKind::Real; }
  bool is_array() const { return array_dims > 0; }
  // Number of element dimensions of the base kind (0 scalar, 1 vector, 2 matrix).
  int element_rank() const;
  // The type of one element of an array (array_dims - 1), shape adjusted.
  Type element_type() const;
  // Same base kind and array dims (shapes ignored).
  bool same_kind(const Type& o) const;

  // "real", "vector[N]", "array[3] matrix[M, N]"; shapes shown when known.
  std::string str() const;
  // The kind without sizes: "vector", "array[] real", "array[,] int".
  std::string unsized_str() const;
};

}  // namespace halo::ast
