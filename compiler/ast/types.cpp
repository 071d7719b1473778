#include "ast/types.h"

namespace halo::ast {

bool Dim::conflicts_with(const Dim& o) const {
  if (kind == Kind::Const && o.kind == Kind::Const) return value != o.value;
  return false;  // symbols may be equal at run time; checked when data are loaded
}

bool Dim::same_as(const Dim& o) const {
  if (kind != o.kind) return false;
  if (kind == Kind::Const) return value == o.value;
  if (kind == Kind::Symbol) return symbol == o.symbol;
  return false;
}

std::string Dim::str() const {
  switch (kind) {
    case Kind::Const: return std::to_string(value);
    case Kind::Symbol: return symbol;
    case Kind::Unknown: break;
  }
  return "?";
}

int Type::element_rank() const {
  switch (base) {
    case BaseKind::Vector:
    case BaseKind::RowVector: return 1;
    case BaseKind::Matrix: return 2;
    default: return 0;
  }
}

Type Type::element_type() const {
  Type t = *this;
  if (t.array_dims > 0) {
    --t.array_dims;
    if (!t.dims.empty()) t.dims.erase(t.dims.begin());
  }
  return t;
}

bool Type::same_kind(const Type& o) const { return base == o.base && array_dims == o.array_dims; }

namespace {
const char* base_name(BaseKind b) {
  switch (b) {
    case BaseKind::Error: return "<error>";
    case BaseKind::Int: return "int";
    case BaseKind::Real: return "real";
    case BaseKind::Vector: return "vector";
    case BaseKind::RowVector: return "row_vector";
    case BaseKind::Matrix: return "matrix";
    case BaseKind::String: return "string";
    case BaseKind::Void: return "void";
    case BaseKind::Network: return "network";
    case BaseKind::Layer: return "layer";
  }
  return "?";
}
}  // namespace

std::string Type::str() const {
  const bool sized = static_cast<int>(dims.size()) == array_dims + element_rank();
  std::string out;
  if (array_dims > 0) {
    out += "array[";
    for (int i = 0; i < array_dims; ++i) {
      // Unsized: "array[,] int", as Stan writes function argument types.
      if (i) out += sized ? ", " : ",";
      out += sized ? dims[i].str() : "";
    }
    out += "] ";
  }
  out += base_name(base);
  if (element_rank() > 0 && sized) {
    out += "[";
    for (int i = 0; i < element_rank(); ++i) {
      if (i) out += ", ";
      out += dims[array_dims + i].str();
    }
    out += "]";
  }
  if (base == BaseKind::Layer) out += " " + std::to_string(layer);
  return out;
}

std::string Type::unsized_str() const {
  std::string out;
  if (array_dims > 0) out += "array[" + std::string(array_dims - 1, ',') + "] ";
  return out + base_name(base);
}

}  // namespace halo::ast
