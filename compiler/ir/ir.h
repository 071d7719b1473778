// Halo's tensor IR: a structured, typed SSA form (regions instead of a CFG).
//
// Why structured: reverse-mode AD of a region is a syntactic transformation (a loop is reversed
// by running its adjoint body backwards; an `if` replays its recorded branch), and elementwise
// work stays visible as `map` ops, which code generation turns into vectorisable loops.
//
// Values are SSA: each is defined once, by an op result or a region argument. Mutable Stan
// variables are memory (`var` + load/store), as Clang emits allocas before mem2reg.
//
// Layout of tensors (fixed here, relied on by codegen, the stdlib and the ABI): array
// dimensions row-major (outer index slowest); each element (vector, row vector, matrix)
// contiguous and column-major. Indices in the IR are 0-based i64; lowering converts Stan's
// 1-based indices and emits the bounds checks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace halo::ir {

enum class Elem : uint8_t { F64, I64, Bool };

struct Type {
  Elem elem = Elem::F64;
  uint8_t array_rank = 0;  // leading array dimensions
  uint8_t elem_rank = 0;   // 0 scalar, 1 vector, 2 matrix
  bool row = false;        // elem_rank == 1: a row vector (same layout as a vector)
  bool ref = false;        // a memory slot (`var`) holding a value of this type

  static Type f64() { return {}; }
  static Type i64() { return {Elem::I64, 0, 0, false, false}; }
  static Type boolean() { return {Elem::Bool, 0, 0, false, false}; }
  static Type vector() { return {Elem::F64, 0, 1, false, false}; }
  static Type row_vector() { return {Elem::F64, 0, 1, true, false}; }
  static Type matrix() { return {Elem::F64, 0, 2, false, false}; }

  int rank() const { return array_rank + elem_rank; }
  bool is_scalar() const { return rank() == 0 && !ref; }
  bool is_tensor() const { return rank() > 0 && !ref; }
  Type value_type() const { Type t = *this; t.ref = false; return t; }
  Type ref_to() const { Type t = *this; t.ref = true; return t; }
  bool operator==(const Type& o) const {
    return elem == o.elem && array_rank == o.array_rank && elem_rank == o.elem_rank &&
           row == o.row && ref == o.ref;
  }
  bool operator!=(const Type& o) const { return !(*this == o); }
  std::string str() const;  // "f64", "i64", "vec", "rowvec", "mat", "arr2<vec>", "ref<f64>", ...
};

using ValueId = uint32_t;
constexpr ValueId kNoValue = UINT32_MAX;

enum class OpKind : uint8_t {
  // ---- constants and scalar arithmetic (operands and result scalars) ----
  ConstF64,   // attr f
  ConstI64,   // attr i
  ConstBool,  // attr i (0/1)
  Neg, Add, Sub, Mul, Div,  // f64 or i64 (operands of one type; the result has it)
  IDiv, IMod,               // i64 (Stan's truncating division and remainder)
  Cmp,                      // attr pred; f64 or i64 operands -> bool
  And, Or, Not,             // bool
  Select,                   // (bool, a, b) -> a's type; scalars only
  IToF,                     // i64 -> f64
  BoolToI,                  // bool -> i64 (Stan's comparisons are int-valued)
  Call,      // attr name: a stdlib scalar function halo_<name>(f64...) -> f64, with
             // halo_<name>_grad for AD (see stdlib/include/halo/stdlib.h)
  Dist,      // attr name, attr flags: halo_<name>(args..., flags, double* d) -> f64, the
             // log density of one element; extra results receive the partials (one per f64
             // argument, in order)
  CallRng,   // attr name: halo_<name>(args..., halo_rng* rng) -> f64 or i64; the last operand is
             // the rng handle (an i64 holding the address the caller passed)
  CallGrad,  // attr name: halo_<name>_grad(args..., result, double* d...) -> one partial per
             // f64 argument (the derivative of the Call op with that name)

  // ---- tensors ----
  Dim,        // (t) attr i = which dimension (0-based over all dims) -> i64
  Alloc,      // (dims...) attr type, attr f = fill value -> tensor of that shape
  Extract,    // (t, i...) -> scalar, or the element tensor of an array (a view: read-only)
  View,       // (t, offset, dims...) -> a tensor of the result's type over the contiguous
              // elements of t from `offset` (a view: read-only); parameters read from theta
  AccumulateView,  // (ref, offset, value): ref's elements from `offset` += value's (AD of View)
  StoreSlice,      // (ref, lo0, hi0, ..., value) attr i = keep mask: the slice of ref = value
  AccumulateSlice, // (ref, lo0, hi0, ..., value) attr i = keep mask: the slice of ref += value
                   // (AD of Slice)
  Slice,      // (t, lo0, hi0, lo1, hi1, ...) one half-open range per dimension; attr mask of
              // dims that are kept (others: single index lo) -> new tensor (a copy)
  Map,        // (dims..., inputs...) attr broadcasts (one per input), attr i = number of dims;
              // region: one scalar arg per input (+ one i64 index arg per dim), yields one
              // scalar -> tensor with those dims
  MapSum,     // like Map but sums the yielded scalars -> f64
  MatMul,     // (A, B) attr i: bit 0 transposes A, bit 1 transposes B -> op(A) * op(B), a matrix
  Kernel,     // (operands...) attr name, attr i = flags (densities): a stdlib container kernel
              // (cholesky_decompose, gp_exp_quad_cov, the multivariate densities...); result
              // types given by the op's results; codegen knows each kernel's C call. Its
              // reverse is the Kernel `<name>_rev` with operands (operands..., results...,
              // adjoints of the results...) and one result per f64 operand: that operand's
              // adjoint contribution (same type), in operand order

  // ---- memory ----
  Var,        // (dims...) attr type (ref) attr f = initial fill -> ref
  Load,       // (ref) -> value (tensors: a read-only view valid until the next store)
  Store,      // (ref, value)
  LoadElem,   // (ref, i...) -> scalar or element tensor (copy)
  StoreElem,  // (ref, i..., value)
  Accumulate, // (ref, value): ref += value (scalars or whole tensors); the target uses it
  AccumulateElem,  // (ref, i..., value): ref[i...] += value (a scalar, or an element tensor)
  Push,       // (value): onto the workspace's value stack (AD: values the reverse sweep needs)
  Pop,        // () -> value of the result's type, in reverse order of the pushes; a tensor
              // pop may name a var (ref) of the same shape, whose dims it then takes instead of
              // reading them from the stack

  // ---- structured control flow ----
  For,        // (lo, hi) inclusive i64 bounds; region(i) body; attr i = 1: from hi down to lo
  While,      // regions: cond (yields bool), body
  If,         // (cond) regions: then, else
  Break, Continue,

  // ---- effects and checks ----
  Check,      // (values...) attr check kind, attr text: fail the call with a message
  Print,      // (values...) attr text: format with `{}` holes
  Reject,     // (values...) attr text

  // ---- function boundary ----
  Param,      // attr i: the i-th function argument
  Yield,      // terminator of a region: (values...)
  Return,     // (values...)
};

enum class CmpPred : uint8_t { Lt, Le, Gt, Ge, Eq, Ne };

// How a Map input is indexed by the output index (i, j):
enum class Broadcast : uint8_t {
  Elementwise,  // same shape as the output: x[i, j]
  Scalar,       // one value for all elements
  Rows,         // a row vector repeated over rows: x[j]   (bias of a dense layer)
  Cols,         // a column vector repeated over columns: x[i]
};

// What a Map result collects from the yielded scalars (one mode per result; an empty list means
// one Elementwise result for Map and one Sum for MapSum).
enum class MapResult : uint8_t {
  Elementwise,  // a tensor of the map's shape
  Sum,          // the sum of all elements: f64
  SumOverRows,  // 2-d maps: for each column j, the sum over rows i -> vector of length cols
  SumOverCols,  // 2-d maps: for each row i, the sum over columns j -> vector of length rows
};

enum class CheckKind : uint8_t {
  IndexBounds,   // (i, n): 0 <= i < n
  SizeMatch,     // (a, b): a == b
  Finite,        // (x)
  Lower, Upper,  // (x, bound) constraint checks of transformed parameters
  Positive,      // (x) > 0
  Domain,        // (ok) generic: an argument is outside its function's domain
};

struct Region;

struct Op {
  OpKind kind = OpKind::Yield;
  std::vector<ValueId> operands;
  std::vector<ValueId> results;
  std::vector<Region> regions;
  // Attributes (which ones are meaningful depends on the kind; see OpKind).
  double f = 0;
  int64_t i = 0;
  CmpPred pred = CmpPred::Eq;
  CheckKind check = CheckKind::Domain;
  Type type;                        // Alloc / Var
  std::string name;                 // Call / Dist / Kernel
  std::string text;                 // Check / Print / Reject message
  std::vector<Broadcast> broadcasts;  // Map / MapSum
  std::vector<MapResult> map_results;  // Map / MapSum: see MapResult
  int source_line = 0;              // for messages: the .model line this op came from

  static Op make(OpKind k, std::vector<ValueId> operands = {}, std::vector<ValueId> results = {}) {
    Op op;
    op.kind = k;
    op.operands = std::move(operands);
    op.results = std::move(results);
    return op;
  }
};

struct Region {
  std::vector<ValueId> args;
  std::vector<Op> ops;
};

struct ValueInfo {
  Type type;
  std::string name;  // optional hint for dumps ("mu", "sigma")
};

// Which entry point a function is (the ABI glue calls them by role).
enum class FunctionRole : uint8_t {
  TransformedData,     // (data...) -> transformed data; run once at load
  LogDensity,          // (theta_unc, data...) -> target; differentiated by compiler/ad
  Constrain,           // (theta_unc, data...) -> constrained params, tparams
  Unconstrain,         // (constrained..., data...) -> theta_unc
  GeneratedQuantities, // (constrained..., data..., rng) -> gq
  Helper,              // user function
};

struct Function {
  std::string name;
  FunctionRole role = FunctionRole::Helper;
  std::vector<Type> param_types;
  std::vector<Type> result_types;
  std::vector<ValueInfo> values;  // indexed by ValueId
  Region body;

  ValueId new_value(Type t, std::string name = {}) {
    values.push_back({t, std::move(name)});
    return static_cast<ValueId>(values.size() - 1);
  }
  const Type& type_of(ValueId v) const { return values[v].type; }
};

struct Module {
  std::string model_name;
  std::vector<Function> functions;
};

// The var an op stores into (whole, an element, a slice or a view; `=` or `+=`), or kNoValue.
ValueId written_var(const Op& o);

// --dump=ir: a readable, stable text form.
std::string print(const Module& m);
std::string print(const Function& f);

// Structural checks (types of operands, dominance of SSA uses, region terminators).
// Returns the problems found, empty when the module is well formed.
std::vector<std::string> verify(const Module& m);

}  // namespace halo::ir
