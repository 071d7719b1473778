// Lowering of the built-in library functions (see lower_functions.h).
#include "ir/lower_functions.h"

#include <cmath>
#include <set>

namespace halo::ir {

using ast::BaseKind;

namespace {

Type ir_type_of(const ast::Type& t) {
  Type r;
  switch (t.base) {
    case BaseKind::Int: r.elem = Elem::I64; break;
    case BaseKind::Vector: r.elem_rank = 1; break;
    case BaseKind::RowVector: r.elem_rank = 1; r.row = true; break;
    case BaseKind::Matrix: r.elem_rank = 2; break;
    default: break;
  }
  r.array_rank = static_cast<uint8_t>(t.array_dims);
  return r;
}

Type array_of(Elem e, int rank) { return Type{e, static_cast<uint8_t>(rank), 0, false, false}; }

// The names whose every signature is lowered here.
const std::set<std::string>& whole_names() {
  static const std::set<std::string> names = {
      // reductions
      "variance", "sd", "prod", "norm1", "norm2", "distance", "trace", "log_determinant", "determinant",
      "columns_dot_self", "rows_dot_self", "columns_dot_product", "rows_dot_product", "dims",
      // constructors
      "identity_matrix", "diag_matrix", "linspaced_vector", "linspaced_row_vector", "linspaced_array",
      "linspaced_int_array", "one_hot_vector", "one_hot_row_vector", "one_hot_array", "one_hot_int_array",
      "zeros_vector", "zeros_row_vector", "zeros_array", "zeros_int_array", "ones_vector", "ones_row_vector",
      "ones_array", "ones_int_array", "uniform_simplex", "rep_array",
      // conversions
      "to_vector", "to_row_vector", "to_matrix", "to_array_1d", "to_array_2d", "to_int",
      // slicing and rearranging
      "head", "tail", "segment", "reverse", "sort_asc", "sort_desc", "sort_indices_asc", "sort_indices_desc", "rank",
      "cumulative_sum", "block", "sub_col", "sub_row", "col", "row", "diagonal", "append_row", "append_col",
      "append_array",
      // linear algebra
      "diag_pre_multiply", "diag_post_multiply", "multiply_lower_tri_self_transpose", "crossprod", "tcrossprod",
      "quad_form", "quad_form_sym", "quad_form_diag", "inverse", "inverse_spd", "matrix_power",
      "symmetrize_from_lower_tri", "softmax", "log_softmax", "eigenvalues_sym", "eigenvectors_sym",
      "singular_values", "matrix_exp", "mdivide_left_tri_low", "mdivide_right_tri_low",
      "mdivide_left", "mdivide_right", "mdivide_left_spd", "mdivide_right_spd",
      // covariance functions
      "cov_exp_quad", "gp_matern32_cov", "gp_matern52_cov", "gp_exponential_cov",
      // integer and other scalar functions
      "int_step", "is_inf", "is_nan", "choose", "inc_beta", "falling_factorial", "rising_factorial",
  };
  return names;
}

const std::set<std::string>& rng_names() {
  static const std::set<std::string> names = {
      "multi_normal_rng", "multi_normal_cholesky_rng", "multi_student_t_rng", "dirichlet_rng", "categorical_rng",
      "categorical_logit_rng", "ordered_logistic_rng", "multinomial_rng", "multinomial_logit_rng",
      "lkj_corr_cholesky_rng", "lkj_corr_rng", "wishart_rng", "inv_wishart_rng"};
  return names;
}

const std::set<std::string>& density_names() {
  static const std::set<std::string> names = {
      "multi_student_t_lpdf", "multinomial_lpmf", "multinomial_logit_lpmf", "ordered_logistic_lpmf",
      "lkj_corr_lpdf", "wishart_lpdf", "inv_wishart_lpdf", "wishart_cholesky_lpdf", "inv_wishart_cholesky_lpdf"};
  return names;
}

constexpr double kLogPi = 1.14472988584940017414;
constexpr double kLogTwo = 0.69314718055994530942;

// Whether the density term of a group of arguments is kept: not propto, or one of them varies
// (Stan's include_summand<propto, T...>).
bool include(int flags, std::initializer_list<int> args) {
  if (!(flags & 1)) return true;
  for (int k : args)
    if (flags & (1 << (k + 1))) return true;
  return false;
}

}  // namespace

// The call being lowered: its lowered arguments with their AST types.
struct LibraryLowering::Args {
  const ast::Call& c;
  const std::string& name;
  std::vector<ValueId> v;
  std::vector<ast::Type> types;
  ValueId rng = kNoValue;
  size_t size() const { return v.size(); }
  BaseKind base(size_t k) const { return types[k].base; }
  bool scalar(size_t k) const { return types[k].is_scalar(); }
  bool is(size_t k, BaseKind b, int arrays = 0) const { return types[k].base == b && types[k].array_dims == arrays; }
  Type result() const { return ir_type_of(c.type); }
};

bool LibraryLowering::handles(const ast::Call& c, bool has_rng) {
  const std::string& n = c.name;
  if (whole_names().count(n)) return true;
  if (rng_names().count(n)) return has_rng;
  // Shared with lower.cpp's own lowering of the other forms.
  if (n == "log_sum_exp") return c.args.size() == 1;
  if (n == "rep_matrix") return c.args.size() == 2;
  if (n == "log_mix") return c.args.size() == 2;
  if (n == "squared_distance") return c.args.size() == 2 && c.args[0]->type.is_scalar() && c.args[1]->type.is_scalar();
  if (n == "abs") return c.type.base == BaseKind::Int;
  if (n == "gp_exp_quad_cov") return c.args.size() == 4;
  return false;
}

bool LibraryLowering::handles_density(const std::string& kernel) { return density_names().count(kernel) > 0; }

bool LibraryLowering::handles_division(const ast::Binary& bn) {
  const ast::Type& l = bn.lhs->type;
  const ast::Type& r = bn.rhs->type;
  if (l.array_dims || r.array_dims) return false;
  if (bn.op == ast::BinaryOp::Div)
    return r.base == BaseKind::Matrix && (l.base == BaseKind::RowVector || l.base == BaseKind::Matrix);
  if (bn.op == ast::BinaryOp::LeftDiv)
    return l.base == BaseKind::Matrix && (r.base == BaseKind::Vector || r.base == BaseKind::Matrix);
  return false;
}

ValueId LibraryLowering::call(const ast::Call& c, std::vector<ValueId> args, ValueId rng) {
  Args a{c, c.name, std::move(args), {}, rng};
  for (const auto& e : c.args) a.types.push_back(e->type);
  using Group = ValueId (LibraryLowering::*)(const Args&);
  for (Group g : {&LibraryLowering::reductions, &LibraryLowering::constructors, &LibraryLowering::conversions,
                  &LibraryLowering::rearranging, &LibraryLowering::appending, &LibraryLowering::linear_algebra,
                  &LibraryLowering::solves, &LibraryLowering::covariances, &LibraryLowering::integer_functions,
                  &LibraryLowering::elementwise_functions, &LibraryLowering::random_numbers}) {
    ValueId r = (this->*g)(a);
    if (r != kNoValue) return r;
  }
  return kNoValue;
}

// =============================================================================================
// Helpers

std::string LibraryLowering::where(const std::string& fn) const {
  return fn + ": ";
}

ValueId LibraryLowering::real(ValueId v) {
  const Type t = type(v);
  if (t.elem == Elem::F64) return v;
  if (t.rank() == 0) {
    if (t.elem == Elem::Bool) v = b_.emit1(OpKind::BoolToI, {v}, Type::i64());
    return b_.emit1(OpKind::IToF, {v}, Type::f64());
  }
  Type rt = t;
  rt.elem = Elem::F64;
  ValueId r = map(numel(v), {v}, {Broadcast::Elementwise}, rt.rank() == 1 ? rt : Type::vector(),
                  [&](const std::vector<ValueId>& x) { return b_.emit1(OpKind::IToF, {x[0]}, Type::f64()); });
  if (rt.rank() == 1) return r;
  std::vector<ValueId> dims;
  for (int k = 0; k < t.rank(); ++k) dims.push_back(b_.dim(v, k));
  return view(r, i64(0), dims, rt);
}

ValueId LibraryLowering::numel(ValueId v) {
  const Type t = type(v);
  if (t.rank() == 0) return i64(1);
  ValueId n = b_.dim(v, 0);
  for (int k = 1; k < t.rank(); ++k) n = b_.mul(n, b_.dim(v, k));
  return n;
}

// All elements in storage order as one 1-d tensor (a view).
ValueId LibraryLowering::flat(ValueId v) {
  const Type t = type(v);
  if (t.rank() == 1) return v;
  Type ft = Type::vector();
  ft.elem = t.elem;
  return view(v, i64(0), {numel(v)}, ft);
}

ValueId LibraryLowering::view(ValueId v, ValueId offset, std::vector<ValueId> dims, Type t) {
  Op op = Op::make(OpKind::View, {v, offset});
  op.operands.insert(op.operands.end(), dims.begin(), dims.end());
  ValueId out = b_.value(t);
  op.results = {out};
  b_.emit(std::move(op));
  return out;
}

ValueId LibraryLowering::select(ValueId cond, ValueId a, ValueId b) {
  return b_.emit1(OpKind::Select, {cond, a, b}, type(a));
}
ValueId LibraryLowering::bool_and(ValueId a, ValueId b) { return b_.emit1(OpKind::And, {a, b}, Type::boolean()); }
ValueId LibraryLowering::min_i64(ValueId a, ValueId b) { return select(cmp(CmpPred::Lt, a, b), a, b); }

void LibraryLowering::require(ValueId ok, const std::string& text) {
  Op check = Op::make(OpKind::Check, {ok});
  check.check = CheckKind::Domain;
  check.text = text + " (line " + std::to_string(line_) + ")";
  check.source_line = line_;
  b_.emit(std::move(check));
}

// `text` has two {} holes for the two sizes.
void LibraryLowering::require_equal(ValueId a, ValueId b, const std::string& text) {
  Op check = Op::make(OpKind::Check, {a, b});
  check.check = CheckKind::SizeMatch;
  check.text = text + " (line " + std::to_string(line_) + ")";
  check.source_line = line_;
  b_.emit(std::move(check));
}

// lo <= i <= hi
void LibraryLowering::require_in_range(ValueId i, ValueId lo, ValueId hi, const std::string& text) {
  require(bool_and(cmp(CmpPred::Ge, i, lo), cmp(CmpPred::Le, i, hi)), text);
}

void LibraryLowering::require_square(ValueId m, const std::string& fn) {
  require_equal(b_.dim(m, 0), b_.dim(m, 1), where(fn) + "the matrix has {} rows and {} columns; it must be square");
}

// |m[i, j] - m[j, i]| <= 1e-8, as Stan's check_symmetric.
void LibraryLowering::require_symmetric(ValueId m, const std::string& fn) {
  require_square(m, fn);
  ValueId n = b_.dim(m, 0);
  b_.for_range(i64(0), b_.sub(n, i64(1)), [&](ValueId j) {
    b_.for_range(b_.add(j, i64(1)), b_.sub(n, i64(1)), [&](ValueId i) {
      ValueId d = b_.sub(b_.extract(m, {i, j}, Type::f64()), b_.extract(m, {j, i}, Type::f64()));
      ValueId ok = bool_and(cmp(CmpPred::Le, d, f64(1e-8)), cmp(CmpPred::Ge, d, f64(-1e-8)));
      require(ok, where(fn) + "the matrix is not symmetric");
    });
  });
}

ValueId LibraryLowering::kernel(const std::string& name, std::vector<ValueId> operands, Type result, int flags) {
  ValueId r = b_.value(result);
  Op op = Op::make(OpKind::Kernel, std::move(operands), {r});
  op.name = name;
  op.i = flags;
  op.source_line = line_;
  b_.emit(std::move(op));
  return r;
}

ValueId LibraryLowering::map(ValueId n, std::vector<ValueId> inputs, std::vector<Broadcast> bc, Type result,
                             const std::function<ValueId(const std::vector<ValueId>&)>& body) {
  return b_.map(false, {n}, std::move(inputs), std::move(bc), result, body);
}

ValueId LibraryLowering::map_sum(ValueId n, std::vector<ValueId> inputs, std::vector<Broadcast> bc,
                                 const std::function<ValueId(const std::vector<ValueId>&)>& body) {
  return b_.map(true, {n}, std::move(inputs), std::move(bc), Type::f64(), body);
}

// A 2-d map (rows x cols) whose result collects the yields as `mode` says.
ValueId LibraryLowering::map2(ValueId rows, ValueId cols, std::vector<ValueId> inputs, std::vector<Broadcast> bc,
                              MapResult mode, Type result,
                              const std::function<ValueId(const std::vector<ValueId>&)>& body) {
  Op op = Op::make(OpKind::Map);
  op.i = 2;
  op.operands = {rows, cols};
  op.operands.insert(op.operands.end(), inputs.begin(), inputs.end());
  op.broadcasts = std::move(bc);
  op.map_results = {mode};
  Region r;
  for (ValueId in : inputs) r.args.push_back(b_.value(Type{type(in).elem, 0, 0, false, false}));
  b_.in(r, [&] { b_.emit(Op::make(OpKind::Yield, {body(r.args)})); });
  op.regions.push_back(std::move(r));
  ValueId out = b_.value(result);
  op.results = {out};
  b_.emit(std::move(op));
  return out;
}

// body over scalars, mapped over the elements when some of xs are containers (of one shape;
// scalars broadcast). The result has the containers' shape with `result`'s element type.
ValueId LibraryLowering::elementwise(std::vector<ValueId> xs, Type result,
                                     const std::function<ValueId(const std::vector<ValueId>&)>& body) {
  ValueId shape = kNoValue;
  std::vector<Broadcast> bc;
  for (ValueId x : xs) {
    bool container = type(x).rank() > 0;
    bc.push_back(container ? Broadcast::Elementwise : Broadcast::Scalar);
    if (!container) continue;
    if (shape == kNoValue) shape = x;
    else require_equal(numel(shape), numel(x), "elementwise function: the arguments have {} and {} elements");
  }
  if (shape == kNoValue) return body(xs);
  const Type st = type(shape);
  Type rt = st;
  rt.elem = result.elem;
  if (st.rank() == 1) return map(numel(shape), xs, bc, rt, body);
  Type ft = Type::vector();
  ft.elem = result.elem;
  ValueId r = map(numel(shape), xs, bc, ft, body);
  std::vector<ValueId> dims;
  for (int k = 0; k < st.rank(); ++k) dims.push_back(b_.dim(shape, k));
  return view(r, i64(0), dims, rt);
}

ValueId LibraryLowering::slice(ValueId t, const std::vector<std::pair<ValueId, ValueId>>& ranges, int64_t keep,
                               Type result) {
  Op op = Op::make(OpKind::Slice, {t});
  for (const auto& [lo, hi] : ranges) {
    op.operands.push_back(lo);
    op.operands.push_back(hi);
  }
  op.i = keep;
  ValueId out = b_.value(result);
  op.results = {out};
  b_.emit(std::move(op));
  return out;
}

void LibraryLowering::store_slice(ValueId ref, const std::vector<std::pair<ValueId, ValueId>>& ranges, int64_t keep,
                                  ValueId v) {
  Op op = Op::make(OpKind::StoreSlice, {ref});
  for (const auto& [lo, hi] : ranges) {
    op.operands.push_back(lo);
    op.operands.push_back(hi);
  }
  op.operands.push_back(v);
  op.i = keep;
  op.source_line = line_;
  b_.emit(std::move(op));
}

ValueId LibraryLowering::matmul(ValueId a, ValueId b, int transpose_flags) {
  ValueId r = b_.value(Type::matrix());
  Op op = Op::make(OpKind::MatMul, {a, b}, {r});
  op.i = transpose_flags;
  op.source_line = line_;
  b_.emit(std::move(op));
  return r;
}

ValueId LibraryLowering::transpose(ValueId m) { return kernel("transpose", {m}, Type::matrix()); }

// m v as a row-sum map (as lower.cpp's matrix-vector products).
ValueId LibraryLowering::matrix_vector(ValueId m, ValueId v) {
  return map2(b_.dim(m, 0), b_.dim(m, 1), {m, v}, {Broadcast::Elementwise, Broadcast::Rows}, MapResult::SumOverCols,
              Type::vector(), [&](const std::vector<ValueId>& x) { return b_.mul(x[0], x[1]); });
}
ValueId LibraryLowering::row_vector_matrix(ValueId r, ValueId m) {
  return map2(b_.dim(m, 0), b_.dim(m, 1), {m, r}, {Broadcast::Elementwise, Broadcast::Cols}, MapResult::SumOverRows,
              Type::row_vector(), [&](const std::vector<ValueId>& x) { return b_.mul(x[0], x[1]); });
}
// The same elements as a row vector / a column vector (views).
ValueId LibraryLowering::as_row(ValueId v) { return view(v, i64(0), {numel(v)}, Type::row_vector()); }
ValueId LibraryLowering::as_column(ValueId v) { return view(v, i64(0), {numel(v)}, Type::vector()); }

ValueId LibraryLowering::log_sum_exp(ValueId x) { return kernel("log_sum_exp", {flat(x)}, Type::f64()); }

// The diagonal of a matrix as a vector (min(rows, cols) elements).
ValueId LibraryLowering::diagonal(ValueId m) {
  ValueId n = min_i64(b_.dim(m, 0), b_.dim(m, 1));
  ValueId out = b_.var(Type::vector(), {n}, 0.0);
  b_.for_range(i64(0), b_.sub(n, i64(1)), [&](ValueId i) {
    b_.emit(Op::make(OpKind::StoreElem, {out, i, b_.extract(m, {i, i}, Type::f64())}));
  });
  return b_.load(out);
}

// sum_i weight(i, n) log m[i, i] over the diagonal (i 0-based, n its length).
ValueId LibraryLowering::sum_log_diagonal(ValueId m, const std::function<ValueId(ValueId, ValueId)>& weight) {
  ValueId n = b_.dim(m, 0);
  ValueId total = b_.var(Type::f64(), {}, 0.0);
  b_.for_range(i64(0), b_.sub(n, i64(1)), [&](ValueId i) {
    ValueId term = b_.call("log", {b_.extract(m, {i, i}, Type::f64())});
    if (weight) term = b_.mul(weight(i, n), term);
    b_.store(total, b_.add(b_.load(total), term));
  });
  return b_.load(total);
}

ValueId LibraryLowering::cholesky(ValueId m) { return kernel("cholesky_decompose", {m}, Type::matrix()); }

// A stdlib scalar function with an int result (no derivative).
ValueId LibraryLowering::call_i64(const std::string& name, std::vector<ValueId> args) {
  ValueId r = b_.value(Type::i64());
  Op op = Op::make(OpKind::Call, std::move(args), {r});
  op.name = name;
  b_.emit(std::move(op));
  return r;
}

ValueId LibraryLowering::rng_draw(const std::string& name, std::vector<ValueId> args, ValueId rng, Type result) {
  args.push_back(rng);
  ValueId r = b_.value(result);
  Op op = Op::make(OpKind::CallRng, std::move(args), {r});
  op.name = name;
  b_.emit(std::move(op));
  return r;
}

// =============================================================================================
// Reductions

ValueId LibraryLowering::reductions(const Args& a) {
  const std::string& n = a.name;
  auto square_sum = [&](ValueId x) {
    return map_sum(numel(x), {x}, {Broadcast::Elementwise}, [&](const std::vector<ValueId>& e) {
      ValueId r = real(e[0]);
      return b_.mul(r, r);
    });
  };
  if (n == "log_sum_exp") return log_sum_exp(real(a.v[0]));
  if (n == "log_mix") {
    // log sum_k theta_k exp(lp_k), through log_sum_exp of log(theta_k) + lp_k.
    ValueId theta = real(a.v[0]), lp = real(a.v[1]);
    ValueId k = numel(theta);
    require_equal(k, numel(lp), where(n) + "theta has {} elements but lambda has {}");
    ValueId terms = map(k, {theta, lp}, {Broadcast::Elementwise, Broadcast::Elementwise}, Type::vector(),
                        [&](const std::vector<ValueId>& e) { return b_.add(b_.call("log", {e[0]}), e[1]); });
    return log_sum_exp(terms);
  }
  if (n == "variance" || n == "sd") {
    // Two passes: the mean, then the squared deviations; n - 1 in the denominator (0 for one
    // element, as Stan).
    ValueId x = real(a.v[0]);
    ValueId count = numel(x);
    require(cmp(CmpPred::Gt, count, i64(0)), where(n) + "the container is empty");
    ValueId total = map_sum(count, {x}, {Broadcast::Elementwise}, [&](const std::vector<ValueId>& e) { return e[0]; });
    ValueId mean = b_.div(total, real(count));
    ValueId ss = map_sum(count, {x, mean}, {Broadcast::Elementwise, Broadcast::Scalar}, [&](const std::vector<ValueId>& e) {
      ValueId d = b_.sub(e[0], e[1]);
      return b_.mul(d, d);
    });
    ValueId denom = real(select(cmp(CmpPred::Gt, count, i64(1)), b_.sub(count, i64(1)), i64(1)));
    ValueId var = b_.div(ss, denom);
    return n == "sd" ? b_.call("sqrt", {var}) : var;
  }
  if (n == "prod") {
    ValueId x = a.v[0];
    if (type(x).rank() == 0) return x;
    const bool is_int = type(x).elem == Elem::I64;
    ValueId xs = flat(x);
    ValueId count = numel(x);
    ValueId acc = b_.var(is_int ? Type::i64() : Type::f64(), {}, 1.0);
    b_.for_range(i64(0), b_.sub(count, i64(1)), [&](ValueId i) {
      b_.store(acc, b_.mul(b_.load(acc), b_.extract(xs, {i}, is_int ? Type::i64() : Type::f64())));
    });
    return b_.load(acc);
  }
  if (n == "norm1") {
    ValueId x = a.v[0];
    return map_sum(numel(x), {x}, {Broadcast::Elementwise},
                   [&](const std::vector<ValueId>& e) { return b_.call("fabs", {real(e[0])}); });
  }
  if (n == "norm2") return b_.call("sqrt", {square_sum(a.v[0])});
  if (n == "distance" || n == "squared_distance") {
    if (a.scalar(0) && a.scalar(1)) {
      ValueId d = b_.sub(real(a.v[0]), real(a.v[1]));
      return n == "distance" ? b_.call("fabs", {d}) : b_.mul(d, d);
    }
    ValueId x = a.v[0], y = a.v[1];
    require_equal(numel(x), numel(y), where(n) + "the arguments have {} and {} elements");
    ValueId ss = map_sum(numel(x), {x, y}, {Broadcast::Elementwise, Broadcast::Elementwise},
                         [&](const std::vector<ValueId>& e) {
                           ValueId d = b_.sub(real(e[0]), real(e[1]));
                           return b_.mul(d, d);
                         });
    return b_.call("sqrt", {ss});
  }
  if (n == "trace") {
    ValueId d = diagonal(a.v[0]);
    return map_sum(numel(d), {d}, {Broadcast::Elementwise}, [&](const std::vector<ValueId>& e) { return e[0]; });
  }
  if (n == "log_determinant" || n == "determinant") {
    require_square(a.v[0], n);
    return kernel(n, {a.v[0]}, Type::f64());
  }
  if (n == "columns_dot_self" || n == "rows_dot_self") {
    ValueId m = a.v[0];
    const bool columns = n == "columns_dot_self";
    return map2(b_.dim(m, 0), b_.dim(m, 1), {m}, {Broadcast::Elementwise},
                columns ? MapResult::SumOverRows : MapResult::SumOverCols, columns ? Type::row_vector() : Type::vector(),
                [&](const std::vector<ValueId>& e) { return b_.mul(e[0], e[0]); });
  }
  if (n == "columns_dot_product" || n == "rows_dot_product") {
    const bool columns = n == "columns_dot_product";
    ValueId x = a.v[0], y = a.v[1];
    const Type result = columns ? Type::row_vector() : Type::vector();
    auto mul = [&](const std::vector<ValueId>& e) { return b_.mul(e[0], e[1]); };
    if (a.base(0) == BaseKind::Matrix) {
      require_equal(b_.dim(x, 0), b_.dim(y, 0), where(n) + "the matrices have {} and {} rows");
      require_equal(b_.dim(x, 1), b_.dim(y, 1), where(n) + "the matrices have {} and {} columns");
      return map2(b_.dim(x, 0), b_.dim(x, 1), {x, y}, {Broadcast::Elementwise, Broadcast::Elementwise},
                  columns ? MapResult::SumOverRows : MapResult::SumOverCols, result, mul);
    }
    require_equal(numel(x), numel(y), where(n) + "the vectors have {} and {} elements");
    // One column of a vector (one row of a row vector) is the whole vector: a dot product;
    // otherwise each element is its own row or column.
    const bool whole = columns == (a.base(0) == BaseKind::Vector);
    if (!whole) return map(numel(x), {x, y}, {Broadcast::Elementwise, Broadcast::Elementwise}, result, mul);
    ValueId dot = map_sum(numel(x), {x, y}, {Broadcast::Elementwise, Broadcast::Elementwise}, mul);
    ValueId out = b_.var(result, {i64(1)}, 0.0);
    b_.emit(Op::make(OpKind::StoreElem, {out, i64(0), dot}));
    return b_.load(out);
  }
  if (n == "dims") {
    ValueId x = a.v[0];
    const int rank = type(x).rank();
    ValueId out = b_.var(array_of(Elem::I64, 1), {i64(rank)}, 0.0);
    for (int k = 0; k < rank; ++k) b_.emit(Op::make(OpKind::StoreElem, {out, i64(k), b_.dim(x, k)}));
    return b_.load(out);
  }
  return kNoValue;
}

// =============================================================================================
// Constructors

ValueId LibraryLowering::constructors(const Args& a) {
  const std::string& n = a.name;
  const Type result = a.result();
  auto require_size = [&](ValueId size) {
    require(cmp(CmpPred::Ge, size, i64(0)), where(n) + "the size must not be negative");
  };
  if (n == "identity_matrix" || n == "diag_matrix") {
    const bool identity = n == "identity_matrix";
    ValueId size = identity ? a.v[0] : numel(a.v[0]);
    if (identity) require_size(size);
    ValueId out = b_.var(Type::matrix(), {size, size}, 0.0);
    b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId i) {
      ValueId value = identity ? f64(1.0) : b_.extract(a.v[0], {i}, Type::f64());
      b_.emit(Op::make(OpKind::StoreElem, {out, i, i, value}));
    });
    return b_.load(out);
  }
  if (n == "linspaced_vector" || n == "linspaced_row_vector" || n == "linspaced_array") {
    // lo + i (hi - lo) / (size - 1), the last exactly hi (a single element is hi, as Stan).
    ValueId size = a.v[0], lo = real(a.v[1]), hi = real(a.v[2]);
    require_size(size);
    require(cmp(CmpPred::Ge, hi, lo), where(n) + "high must not be below low");
    ValueId last = b_.sub(size, i64(1));
    ValueId step = b_.div(b_.sub(hi, lo), real(select(cmp(CmpPred::Gt, last, i64(0)), last, i64(1))));
    ValueId out = b_.var(result, {size}, 0.0);
    b_.for_range(i64(0), last, [&](ValueId i) {
      ValueId v = select(cmp(CmpPred::Eq, i, last), hi, b_.add(lo, b_.mul(real(i), step)));
      b_.emit(Op::make(OpKind::StoreElem, {out, i, v}));
    });
    return b_.load(out);
  }
  if (n == "linspaced_int_array") {
    // Eigen's integer LinSpaced, which Stan calls: low + i * ((high - low) / (K - 1)), or, when
    // there are fewer values than elements, each value repeated; K = 1 gives high.
    ValueId size = a.v[0], lo = a.v[1], hi = a.v[2];
    require_size(size);
    require(cmp(CmpPred::Ge, hi, lo), where(n) + "high must not be below low");
    ValueId range = b_.sub(hi, lo);
    ValueId steps = select(cmp(CmpPred::Gt, size, i64(1)), b_.sub(size, i64(1)), i64(1));
    ValueId multiplier = b_.emit1(OpKind::IDiv, {range, steps}, Type::i64());
    ValueId values = b_.add(range, i64(1));
    ValueId divisor = b_.emit1(OpKind::IDiv, {b_.add(size, range), values}, Type::i64());
    ValueId use_divisor = bool_and(cmp(CmpPred::Gt, size, i64(1)), cmp(CmpPred::Lt, values, size));
    ValueId first = select(cmp(CmpPred::Eq, size, i64(1)), hi, lo);
    ValueId out = b_.var(array_of(Elem::I64, 1), {size}, 0.0);
    b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId i) {
      ValueId by_divisor = b_.add(first, b_.emit1(OpKind::IDiv, {i, divisor}, Type::i64()));
      ValueId by_step = b_.add(first, b_.mul(i, multiplier));
      b_.emit(Op::make(OpKind::StoreElem, {out, i, select(use_divisor, by_divisor, by_step)}));
    });
    return b_.load(out);
  }
  if (n.rfind("one_hot_", 0) == 0) {
    ValueId size = a.v[0], k = a.v[1];
    require(cmp(CmpPred::Gt, size, i64(0)), where(n) + "the size must be positive");
    require_in_range(k, i64(1), size, where(n) + "k must be between 1 and the size");
    ValueId out = b_.var(result, {size}, 0.0);
    ValueId one = result.elem == Elem::I64 ? i64(1) : f64(1.0);
    b_.emit(Op::make(OpKind::StoreElem, {out, b_.sub(k, i64(1)), one}));
    return b_.load(out);
  }
  if (n.rfind("zeros_", 0) == 0 || n.rfind("ones_", 0) == 0) {
    require_size(a.v[0]);
    return b_.load(b_.var(result, {a.v[0]}, n[0] == 'o' ? 1.0 : 0.0));
  }
  if (n == "uniform_simplex") {
    ValueId size = a.v[0];
    require(cmp(CmpPred::Gt, size, i64(0)), where(n) + "the size must be positive");
    ValueId value = b_.div(f64(1.0), real(size));
    return map(size, {value}, {Broadcast::Scalar}, Type::vector(), [&](const std::vector<ValueId>& e) { return e[0]; });
  }
  if (n == "rep_array") {
    // Copies of x: a flat map (x a scalar) or a 2-d map with x broadcast down the columns
    // (each column one copy, column-major = consecutive copies), viewed with the array dims.
    ValueId x = a.v[0];
    if (result.elem == Elem::F64) x = real(x);
    std::vector<ValueId> counts(a.v.begin() + 1, a.v.end());
    ValueId copies = i64(1);
    for (ValueId c : counts) {
      require_size(c);
      copies = b_.mul(copies, c);
    }
    const Type xt = type(x);
    std::vector<ValueId> dims = counts;
    for (int k = 0; k < xt.rank(); ++k) dims.push_back(b_.dim(x, k));
    ValueId filled;
    if (xt.rank() == 0) {
      Type ft = Type::vector();
      ft.elem = xt.elem;
      filled = map(copies, {x}, {Broadcast::Scalar}, ft, [&](const std::vector<ValueId>& e) { return e[0]; });
    } else {
      Type mt = Type::matrix();
      mt.elem = xt.elem;
      filled = map2(numel(x), copies, {flat(x)}, {Broadcast::Cols}, MapResult::Elementwise, mt,
                    [&](const std::vector<ValueId>& e) { return e[0]; });
    }
    return view(filled, i64(0), dims, result);
  }
  if (n == "rep_matrix" && a.size() == 2) {
    ValueId v = a.v[0], count = a.v[1];
    require_size(count);
    auto same = [&](const std::vector<ValueId>& e) { return e[0]; };
    if (a.base(0) == BaseKind::Vector)
      return map2(numel(v), count, {v}, {Broadcast::Cols}, MapResult::Elementwise, Type::matrix(), same);
    return map2(count, numel(v), {v}, {Broadcast::Rows}, MapResult::Elementwise, Type::matrix(), same);
  }
  return kNoValue;
}

// =============================================================================================
// Conversions: reinterpretations of the same elements (views) where the orders agree; matrices
// are column-major and arrays row-major (Stan's orders), so array[,] <-> matrix transposes.

ValueId LibraryLowering::conversions(const Args& a) {
  const std::string& n = a.name;
  const Type result = a.result();
  if (n == "to_vector" || n == "to_row_vector") {
    ValueId x = a.v[0];
    if (type(x).elem != Elem::F64) x = real(x);
    if (type(x) == result) return x;
    return view(x, i64(0), {numel(x)}, result);
  }
  if (n == "to_matrix") {
    ValueId x = a.v[0];
    if (type(x).elem != Elem::F64) x = real(x);
    if (a.size() == 3) {
      ValueId m = a.v[1], c = a.v[2];
      require_equal(b_.mul(m, c), numel(x), where(n) + "{} = m * n elements are asked for but the argument has {}");
      return view(x, i64(0), {m, c}, Type::matrix());
    }
    if (a.types[0].array_dims == 2) {
      // x[i][j] is at i * cols + j: the column-major cols x rows matrix x', transposed back.
      ValueId rows = b_.dim(x, 0), cols = b_.dim(x, 1);
      return transpose(view(x, i64(0), {cols, rows}, Type::matrix()));
    }
    if (a.base(0) == BaseKind::Matrix) return x;
    if (a.base(0) == BaseKind::Vector) return view(x, i64(0), {numel(x), i64(1)}, Type::matrix());
    return view(x, i64(0), {i64(1), numel(x)}, Type::matrix());
  }
  if (n == "to_array_1d") {
    // Column-major for matrices, row-major for arrays: both the storage order.
    ValueId x = a.v[0];
    if (type(x) == result) return x;
    return view(x, i64(0), {numel(x)}, result);
  }
  if (n == "to_array_2d") {
    ValueId m = a.v[0];
    return view(transpose(m), i64(0), {b_.dim(m, 0), b_.dim(m, 1)}, result);
  }
  if (n == "to_int") {
    // Stan: the values must lie in the range of a 32-bit int (NaN does not). Checks cannot sit
    // in a map body: containers count the values outside first.
    ValueId x = a.v[0];
    auto in_range = [&](ValueId v) {
      return bool_and(cmp(CmpPred::Ge, v, f64(-2147483648.0)), cmp(CmpPred::Lt, v, f64(2147483648.0)));
    };
    const std::string message = where(n) + "a value is outside the range of an int";
    if (type(x).rank() == 0) {
      require(in_range(x), message);
      return call_i64("to_int", {x});
    }
    ValueId outside = map_sum(numel(x), {x}, {Broadcast::Elementwise}, [&](const std::vector<ValueId>& e) {
      return select(in_range(e[0]), f64(0.0), f64(1.0));
    });
    require(cmp(CmpPred::Eq, outside, f64(0.0)), message);
    return elementwise({x}, Type::i64(), [&](const std::vector<ValueId>& e) { return call_i64("to_int", {e[0]}); });
  }
  return kNoValue;
}

// =============================================================================================
// Slicing and rearranging

ValueId LibraryLowering::rearranging(const Args& a) {
  const std::string& n = a.name;
  const Type result = a.result();
  // Ranges over all dims of x, the first (lo, hi) and the others whole.
  auto first_dim_slice = [&](ValueId x, ValueId lo, ValueId hi) {
    const Type xt = type(x);
    std::vector<std::pair<ValueId, ValueId>> ranges = {{lo, hi}};
    for (int k = 1; k < xt.rank(); ++k) ranges.push_back({i64(0), b_.dim(x, k)});
    return slice(x, ranges, (int64_t{1} << xt.rank()) - 1, result);
  };
  if (n == "head" || n == "tail") {
    ValueId x = a.v[0], count = a.v[1], size = b_.dim(a.v[0], 0);
    require_in_range(count, i64(0), size, where(n) + "n must be between 0 and the size of the container");
    if (n == "head") return first_dim_slice(x, i64(0), count);
    return first_dim_slice(x, b_.sub(size, count), size);
  }
  if (n == "segment") {
    ValueId x = a.v[0], start = b_.sub(a.v[1], i64(1)), count = a.v[2], size = b_.dim(a.v[0], 0);
    require(cmp(CmpPred::Ge, count, i64(0)), where(n) + "n must not be negative");
    require(bool_and(cmp(CmpPred::Ge, start, i64(0)), cmp(CmpPred::Le, b_.add(start, count), size)),
            where(n) + "the segment is outside the container");
    return first_dim_slice(x, start, b_.add(start, count));
  }
  if (n == "block" || n == "sub_col" || n == "sub_row" || n == "col" || n == "row") {
    ValueId m = a.v[0], rows = b_.dim(a.v[0], 0), cols = b_.dim(a.v[0], 1);
    auto index = [&](ValueId i, ValueId size, const std::string& what) {
      Op check = Op::make(OpKind::Check, {b_.sub(i, i64(1)), size});
      check.check = CheckKind::IndexBounds;
      check.text = where(n) + what + " {} out of range for a size of {} (line " + std::to_string(line_) + ")";
      b_.emit(std::move(check));
      return b_.sub(i, i64(1));
    };
    auto range = [&](ValueId start, ValueId count, ValueId size, const std::string& what) {
      // start is 1-based; the range [start - 1, start - 1 + count) must lie inside.
      ValueId lo = b_.sub(start, i64(1));
      require(bool_and(bool_and(cmp(CmpPred::Ge, lo, i64(0)), cmp(CmpPred::Ge, count, i64(0))),
                       cmp(CmpPred::Le, b_.add(lo, count), size)),
              where(n) + "the " + what + " are outside the matrix");
      return std::make_pair(lo, b_.add(lo, count));
    };
    if (n == "block")
      return slice(m, {range(a.v[1], a.v[3], rows, "rows"), range(a.v[2], a.v[4], cols, "columns")}, 3, result);
    if (n == "sub_col") {
      ValueId j = index(a.v[2], cols, "column");
      return slice(m, {range(a.v[1], a.v[3], rows, "rows"), {j, b_.add(j, i64(1))}}, 1, result);
    }
    if (n == "sub_row") {
      ValueId i = index(a.v[1], rows, "row");
      return slice(m, {{i, b_.add(i, i64(1))}, range(a.v[2], a.v[3], cols, "columns")}, 2, result);
    }
    if (n == "col") {
      ValueId j = index(a.v[1], cols, "column");
      return slice(m, {{i64(0), rows}, {j, b_.add(j, i64(1))}}, 1, result);
    }
    ValueId i = index(a.v[1], rows, "row");
    return slice(m, {{i, b_.add(i, i64(1))}, {i64(0), cols}}, 2, result);
  }
  if (n == "diagonal") return diagonal(a.v[0]);
  if (n == "reverse") {
    ValueId x = a.v[0];
    const Type xt = type(x);
    std::vector<ValueId> dims;
    for (int k = 0; k < xt.rank(); ++k) dims.push_back(b_.dim(x, k));
    ValueId size = dims[0];
    Type et = xt;
    if (et.array_rank > 0) et.array_rank = static_cast<uint8_t>(et.array_rank - 1);
    else et = Type{xt.elem, 0, 0, false, false};
    ValueId out = b_.var(xt, dims, 0.0);
    b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId i) {
      ValueId to = b_.sub(b_.sub(size, i64(1)), i);
      b_.emit(Op::make(OpKind::StoreElem, {out, to, b_.extract(x, {i}, et)}));
    });
    return b_.load(out);
  }
  if (n == "sort_asc" || n == "sort_desc") {
    ValueId x = a.v[0];
    if (type(x).elem == Elem::F64) return kernel(n, {x}, type(x));
    // ints: sorted as reals (exact below 2^53) and converted back.
    Type rt = type(x);
    rt.elem = Elem::F64;
    ValueId sorted = kernel(n, {real(x)}, rt);
    return map(numel(x), {sorted}, {Broadcast::Elementwise}, type(x),
               [&](const std::vector<ValueId>& e) { return call_i64("to_int", {e[0]}); });
  }
  if (n == "sort_indices_asc" || n == "sort_indices_desc") return kernel(n, {real(a.v[0])}, array_of(Elem::I64, 1));
  if (n == "rank") {
    // The number of elements less than x[s].
    ValueId x = a.v[0], s = a.v[1], size = numel(a.v[0]);
    require_in_range(s, i64(1), size, where(n) + "s must be between 1 and the size of the container");
    const Type et{type(x).elem, 0, 0, false, false};
    ValueId pivot = b_.extract(x, {b_.sub(s, i64(1))}, et);
    ValueId count = b_.var(Type::i64(), {}, 0.0);
    b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId i) {
      ValueId less = b_.emit1(OpKind::BoolToI, {cmp(CmpPred::Lt, b_.extract(x, {i}, et), pivot)}, Type::i64());
      b_.store(count, b_.add(b_.load(count), less));
    });
    return b_.load(count);
  }
  if (n == "cumulative_sum") {
    ValueId x = a.v[0];
    if (type(x).elem == Elem::F64) return kernel(n, {x}, type(x));
    ValueId size = numel(x);
    ValueId out = b_.var(type(x), {size}, 0.0);
    ValueId acc = b_.var(Type::i64(), {}, 0.0);
    b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId i) {
      ValueId s = b_.add(b_.load(acc), b_.extract(x, {i}, Type::i64()));
      b_.store(acc, s);
      b_.emit(Op::make(OpKind::StoreElem, {out, i, s}));
    });
    return b_.load(out);
  }
  return kNoValue;
}

// append_row, append_col, append_array: a var of the joined size, each part stored into its
// slice (the AD takes each part's adjoint back out of the same slice).
ValueId LibraryLowering::appending(const Args& a) {
  const std::string& n = a.name;
  if (n != "append_row" && n != "append_col" && n != "append_array") return kNoValue;
  const Type result = a.result();
  ValueId x = a.v[0], y = a.v[1];
  if (result.elem == Elem::F64) {
    x = real(x);
    y = real(y);
  }
  auto length = [&](size_t k, ValueId v) { return a.scalar(k) ? i64(1) : b_.dim(v, 0); };
  if (n == "append_array") {
    const Type xt = type(x);
    std::vector<ValueId> dims = {b_.add(b_.dim(x, 0), b_.dim(y, 0))};
    std::vector<std::pair<ValueId, ValueId>> first = {{i64(0), b_.dim(x, 0)}}, second = {{b_.dim(x, 0), dims[0]}};
    for (int k = 1; k < xt.rank(); ++k) {
      require_equal(b_.dim(x, k), b_.dim(y, k),
                    where(n) + "the elements of the arrays differ in dimension " + std::to_string(k + 1) + ": {} and {}");
      dims.push_back(b_.dim(x, k));
      first.push_back({i64(0), b_.dim(x, k)});
      second.push_back({i64(0), b_.dim(x, k)});
    }
    ValueId out = b_.var(xt, dims, 0.0);
    const int64_t all = (int64_t{1} << xt.rank()) - 1;
    store_slice(out, first, all, x);
    store_slice(out, second, all, y);
    return b_.load(out);
  }
  // One-dimensional results: vector (append_row) or row vector (append_col) of both parts.
  if (result.elem_rank == 1) {
    ValueId n1 = length(0, x), n2 = length(1, y), total = b_.add(n1, n2);
    ValueId out = b_.var(result, {total}, 0.0);
    auto put = [&](size_t k, ValueId v, ValueId lo, ValueId hi) {
      if (a.scalar(k)) b_.emit(Op::make(OpKind::StoreElem, {out, lo, v}));
      else store_slice(out, {{lo, hi}}, 1, v);
    };
    put(0, x, i64(0), n1);
    put(1, y, n1, total);
    return b_.load(out);
  }
  // Matrices: along rows (append_row) or columns (append_col); a vector operand is one column,
  // a row vector one row.
  const bool rows = n == "append_row";
  auto extent = [&](size_t k, ValueId v, bool along) -> ValueId {
    // along: the size along the joined dimension; otherwise across it.
    const BaseKind base = a.base(k);
    if (base == BaseKind::Matrix) return b_.dim(v, along == rows ? 0 : 1);
    const bool single = along;  // a vector/row vector adds one row or column
    return single ? i64(1) : b_.dim(v, 0);
  };
  ValueId across = extent(0, x, false);
  require_equal(across, extent(1, y, false),
                where(n) + (rows ? "the parts have {} and {} columns" : "the parts have {} and {} rows"));
  ValueId n1 = extent(0, x, true), n2 = extent(1, y, true), total = b_.add(n1, n2);
  ValueId out = b_.var(Type::matrix(), rows ? std::vector<ValueId>{total, across} : std::vector<ValueId>{across, total}, 0.0);
  auto put = [&](size_t k, ValueId v, ValueId lo, ValueId hi) {
    const bool whole = a.base(k) == BaseKind::Matrix;
    std::pair<ValueId, ValueId> joined = {lo, hi}, all = {i64(0), across};
    if (rows) store_slice(out, {joined, all}, whole ? 3 : 2, v);
    else store_slice(out, {all, joined}, whole ? 3 : 1, v);
  };
  put(0, x, i64(0), n1);
  put(1, y, n1, total);
  return b_.load(out);
}

// =============================================================================================
// Linear algebra

ValueId LibraryLowering::linear_algebra(const Args& a) {
  const std::string& n = a.name;
  auto mul = [&](const std::vector<ValueId>& e) { return b_.mul(e[0], e[1]); };
  if (n == "diag_pre_multiply") {
    ValueId v = a.v[0], m = a.v[1];
    require_equal(numel(v), b_.dim(m, 0), where(n) + "the vector has {} elements but the matrix {} rows");
    return map2(b_.dim(m, 0), b_.dim(m, 1), {v, m}, {Broadcast::Cols, Broadcast::Elementwise}, MapResult::Elementwise,
                Type::matrix(), mul);
  }
  if (n == "diag_post_multiply") {
    ValueId m = a.v[0], v = a.v[1];
    require_equal(numel(v), b_.dim(m, 1), where(n) + "the vector has {} elements but the matrix {} columns");
    return map2(b_.dim(m, 0), b_.dim(m, 1), {m, v}, {Broadcast::Elementwise, Broadcast::Rows}, MapResult::Elementwise,
                Type::matrix(), mul);
  }
  if (n == "multiply_lower_tri_self_transpose") return kernel(n, {a.v[0]}, Type::matrix());
  if (n == "crossprod") return matmul(a.v[0], a.v[0], 1);
  if (n == "tcrossprod") return matmul(a.v[0], a.v[0], 2);
  if (n == "quad_form" || n == "quad_form_sym") {
    ValueId A = a.v[0], B = a.v[1];
    if (n == "quad_form_sym") require_symmetric(A, n);
    else require_square(A, n);
    require_equal(b_.dim(A, 1), b_.dim(B, 0), where(n) + "the matrix has {} columns but the right operand {} rows");
    if (a.base(1) == BaseKind::Vector) {
      ValueId Av = matrix_vector(A, B);
      return map_sum(numel(B), {B, Av}, {Broadcast::Elementwise, Broadcast::Elementwise}, mul);
    }
    ValueId r = matmul(B, matmul(A, B, 0), 1);
    if (n == "quad_form") return r;
    // Symmetric by construction, as Stan returns it: (R + R') / 2.
    ValueId rt = transpose(r);
    return map(numel(r), {r, rt}, {Broadcast::Elementwise, Broadcast::Elementwise}, Type::matrix(),
               [&](const std::vector<ValueId>& e) { return b_.mul(f64(0.5), b_.add(e[0], e[1])); });
  }
  if (n == "quad_form_diag") {
    ValueId m = a.v[0], v = a.v[1];
    require_square(m, n);
    require_equal(numel(v), b_.dim(m, 0), where(n) + "the vector has {} elements but the matrix {} rows");
    return map2(b_.dim(m, 0), b_.dim(m, 1), {m, v, v}, {Broadcast::Elementwise, Broadcast::Cols, Broadcast::Rows},
                MapResult::Elementwise, Type::matrix(),
                [&](const std::vector<ValueId>& e) { return b_.mul(b_.mul(e[0], e[1]), e[2]); });
  }
  if (n == "inverse" || n == "inverse_spd") {
    ValueId A = a.v[0];
    if (n == "inverse_spd") require_symmetric(A, n);
    else require_square(A, n);
    ValueId inv = kernel("inverse", {A}, Type::matrix());
    if (n == "inverse") return inv;
    ValueId it = transpose(inv);
    return map(numel(inv), {inv, it}, {Broadcast::Elementwise, Broadcast::Elementwise}, Type::matrix(),
               [&](const std::vector<ValueId>& e) { return b_.mul(f64(0.5), b_.add(e[0], e[1])); });
  }
  if (n == "matrix_power") {
    ValueId A = a.v[0], power = a.v[1];
    require_square(A, n);
    require(cmp(CmpPred::Ge, power, i64(0)), where(n) + "the power must not be negative");
    ValueId size = b_.dim(A, 0);
    ValueId out = b_.var(Type::matrix(), {size, size}, 0.0);
    b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId i) { b_.emit(Op::make(OpKind::StoreElem, {out, i, i, f64(1.0)})); });
    b_.for_range(i64(1), power, [&](ValueId) { b_.store(out, matmul(b_.load(out), A, 0)); });
    return b_.load(out);
  }
  if (n == "symmetrize_from_lower_tri") {
    ValueId A = a.v[0];
    require_square(A, n);
    ValueId size = b_.dim(A, 0);
    ValueId out = b_.var(Type::matrix(), {size, size}, 0.0);
    b_.store(out, A);
    b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId j) {
      b_.for_range(b_.add(j, i64(1)), b_.sub(size, i64(1)), [&](ValueId i) {
        b_.emit(Op::make(OpKind::StoreElem, {out, j, i, b_.extract(A, {i, j}, Type::f64())}));
      });
    });
    return b_.load(out);
  }
  if (n == "softmax" || n == "log_softmax") {
    require(cmp(CmpPred::Gt, numel(a.v[0]), i64(0)), where(n) + "the vector is empty");
    return kernel(n, {a.v[0]}, Type::vector());
  }
  if (n == "eigenvalues_sym" || n == "eigenvectors_sym") {
    require_symmetric(a.v[0], n);
    return kernel(n, {a.v[0]}, n == "eigenvalues_sym" ? Type::vector() : Type::matrix());
  }
  if (n == "singular_values") return singular_values(a.v[0]);
  if (n == "matrix_exp") return matrix_exp(a.v[0]);
  return kNoValue;
}

// The square roots of the eigenvalues of the smaller Gram matrix (A'A or AA'), descending.
ValueId LibraryLowering::singular_values(ValueId A) {
  ValueId rows = b_.dim(A, 0), cols = b_.dim(A, 1), k = min_i64(rows, cols);
  ValueId gram = b_.var(Type::matrix(), {k, k}, 0.0);
  Op branch = Op::make(OpKind::If, {cmp(CmpPred::Ge, rows, cols)});
  Region tall, wide;
  b_.in(tall, [&] { b_.store(gram, matmul(A, A, 1)); });
  b_.in(wide, [&] { b_.store(gram, matmul(A, A, 2)); });
  branch.regions.push_back(std::move(tall));
  branch.regions.push_back(std::move(wide));
  b_.emit(std::move(branch));
  ValueId values = kernel("eigenvalues_sym", {b_.load(gram)}, Type::vector());
  ValueId out = b_.var(Type::vector(), {k}, 0.0);
  b_.for_range(i64(0), b_.sub(k, i64(1)), [&](ValueId i) {
    ValueId lambda = b_.extract(values, {b_.sub(b_.sub(k, i64(1)), i)}, Type::f64());
    lambda = select(cmp(CmpPred::Gt, lambda, f64(0.0)), lambda, f64(0.0));
    b_.emit(Op::make(OpKind::StoreElem, {out, i, b_.call("sqrt", {lambda})}));
  });
  return b_.load(out);
}

// The (6, 6) Pade approximant with scaling and squaring (Golub & Van Loan, "Matrix
// Computations", 4th ed., algorithm 9.3.1): X = A / 2^s with |X|_1 <= 1/2, exp(X) ~ D^-1 N
// with N = sum_k c_k X^k and D = sum_k (-1)^k c_k X^k (relative error below 4e-16), then s
// squarings.
ValueId LibraryLowering::matrix_exp(ValueId A) {
  require_square(A, "matrix_exp");
  ValueId size = b_.dim(A, 0);
  ValueId col_sums = map2(size, size, {A}, {Broadcast::Elementwise}, MapResult::SumOverRows, Type::row_vector(),
                          [&](const std::vector<ValueId>& e) { return b_.call("fabs", {e[0]}); });
  ValueId norm = b_.var(Type::f64(), {}, 0.0);
  b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId j) {
    ValueId c = b_.extract(col_sums, {j}, Type::f64());
    b_.store(norm, select(cmp(CmpPred::Gt, c, b_.load(norm)), c, b_.load(norm)));
  });
  // s = max(0, ceil(log2(2 |A|_1))) (a non-finite norm leaves s = 0: the result is NaN anyway).
  ValueId twice = b_.mul(f64(2.0), b_.load(norm));
  ValueId exponent = b_.call("ceil", {b_.call("log2", {select(cmp(CmpPred::Gt, twice, f64(1.0)), twice, f64(1.0))})});
  exponent = select(cmp(CmpPred::Lt, exponent, f64(1000.0)), exponent, f64(0.0));
  ValueId s = call_i64("to_int", {exponent});
  ValueId scale = b_.call("exp2", {b_.emit1(OpKind::Neg, {real(s)}, Type::f64())});
  ValueId X = map(numel(A), {A, scale}, {Broadcast::Elementwise, Broadcast::Scalar}, Type::matrix(),
                  [&](const std::vector<ValueId>& e) { return b_.mul(e[0], e[1]); });
  X = view(X, i64(0), {size, size}, Type::matrix());
  const double c[7] = {1.0, 0.5, 5.0 / 44, 1.0 / 66, 1.0 / 792, 1.0 / 15840, 1.0 / 665280};
  // Odd and even parts: N = E + O, D = E - O.
  std::vector<ValueId> powers = {X};
  for (int k = 2; k <= 6; ++k) powers.push_back(matmul(powers.back(), X, 0));
  auto combine = [&](std::initializer_list<int> ks) {
    std::vector<ValueId> inputs;
    std::vector<Broadcast> bc;
    for (int k : ks) {
      inputs.push_back(powers[k - 1]);
      bc.push_back(Broadcast::Elementwise);
    }
    std::vector<int> list(ks);
    return map(b_.mul(size, size), inputs, bc, Type::vector(), [&](const std::vector<ValueId>& e) {
      ValueId total = f64(0.0);
      for (size_t i = 0; i < list.size(); ++i) total = b_.add(total, b_.mul(f64(c[list[i]]), e[i]));
      return total;
    });
  };
  ValueId even = combine({2, 4, 6}), odd = combine({1, 3, 5});
  ValueId identity = b_.var(Type::matrix(), {size, size}, 0.0);
  b_.for_range(i64(0), b_.sub(size, i64(1)), [&](ValueId i) { b_.emit(Op::make(OpKind::StoreElem, {identity, i, i, f64(1.0)})); });
  ValueId eye = b_.load(identity);
  auto part = [&](bool numerator) {
    ValueId r = map(b_.mul(size, size), {eye, even, odd}, {Broadcast::Elementwise, Broadcast::Elementwise, Broadcast::Elementwise},
                    Type::vector(), [&](const std::vector<ValueId>& e) {
                      ValueId base = b_.add(e[0], e[1]);
                      return numerator ? b_.add(base, e[2]) : b_.sub(base, e[2]);
                    });
    return view(r, i64(0), {size, size}, Type::matrix());
  };
  ValueId result = b_.var(Type::matrix(), {size, size}, 0.0);
  b_.store(result, matmul(kernel("inverse", {part(false)}, Type::matrix()), part(true), 0));
  b_.for_range(i64(1), s, [&](ValueId) {
    ValueId r = b_.load(result);
    b_.store(result, matmul(r, r, 0));
  });
  return b_.load(result);
}

// mdivide_*: triangular solves by the stdlib's kernels; general ones through the inverse, and
// symmetric positive definite ones through the Cholesky factor.
ValueId LibraryLowering::solves(const Args& a) {
  const std::string& n = a.name;
  if (n == "mdivide_left_tri_low") {
    ValueId L = a.v[0], B = a.v[1];
    require_square(L, n);
    require_equal(b_.dim(L, 0), b_.dim(B, 0), where(n) + "the matrix has {} rows but the right-hand side {}");
    return kernel(n, {L, B}, type(B));
  }
  if (n == "mdivide_right_tri_low") {
    ValueId B = a.v[0], L = a.v[1];
    require_square(L, n);
    ValueId cols = a.base(0) == BaseKind::Matrix ? b_.dim(B, 1) : b_.dim(B, 0);
    require_equal(cols, b_.dim(L, 0), where(n) + "the left-hand side has {} columns but the matrix {} rows");
    return kernel(n, {B, L}, type(B));
  }
  if (n == "mdivide_left") {
    require_square(a.v[0], n);
    return mdivide_left(a.v[0], a.v[1]);
  }
  if (n == "mdivide_right") {
    ValueId B = a.v[0], A = a.v[1];
    require_square(A, n);
    ValueId cols = a.base(0) == BaseKind::Matrix ? b_.dim(B, 1) : b_.dim(B, 0);
    require_equal(cols, b_.dim(A, 0), where(n) + "the left-hand side has {} columns but the matrix {} rows");
    return mdivide_right(B, A, a.base(0) == BaseKind::Matrix);
  }
  if (n == "mdivide_left_spd") return mdivide_left_spd(a.v[0], a.v[1], n);
  if (n == "mdivide_right_spd") return mdivide_right_spd(a.v[0], a.v[1], n);
  return kNoValue;
}

// A general square system: an LU solve (the stdlib's mdivide_left kernel), not an explicit
// inverse, whose error grows with the condition number squared rather than the number.
ValueId LibraryLowering::mdivide_left(ValueId A, ValueId b) {
  require_equal(b_.dim(A, 1), b_.dim(b, 0), "mdivide_left: the matrix has {} columns but the right-hand side {} rows");
  return kernel("mdivide_left", {A, b}, type(b));
}

// B A^-1 = (A^-T B^T)^T.
ValueId LibraryLowering::mdivide_right(ValueId B, ValueId A, bool matrix_b) {
  if (matrix_b) return transpose(kernel("mdivide_left", {transpose(A), transpose(B)}, Type::matrix()));
  return as_row(kernel("mdivide_left", {transpose(A), as_column(B)}, Type::vector()));
}

// A^-1 b = L^-T (L^-1 b) with A = L L'; L^-T z is (z' L^-1)'.
ValueId LibraryLowering::mdivide_left_spd(ValueId A, ValueId b, const std::string& fn) {
  require_symmetric(A, fn);
  require_equal(b_.dim(A, 0), b_.dim(b, 0), where(fn) + "the matrix has {} rows but the right-hand side {}");
  ValueId L = cholesky(A);
  ValueId z = kernel("mdivide_left_tri_low", {L, b}, type(b));
  if (type(b).elem_rank == 1)
    return as_column(kernel("mdivide_right_tri_low", {as_row(z), L}, Type::row_vector()));
  return transpose(kernel("mdivide_right_tri_low", {transpose(z), L}, Type::matrix()));
}

// B A^-1 = (B L^-T) L^-1 with A = L L'; B L^-T is (L^-1 B')'.
ValueId LibraryLowering::mdivide_right_spd(ValueId B, ValueId A, const std::string& fn) {
  require_symmetric(A, fn);
  const bool row = type(B).elem_rank == 1;
  ValueId cols = row ? b_.dim(B, 0) : b_.dim(B, 1);
  require_equal(cols, b_.dim(A, 0), where(fn) + "the left-hand side has {} columns but the matrix {} rows");
  ValueId L = cholesky(A);
  if (row) {
    ValueId y = as_row(kernel("mdivide_left_tri_low", {L, as_column(B)}, Type::vector()));
    return kernel("mdivide_right_tri_low", {y, L}, Type::row_vector());
  }
  ValueId y = transpose(kernel("mdivide_left_tri_low", {L, transpose(B)}, Type::matrix()));
  return kernel("mdivide_right_tri_low", {y, L}, Type::matrix());
}

ValueId LibraryLowering::division(const ast::Binary& bn, ValueId lhs, ValueId rhs) {
  if (bn.op == ast::BinaryOp::LeftDiv) {
    require_square(lhs, "matrix division '\\'");
    return mdivide_left(lhs, rhs);
  }
  require_square(rhs, "matrix division '/'");
  const bool matrix = bn.lhs->type.base == BaseKind::Matrix;
  ValueId cols = matrix ? b_.dim(lhs, 1) : b_.dim(lhs, 0);
  require_equal(cols, b_.dim(rhs, 0), "matrix division '/': the left operand has {} columns but the right {} rows");
  return mdivide_right(lhs, rhs, matrix);
}

// =============================================================================================
// Covariance functions of Gaussian processes: 2-d maps over pairs of points

ValueId LibraryLowering::covariances(const Args& a) {
  const std::string& n = a.name;
  const bool exp_quad = n == "cov_exp_quad" || n == "gp_exp_quad_cov";
  if (!exp_quad && n != "gp_matern32_cov" && n != "gp_matern52_cov" && n != "gp_exponential_cov") return kNoValue;
  const bool cross = a.size() == 4;
  ValueId x1 = a.v[0], x2 = cross ? a.v[1] : a.v[0];
  ValueId alpha = real(a.v[cross ? 2 : 1]), rho = real(a.v[cross ? 3 : 2]);
  require(cmp(CmpPred::Gt, alpha, f64(0.0)), where(n) + "alpha must be positive");
  require(cmp(CmpPred::Gt, rho, f64(0.0)), where(n) + "rho must be positive");
  if (exp_quad && !cross) return kernel("gp_exp_quad_cov", {x1, alpha, rho}, Type::matrix());
  ValueId n1 = b_.dim(x1, 0), n2 = b_.dim(x2, 0);
  // The kernel of a squared distance (exp_quad) or of a distance.
  auto covariance = [&](ValueId sq_or_d, ValueId al, ValueId r) -> ValueId {
    ValueId a2 = b_.mul(al, al);
    if (exp_quad) return b_.mul(a2, b_.call("exp", {b_.div(b_.emit1(OpKind::Neg, {sq_or_d}, Type::f64()), b_.mul(f64(2.0), b_.mul(r, r)))}));
    ValueId s = b_.div(sq_or_d, r);
    if (n == "gp_exponential_cov") return b_.mul(a2, b_.call("exp", {b_.emit1(OpKind::Neg, {s}, Type::f64())}));
    const double c = n == "gp_matern32_cov" ? std::sqrt(3.0) : std::sqrt(5.0);
    ValueId cs = b_.mul(f64(c), s);
    ValueId poly = b_.add(f64(1.0), cs);
    if (n == "gp_matern52_cov") poly = b_.add(poly, b_.mul(f64(5.0 / 3.0), b_.mul(s, s)));
    return b_.mul(a2, b_.mul(poly, b_.call("exp", {b_.emit1(OpKind::Neg, {cs}, Type::f64())})));
  };
  if (type(x1).elem_rank == 0) {
    return map2(n1, n2, {real(x1), real(x2), alpha, rho},
                {Broadcast::Cols, Broadcast::Rows, Broadcast::Scalar, Broadcast::Scalar}, MapResult::Elementwise,
                Type::matrix(), [&](const std::vector<ValueId>& e) {
                  ValueId d = b_.sub(e[0], e[1]);
                  return covariance(exp_quad ? b_.mul(d, d) : b_.call("fabs", {d}), e[2], e[3]);
                });
  }
  // Points as vectors: |x1_i - x2_j|^2 = |x1_i|^2 + |x2_j|^2 - 2 x1_i . x2_j, with the points
  // the columns of a D x N matrix (the storage of an array of vectors).
  ValueId D = b_.dim(x1, 1);
  require_equal(D, b_.dim(x2, 1), where(n) + "the points have {} and {} dimensions");
  ValueId X1 = view(x1, i64(0), {D, n1}, Type::matrix()), X2 = view(x2, i64(0), {D, n2}, Type::matrix());
  auto norms = [&](ValueId X) {
    return map2(b_.dim(X, 0), b_.dim(X, 1), {X}, {Broadcast::Elementwise}, MapResult::SumOverRows, Type::row_vector(),
                [&](const std::vector<ValueId>& e) { return b_.mul(e[0], e[0]); });
  };
  ValueId G = matmul(X1, X2, 1);
  return map2(n1, n2, {G, norms(X1), norms(X2), alpha, rho},
              {Broadcast::Elementwise, Broadcast::Cols, Broadcast::Rows, Broadcast::Scalar, Broadcast::Scalar},
              MapResult::Elementwise, Type::matrix(), [&](const std::vector<ValueId>& e) {
                ValueId sq = b_.sub(b_.add(e[1], e[2]), b_.mul(f64(2.0), e[0]));
                sq = select(cmp(CmpPred::Lt, sq, f64(0.0)), f64(0.0), sq);
                return covariance(exp_quad ? sq : b_.call("sqrt", {sq}), e[3], e[4]);
              });
}

// =============================================================================================
// Integer and other scalar functions

ValueId LibraryLowering::integer_functions(const Args& a) {
  const std::string& n = a.name;
  auto to_i = [&](ValueId b) { return b_.emit1(OpKind::BoolToI, {b}, Type::i64()); };
  if (n == "int_step") {
    ValueId x = a.v[0];
    return to_i(type(x).elem == Elem::I64 ? cmp(CmpPred::Gt, x, i64(0)) : cmp(CmpPred::Gt, x, f64(0.0)));
  }
  if (n == "is_inf") {
    ValueId x = real(a.v[0]);
    return to_i(b_.emit1(OpKind::Or, {cmp(CmpPred::Eq, x, f64(HUGE_VAL)), cmp(CmpPred::Eq, x, f64(-HUGE_VAL))}, Type::boolean()));
  }
  if (n == "is_nan") {
    ValueId x = real(a.v[0]);
    return to_i(cmp(CmpPred::Ne, x, x));
  }
  if (n == "choose") {
    ValueId nn = a.v[0], k = a.v[1];
    require(bool_and(cmp(CmpPred::Ge, nn, i64(0)), cmp(CmpPred::Ge, k, i64(0))), where(n) + "n and k must not be negative");
    return call_i64("choose", {nn, k});
  }
  if (n == "abs") {
    return elementwise({a.v[0]}, Type::i64(), [&](const std::vector<ValueId>& e) {
      return select(cmp(CmpPred::Lt, e[0], i64(0)), b_.emit1(OpKind::Neg, {e[0]}, Type::i64()), e[0]);
    });
  }
  return kNoValue;
}

ValueId LibraryLowering::elementwise_functions(const Args& a) {
  const std::string& n = a.name;
  if (n == "inc_beta") return b_.call("inc_beta", {real(a.v[0]), real(a.v[1]), real(a.v[2])});
  if (n == "falling_factorial" || n == "rising_factorial") {
    // The stdlib's take an int n; a real n goes through the log form: exp(log_falling_factorial).
    const bool int_n = type(a.v[1]).elem == Elem::I64;
    std::vector<ValueId> xs = {a.v[0], a.v[1]};
    return elementwise(xs, Type::f64(), [&](const std::vector<ValueId>& e) {
      ValueId x = real(e[0]);
      if (int_n) return b_.call(n, {x, e[1]});
      return b_.call("exp", {b_.call("log_" + n, {x, real(e[1])})});
    });
  }
  return kNoValue;
}

// =============================================================================================
// Multivariate random number generators (generated quantities, transformed data)

ValueId LibraryLowering::random_numbers(const Args& a) {
  const std::string& n = a.name;
  if (!rng_names().count(n)) return kNoValue;
  const ValueId rng = a.rng;
  const Type result = a.result();
  if (n == "multi_normal_rng" || n == "multi_normal_cholesky_rng" || n == "dirichlet_rng" ||
      n == "categorical_rng" || n == "categorical_logit_rng") {
    std::vector<ValueId> operands;
    for (ValueId v : a.v) operands.push_back(real(v));
    operands.push_back(rng);
    ValueId r = kernel(n, operands, result);
    if (n == "categorical_rng")
      require(cmp(CmpPred::Gt, r, i64(0)), where(n) + "theta is not a simplex");
    return r;
  }
  if (n == "lkj_corr_cholesky_rng" || n == "lkj_corr_rng") {
    ValueId K = a.v[0], eta = real(a.v[1]);
    require(cmp(CmpPred::Ge, K, i64(0)), where(n) + "K must not be negative");
    require(cmp(CmpPred::Gt, eta, f64(0.0)), where(n) + "eta must be positive");
    ValueId L = kernel("lkj_corr_cholesky_rng", {K, eta, rng}, Type::matrix());
    if (n == "lkj_corr_cholesky_rng") return L;
    return kernel("multiply_lower_tri_self_transpose", {L}, Type::matrix());
  }
  if (n == "multi_student_t_rng") {
    // mu + sqrt(w) z with z ~ multi_normal(0, Sigma), w ~ inv_gamma(nu / 2, nu / 2) (Stan's
    // construction).
    ValueId nu = real(a.v[0]), mu = real(a.v[1]), Sigma = a.v[2];
    require(cmp(CmpPred::Gt, nu, f64(0.0)), where(n) + "nu must be positive");
    ValueId zero = map(numel(mu), {f64(0.0)}, {Broadcast::Scalar}, Type::vector(), [&](const std::vector<ValueId>& e) { return e[0]; });
    ValueId z = kernel("multi_normal_rng", {zero, Sigma, rng}, Type::vector());
    ValueId half = b_.mul(f64(0.5), nu);
    ValueId w = rng_draw("inv_gamma_rng", {half, half}, rng, Type::f64());
    ValueId s = b_.call("sqrt", {w});
    return map(numel(mu), {mu, z, s}, {Broadcast::Elementwise, Broadcast::Elementwise, Broadcast::Scalar},
               Type::vector(), [&](const std::vector<ValueId>& e) { return b_.add(e[0], b_.mul(e[2], e[1])); });
  }
  if (n == "multinomial_rng") return multinomial_rng(real(a.v[0]), a.v[1], rng);
  if (n == "multinomial_logit_rng")
    return multinomial_rng(kernel("softmax", {real(a.v[0])}, Type::vector()), a.v[1], rng);
  if (n == "ordered_logistic_rng") {
    // The category probabilities (Stan's: differences of inv_logit(eta - c_k)), then one
    // categorical draw.
    ValueId eta = real(a.v[0]), c = a.v[1];
    ValueId cuts = numel(c), K = b_.add(cuts, i64(1));
    ValueId p = b_.var(Type::vector(), {K}, 0.0);
    ValueId prev = b_.var(Type::f64(), {}, 1.0);
    b_.for_range(i64(0), b_.sub(cuts, i64(1)), [&](ValueId k) {
      ValueId below = b_.call("inv_logit", {b_.sub(eta, b_.extract(c, {k}, Type::f64()))});
      b_.emit(Op::make(OpKind::StoreElem, {p, k, b_.sub(b_.load(prev), below)}));
      b_.store(prev, below);
    });
    b_.emit(Op::make(OpKind::StoreElem, {p, cuts, b_.load(prev)}));
    ValueId r = kernel("categorical_rng", {b_.load(p), rng}, Type::i64());
    require(cmp(CmpPred::Gt, r, i64(0)), where(n) + "the cut points must be ordered");
    return r;
  }
  if (n == "wishart_rng") return wishart_rng(real(a.v[0]), a.v[1], rng, n);
  if (n == "inv_wishart_rng") {
    // Stan's: the inverse of a Wishart draw with the inverse scale.
    ValueId S = a.v[1];
    require_symmetric(S, n);
    ValueId inv = kernel("inverse", {S}, Type::matrix());
    return kernel("inverse", {wishart_rng(real(a.v[0]), inv, rng, n)}, Type::matrix());
  }
  return kNoValue;
}

// Sequential binomial draws (as Stan's multinomial_rng): x_k ~ binomial(N - drawn, theta_k /
// remaining mass), the last category takes what is left.
ValueId LibraryLowering::multinomial_rng(ValueId theta, ValueId N, ValueId rng) {
  const std::string fn = "multinomial_rng";
  require(cmp(CmpPred::Ge, N, i64(0)), where(fn) + "N must not be negative");
  ValueId K = numel(theta);
  require(cmp(CmpPred::Gt, K, i64(0)), where(fn) + "theta is empty");
  ValueId out = b_.var(array_of(Elem::I64, 1), {K}, 0.0);
  ValueId left = b_.var(Type::i64(), {}, 0.0);
  ValueId mass = b_.var(Type::f64(), {}, 1.0);
  b_.store(left, N);
  b_.for_range(i64(0), b_.sub(K, i64(2)), [&](ValueId k) {
    ValueId t = b_.extract(theta, {k}, Type::f64());
    ValueId p = b_.div(t, b_.load(mass));
    p = select(cmp(CmpPred::Gt, p, f64(1.0)), f64(1.0), select(cmp(CmpPred::Lt, p, f64(0.0)), f64(0.0), p));
    ValueId x = rng_draw("binomial_rng", {b_.load(left), p}, rng, Type::i64());
    b_.emit(Op::make(OpKind::StoreElem, {out, k, x}));
    b_.store(left, b_.sub(b_.load(left), x));
    b_.store(mass, b_.sub(b_.load(mass), t));
  });
  b_.emit(Op::make(OpKind::StoreElem, {out, b_.sub(K, i64(1)), b_.load(left)}));
  return b_.load(out);
}

// Bartlett's decomposition: W = (L A)(L A)' with S = L L', A lower triangular with
// A_ii = sqrt(chi_square(nu - i)) (i 0-based) and standard normal entries below the diagonal.
ValueId LibraryLowering::wishart_rng(ValueId nu, ValueId S, ValueId rng, const std::string& fn) {
  require_symmetric(S, fn);
  ValueId K = b_.dim(S, 0);
  require(cmp(CmpPred::Gt, nu, real(b_.sub(K, i64(1)))), where(fn) + "nu must be greater than K - 1");
  ValueId L = cholesky(S);
  ValueId A = b_.var(Type::matrix(), {K, K}, 0.0);
  b_.for_range(i64(0), b_.sub(K, i64(1)), [&](ValueId j) {
    ValueId chi = rng_draw("chi_square_rng", {b_.sub(nu, real(j))}, rng, Type::f64());
    b_.emit(Op::make(OpKind::StoreElem, {A, j, j, b_.call("sqrt", {chi})}));
    b_.for_range(b_.add(j, i64(1)), b_.sub(K, i64(1)), [&](ValueId i) {
      b_.emit(Op::make(OpKind::StoreElem, {A, i, j, rng_draw("normal_rng", {f64(0.0), f64(1.0)}, rng, Type::f64())}));
    });
  });
  ValueId LA = matmul(L, b_.load(A), 0);
  return kernel("multiply_lower_tri_self_transpose", {LA}, Type::matrix());
}

// =============================================================================================
// Multivariate densities

ValueId LibraryLowering::density(const std::string& kernel_name, std::vector<ValueId> args, int flags) {
  const std::string& n = kernel_name;
  if (n == "multi_student_t_lpdf") return multi_student_t(args, flags);
  if (n == "ordered_logistic_lpmf") return ordered_logistic(args, flags);
  if (n == "wishart_lpdf" || n == "inv_wishart_lpdf" || n == "wishart_cholesky_lpdf" || n == "inv_wishart_cholesky_lpdf")
    return wishart(n, args, flags);
  if (n == "multinomial_lpmf" || n == "multinomial_logit_lpmf") {
    // log N! - sum log y_k! + sum y_k log theta_k (multiply_log: 0 log 0 = 0); the logit form
    // takes log theta = log_softmax(gamma).
    ValueId y = args[0], theta = args[1];
    const std::string fn = n.substr(0, n.size() - 5);
    ValueId K = numel(y);
    require_equal(K, numel(theta), where(fn) + "y has {} elements but the probabilities {}");
    require(cmp(CmpPred::Gt, K, i64(0)), where(fn) + "y is empty");
    ValueId lp = f64(0.0);
    if (include(flags, {})) {
      ValueId total = b_.var(Type::i64(), {}, 0.0);
      b_.for_range(i64(0), b_.sub(K, i64(1)), [&](ValueId k) {
        ValueId yk = b_.extract(y, {k}, Type::i64());
        require(cmp(CmpPred::Ge, yk, i64(0)), where(fn) + "the counts must not be negative");
        b_.store(total, b_.add(b_.load(total), yk));
      });
      ValueId log_factorials = map_sum(K, {y}, {Broadcast::Elementwise}, [&](const std::vector<ValueId>& e) {
        return b_.call("lgamma", {b_.add(real(e[0]), f64(1.0))});
      });
      lp = b_.sub(b_.call("lgamma", {b_.add(real(b_.load(total)), f64(1.0))}), log_factorials);
    }
    if (include(flags, {1})) {
      ValueId terms;
      if (n == "multinomial_logit_lpmf") {
        ValueId ls = kernel("log_softmax", {theta}, Type::vector());
        terms = map_sum(K, {y, ls}, {Broadcast::Elementwise, Broadcast::Elementwise},
                        [&](const std::vector<ValueId>& e) { return b_.mul(real(e[0]), e[1]); });
      } else {
        terms = map_sum(K, {y, theta}, {Broadcast::Elementwise, Broadcast::Elementwise},
                        [&](const std::vector<ValueId>& e) { return b_.call("multiply_log", {real(e[0]), e[1]}); });
      }
      lp = b_.add(lp, terms);
    }
    return lp;
  }
  if (n == "lkj_corr_lpdf") {
    // lkj_corr(Omega | eta) = lkj_corr_cholesky(L | eta) - sum_i (K - 1 - i) log L_ii with
    // Omega = L L' (i 0-based): the factor's density has the Jacobian of Omega -> L in it.
    ValueId Omega = args[0], eta = args[1];
    require_symmetric(Omega, "lkj_corr");
    ValueId L = cholesky(Omega);
    ValueId lp = kernel("lkj_corr_cholesky_lpdf", {L, eta}, Type::f64(), flags);
    if (!include(flags, {0, 1})) return lp;
    ValueId jacobian = sum_log_diagonal(L, [&](ValueId i, ValueId size) {
      return real(b_.sub(b_.sub(size, i64(1)), i));
    });
    return b_.sub(lp, jacobian);
  }
  return kNoValue;
}

// multi_student_t(y | nu, mu, Sigma), y and mu vectors or arrays of them (one instance per
// element): lgamma((nu + K) / 2) - lgamma(nu / 2) - K / 2 log(nu pi) - log|L| - (nu + K) / 2
// log1p(|L^-1 (y - mu)|^2 / nu) per instance, with Sigma = L L'.
ValueId LibraryLowering::multi_student_t(const std::vector<ValueId>& args, int flags) {
  const std::string fn = "multi_student_t";
  ValueId y = args[0], nu = args[1], mu = args[2], Sigma = args[3];
  require(cmp(CmpPred::Gt, nu, f64(0.0)), where(fn) + "nu must be positive");
  require_symmetric(Sigma, fn);
  ValueId K = b_.dim(Sigma, 0);
  const bool y_arrayed = type(y).array_rank > 0, mu_arrayed = type(mu).array_rank > 0;
  ValueId y_len = y_arrayed ? b_.dim(y, 1) : b_.dim(y, 0), mu_len = mu_arrayed ? b_.dim(mu, 1) : b_.dim(mu, 0);
  require_equal(y_len, K, where(fn) + "y has {} elements but Sigma has {} rows");
  require_equal(mu_len, K, where(fn) + "mu has {} elements but Sigma has {} rows");
  ValueId count = y_arrayed ? b_.dim(y, 0) : mu_arrayed ? b_.dim(mu, 0) : i64(1);
  if (y_arrayed && mu_arrayed) require_equal(b_.dim(y, 0), b_.dim(mu, 0), where(fn) + "there are {} y but {} mu");
  // The deviations as the columns of a K x count matrix.
  ValueId D;
  if (y_arrayed == mu_arrayed) {
    D = view(map(b_.mul(K, count), {flat(y), flat(mu)}, {Broadcast::Elementwise, Broadcast::Elementwise}, Type::vector(),
                 [&](const std::vector<ValueId>& e) { return b_.sub(e[0], e[1]); }),
             i64(0), {K, count}, Type::matrix());
  } else {
    ValueId arr = y_arrayed ? y : mu, one = y_arrayed ? mu : y;
    ValueId A = view(arr, i64(0), {K, count}, Type::matrix());
    D = map2(K, count, {A, one}, {Broadcast::Elementwise, Broadcast::Cols}, MapResult::Elementwise, Type::matrix(),
             [&](const std::vector<ValueId>& e) { return y_arrayed ? b_.sub(e[0], e[1]) : b_.sub(e[1], e[0]); });
  }
  ValueId L = cholesky(Sigma);
  ValueId Kr = real(K), countr = real(count);
  ValueId half_nu_k = b_.mul(f64(0.5), b_.add(nu, Kr));
  ValueId lp = f64(0.0);
  if (include(flags, {1})) {
    ValueId c = b_.sub(b_.call("lgamma", {half_nu_k}), b_.call("lgamma", {b_.mul(f64(0.5), nu)}));
    c = b_.sub(c, b_.mul(b_.mul(f64(0.5), Kr), b_.call("log", {nu})));
    lp = b_.add(lp, b_.mul(countr, c));
  }
  if (include(flags, {})) lp = b_.sub(lp, b_.mul(countr, b_.mul(b_.mul(f64(0.5), Kr), f64(kLogPi))));
  if (include(flags, {3})) lp = b_.sub(lp, b_.mul(countr, sum_log_diagonal(L, nullptr)));
  if (include(flags, {0, 1, 2, 3})) {
    ValueId Z = kernel("mdivide_left_tri_low", {L, D}, Type::matrix());
    ValueId q = map2(K, count, {Z}, {Broadcast::Elementwise}, MapResult::SumOverRows, Type::row_vector(),
                     [&](const std::vector<ValueId>& e) { return b_.mul(e[0], e[0]); });
    ValueId terms = map_sum(count, {q, nu}, {Broadcast::Elementwise, Broadcast::Scalar}, [&](const std::vector<ValueId>& e) {
      return b_.call("log1p", {b_.div(e[0], e[1])});
    });
    lp = b_.sub(lp, b_.mul(half_nu_k, terms));
  }
  return lp;
}

// ordered_logistic(k | eta, c): log1m_inv_logit(eta - c_1) for k = 1, log_inv_logit(eta -
// c_{K-1}) for k = K, else log_inv_logit_diff(eta - c_{k-1}, eta - c_k) (Stan's); k and eta
// may be arrays (one instance each), c one vector or one per instance.
ValueId LibraryLowering::ordered_logistic(const std::vector<ValueId>& args, int flags) {
  (void)flags;  // no constant terms
  const std::string fn = "ordered_logistic";
  ValueId k = args[0], eta = args[1], c = args[2];
  const bool arrayed = type(k).rank() > 0, c_arrayed = type(c).array_rank > 0;
  ValueId count = arrayed ? b_.dim(k, 0) : i64(1);
  if (arrayed) require_equal(count, b_.dim(eta, 0), where(fn) + "there are {} outcomes but {} eta");
  if (c_arrayed) require_equal(count, b_.dim(c, 0), where(fn) + "there are {} outcomes but {} cut-point vectors");
  ValueId cuts = c_arrayed ? b_.dim(c, 1) : b_.dim(c, 0);
  ValueId lp = b_.var(Type::f64(), {}, 0.0);
  b_.for_range(i64(0), b_.sub(count, i64(1)), [&](ValueId n) {
    ValueId kn = arrayed ? b_.extract(k, {n}, Type::i64()) : k;
    ValueId en = arrayed ? b_.extract(eta, {n}, Type::f64()) : eta;
    ValueId cn = c_arrayed ? b_.extract(c, {n}, Type::vector()) : c;
    require_in_range(kn, i64(1), b_.add(cuts, i64(1)), where(fn) + "the outcome must be between 1 and size(c) + 1");
    b_.for_range(i64(1), b_.sub(cuts, i64(1)), [&](ValueId j) {
      ValueId ordered = cmp(CmpPred::Gt, b_.extract(cn, {j}, Type::f64()), b_.extract(cn, {b_.sub(j, i64(1))}, Type::f64()));
      require(ordered, where(fn) + "the cut points are not ordered");
    });
    auto at = [&](ValueId idx) { return b_.sub(en, b_.extract(cn, {idx}, Type::f64())); };
    Op first = Op::make(OpKind::If, {cmp(CmpPred::Eq, kn, i64(1))});
    Region then_first, else_first;
    b_.in(then_first, [&] { b_.store(lp, b_.add(b_.load(lp), b_.call("log1m_inv_logit", {at(i64(0))}))); });
    b_.in(else_first, [&] {
      Op last = Op::make(OpKind::If, {cmp(CmpPred::Eq, kn, b_.add(cuts, i64(1)))});
      Region then_last, else_last;
      b_.in(then_last, [&] { b_.store(lp, b_.add(b_.load(lp), b_.call("log_inv_logit", {at(b_.sub(cuts, i64(1)))}))); });
      b_.in(else_last, [&] {
        ValueId term = b_.call("log_inv_logit_diff", {at(b_.sub(kn, i64(2))), at(b_.sub(kn, i64(1)))});
        b_.store(lp, b_.add(b_.load(lp), term));
      });
      last.regions.push_back(std::move(then_last));
      last.regions.push_back(std::move(else_last));
      b_.emit(std::move(last));
    });
    first.regions.push_back(std::move(then_first));
    first.regions.push_back(std::move(else_first));
    b_.emit(std::move(first));
  });
  return b_.load(lp);
}

// The Wishart family (Stan's parameterisations): W | nu, S (wishart, inv_wishart) and the
// Cholesky factor forms L_W | nu, L_S, whose densities include the Jacobian of W = L_W L_W'.
// With q the log determinants and t the trace terms:
//   wishart:      (nu - K - 1)/2 log|W| - tr(S^-1 W)/2 - nu K/2 log 2 - nu/2 log|S| - lmgamma_K(nu/2)
//   inv_wishart:  nu/2 log|S| - (nu + K + 1)/2 log|W| - tr(S W^-1)/2 - nu K/2 log 2 - lmgamma_K(nu/2)
//   wishart_cholesky:     K log 2 (1 - nu/2) - lmgamma_K(nu/2) + sum_i (nu - 1 - i) log L_W,ii
//                         - nu sum_i log L_S,ii - |L_S^-1 L_W|^2 / 2
//   inv_wishart_cholesky: K log 2 (1 - nu/2) - lmgamma_K(nu/2) - sum_i (nu + 1 + i) log L_W,ii
//                         + nu sum_i log L_S,ii - |L_W^-1 L_S|^2 / 2           (i 0-based)
ValueId LibraryLowering::wishart(const std::string& kernel_name, const std::vector<ValueId>& args, int flags) {
  const std::string fn = kernel_name.substr(0, kernel_name.size() - 5);
  const bool inverse = fn.rfind("inv_", 0) == 0;
  const bool factors = fn.find("cholesky") != std::string::npos;
  ValueId W = args[0], nu = args[1], S = args[2];
  ValueId K = b_.dim(S, 0);
  require_square(W, fn);
  require_square(S, fn);
  require_equal(b_.dim(W, 0), K, where(fn) + "the variate has {} rows but the scale {}");
  require(cmp(CmpPred::Gt, nu, real(b_.sub(K, i64(1)))), where(fn) + "nu must be greater than K - 1");
  ValueId Kr = real(K);
  ValueId half_nu = b_.mul(f64(0.5), nu);
  ValueId lmgamma = b_.call("lmgamma", {K, half_nu});
  auto frobenius = [&](ValueId X) {
    return map_sum(numel(X), {X}, {Broadcast::Elementwise}, [&](const std::vector<ValueId>& e) { return b_.mul(e[0], e[0]); });
  };
  ValueId lp = f64(0.0);
  if (factors) {
    ValueId LW = W, LS = S;
    if (include(flags, {1}))
      lp = b_.sub(b_.mul(b_.mul(Kr, f64(kLogTwo)), b_.sub(f64(1.0), half_nu)), lmgamma);
    if (include(flags, {0, 1, 2})) {
      ValueId w_terms = sum_log_diagonal(LW, [&](ValueId i, ValueId) {
        return inverse ? b_.add(b_.add(nu, f64(1.0)), real(i)) : b_.sub(b_.sub(nu, f64(1.0)), real(i));
      });
      ValueId s_term = b_.mul(nu, sum_log_diagonal(LS, nullptr));
      ValueId X = inverse ? kernel("mdivide_left_tri_low", {LW, LS}, Type::matrix())
                          : kernel("mdivide_left_tri_low", {LS, LW}, Type::matrix());
      ValueId t = b_.mul(f64(0.5), frobenius(X));
      lp = inverse ? b_.add(lp, b_.sub(b_.sub(s_term, w_terms), t)) : b_.add(lp, b_.sub(b_.sub(w_terms, s_term), t));
    }
    return lp;
  }
  require_symmetric(W, fn);
  require_symmetric(S, fn);
  ValueId LW = cholesky(W), LS = cholesky(S);
  // log|X| = 2 sum log L_X,ii.
  auto log_det = [&](ValueId L) { return b_.mul(f64(2.0), sum_log_diagonal(L, nullptr)); };
  if (include(flags, {1}))
    lp = b_.sub(f64(0.0), b_.add(b_.mul(b_.mul(half_nu, Kr), f64(kLogTwo)), lmgamma));
  if (include(flags, {1, 2})) {
    ValueId term = b_.mul(half_nu, log_det(LS));
    lp = inverse ? b_.add(lp, term) : b_.sub(lp, term);
  }
  if (include(flags, {0, 1})) {
    ValueId coefficient = inverse ? b_.emit1(OpKind::Neg, {b_.mul(f64(0.5), b_.add(b_.add(nu, Kr), f64(1.0)))}, Type::f64())
                                  : b_.mul(f64(0.5), b_.sub(b_.sub(nu, Kr), f64(1.0)));
    lp = b_.add(lp, b_.mul(coefficient, log_det(LW)));
  }
  if (include(flags, {0, 2})) {
    // tr(S^-1 W) = |L_S^-1 L_W|^2 and tr(S W^-1) = |L_W^-1 L_S|^2 (Frobenius norms).
    ValueId X = inverse ? kernel("mdivide_left_tri_low", {LW, LS}, Type::matrix())
                        : kernel("mdivide_left_tri_low", {LS, LW}, Type::matrix());
    lp = b_.sub(lp, b_.mul(f64(0.5), frobenius(X)));
  }
  return lp;
}

}  // namespace halo::ir
