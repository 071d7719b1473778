// Lowering of the built-in library functions of the signature table that are more than one
// stdlib scalar call: container functions (reductions, constructors, conversions, slicing and
// rearranging, linear algebra), the integer functions, the multivariate densities that are not
// one stdlib kernel and the multivariate random number generators.
//
// The function lowerer (lower.cpp) lowers the arguments and hands them over; the code here
// emits IR from the argument values and the types the semantic stage assigned. Each function is
// lowered either to IR directly (maps, loops, slices, views: the AD then differentiates it) or
// to a `Kernel` op whose C call codegen.cpp knows (with its `<name>_rev` for the AD). Sizes are
// checked at run time with messages that name the function and the line.
#pragma once
#include <string>
#include <vector>

#include "ast/ast.h"
#include "ir/builder.h"

namespace halo::ir {

class LibraryLowering {
 public:
  LibraryLowering(Builder& b, int line) : b_(b), line_(line) {}

  // Whether call() lowers this call (by name and argument types). `has_rng`: random numbers
  // are available here (the _rng functions need them).
  static bool handles(const ast::Call& c, bool has_rng);
  // `args`: the lowered arguments, in order; `rng`: the rng handle or kNoValue.
  ValueId call(const ast::Call& c, std::vector<ValueId> args, ValueId rng);

  // Whether density() lowers this multivariate density kernel ("wishart_lpdf", ...).
  static bool handles_density(const std::string& kernel);
  // The summed log density; `args` lowered (real scalars as f64), `flags` as the stdlib's
  // (bit 0 propto, bit k + 1 argument k varies).
  ValueId density(const std::string& kernel, std::vector<ValueId> args, int flags);

  // `a / b` and `a \ b` with matrix operands (mdivide_right / mdivide_left).
  static bool handles_division(const ast::Binary& bn);
  ValueId division(const ast::Binary& bn, ValueId lhs, ValueId rhs);

 private:
  struct Args;
  // ---- helpers ----
  Function& f() { return b_.function(); }
  Type type(ValueId v) { return f().type_of(v); }  // a copy: emitting ops grows the value table
  ValueId i64(int64_t x) { return b_.const_i64(x); }
  ValueId f64(double x) { return b_.const_f64(x); }
  ValueId real(ValueId v);
  ValueId numel(ValueId v);
  ValueId flat(ValueId v);
  ValueId view(ValueId v, ValueId offset, std::vector<ValueId> dims, Type t);
  ValueId select(ValueId cond, ValueId a, ValueId b);
  ValueId cmp(CmpPred p, ValueId a, ValueId b) { return b_.cmp(p, a, b); }
  ValueId bool_and(ValueId a, ValueId b);
  ValueId min_i64(ValueId a, ValueId b);
  void require(ValueId ok, const std::string& text);
  void require_equal(ValueId a, ValueId b, const std::string& text);
  void require_in_range(ValueId i, ValueId lo, ValueId hi, const std::string& text);
  void require_square(ValueId m, const std::string& fn);
  void require_symmetric(ValueId m, const std::string& fn);
  ValueId kernel(const std::string& name, std::vector<ValueId> operands, Type result, int flags = 0);
  ValueId map(ValueId n, std::vector<ValueId> inputs, std::vector<Broadcast> bc, Type result,
              const std::function<ValueId(const std::vector<ValueId>&)>& body);
  ValueId map_sum(ValueId n, std::vector<ValueId> inputs, std::vector<Broadcast> bc,
                  const std::function<ValueId(const std::vector<ValueId>&)>& body);
  ValueId map2(ValueId rows, ValueId cols, std::vector<ValueId> inputs, std::vector<Broadcast> bc, MapResult mode,
               Type result, const std::function<ValueId(const std::vector<ValueId>&)>& body);
  ValueId elementwise(std::vector<ValueId> xs, Type result,
                      const std::function<ValueId(const std::vector<ValueId>&)>& body);
  ValueId slice(ValueId t, const std::vector<std::pair<ValueId, ValueId>>& ranges, int64_t keep, Type result);
  void store_slice(ValueId ref, const std::vector<std::pair<ValueId, ValueId>>& ranges, int64_t keep, ValueId v);
  ValueId matmul(ValueId a, ValueId b, int transpose_flags);
  ValueId transpose(ValueId m);
  ValueId matrix_vector(ValueId m, ValueId v);
  ValueId row_vector_matrix(ValueId r, ValueId m);
  ValueId as_row(ValueId v);
  ValueId as_column(ValueId v);
  ValueId log_sum_exp(ValueId x);
  ValueId diagonal(ValueId m);
  ValueId sum_log_diagonal(ValueId m, const std::function<ValueId(ValueId, ValueId)>& weight);
  ValueId cholesky(ValueId m);
  ValueId call_i64(const std::string& name, std::vector<ValueId> args);
  ValueId rng_draw(const std::string& name, std::vector<ValueId> args, ValueId rng, Type result);
  std::string where(const std::string& fn) const;

  // ---- groups of functions (lower_functions.cpp) ----
  ValueId reductions(const Args& a);
  ValueId constructors(const Args& a);
  ValueId conversions(const Args& a);
  ValueId rearranging(const Args& a);
  ValueId appending(const Args& a);
  ValueId linear_algebra(const Args& a);
  ValueId solves(const Args& a);
  ValueId covariances(const Args& a);
  ValueId integer_functions(const Args& a);
  ValueId elementwise_functions(const Args& a);
  ValueId random_numbers(const Args& a);

  ValueId singular_values(ValueId A);
  ValueId matrix_exp(ValueId A);
  ValueId mdivide_left(ValueId A, ValueId b);
  ValueId mdivide_right(ValueId B, ValueId A, bool matrix_b);
  ValueId mdivide_left_spd(ValueId A, ValueId b, const std::string& fn);
  ValueId mdivide_right_spd(ValueId B, ValueId A, const std::string& fn);
  ValueId multinomial_rng(ValueId theta, ValueId N, ValueId rng);
  ValueId wishart_rng(ValueId nu, ValueId S, ValueId rng, const std::string& fn);

  ValueId multi_student_t(const std::vector<ValueId>& args, int flags);
  ValueId ordered_logistic(const std::vector<ValueId>& args, int flags);
  ValueId wishart(const std::string& kernel, const std::vector<ValueId>& args, int flags);

  Builder& b_;
  int line_;
};

}  // namespace halo::ir
