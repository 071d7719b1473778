// The library functions of compiler/ir/lower_functions.cpp through whole models: values against
// closed forms written out here (read back as transformed parameters or generated quantities),
// gradients of log densities built from them against central finite differences, the
// multivariate random number generators against their moments, and the run-time size checks.
#include <algorithm>
#include <numeric>

#include "model_harness.h"

using namespace halo::model_harness;

namespace {

using V = std::vector<double>;

// A column-major matrix (Stan's layout, and Halo's).
struct Mat {
  int r = 0, c = 0;
  V a;
  Mat() = default;
  Mat(int rows, int cols) : r(rows), c(cols), a(static_cast<size_t>(rows * cols), 0.0) {}
  Mat(int rows, int cols, const double* p) : r(rows), c(cols), a(p, p + rows * cols) {}
  double& operator()(int i, int j) { return a[i + j * r]; }
  double operator()(int i, int j) const { return a[i + j * r]; }
};

Mat mul(const Mat& A, const Mat& B) {
  Mat C(A.r, B.c);
  for (int i = 0; i < A.r; ++i)
    for (int j = 0; j < B.c; ++j)
      for (int k = 0; k < A.c; ++k) C(i, j) += A(i, k) * B(k, j);
  return C;
}
Mat transpose(const Mat& A) {
  Mat T(A.c, A.r);
  for (int i = 0; i < A.r; ++i)
    for (int j = 0; j < A.c; ++j) T(j, i) = A(i, j);
  return T;
}
// Gauss-Jordan with partial pivoting; also the determinant.
Mat inverse(const Mat& A, double* det = nullptr) {
  const int n = A.r;
  Mat M = A, I(n, n);
  for (int i = 0; i < n; ++i) I(i, i) = 1;
  double d = 1;
  for (int col = 0; col < n; ++col) {
    int p = col;
    for (int i = col + 1; i < n; ++i)
      if (std::fabs(M(i, col)) > std::fabs(M(p, col))) p = i;
    if (p != col) {
      d = -d;
      for (int j = 0; j < n; ++j) {
        std::swap(M(p, j), M(col, j));
        std::swap(I(p, j), I(col, j));
      }
    }
    double piv = M(col, col);
    d *= piv;
    for (int j = 0; j < n; ++j) {
      M(col, j) /= piv;
      I(col, j) /= piv;
    }
    for (int i = 0; i < n; ++i) {
      if (i == col) continue;
      double f = M(i, col);
      for (int j = 0; j < n; ++j) {
        M(i, j) -= f * M(col, j);
        I(i, j) -= f * I(col, j);
      }
    }
  }
  if (det) *det = d;
  return I;
}
Mat cholesky(const Mat& A) {
  const int n = A.r;
  Mat L(n, n);
  for (int j = 0; j < n; ++j) {
    double s = A(j, j);
    for (int k = 0; k < j; ++k) s -= L(j, k) * L(j, k);
    L(j, j) = std::sqrt(s);
    for (int i = j + 1; i < n; ++i) {
      double t = A(i, j);
      for (int k = 0; k < j; ++k) t -= L(i, k) * L(j, k);
      L(i, j) = t / L(j, j);
    }
  }
  return L;
}
// L^-1 B for lower triangular L.
Mat lower_solve(const Mat& L, const Mat& B) {
  Mat X(B.r, B.c);
  for (int j = 0; j < B.c; ++j)
    for (int i = 0; i < L.r; ++i) {
      double s = B(i, j);
      for (int k = 0; k < i; ++k) s -= L(i, k) * X(k, j);
      X(i, j) = s / L(i, i);
    }
  return X;
}
double log_sum_exp(const V& x) {
  double m = *std::max_element(x.begin(), x.end()), s = 0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s);
}
double inv_logit(double x) { return 1 / (1 + std::exp(-x)); }

// The transformed parameters (constrain's second result), in Stan's order.
V transformed(const Model& model, std::vector<double> theta, std::vector<void*> data = {}) {
  TestWorkspace w;
  TransformedData td(model, &w.ws, data);
  halo_tensor t = halo::testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
  std::vector<void*> args = {&t};
  args.insert(args.end(), data.begin(), data.end());
  args.insert(args.end(), td.args.begin(), td.args.end());
  halo_tensor params{}, tparams{};
  void* results[] = {&params, &tparams};
  int32_t rc = model.get("constrain")(&w.ws, args.data(), results);
  INFO(w.error);
  REQUIRE(rc == 0);
  const double* p = static_cast<const double*>(tparams.data);
  return V(p, p + tparams.dims[0]);
}

// A generator state for generated_quantities (xoshiro256++ needs a non-zero state).
struct Rng {
  uint64_t s[4] = {0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull, 0x2545F4914F6CDD1Dull};
};

// generated_quantities(theta, rng) in Stan's order; the rng state advances across calls.
V generated(const Model& model, std::vector<double> theta, Rng& rng, std::vector<void*> data = {}) {
  TestWorkspace w;
  TransformedData td(model, &w.ws, data);
  halo_tensor t = halo::testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
  int64_t handle = static_cast<int64_t>(reinterpret_cast<intptr_t>(&rng));
  std::vector<void*> args = {&t, &handle};
  args.insert(args.end(), data.begin(), data.end());
  args.insert(args.end(), td.args.begin(), td.args.end());
  halo_tensor out{};
  void* results[] = {&out};
  int32_t rc = model.get("generated_quantities")(&w.ws, args.data(), results);
  INFO(w.error);
  REQUIRE(rc == 0);
  const double* p = static_cast<const double*>(out.data);
  return V(p, p + out.dims[0]);
}

// The message of a log density call that must fail.
std::string density_error(const Model& model, std::vector<double> theta, std::vector<void*> data) {
  TestWorkspace w;
  TransformedData td(model, &w.ws, data);
  halo_tensor t = halo::testing::make_tensor(theta, {static_cast<int64_t>(theta.size())});
  int64_t jacobian = 1;
  std::vector<void*> args = {&t, &jacobian};
  args.insert(args.end(), data.begin(), data.end());
  args.insert(args.end(), td.args.begin(), td.args.end());
  double lp = 0;
  void* results[] = {&lp};
  int32_t rc = model.get("log_density")(&w.ws, args.data(), results);
  CHECK(rc != 0);
  return w.error;
}

void check_values(const V& got, const V& expected, double eps = 1e-12) {
  REQUIRE(got.size() == expected.size());
  for (size_t k = 0; k < got.size(); ++k) {
    CAPTURE(k);
    CHECK(got[k] == doctest::Approx(expected[k]).epsilon(eps).scale(1.0));
  }
}
void append(V& out, const V& x) { out.insert(out.end(), x.begin(), x.end()); }
void append_mat(V& out, const Mat& m) { append(out, m.a); }

// Fixed test inputs.
const V kV4 = {0.3, -1.2, 0.8, 2.1};
const V kR3 = {0.5, -0.4, 1.7};
const V kM9 = {1.3, -0.2, 0.4, 0.6, 2.1, -0.7, 0.1, 0.3, 1.6};  // column-major, well conditioned
const V kX3 = {-0.6, 0.9, 0.2};

V concat(std::initializer_list<V> parts) {
  V r;
  for (const V& p : parts) append(r, p);
  return r;
}

}  // namespace

TEST_CASE("library functions: reductions (values and gradient)") {
  auto m = build(R"(
parameters {
  vector[4] v;
  row_vector[3] r;
  matrix[3, 3] M;
  array[3] real xs;
}
transformed parameters {
  array[16] real out = {log_sum_exp(v), log_sum_exp(M), variance(v), sd(r), variance(M), sd(xs), prod(v),
                        norm1(v), norm2(r), distance(v[1:3], r), trace(M), log_determinant(M), determinant(M),
                        log_mix(softmax(v), v), log_mix(softmax(v[2:4]), xs), log_sum_exp(xs)};
  row_vector[3] cds = columns_dot_self(M);
  vector[3] rds = rows_dot_self(M);
  row_vector[3] cdp = columns_dot_product(M, 2 * M);
  vector[3] rdp = rows_dot_product(M, M + 1);
  row_vector[1] cdpv = columns_dot_product(v, v);
  vector[3] rdpv = rows_dot_product(v[1:3], r');
}
model {
  target += sum(out) + 0.1 * (sum(cds) + dot_self(rds) + sum(cdp) - sum(rdp) + cdpv[1] + dot_self(rdpv));
}
)");
  Density d{*m, {}};
  V theta = concat({kV4, kR3, kM9, kX3});
  Mat M(3, 3, kM9.data());
  auto mean = [](const V& x) { return std::accumulate(x.begin(), x.end(), 0.0) / x.size(); };
  auto variance = [&](const V& x) {
    double mu = mean(x), ss = 0;
    for (double v : x) ss += (v - mu) * (v - mu);
    return ss / (x.size() - 1);
  };
  double det = 0;
  inverse(M, &det);
  auto log_mix = [](const V& logits, const V& lp) {
    V terms;
    double z = log_sum_exp(logits);
    for (size_t k = 0; k < lp.size(); ++k) terms.push_back(logits[k] - z + lp[k]);
    return log_sum_exp(terms);
  };
  double norm1 = 0, norm2 = 0, dist = 0;
  for (double v : kV4) norm1 += std::fabs(v);
  for (double v : kR3) norm2 += v * v;
  for (int k = 0; k < 3; ++k) dist += (kV4[k] - kR3[k]) * (kV4[k] - kR3[k]);
  V expected = {log_sum_exp(kV4), log_sum_exp(kM9), variance(kV4), std::sqrt(variance(kR3)), variance(kM9),
                std::sqrt(variance(kX3)), kV4[0] * kV4[1] * kV4[2] * kV4[3], norm1, std::sqrt(norm2), std::sqrt(dist),
                M(0, 0) + M(1, 1) + M(2, 2), std::log(std::fabs(det)), det, log_mix(kV4, kV4),
                log_mix({kV4[1], kV4[2], kV4[3]}, kX3), log_sum_exp(kX3)};
  V cds(3), rds(3), cdp(3), rdp(3), rdpv(3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      cds[j] += M(i, j) * M(i, j);
      rds[i] += M(i, j) * M(i, j);
      cdp[j] += M(i, j) * 2 * M(i, j);
      rdp[i] += M(i, j) * (M(i, j) + 1);
    }
  for (int i = 0; i < 3; ++i) rdpv[i] = kV4[i] * kR3[i];
  double cdpv = 0;
  for (double v : kV4) cdpv += v * v;
  append(expected, cds);
  append(expected, rds);
  append(expected, cdp);
  append(expected, rdp);
  expected.push_back(cdpv);
  append(expected, rdpv);
  check_values(transformed(*m, theta), expected);
  d.check_gradient(theta);
}

TEST_CASE("library functions: constructors and conversions") {
  auto m = build(R"(
parameters {
  vector[4] v;
  row_vector[3] r;
  matrix[3, 3] M;
  array[3] real xs;
}
transformed parameters {
  array[2] vector[4] rv = rep_array(v, 2);
  array[2, 3] real ra = rep_array(r[2], 2, 3);
  matrix[4, 2] rmv = rep_matrix(v, 2);
  matrix[2, 3] rmr = rep_matrix(r, 2);
  matrix[4, 4] dm = diag_matrix(v);
  matrix[3, 3] im = identity_matrix(3) * r[1];
  vector[9] tv = to_vector(M);
  row_vector[3] trv = to_row_vector(xs);
  matrix[2, 2] tm = to_matrix(v, 2, 2);
  matrix[2, 3] tma = to_matrix(ra);
  matrix[3, 1] tmv = to_matrix(r');
  array[9] real ta1 = to_array_1d(M);
  array[6] real ta1a = to_array_1d(ra);
  array[3, 3] real ta2 = to_array_2d(M);
  vector[4] ls = linspaced_vector(4, r[1], r[1] + 3);
  row_vector[3] oh = one_hot_row_vector(3, 2) * xs[1];
  vector[3] us = uniform_simplex(3) + to_vector(zeros_array(3)) + ones_vector(3) .* v[1:3];
}
model {
  target += sum(rv[1]) + 2 * sum(rv[2]) + sum(to_array_1d(ra)) + sum(rmv) + sum(rmr .* rmr) + sum(dm * dm);
  target += sum(im) + dot_self(tv) + sum(trv) + sum(tm * tm) + sum(tma) + sum(tmv) + sum(ta1) + sum(ta1a);
  target += sum(to_matrix(ta2) .* M) + dot_self(ls) + sum(oh) + dot_self(us);
}
)");
  Density d{*m, {}};
  V theta = concat({kV4, kR3, kM9, kX3});
  Mat M(3, 3, kM9.data());
  V expected;
  // array[2] vector[4] in Stan's order: the array index fastest.
  for (int k = 0; k < 4; ++k) append(expected, {kV4[k], kV4[k]});
  append(expected, V(6, kR3[1]));
  for (int j = 0; j < 2; ++j) append(expected, kV4);
  for (int j = 0; j < 3; ++j) append(expected, {kR3[j], kR3[j]});
  Mat dm(4, 4);
  for (int i = 0; i < 4; ++i) dm(i, i) = kV4[i];
  append_mat(expected, dm);
  Mat im(3, 3);
  for (int i = 0; i < 3; ++i) im(i, i) = kR3[0];
  append_mat(expected, im);
  append(expected, kM9);
  append(expected, kX3);
  append(expected, kV4);                  // to_matrix(v, 2, 2): column-major fill
  append(expected, V(6, kR3[1]));         // to_matrix(ra)
  append(expected, kR3);                  // to_matrix(r')
  append(expected, kM9);                  // to_array_1d(M): column-major
  append(expected, V(6, kR3[1]));         // to_array_1d(ra)
  append(expected, kM9);                  // to_array_2d(M), reported first index fastest = M's order
  for (int k = 0; k < 4; ++k) expected.push_back(kR3[0] + k);
  append(expected, {0.0, kX3[0], 0.0});
  for (int k = 0; k < 3; ++k) expected.push_back(1.0 / 3 + kV4[k]);
  check_values(transformed(*m, theta), expected);
  d.check_gradient(theta);
}

TEST_CASE("library functions: slicing, rearranging and appending") {
  auto m = build(R"(
parameters {
  vector[4] v;
  row_vector[3] r;
  matrix[3, 3] M;
  array[3] real xs;
}
transformed parameters {
  vector[2] h = head(v, 2);
  row_vector[2] t = tail(r, 2);
  array[2] real sg = segment(xs, 2, 2);
  array[2] vector[4] hv = head({v, 2 * v, 3 * v}, 2);
  vector[4] rv = reverse(v);
  array[3] real rx = reverse(xs);
  vector[4] sa = sort_asc(v);
  row_vector[3] sd = sort_desc(r);
  vector[4] cs = cumulative_sum(v);
  matrix[2, 2] bl = block(M, 2, 1, 2, 2);
  vector[2] sc = sub_col(M, 2, 3, 2);
  row_vector[2] sr = sub_row(M, 1, 2, 2);
  vector[3] c2 = col(M, 2);
  row_vector[3] r3 = row(M, 3);
  vector[3] dg = diagonal(M);
  vector[7] ar = append_row(v, r');
  vector[5] ars = append_row(xs[1], v);
  matrix[4, 3] arm = append_row(M, r);
  matrix[2, 3] arr = append_row(r, 2 * r);
  row_vector[6] ac = append_col(r, r);
  matrix[3, 6] acm = append_col(M, M');
  matrix[3, 4] acv = append_col(v[1:3], M);
  matrix[3, 2] acvv = append_col(v[1:3], v[2:4]);
  array[6] real aa = append_array(xs, xs);
}
model {
  target += dot_self(h) + sum(t) + sum(sg) + dot_product(hv[1], hv[2]) + dot_product(rv, v) + sum(rx);
  target += dot_product(sa, v) + sum(sd .* r) + dot_self(cs) + sum(bl * bl) + sum(sc) + dot_self(sr);
  target += sum(c2) + sum(r3) + dot_self(dg) + dot_self(ar) + sum(ars) + sum(arm .* arm) + sum(arr);
  target += dot_self(ac) + sum(acm .* acm) + sum(acv) + sum(acvv .* acvv) + sum(aa);
}
)");
  Density d{*m, {}};
  V theta = concat({kV4, kR3, kM9, kX3});
  Mat M(3, 3, kM9.data());
  V expected = {kV4[0], kV4[1], kR3[1], kR3[2], kX3[1], kX3[2]};
  for (int k = 0; k < 4; ++k) append(expected, {kV4[k], 2 * kV4[k]});
  append(expected, {kV4[3], kV4[2], kV4[1], kV4[0], kX3[2], kX3[1], kX3[0]});
  V sa = kV4, sd = kR3;
  std::sort(sa.begin(), sa.end());
  std::sort(sd.begin(), sd.end(), std::greater<double>());
  append(expected, sa);
  append(expected, sd);
  double acc = 0;
  for (double x : kV4) expected.push_back(acc += x);
  append(expected, {M(1, 0), M(2, 0), M(1, 1), M(2, 1)});
  append(expected, {M(1, 2), M(2, 2), M(0, 1), M(0, 2)});
  append(expected, {M(0, 1), M(1, 1), M(2, 1), M(2, 0), M(2, 1), M(2, 2), M(0, 0), M(1, 1), M(2, 2)});
  append(expected, kV4);
  append(expected, kR3);
  expected.push_back(kX3[0]);
  append(expected, kV4);
  Mat arm(4, 3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) arm(i, j) = M(i, j);
  for (int j = 0; j < 3; ++j) arm(3, j) = kR3[j];
  append_mat(expected, arm);
  for (int j = 0; j < 3; ++j) append(expected, {kR3[j], 2 * kR3[j]});
  append(expected, kR3);
  append(expected, kR3);
  append(expected, kM9);
  append_mat(expected, transpose(M));
  append(expected, {kV4[0], kV4[1], kV4[2]});
  append(expected, kM9);
  append(expected, {kV4[0], kV4[1], kV4[2], kV4[1], kV4[2], kV4[3]});
  append(expected, kX3);
  append(expected, kX3);
  check_values(transformed(*m, theta), expected);
  d.check_gradient(theta);
}

TEST_CASE("library functions: more argument shapes (arrays of vectors and matrices, row vectors)") {
  auto m = build(R"(
parameters {
  array[3] vector[2] av;
  row_vector[4] r;
  matrix[2, 2] M;
  array[2, 2] real a2;
}
transformed parameters {
  array[2] vector[2] tl = tail(av, 2);
  array[2] vector[2] sg = segment(av, 1, 2);
  array[3] vector[2] rv = reverse(av);
  array[5] vector[2] aa = append_array(av, tail(av, 2));
  array[2, 2] matrix[2, 2] rm = rep_array(M, 2, 2);
  array[2, 2, 2] real r3 = rep_array(r[1], 2, 2, 2);
  row_vector[4] cs = cumulative_sum(r);
  row_vector[2] sg2 = segment(r, 2, 2);
  array[4] real ta = to_array_1d(r);
  array[4] real ta2 = to_array_1d(a2);
  matrix[2, 2] tm = to_matrix(ta, 2, 2);
  matrix[2, 2] tm2 = to_matrix(a2);
  array[3] real la = linspaced_array(3, 0, exp(r[1]));
  row_vector[3] lr = linspaced_row_vector(3, -1, 1);
  vector[1] rdp = rows_dot_product(r, r);
  row_vector[4] cdp = columns_dot_product(r, 2 * r);
  vector[2] rdpv = rows_dot_product(av[1], av[2]);
  row_vector[2] cdpm = columns_dot_product(M, M);
  real lmr = log_mix([0.3, 0.7]', r[1:2]);
  real lmrv = log_mix([0.3, 0.7], av[1]);
  vector[2] ffr = falling_factorial(exp(av[1]) + 3, 1.5);
  matrix[2, 2] mdr = mdivide_right(M, M + diag_matrix(rep_vector(3, 2)));
}
model {
  target += dot_product(tl[1], tl[2]) + sum(sg[2]) + dot_product(rv[1], av[1]) + sum(aa[4]) + sum(aa[5]);
  target += sum(rm[2, 1] .* M) + sum(to_array_1d(r3)) + dot_self(cs) + sum(sg2) + sum(ta) + sum(ta2);
  target += sum(tm .* tm) + sum(tm2 * tm2) + sum(la) + sum(lr) + rdp[1] + sum(cdp) + sum(rdpv) + sum(cdpm);
  target += lmr + lmrv + sum(ffr) + sum(mdr);
}
)");
  Density d{*m, {}};
  V av = {0.3, -0.6, 1.1, 0.4, -0.2, 0.9}, r = {0.5, -0.4, 1.7, 0.2}, Mv = {1.3, -0.2, 0.4, 0.6}, a2 = {0.1, -0.7, 0.8, 0.25};
  V theta = concat({av, r, Mv, a2});
  auto vec = [&](int i) { return V{av[2 * i], av[2 * i + 1]}; };
  // array[n] vector[2] in Stan's order: the array index fastest.
  auto arrays = [](std::vector<V> xs) {
    V out;
    for (int k = 0; k < 2; ++k)
      for (const V& x : xs) out.push_back(x[k]);
    return out;
  };
  V expected;
  append(expected, arrays({vec(1), vec(2)}));
  append(expected, arrays({vec(0), vec(1)}));
  append(expected, arrays({vec(2), vec(1), vec(0)}));
  append(expected, arrays({vec(0), vec(1), vec(2), vec(1), vec(2)}));
  for (double x : Mv) append(expected, V(4, x));
  append(expected, V(8, r[0]));
  double acc = 0;
  for (double x : r) expected.push_back(acc += x);
  append(expected, {r[1], r[2]});
  append(expected, r);
  append(expected, a2);                           // row-major: a2[1,1], a2[1,2], a2[2,1], a2[2,2]
  append(expected, r);                            // to_matrix(ta, 2, 2), column-major
  append(expected, {a2[0], a2[2], a2[1], a2[3]});  // to_matrix(a2)[i, j] = a2[i][j]
  append(expected, {0.0, std::exp(r[0]) / 2, std::exp(r[0])});
  append(expected, {-1.0, 0.0, 1.0});
  double rr = 0;
  for (double x : r) rr += x * x;
  expected.push_back(rr);
  for (double x : r) expected.push_back(2 * x * x);
  append(expected, {av[0] * av[2], av[1] * av[3]});
  append(expected, {Mv[0] * Mv[0] + Mv[1] * Mv[1], Mv[2] * Mv[2] + Mv[3] * Mv[3]});
  auto log_mix = [](double t, double a, double b) { return std::log(t * std::exp(a) + (1 - t) * std::exp(b)); };
  expected.push_back(log_mix(0.3, r[0], r[1]));
  expected.push_back(log_mix(0.3, av[0], av[1]));
  for (int k = 0; k < 2; ++k) {
    double x = std::exp(av[k]) + 3;
    expected.push_back(std::exp(std::lgamma(x + 1) - std::lgamma(x - 0.5)));
  }
  Mat M(2, 2, Mv.data()), A = M;
  A(0, 0) += 3;
  A(1, 1) += 3;
  append_mat(expected, mul(M, inverse(A)));
  check_values(transformed(*m, theta), expected, 1e-12);
  d.check_gradient(theta);
}

TEST_CASE("library functions: int-valued rearranging, sorting indices, rank and integer functions") {
  auto m = build(R"(
data {
  array[5] int ys;
  vector[4] w;
}
generated quantities {
  array[5] int sorted = sort_desc(ys);
  array[5] int csum = cumulative_sum(ys);
  array[4] int idx = sort_indices_asc(w);
  array[4] int idx_d = sort_indices_desc(w);
  array[5] int idx_i = sort_indices_asc(ys);
  int rk = rank(w, 3);
  int rki = rank(ys, 1);
  int pr = prod(ys);
  array[5] int rev = reverse(ys);
  array[3] int hd = head(ys, 3);
  array[5] int ab = abs({-2, 3, 0, -7, 1});
  int ch = choose(7, 3);
  array[4] int st = {int_step(-1), int_step(2), int_step(0.5), int_step(0)};
  array[3] int flags = {is_inf(positive_infinity()), is_nan(not_a_number()), is_nan(1.5)};
  array[3] int ti = to_int({2.7, -2.7, 1e3});
  array[4] int li = linspaced_int_array(4, 1, 7);
  array[5] int li2 = linspaced_int_array(5, 1, 3);
  array[3] int oh = one_hot_int_array(3, 3);
  array[2] int z = zeros_int_array(2);
  array[2] int o = ones_int_array(2);
  array[3] int dm = dims(rep_array(1.0, 2, 4, 3));
  vector[3] fl = [floor(-1.5), ceil(1.2), round(2.5)]';
  vector[3] stp = step([-1, 0, 2]');
  array[2] real ff = {falling_factorial(5.0, 2), rising_factorial(2.5, 3)};
}
)");
  std::vector<double> ys = {4, -1, 7, 2, 7};
  int64_t ysi[5] = {4, -1, 7, 2, 7};
  V w = {0.3, -2.0, 1.1, 0.0};
  halo_tensor yt{ysi, {5}}, wt = halo::testing::make_tensor(w, {4});
  Rng rng;
  V got = generated(*m, {}, rng, {&yt, &wt});
  V expected = {7, 7, 4, 2, -1,   4, 3, 10, 12, 19,  2, 4, 1, 3,  3, 1, 4, 2,  2, 4, 1, 3, 5,  3, 2,  -392,
                7, 2, 7, -1, 4,   4, -1, 7,  2, 3, 0, 7, 1,  35,  0, 1, 1, 0,  1, 1, 0,  2, -2, 1000,
                1, 3, 5, 7,  1, 1, 2, 2, 3,  0, 0, 1,  0, 0,  1, 1,  2, 4, 3,  -2, 2, 3,  0, 1, 1,
                20, 2.5 * 3.5 * 4.5};
  check_values(got, expected);
}

TEST_CASE("library functions: linear algebra (values and gradient)") {
  auto m = build(R"(
parameters {
  vector[3] v;
  matrix[3, 3] M;
  matrix[3, 2] B;
}
transformed parameters {
  matrix[3, 3] S = tcrossprod(M) + diag_matrix(rep_vector(1, 3));
  matrix[3, 3] dpre = diag_pre_multiply(v, M);
  matrix[3, 3] dpost = diag_post_multiply(M, v);
  matrix[3, 3] mlt = multiply_lower_tri_self_transpose(M);
  matrix[2, 2] cp = crossprod(B);
  matrix[3, 3] tcp = tcrossprod(B);
  real qv = quad_form(S, v);
  matrix[2, 2] qm = quad_form(S, B);
  matrix[2, 2] qs = quad_form_sym(S, B);
  real qsv = quad_form_sym(S, v);
  matrix[3, 3] qd = quad_form_diag(M, v);
  matrix[3, 3] inv = inverse(M);
  matrix[3, 3] invs = inverse_spd(S);
  matrix[3, 3] mp = matrix_power(M, 3);
  matrix[3, 3] sym = symmetrize_from_lower_tri(M);
  vector[3] sm = softmax(v);
  vector[3] lsm = log_softmax(v);
}
model {
  target += sum(S) + sum(dpre) + sum(dpost .* dpost) + sum(mlt) + sum(cp) + sum(tcp) + qv + sum(qm) + sum(qs);
  target += qsv + sum(qd) + sum(inv) + sum(invs) + 0.01 * sum(mp) + sum(sym .* M) + dot_product(sm, v) + sum(lsm);
}
)");
  Density d{*m, {}};
  V bv = {0.4, -0.3, 1.2, 0.7, 0.2, -0.9};
  V theta = concat({kR3, kM9, bv});
  Mat M(3, 3, kM9.data()), B(3, 2, bv.data());
  const V& v = kR3;
  Mat S = mul(M, transpose(M));
  for (int i = 0; i < 3; ++i) S(i, i) += 1;
  Mat dpre(3, 3), dpost(3, 3), Lm(3, 3), qd(3, 3), sym(3, 3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      dpre(i, j) = v[i] * M(i, j);
      dpost(i, j) = M(i, j) * v[j];
      if (j <= i) Lm(i, j) = M(i, j);
      qd(i, j) = v[i] * M(i, j) * v[j];
      sym(i, j) = j <= i ? M(i, j) : M(j, i);
    }
  Mat vm(3, 1, v.data());
  V expected;
  append_mat(expected, S);
  append_mat(expected, dpre);
  append_mat(expected, dpost);
  append_mat(expected, mul(Lm, transpose(Lm)));
  append_mat(expected, mul(transpose(B), B));
  append_mat(expected, mul(B, transpose(B)));
  double qv = mul(transpose(vm), mul(S, vm))(0, 0);
  expected.push_back(qv);
  Mat qm = mul(transpose(B), mul(S, B));
  append_mat(expected, qm);
  append_mat(expected, qm);
  expected.push_back(qv);
  append_mat(expected, qd);
  append_mat(expected, inverse(M));
  append_mat(expected, inverse(S));
  append_mat(expected, mul(M, mul(M, M)));
  append_mat(expected, sym);
  double z = log_sum_exp(v);
  for (double x : v) expected.push_back(std::exp(x - z));
  for (double x : v) expected.push_back(x - z);
  check_values(transformed(*m, theta), expected, 1e-11);
  d.check_gradient(theta);
}

TEST_CASE("library functions: eigendecompositions, singular values, matrix exponential") {
  auto m = build(R"(
parameters {
  matrix[3, 3] M;
  matrix[3, 2] B;
}
transformed parameters {
  matrix[3, 3] S = M + M';
  vector[3] ev = eigenvalues_sym(S);
  matrix[3, 3] evec = eigenvectors_sym(S);
  vector[2] sv = singular_values(B);
  vector[2] svt = singular_values(B');
  matrix[3, 3] ex = matrix_exp(0.7 * M);
}
model {
  // Squares of the eigenvectors' elements: independent of their signs.
  target += dot_product(ev, [1, -2, 0.5]') + sum((evec .* evec) .* M) + dot_product(sv, [1, 3]') + svt[2];
  target += sum(ex .* M);
}
)");
  Density d{*m, {}};
  V bv = {0.4, -0.3, 1.2, 0.7, 0.2, -0.9};
  V theta = concat({kM9, bv});
  V got = transformed(*m, theta);
  REQUIRE(got.size() == 9 + 3 + 9 + 2 + 2 + 9);
  Mat M(3, 3, kM9.data()), B(3, 2, bv.data());
  Mat S(3, 3, got.data()), E(3, 3, got.data() + 12);
  const double* ev = got.data() + 9;
  CHECK(ev[0] <= ev[1]);
  CHECK(ev[1] <= ev[2]);
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 3; ++i) {
      double sv = 0;
      for (int j = 0; j < 3; ++j) sv += S(i, j) * E(j, k);
      CHECK(sv == doctest::Approx(ev[k] * E(i, k)).epsilon(1e-12).scale(1.0));
    }
  // Singular values of a 3 x 2 matrix from the 2 x 2 Gram matrix: sigma^2 solves
  // t^2 - tr t + det = 0.
  Mat G = mul(transpose(B), B);
  double tr = G(0, 0) + G(1, 1), det = G(0, 0) * G(1, 1) - G(0, 1) * G(1, 0);
  double big = std::sqrt((tr + std::sqrt(tr * tr - 4 * det)) / 2), small = std::sqrt((tr - std::sqrt(tr * tr - 4 * det)) / 2);
  check_values(V(got.begin() + 21, got.begin() + 25), {big, small, big, small}, 1e-12);
  // exp(0.7 M) by its Taylor series.
  Mat X = M, term(3, 3), sum(3, 3);
  for (double& x : X.a) x *= 0.7;
  for (int i = 0; i < 3; ++i) term(i, i) = 1;
  for (int k = 1; k < 60; ++k) {
    for (int i = 0; i < 9; ++i) sum.a[i] += term.a[i];
    term = mul(term, X);
    for (double& x : term.a) x /= k;
  }
  check_values(V(got.begin() + 25, got.end()), sum.a, 1e-13);
  d.check_gradient(theta);
}

TEST_CASE("library functions: solves, matrix division operators (values and gradient)") {
  auto m = build(R"(
parameters {
  vector[3] b;
  row_vector[3] rb;
  matrix[3, 3] M;
  matrix[3, 2] B;
}
transformed parameters {
  matrix[3, 3] S = tcrossprod(M) + diag_matrix(rep_vector(1, 3));
  matrix[3, 3] L = cholesky_decompose(S);
  vector[3] x1 = mdivide_left_tri_low(L, b);
  matrix[3, 2] x2 = mdivide_left_tri_low(L, B);
  row_vector[3] x3 = mdivide_right_tri_low(rb, L);
  matrix[2, 3] x4 = mdivide_right_tri_low(B', L);
  vector[3] x5 = mdivide_left(M, b);
  matrix[3, 2] x6 = M \ B;
  row_vector[3] x7 = mdivide_right(rb, M);
  matrix[2, 3] x8 = B' / M;
  vector[3] x9 = mdivide_left_spd(S, b);
  matrix[3, 2] x10 = mdivide_left_spd(S, B);
  row_vector[3] x11 = mdivide_right_spd(rb, S);
  matrix[2, 3] x12 = mdivide_right_spd(B', S);
  vector[3] x13 = M \ b;
  row_vector[3] x14 = rb / M;
}
model {
  target += dot_self(x1) + sum(x2) + sum(x3) + sum(x4 .* x4) + sum(x5) + sum(x6) + dot_self(x7) + sum(x8);
  target += sum(x9) + sum(x10) + dot_self(x11) + sum(x12) + sum(x13) + sum(x14);
}
)");
  Density d{*m, {}};
  V bv = {0.4, -0.3, 1.2, 0.7, 0.2, -0.9};
  V theta = concat({kR3, kX3, kM9, bv});
  Mat b(3, 1, kR3.data()), rb(1, 3, kX3.data()), M(3, 3, kM9.data()), B(3, 2, bv.data());
  Mat S = mul(M, transpose(M));
  for (int i = 0; i < 3; ++i) S(i, i) += 1;
  Mat L = cholesky(S), Mi = inverse(M), Si = inverse(S);
  V expected;
  append_mat(expected, S);
  append_mat(expected, L);
  append_mat(expected, lower_solve(L, b));
  append_mat(expected, lower_solve(L, B));
  append_mat(expected, mul(rb, inverse(L)));
  append_mat(expected, mul(transpose(B), inverse(L)));
  append_mat(expected, mul(Mi, b));
  append_mat(expected, mul(Mi, B));
  append_mat(expected, mul(rb, Mi));
  append_mat(expected, mul(transpose(B), Mi));
  append_mat(expected, mul(Si, b));
  append_mat(expected, mul(Si, B));
  append_mat(expected, mul(rb, Si));
  append_mat(expected, mul(transpose(B), Si));
  append_mat(expected, mul(Mi, b));
  append_mat(expected, mul(rb, Mi));
  check_values(transformed(*m, theta), expected, 1e-10);
  d.check_gradient(theta);
}

TEST_CASE("library functions: Gaussian-process covariance functions") {
  auto m = build(R"(
data {
  array[3] real x;
  array[2] real x2;
  array[3] vector[2] p;
  array[2] vector[2] p2;
}
parameters {
  real<lower=0> alpha;
  real<lower=0> rho;
}
transformed parameters {
  matrix[3, 3] k1 = cov_exp_quad(x, alpha, rho);
  matrix[3, 2] k2 = gp_exp_quad_cov(x, x2, alpha, rho);
  matrix[3, 2] k3 = gp_exp_quad_cov(p, p2, alpha, rho);
  matrix[3, 3] k4 = gp_matern32_cov(x, alpha, rho);
  matrix[3, 3] k5 = gp_matern52_cov(x, alpha, rho);
  matrix[3, 3] k6 = gp_exponential_cov(x, alpha, rho);
}
model {
  target += sum(k1) + sum(k2) + sum(k3) + sum(k4) + sum(k5) + sum(k6);
}
)");
  V x = {0.1, 0.7, 1.5}, x2 = {-0.3, 0.9}, p = {0.1, 0.2, -0.4, 0.5, 1.0, -1.0}, p2 = {0.0, 0.3, 0.8, -0.6};
  halo_tensor xt = halo::testing::make_tensor(x, {3}), x2t = halo::testing::make_tensor(x2, {2});
  halo_tensor pt = halo::testing::make_tensor(p, {3, 2}), p2t = halo::testing::make_tensor(p2, {2, 2});
  std::vector<void*> data = {&xt, &x2t, &pt, &p2t};
  Density d{*m, data};
  const double alpha = 1.3, rho = 0.7;
  V theta = {std::log(alpha), std::log(rho)};
  V expected;
  auto kernel = [&](int which, double dist) {
    double s = dist / rho, a2 = alpha * alpha;
    switch (which) {
      case 0: return a2 * std::exp(-dist * dist / (2 * rho * rho));
      case 1: return a2 * (1 + std::sqrt(3.0) * s) * std::exp(-std::sqrt(3.0) * s);
      case 2: return a2 * (1 + std::sqrt(5.0) * s + 5.0 / 3 * s * s) * std::exp(-std::sqrt(5.0) * s);
      default: return a2 * std::exp(-s);
    }
  };
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 3; ++i) expected.push_back(kernel(0, std::fabs(x[i] - x[j])));
  for (int j = 0; j < 2; ++j)
    for (int i = 0; i < 3; ++i) expected.push_back(kernel(0, std::fabs(x[i] - x2[j])));
  for (int j = 0; j < 2; ++j)
    for (int i = 0; i < 3; ++i) {
      double dx = p[2 * i] - p2[2 * j], dy = p[2 * i + 1] - p2[2 * j + 1];
      expected.push_back(kernel(0, std::sqrt(dx * dx + dy * dy)));
    }
  for (int which : {1, 2, 3})
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 3; ++i) expected.push_back(kernel(which, std::fabs(x[i] - x[j])));
  check_values(transformed(*m, theta, data), expected, 1e-11);
  d.check_gradient(theta);
}

TEST_CASE("library functions: elementwise additions (lmultiply, log_inv_logit_diff, inc_beta, ...)") {
  auto m = build(R"(
parameters {
  vector[3] v;
  real<lower=0> a;
}
transformed parameters {
  vector[3] lm = lmultiply(exp(v), 2 * exp(v));
  vector[3] ml = multiply_log(a, exp(v));
  vector[3] lild = log_inv_logit_diff(v + 1, v);
  vector[3] lff = log_falling_factorial(exp(v) + 3, 1.5);
  vector[3] lrf = log_rising_factorial(exp(v), a);
  vector[3] ff = falling_factorial(exp(v) + 3, 2);
  real ib = inc_beta(a, 2, inv_logit(v[1]));
  vector[3] fl = floor(v) + step(v) + v;
}
model {
  target += sum(lm) + sum(ml) + sum(lild) + sum(lff) + sum(lrf) + sum(ff) + ib + dot_self(fl);
}
)");
  Density d{*m, {}};
  const double a = 1.7;
  V theta = {kR3[0], kR3[1], kR3[2], std::log(a)};
  V expected;
  for (double x : kR3) expected.push_back(std::exp(x) * std::log(2 * std::exp(x)));
  for (double x : kR3) expected.push_back(a * x);
  for (double x : kR3) expected.push_back(std::log(inv_logit(x + 1) - inv_logit(x)));
  for (double x : kR3) expected.push_back(std::lgamma(std::exp(x) + 4) - std::lgamma(std::exp(x) + 4 - 1.5));
  for (double x : kR3) expected.push_back(std::lgamma(std::exp(x) + a) - std::lgamma(std::exp(x)));
  for (double x : kR3) expected.push_back((std::exp(x) + 3) * (std::exp(x) + 2));
  // I_x(a, 2) = x^a (1 + a (1 - x)) for b = 2.
  double xb = inv_logit(kR3[0]);
  expected.push_back(std::pow(xb, a) * (1 + a * (1 - xb)));
  for (double x : kR3) expected.push_back(std::floor(x) + (x < 0 ? 0 : 1) + x);
  check_values(transformed(*m, theta), expected, 1e-10);
  d.check_gradient(theta);
}

TEST_CASE("library functions: multivariate densities (closed forms and gradients)") {
  auto m = build(R"(
data {
  array[3] int counts;
  array[2] int ks;
}
parameters {
  vector[3] y;
  array[2] vector[3] ys;
  vector[3] mu;
  real<lower=2> nu;
  cholesky_factor_corr[3] Lc;
  real<lower=0> eta;
  vector[3] gam;
  ordered[2] c;
  vector[2] etas;
}
transformed parameters {
  matrix[3, 3] Sigma = multiply_lower_tri_self_transpose(Lc) + diag_matrix(rep_vector(0.5, 3));
  array[7] real lp = {multi_student_t_lpdf(y | nu, mu, Sigma), multi_student_t_lpdf(ys | nu, mu, Sigma),
                      multinomial_lpmf(counts | softmax(gam)), multinomial_logit_lpmf(counts | gam),
                      ordered_logistic_lpmf(ks | etas, c), ordered_logistic_lpmf(ks[1] | etas[2], c),
                      lkj_corr_lpdf(multiply_lower_tri_self_transpose(Lc) | eta)};
}
model {
  y ~ multi_student_t(nu, mu, Sigma);
  ys ~ multi_student_t(nu, mu, Sigma);
  counts ~ multinomial(softmax(gam));
  counts ~ multinomial_logit(gam);
  ks ~ ordered_logistic(etas, c);
  ks[1] ~ ordered_logistic(etas[2], c);
  multiply_lower_tri_self_transpose(Lc) ~ lkj_corr(eta);
}
)");
  int64_t counts[3] = {2, 0, 5}, ks[2] = {3, 1};
  halo_tensor ct{counts, {3}}, kt{ks, {2}};
  std::vector<void*> data = {&ct, &kt};
  Density d{*m, data};
  d.jacobian = 0;
  V y = {0.3, -0.5, 1.0}, ys = {0.1, 0.2, -0.3, 1.5, -1.0, 0.4}, mu = {0.2, 0.0, -0.4};
  const double nu = 4.5, eta = 1.8;
  V lc = {0.3, -0.2, 0.5};  // the cholesky_factor_corr's free values
  V gam = {0.4, -1.1, 0.7};
  V c_free = {-0.3, std::log(1.2)}, etas = {0.2, -0.6};
  V theta = concat({y, ys, mu, {std::log(nu - 2)}, lc, {std::log(eta)}, gam, c_free, etas});
  V got = transformed(*m, theta, data);
  // Sigma is reported first (9 values), then the densities.
  REQUIRE(got.size() == 16);
  Mat Sigma(3, 3, got.data());
  Mat L = cholesky(Sigma), Si = inverse(Sigma);
  auto mst = [&](const V& x) {
    Mat dvec(3, 1);
    for (int i = 0; i < 3; ++i) dvec(i, 0) = x[i] - mu[i];
    double q = mul(transpose(dvec), mul(Si, dvec))(0, 0);
    double logdet = 2 * (std::log(L(0, 0)) + std::log(L(1, 1)) + std::log(L(2, 2)));
    return std::lgamma((nu + 3) / 2) - std::lgamma(nu / 2) - 1.5 * std::log(nu * M_PI) - 0.5 * logdet -
           (nu + 3) / 2 * std::log1p(q / nu);
  };
  double z = log_sum_exp(gam);
  double mn = std::lgamma(8) - std::lgamma(3) - std::lgamma(1) - std::lgamma(6);
  for (int k = 0; k < 3; ++k) mn += counts[k] * (gam[k] - z);
  double c1 = c_free[0], c2 = c_free[0] + std::exp(c_free[1]);
  auto ol = [&](int k, double e) {
    if (k == 1) return std::log(1 - inv_logit(e - c1));
    if (k == 3) return std::log(inv_logit(e - c2));
    return std::log(inv_logit(e - c1) - inv_logit(e - c2));
  };
  // lkj_corr: the normalising constant of Lewandowski et al. (2009) for K = 3, plus
  // (eta - 1) log det Omega.
  Mat Omega = Sigma;
  for (int i = 0; i < 3; ++i) Omega(i, i) -= 0.5;
  double det_omega = 0;
  inverse(Omega, &det_omega);
  double lkj_const = 2 * std::lgamma(eta + 1) - (0.5 * std::log(M_PI) + std::lgamma(eta + 0.5)) -
                     (std::log(M_PI) + std::lgamma(eta));
  V expected = {mst(y), mst({ys[0], ys[1], ys[2]}) + mst({ys[3], ys[4], ys[5]}), mn, mn,
                ol(3, etas[0]) + ol(1, etas[1]), ol(3, etas[1]), lkj_const + (eta - 1) * std::log(det_omega)};
  check_values(V(got.begin() + 9, got.end()), expected, 1e-10);
  CHECK(d.value(theta) == doctest::Approx(std::accumulate(expected.begin(), expected.end(), 0.0)).epsilon(1e-10));
  d.check_gradient(theta);
  // propto drops only constants: the difference to the full density does not depend on theta.
  Density p{*m, data};
  p.propto = true;
  p.jacobian = 0;
  V other = theta;
  for (double& t : other) t += 0.1;
  CHECK(d.value(theta) - p.value(theta) == doctest::Approx(d.value(other) - p.value(other)).epsilon(1e-10));
}

TEST_CASE("library functions: the Wishart family (closed forms, Cholesky forms, gradients)") {
  auto m = build(R"(
parameters {
  cov_matrix[3] W;
  cov_matrix[3] S;
  real<lower=3> nu;
}
transformed parameters {
  matrix[3, 3] LW = cholesky_decompose(W);
  matrix[3, 3] LS = cholesky_decompose(S);
  array[4] real lp = {wishart_lpdf(W | nu, S), inv_wishart_lpdf(W | nu, S), wishart_cholesky_lpdf(LW | nu, LS),
                      inv_wishart_cholesky_lpdf(LW | nu, LS)};
}
model {
  target += sum(lp);
}
)");
  Density d{*m, {}};
  d.jacobian = 0;
  V theta = {0.2, -0.1, 0.3, 0.4, 0.1, -0.3, 0.0, 0.5, 0.2, -0.2, 0.3, 0.1, std::log(2.5)};
  V got = transformed(*m, theta);
  REQUIRE(got.size() == 22);
  Mat LW(3, 3, got.data()), LS(3, 3, got.data() + 9);
  Mat W = mul(LW, transpose(LW)), S = mul(LS, transpose(LS));
  const double nu = 3 + 2.5, K = 3;
  double det_w = 0, det_s = 0;
  Mat Wi = inverse(W, &det_w), Si = inverse(S, &det_s);
  auto trace = [](const Mat& A) { return A(0, 0) + A(1, 1) + A(2, 2); };
  // log multivariate gamma: K (K - 1) / 4 log pi + sum_j lgamma(x + (1 - j) / 2).
  double lmg = K * (K - 1) / 4 * std::log(M_PI);
  for (int j = 1; j <= 3; ++j) lmg += std::lgamma(nu / 2 + (1.0 - j) / 2);
  double wish = (nu - K - 1) / 2 * std::log(det_w) - trace(mul(Si, W)) / 2 - nu * K / 2 * std::log(2.0) -
                nu / 2 * std::log(det_s) - lmg;
  double inv_wish = nu / 2 * std::log(det_s) - (nu + K + 1) / 2 * std::log(det_w) - trace(mul(S, Wi)) / 2 -
                    nu * K / 2 * std::log(2.0) - lmg;
  // The Cholesky forms: the same densities with the Jacobian of W = L L', log 2^K prod L_ii^(K - i + 1).
  double log_jac = K * std::log(2.0);
  for (int i = 0; i < 3; ++i) log_jac += (K - i) * std::log(LW(i, i));
  check_values(V(got.begin() + 18, got.end()), {wish, inv_wish, wish + log_jac, inv_wish + log_jac}, 1e-10);
  d.check_gradient(theta);
}

TEST_CASE("library functions: vectorised _cdf is the product of the elements' cdfs") {
  auto m = build(R"(
parameters {
  vector[3] y;
  real mu;
}
model {
  target += log(normal_cdf(y | mu, 2)) + log(exponential_cdf(exp(y) | 1.5));
}
)");
  Density d{*m, {}};
  V theta = {0.3, -0.5, 1.0, 0.2};
  double expected = 0;
  for (int k = 0; k < 3; ++k) {
    expected += std::log(0.5 * std::erfc(-(theta[k] - 0.2) / (2 * std::sqrt(2.0))));
    expected += std::log(1 - std::exp(-1.5 * std::exp(theta[k])));
  }
  CHECK(d.value(theta) == doctest::Approx(expected).epsilon(1e-12));
  d.check_gradient(theta);
}

TEST_CASE("library functions: multivariate random number generators (moments)") {
  auto m = build(R"(
transformed data {
  vector[2] mu = [1, -2]';
  matrix[2, 2] Sigma = [[2, 0.6], [0.6, 1]];
  vector[3] theta = [0.2, 0.5, 0.3]';
}
generated quantities {
  vector[2] mn = multi_normal_rng(mu, Sigma);
  vector[2] mnc = multi_normal_cholesky_rng(mu, cholesky_decompose(Sigma));
  vector[2] mst = multi_student_t_rng(5, mu, Sigma);
  vector[3] dr = dirichlet_rng([2, 3, 5]');
  int cat = categorical_rng(theta);
  int catl = categorical_logit_rng(log(theta));
  array[3] int mult = multinomial_rng(theta, 10);
  array[3] int multl = multinomial_logit_rng(log(theta), 10);
  int ol = ordered_logistic_rng(0.3, [-0.5, 1.0]');
  matrix[2, 2] wi = wishart_rng(4, Sigma);
  matrix[2, 2] iw = inv_wishart_rng(6, Sigma);
  matrix[3, 3] lkj = lkj_corr_rng(3, 2);
  matrix[3, 3] lkjc = lkj_corr_cholesky_rng(3, 2);
  array[2] vector[2] mna = multi_normal_rng({mu, 2 * mu}, Sigma);
}
)");
  Rng rng;
  const int draws = 20000;
  V sum(48, 0.0), sq(48, 0.0);
  double cross_mn = 0, cat_counts[3] = {0, 0, 0}, ol_counts[3] = {0, 0, 0};
  for (int n = 0; n < draws; ++n) {
    V g = generated(*m, {}, rng);
    REQUIRE(g.size() == 48);
    for (size_t k = 0; k < g.size(); ++k) {
      sum[k] += g[k];
      sq[k] += g[k] * g[k];
    }
    cross_mn += (g[0] - 1) * (g[1] + 2);
    cat_counts[static_cast<int>(g[9]) - 1] += 1;
    ol_counts[static_cast<int>(g[17]) - 1] += 1;
    CHECK(g[11] + g[12] + g[13] == 10);
    CHECK(g[14] + g[15] + g[16] == 10);
    // lkj_corr (26-34): unit diagonal; its Cholesky factor (35-43): lower triangular, rows of
    // unit length.
    CHECK(g[26] == doctest::Approx(1.0));
    CHECK(g[30] == doctest::Approx(1.0));
    CHECK(g[34] == doctest::Approx(1.0));
    CHECK(g[38] == 0.0);
    CHECK(g[37] * g[37] + g[40] * g[40] + g[43] * g[43] == doctest::Approx(1.0));
  }
  auto mean = [&](int k) { return sum[k] / draws; };
  auto var = [&](int k) { return sq[k] / draws - mean(k) * mean(k); };
  // Tolerances: several standard errors of the means.
  CHECK(mean(0) == doctest::Approx(1).epsilon(0.05));
  CHECK(mean(1) == doctest::Approx(-2).epsilon(0.03));
  CHECK(var(0) == doctest::Approx(2).epsilon(0.05));
  CHECK(var(1) == doctest::Approx(1).epsilon(0.05));
  CHECK(cross_mn / draws == doctest::Approx(0.6).epsilon(0.1));
  CHECK(mean(2) == doctest::Approx(1).epsilon(0.05));
  CHECK(var(3) == doctest::Approx(1).epsilon(0.05));
  CHECK(var(4) == doctest::Approx(2 * 5.0 / 3).epsilon(0.1));  // multi_student_t: nu / (nu - 2) Sigma
  CHECK(mean(6) == doctest::Approx(0.2).epsilon(0.03));
  CHECK(mean(8) == doctest::Approx(0.5).epsilon(0.02));
  for (int k = 0; k < 3; ++k) {
    CHECK(cat_counts[k] / draws == doctest::Approx(std::vector<double>{0.2, 0.5, 0.3}[k]).epsilon(0.05));
    CHECK(mean(11 + k) == doctest::Approx(10 * std::vector<double>{0.2, 0.5, 0.3}[k]).epsilon(0.03));
    CHECK(mean(14 + k) == doctest::Approx(10 * std::vector<double>{0.2, 0.5, 0.3}[k]).epsilon(0.03));
  }
  CHECK(mean(10) == doctest::Approx(0.2 + 1.0 + 0.9).epsilon(0.03));  // categorical_logit: E[k]
  double p1 = 1 - inv_logit(0.3 + 0.5), p3 = inv_logit(0.3 - 1.0);
  CHECK(ol_counts[0] / draws == doctest::Approx(p1).epsilon(0.05));
  CHECK(ol_counts[2] / draws == doctest::Approx(p3).epsilon(0.05));
  // Wishart(nu, S): mean nu S; inverse Wishart(nu, S): mean S / (nu - K - 1).
  CHECK(mean(18) == doctest::Approx(8).epsilon(0.05));
  CHECK(mean(19) == doctest::Approx(2.4).epsilon(0.07));
  CHECK(mean(21) == doctest::Approx(4).epsilon(0.05));
  CHECK(mean(22) == doctest::Approx(2.0 / 3).epsilon(0.07));
  CHECK(mean(25) == doctest::Approx(1.0 / 3).epsilon(0.07));
  // multi_normal_rng of an array of means (44-47, Stan's order: the array index fastest).
  CHECK(mean(44) == doctest::Approx(1).epsilon(0.05));
  CHECK(mean(45) == doctest::Approx(2).epsilon(0.05));
  CHECK(mean(46) == doctest::Approx(-2).epsilon(0.03));
  CHECK(mean(47) == doctest::Approx(-4).epsilon(0.03));
}

TEST_CASE("library functions: run-time size and argument checks name the function and the line") {
  auto m = build(R"(
data {
  int n;
  int rows;
  matrix[rows, 3] A;
}
parameters {
  vector[3] v;
}
model {
  if (n == 1) target += sum(head(v, 4));
  if (n == 2) target += sum(append_col(A, v));
  if (n == 3) target += sum(mdivide_left_tri_low(A, v));
  if (n == 4) target += sum(to_matrix(v, 2, 2));
  target += sum(append_row(A, v'));
}
)");
  std::vector<double> A(6, 0.5);
  halo_tensor At = halo::testing::make_tensor(A, {2, 3});
  int64_t n = 0, rows = 2;
  Density d{*m, {&n, &rows, &At}};
  CHECK(d.value({0.1, 0.2, 0.3}) == doctest::Approx(3.6).epsilon(1e-12));
  const char* expected[] = {"head: n must be between 0 and the size of the container (line 11)",
                            "append_col: the parts have 2 and 3 rows (line 12)",
                            "mdivide_left_tri_low: the matrix has 2 rows and 3 columns; it must be square (line 13)",
                            "to_matrix: 4 = m * n elements are asked for but the argument has 3 (line 14)"};
  for (n = 1; n <= 4; ++n) {
    CAPTURE(n);
    std::string error = density_error(*m, {0.1, 0.2, 0.3}, {&n, &rows, &At});
    CHECK(error.find(expected[n - 1]) != std::string::npos);
    CHECK(error == expected[n - 1]);
  }
}
