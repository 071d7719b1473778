#include "ast/ast.h"

namespace halo::ast {

const char* to_string(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "-";
    case UnaryOp::Not: return "!";
    case UnaryOp::Plus: return "+";
  }
  return "?";
}

const char* to_string(BinaryOp op) {
  switch (op) {
    case BinaryOp::Pow: return "^";
    case BinaryOp::EltPow: return ".^";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Mod: return "%";
    case BinaryOp::LeftDiv: return "\\";
    case BinaryOp::EltMul: return ".*";
    case BinaryOp::EltDiv: return "./";
    case BinaryOp::IntDiv: return "%/%";
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::And: return "&&";
    case BinaryOp::Or: return "||";
  }
  return "?";
}

const char* to_string(Origin o) {
  switch (o) {
    case Origin::Unresolved: return "unresolved";
    case Origin::Data: return "data";
    case Origin::TransformedData: return "transformed_data";
    case Origin::Parameter: return "parameter";
    case Origin::TransformedParameter: return "transformed_parameter";
    case Origin::GeneratedQuantity: return "generated_quantity";
    case Origin::Local: return "local";
    case Origin::LoopVariable: return "loop";
    case Origin::FunctionArgument: return "argument";
  }
  return "?";
}

const char* to_string(ElementKind k) {
  switch (k) {
    case ElementKind::Int: return "int";
    case ElementKind::Real: return "real";
    case ElementKind::Vector: return "vector";
    case ElementKind::RowVector: return "row_vector";
    case ElementKind::Matrix: return "matrix";
    case ElementKind::Simplex: return "simplex";
    case ElementKind::UnitVector: return "unit_vector";
    case ElementKind::SumToZeroVector: return "sum_to_zero_vector";
    case ElementKind::Ordered: return "ordered";
    case ElementKind::PositiveOrdered: return "positive_ordered";
    case ElementKind::CholeskyFactorCorr: return "cholesky_factor_corr";
    case ElementKind::CholeskyFactorCov: return "cholesky_factor_cov";
    case ElementKind::CorrMatrix: return "corr_matrix";
    case ElementKind::CovMatrix: return "cov_matrix";
  }
  return "?";
}

const char* to_string(AssignOp op) {
  switch (op) {
    case AssignOp::Assign: return "=";
    case AssignOp::AddAssign: return "+=";
    case AssignOp::SubAssign: return "-=";
    case AssignOp::MulAssign: return "*=";
    case AssignOp::DivAssign: return "/=";
    case AssignOp::EltMulAssign: return ".*=";
    case AssignOp::EltDivAssign: return "./=";
  }
  return "?";
}

const char* to_string(BlockKind k) {
  switch (k) {
    case BlockKind::Functions: return "functions";
    case BlockKind::Data: return "data";
    case BlockKind::TransformedData: return "transformed data";
    case BlockKind::Parameters: return "parameters";
    case BlockKind::TransformedParameters: return "transformed parameters";
    case BlockKind::Model: return "model";
    case BlockKind::GeneratedQuantities: return "generated quantities";
  }
  return "?";
}

const ProgramBlock* Program::block(BlockKind k) const {
  for (const auto& b : blocks)
    if (b.kind == k) return &b;
  return nullptr;
}

ProgramBlock* Program::block(BlockKind k) {
  for (auto& b : blocks)
    if (b.kind == k) return &b;
  return nullptr;
}

}  // namespace halo::ast
