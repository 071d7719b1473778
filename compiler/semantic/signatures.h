// The signature table: every built-in function and distribution of the language, in one
// data-driven list shared by the semantic stage (overload resolution, result types and shapes)
// and the back end (IR lowering maps each entry to a stdlib kernel).
//
// Each entry is written in a small signature language (signature_table.cpp), close to Stan's
// function reference:
//
//   real normal_lpdf(reals y | reals mu, reals sigma)       a density; `|` after the variate
//   vector[$2] rep_vector(real x, int n)                     result sized by the value of arg 2
//   matrix[#2.1, #2.2] diag_pre_multiply(vector, matrix) where #1.1 = #2.1
//   R exp(T)                                                 elementwise: T in, T of reals out
//
// Parameter classes (Stan's vectorised argument classes and Halo's elementwise ones):
//   int real vector row_vector matrix  array[] real  array[,] int ...   one type (int -> real)
//   reals    int, real, vector, row_vector, array[] int, array[] real (containers sum/vectorise;
//            the sizes of all container arguments of a call must agree)
//   ints     int, array[] int
//   vectors  vector, row_vector, array[] vector, array[] row_vector
//   T        int, real, vector, row_vector, matrix, or an array of any of them (elementwise;
//            two T arguments must have the same shape unless one is a scalar)
//   any      any value;  anyarray  any array;  @k  the same kind as argument k
// Results: a type with optional sizes; R (the T arguments' shape, of reals), T (the T argument's
// type), reals / ints (a scalar if every vectorised argument is a scalar, otherwise an array of
// their size: Stan's vectorised _rng), @k (argument k's type), @k[d] (argument k's type with its
// first dimension d), array[d, ...] @k (an array of argument k's type).
// Sizes: $k (the value of int argument k), #k.d (dimension d of argument k, array dimensions
// first; #k.n is its last), integer literals, + and *; `?` is unknown. `where a = b, ...` lists
// sizes that must agree (checked statically when both are known).
//
// Distribution families are written once with `pdf` (continuous) or `pmf` (discrete) and
// expand to <name>_lpdf/_lupdf (or _lpmf/_lupmf), plus _cdf/_lcdf/_lccdf with `cdf`, plus
// <name>_rng with `rng=<result>` (same parameters without the variate).
//
// Entry ids are positions in the table: stable within one build of the compiler. Across builds
// refer to an entry by its `key` (the signature text without names, e.g.
// "real normal_lpdf(reals | reals, reals)"), which never changes for an existing entry.
#pragma once
#include <string>
#include <vector>

#include "ast/types.h"

namespace halo::semantic {

enum class SigKind {
  Function,   // plain function
  Lpdf,       // continuous log density (also the target of `y ~ dist(...)`)
  Lupdf,      // the same without constants
  Lpmf,       // discrete log mass
  Lupmf,
  Cdf, Lcdf, Lccdf,
  Rng,        // random number generator (only in transformed data / generated quantities)
};
const char* to_string(SigKind k);
// Suffixes that make a call a density-like call written with the conditional bar.
bool needs_bar(SigKind k);

enum class ParamClass {
  Type,      // one concrete type (base + array dims), int promotes to real
  Reals, Ints, Vectors, Elementwise /* T */, Any, AnyArray, SameAs /* @k */,
};

// A size expression of the signature language.
struct DimExpr {
  enum class Kind { Unknown, Literal, ArgValue, ArgDim, Add, Mul };
  Kind kind = Kind::Unknown;
  long long literal = 0;
  int arg = 0;   // 0-based argument index (ArgValue, ArgDim)
  int dim = 0;   // 0-based dimension index; -1 = last (ArgDim)
  std::vector<DimExpr> operands;  // Add, Mul: two
};

struct ParamSpec {
  ParamClass cls = ParamClass::Type;
  ast::BaseKind base = ast::BaseKind::Real;  // Type
  int array_dims = 0;                        // Type
  int same_as = 0;                           // SameAs: 0-based argument index
  std::string name;                          // optional, for messages ("mu")
  std::string text() const;                  // "reals", "array[] real", "@1"
};

struct ResultSpec {
  enum class Kind {
    Type,         // base, array_dims with optional sizes `dims`
    Elementwise,  // R: the shape of the T arguments, of reals
    SameType,     // T: the T argument's type
    VectorisedReal, VectorisedInt,  // reals / ints
    ArgType,      // @k, optionally with its first dimension replaced (`first_dim`) or with array
                  // dimensions prepended (`dims`)
  };
  Kind kind = Kind::Type;
  ast::BaseKind base = ast::BaseKind::Real;
  int array_dims = 0;
  std::vector<DimExpr> dims;  // Type: empty (unsized) or array_dims + element rank entries;
                              // ArgType: dimensions prepended
  int arg = 0;                // ArgType
  bool replace_first = false; // ArgType: @k[d]
  DimExpr first_dim;          // ArgType with replace_first
};

struct SizeCheck {
  DimExpr a, b;
};

struct Signature {
  int id = -1;
  std::string name;     // "normal_lpdf"
  std::string family;   // "normal" for the functions of a distribution family, else ""
  SigKind kind = SigKind::Function;
  std::vector<ParamSpec> params;
  ResultSpec result;
  std::vector<SizeCheck> checks;
  std::string key;      // "real normal_lpdf(reals | reals, reals)": unique and stable
  std::string call_form;  // "normal_lpdf(reals | reals, reals)": the key without its result
  std::string display;  // "normal_lpdf(reals y | reals mu, reals sigma)", for messages
  std::string result_text;  // "real"
};

// The whole table (built once, on first use).
const std::vector<Signature>& signature_table();
const Signature& signature(int id);
// Entries named `name` (in table order), or empty.
const std::vector<int>& signatures_named(const std::string& name);
// The entry with this key, or -1.
int find_signature(const std::string& key);
bool is_builtin_function(const std::string& name);
// Every built-in function name / distribution family name, for "did you mean" hints.
const std::vector<std::string>& builtin_function_names();
const std::vector<std::string>& distribution_families();
// Whether a family has _lcdf and _lccdf entries (it can be truncated).
bool family_has_cdf(const std::string& family);

// ---- matching ----

// What the checker knows about one argument.
struct ArgInfo {
  ast::Type type;
  ast::Dim value;  // int scalars: the argument's value as a size (literal or data symbol)
};

// The cost of passing `args` to `sig` (0 exact, +1 per int -> real promotion), or -1 if the
// argument kinds do not fit. Sizes are not looked at.
int match_cost(const Signature& sig, const std::vector<ast::Type>& args);
// Whether one argument fits one parameter (kinds only; Elementwise/SameAs judged alone).
bool param_accepts(const ParamSpec& p, const ast::Type& arg);

// A definite size conflict between two arguments of a call.
struct SizeConflict {
  int arg_a = 0, dim_a = 0;  // 0-based argument and dimension (-1: none, e.g. a literal)
  int arg_b = 0, dim_b = 0;
  ast::Dim size_a, size_b;
};

// The result type of a matching call, with its size checks (vectorised sizes, `where`
// clauses, elementwise shapes); conflicts are appended to `conflicts`.
ast::Type result_type(const Signature& sig, const std::vector<ArgInfo>& args,
                      std::vector<SizeConflict>* conflicts);

// Evaluates a size expression of the signature language against actual arguments.
ast::Dim eval_dim(const DimExpr& d, const std::vector<ArgInfo>& args);

// ---- size arithmetic shared with the checker ----

// The dimension `i` of `t` (array dims first), Unknown when not known.
ast::Dim dim_of_type(const ast::Type& t, int i);
// Sums and products of sizes: constants fold, symbols combine into canonical text.
ast::Dim add_dims(const ast::Dim& a, const ast::Dim& b);
ast::Dim mul_dims(const ast::Dim& a, const ast::Dim& b);
// Of two sizes that do not conflict, the better known (constant, then symbol).
ast::Dim merge_dims(const ast::Dim& a, const ast::Dim& b);
// Clears the dims of a type whose dims are all unknown (so it prints as "vector").
ast::Type normalized(ast::Type t);

}  // namespace halo::semantic
