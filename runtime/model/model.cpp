#include "model/model.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstring>
#include <new>

#include "data/cmdstan_json.h"
#include "model/workspace.h"

#ifndef HALO_VERSION
#define HALO_VERSION "unknown"
#endif

namespace halo::model {

namespace {

int64_t product(const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

halo_tensor vector_tensor(const double* data, int64_t size) {
  halo_tensor t{};
  // Generated code never writes through its arguments (they are SSA values in the IR).
  t.data = const_cast<double*>(data);
  t.dims[0] = size;
  return t;
}

// Visits the elements of a variable with `dims` (array dims, then element dims) in Stan's
// order (column-major over all dims: first index fastest) and calls f(stan_offset,
// halo_offset), where Halo's layout is array dims row-major, each element column-major.
template <typename F>
void for_each_element(const std::vector<int64_t>& dims, int array_rank, F&& f) {
  int64_t total = product(dims);
  if (total <= 0) return;
  size_t rank = dims.size();
  size_t ar = static_cast<size_t>(array_rank);
  std::vector<int64_t> stride(rank), index(rank, 0);
  int64_t elem_size = 1;
  for (size_t k = ar; k < rank; ++k) {
    stride[k] = elem_size;
    elem_size *= dims[k];
  }
  int64_t outer = elem_size;
  for (size_t k = ar; k-- > 0;) {
    stride[k] = outer;
    outer *= dims[k];
  }
  int64_t offset = 0;
  for (int64_t s = 0; s < total; ++s) {
    f(s, offset);
    for (size_t k = 0; k < rank; ++k) {
      offset += stride[k];
      if (++index[k] < dims[k]) break;
      offset -= stride[k] * dims[k];
      index[k] = 0;
    }
  }
}

bool same_order(const std::vector<int64_t>& dims, int array_rank) {
  return array_rank == 0 || (array_rank == 1 && dims.size() == 1);
}

template <typename T>
void stan_to_halo(const T* stan, T* halo, const std::vector<int64_t>& dims, int array_rank) {
  if (same_order(dims, array_rank)) {
    if (product(dims) > 0) std::memcpy(halo, stan, sizeof(T) * static_cast<size_t>(product(dims)));
    return;
  }
  for_each_element(dims, array_rank, [&](int64_t s, int64_t h) { halo[h] = stan[s]; });
}

std::string dims_text(const std::vector<size_t>& dims) {
  std::string out;
  for (size_t k = 0; k < dims.size(); ++k) out += (k ? " x " : "") + std::to_string(dims[k]);
  return out;
}

std::string shape_message(const VariableLayout& v, const std::vector<size_t>& found) {
  int rank = v.rank();
  std::string expected = rank == 0 ? "a single value" : std::to_string(rank) + (rank == 1 ? " dimension" : " dimensions");
  std::string has = found.empty() ? "a single value"
                                  : std::to_string(found.size()) + (found.size() == 1 ? " dimension (" : " dimensions (") +
                                        dims_text(found) + ")";
  return "'" + v.name + "' is declared " + v.type_text() + " and needs " + expected + ", but the data has " + has;
}

std::string int_message(const VariableLayout& v, const Variable& x) {
  double bad = x.values[x.first_real];
  if (x.dims.empty()) return "'" + v.name + "' is declared int but the data has " + format_number(bad);
  return "'" + v.name + "' is declared int but the data has " + element_name(v.name, x.dims, x.first_real) + " = " +
         format_number(bad);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string json_dims(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t k = 0; k < dims.size(); ++k) out += (k ? "," : "") + std::to_string(dims[k]);
  return out + "]";
}

// Names of the elements of `name` with `dims`, 1-based, first index fastest ("a.1.2").
void append_names(std::string& out, const std::string& name, const std::vector<int64_t>& dims) {
  int64_t total = product(dims);
  std::vector<int64_t> index(dims.size(), 0);
  for (int64_t s = 0; s < total; ++s) {
    if (!out.empty()) out += ',';
    out += name;
    for (int64_t i : index) out += '.' + std::to_string(i + 1);
    for (size_t k = 0; k < dims.size(); ++k) {
      if (++index[k] < dims[k]) break;
      index[k] = 0;
    }
  }
}

// The same names in the order of Halo's layout (array dims row-major, elements column-major):
// the order of a parameter's values in the unconstrained vector.
void append_names_in_layout(std::string& out, const std::string& name, const std::vector<int64_t>& dims,
                            int array_rank) {
  if (same_order(dims, array_rank)) {
    append_names(out, name, dims);
    return;
  }
  std::vector<std::string> by_offset(static_cast<size_t>(product(dims)));
  for_each_element(dims, array_rank, [&](int64_t s, int64_t h) {
    std::string& text = by_offset[static_cast<size_t>(h)];
    text = name;
    for (int64_t d : dims) {
      text += '.' + std::to_string(s % d + 1);
      s /= d;
    }
  });
  for (const std::string& text : by_offset) {
    if (!out.empty()) out += ',';
    out += text;
  }
}

int checked_count(int64_t n, const char* what) {
  if (n < 0 || n > INT_MAX) throw ModelError(std::string("the model has too many ") + what + " for the C API");
  return static_cast<int>(n);
}

}  // namespace

void* Input::arg() {
  if (rank > 0) return &tensor;
  return is_int ? static_cast<void*>(&int_scalar) : static_cast<void*>(&real_scalar);
}

Model::Model(const GeneratedEntries& generated, const char* data) : entries_(generated) {
  layout_ = parse_model_layout(generated.layout);
  read_data(data);
  compute_sizes();
  build_names();
}

void Model::read_data(const char* data) {
  DataSet set = data == nullptr ? DataSet() : load_cmdstan_json(data);
  inputs_.reserve(layout_.data.size() + layout_.transformed_data.size());
  // A container absent from the data is passed with all dims 0: Stan accepts that when its
  // declared size is zero; otherwise the size check in halo_gen_data fails, naming it.
  std::vector<std::string> absent;
  for (const VariableLayout& v : layout_.data) {
    Input in;
    in.is_int = v.is_int;
    in.rank = v.rank();
    const Variable* x = set.find(v.name);
    if (x == nullptr) {
      if (const std::string* problem = set.problem(v.name)) throw DataError(*problem);
      if (in.rank == 0) throw DataError("variable '" + v.name + "' is missing from the data");
      absent.push_back(v.name);
    } else {
      std::vector<int64_t> dims(x->dims.begin(), x->dims.end());
      if (static_cast<int>(dims.size()) != in.rank) {
        // JSON cannot spell the inner sizes of an empty array: [] fits any declared rank.
        bool empty = x->size() == 0 && !dims.empty() && static_cast<int>(dims.size()) < in.rank;
        if (!empty) throw DataError(shape_message(v, x->dims));
        dims.resize(static_cast<size_t>(in.rank), 0);
      }
      if (v.is_int && !x->all_int) throw DataError(int_message(v, *x));
      if (in.rank == 0) {
        in.int_scalar = v.is_int ? x->ints[0] : 0;
        in.real_scalar = x->values[0];
      } else {
        for (int k = 0; k < in.rank; ++k) in.tensor.dims[k] = dims[static_cast<size_t>(k)];
        size_t n = static_cast<size_t>(product(dims));
        if (v.is_int) {
          in.ints.resize(n);
          stan_to_halo(x->ints.data(), in.ints.data(), dims, v.array_rank);
        } else {
          in.reals.resize(n);
          stan_to_halo(x->values.data(), in.reals.data(), dims, v.array_rank);
        }
      }
    }
    inputs_.push_back(std::move(in));
  }
  for (Input& in : inputs_) in.tensor.data = in.is_int ? static_cast<void*>(in.ints.data()) : in.reals.data();

  // Validation of sizes and constraints, and the transformed data, in generated code.
  std::vector<void*> args;
  for (Input& in : inputs_) args.push_back(in.arg());
  struct Slot {
    double real = 0.0;
    int64_t integer = 0;
    halo_tensor tensor{};
  };
  std::vector<Slot> slots(layout_.transformed_data.size());
  std::vector<void*> results;
  for (size_t k = 0; k < slots.size(); ++k) {
    const VariableLayout& v = layout_.transformed_data[k];
    results.push_back(v.rank() > 0 ? static_cast<void*>(&slots[k].tensor)
                                   : v.is_int ? static_cast<void*>(&slots[k].integer) : static_cast<void*>(&slots[k].real));
  }
  WorkspaceLease ws;
  if (entries_.data(ws->abi(), args.data(), results.data()) != 0) {
    std::string message = ws->failed() ? ws->error() : "the data failed validation";
    for (const std::string& name : absent)
      if (message.find("'" + name + "'") != std::string::npos)
        throw DataError("variable '" + name + "' is missing from the data");
    throw DataError(message);
  }
  // The results live in the workspace: copy them out.
  for (size_t k = 0; k < slots.size(); ++k) {
    const VariableLayout& v = layout_.transformed_data[k];
    Input in;
    in.is_int = v.is_int;
    in.rank = v.rank();
    if (in.rank == 0) {
      in.real_scalar = slots[k].real;
      in.int_scalar = slots[k].integer;
    } else {
      const halo_tensor& t = slots[k].tensor;
      int64_t n = 1;
      for (int d = 0; d < in.rank; ++d) {
        in.tensor.dims[d] = t.dims[d];
        n *= t.dims[d];
      }
      if (v.is_int) in.ints.assign(static_cast<const int64_t*>(t.data), static_cast<const int64_t*>(t.data) + n);
      else in.reals.assign(static_cast<const double*>(t.data), static_cast<const double*>(t.data) + n);
      in.tensor.data = v.is_int ? static_cast<void*>(in.ints.data()) : in.reals.data();
    }
    inputs_.push_back(std::move(in));
  }
  for (Input& in : inputs_) {
    if (in.rank > 0) in.tensor.data = in.is_int ? static_cast<void*>(in.ints.data()) : in.reals.data();
    input_args_.push_back(in.arg());
  }
}

void Model::compute_sizes() {
  WorkspaceLease ws;
  halo_tensor out{};
  void* results[1] = {&out};
  call(*ws, entries_.sizes, arguments(*ws, {}), results);
  const auto* numbers = static_cast<const int64_t*>(out.data);
  int64_t count = out.dims[0];
  int64_t next = 0;
  auto take = [&]() -> int64_t {
    if (next >= count) throw ModelError("internal error: the sizes from generated code are too short");
    int64_t n = numbers[next++];
    if (n < 0) throw ModelError("a size computed from the data is negative (" + std::to_string(n) + ")");
    return n;
  };
  auto shapes = [&](const std::vector<VariableLayout>& vars, std::vector<Shape>& out_shapes, bool with_unconstrained) {
    int64_t total = 0;
    for (const VariableLayout& v : vars) {
      Shape s;
      s.layout = &v;
      if (with_unconstrained) s.unconstrained_size = take();
      for (int k = 0; k < v.rank(); ++k) s.dims.push_back(take());
      s.size = product(s.dims);
      total += s.size;
      out_shapes.push_back(std::move(s));
    }
    return total;
  };
  params_size_ = shapes(layout_.parameters, params_, true);
  tparams_size_ = shapes(layout_.transformed_parameters, tparams_, false);
  gqs_size_ = shapes(layout_.generated_quantities, gqs_, false);
  if (next != count) throw ModelError("internal error: the sizes from generated code are too long");
  int64_t unconstrained = 0;
  for (const Shape& s : params_) unconstrained += s.unconstrained_size;
  unc_num_ = checked_count(unconstrained, "unconstrained parameters");
  counts_[0] = checked_count(params_size_, "parameters");
  counts_[1] = checked_count(params_size_ + tparams_size_, "parameters");
  counts_[2] = checked_count(params_size_ + gqs_size_, "parameters");
  counts_[3] = checked_count(params_size_ + tparams_size_ + gqs_size_, "parameters");
}

void Model::build_names() {
  std::string params, tparams, gqs;
  for (const Shape& s : params_) append_names(params, s.layout->name, s.dims);
  for (const Shape& s : tparams_) append_names(tparams, s.layout->name, s.dims);
  for (const Shape& s : gqs_) append_names(gqs, s.layout->name, s.dims);
  auto join = [](std::string a, const std::string& b) {
    if (!a.empty() && !b.empty()) a += ',';
    return a + b;
  };
  names_[0] = params;
  names_[1] = join(params, tparams);
  names_[2] = join(params, gqs);
  names_[3] = join(join(params, tparams), gqs);
  for (const Shape& s : params_) {
    // The unconstrained vector holds each parameter in Halo's layout (generated code reads
    // it in place); its names follow that order. Parameters whose size changes (simplex, ...)
    // are named by one flat index, as Stan does.
    if (s.unconstrained_size == s.size) append_names_in_layout(unc_names_, s.layout->name, s.dims, s.layout->array_rank);
    else append_names(unc_names_, s.layout->name, {s.unconstrained_size});
  }

  info_ = "BridgeStan version: 2.7.0 (the C API, implemented by Halo's model runtime)\n"
          "Halo version: " HALO_VERSION "\n"
          "Model: " + layout_.name + "\n"
          "Compiled by: haloc " + layout_.compiler_version + "\n"
          "Thread safety: always (each thread has its own workspace; as STAN_THREADS=true)\n"
          "Stan C++ Defines:\n"
          "\tSTAN_THREADS=true\n"
          "\tBRIDGESTAN_AD_HESSIAN=false\n"
          "Hessian: central finite differences of the generated gradient\n"
          "Runtime compiler: " __VERSION__ "\n";

  auto variables = [&](const std::vector<Shape>& shapes, bool parameters) {
    std::string out = "[";
    for (size_t k = 0; k < shapes.size(); ++k) {
      const Shape& s = shapes[k];
      const VariableLayout& v = *s.layout;
      out += std::string(k ? "," : "") + "{\"name\":" + json_string(v.name) + ",\"elem\":\"" +
             (v.is_int ? "int" : "real") + "\",\"type\":" + json_string(v.type_text()) +
             ",\"constraint\":" + json_string(v.constraint) + ",\"dims\":" + json_dims(s.dims) +
             ",\"size\":" + std::to_string(s.size);
      if (parameters) out += ",\"unconstrained_size\":" + std::to_string(s.unconstrained_size);
      out += "}";
    }
    return out + "]";
  };
  std::string data = "[";
  for (size_t k = 0; k < layout_.data.size(); ++k) {
    const VariableLayout& v = layout_.data[k];
    const Input& in = inputs_[k];
    std::vector<int64_t> dims(in.tensor.dims, in.tensor.dims + in.rank);
    data += std::string(k ? "," : "") + "{\"name\":" + json_string(v.name) + ",\"elem\":\"" +
            (v.is_int ? "int" : "real") + "\",\"type\":" + json_string(v.type_text()) +
            ",\"dims\":" + json_dims(dims) + "}";
  }
  data += "]";
  metadata_ = "{\"name\":" + json_string(layout_.name) + ",\"compiler_version\":" +
              json_string(layout_.compiler_version) + ",\"runtime_version\":" + json_string(HALO_VERSION) +
              ",\"bridgestan_version\":\"2.7.0\",\"batch_dimension\":" + json_string(layout_.batch_dimension) +
              ",\"unconstrained_size\":" + std::to_string(unc_num_) + ",\"data\":" + data +
              ",\"parameters\":" + variables(params_, true) +
              ",\"transformed_parameters\":" + variables(tparams_, false) +
              ",\"generated_quantities\":" + variables(gqs_, false) + "}";
}

void** Model::arguments(Workspace& ws, std::initializer_list<void*> leading) const {
  size_t n = leading.size() + input_args_.size();
  auto** args = static_cast<void**>(ws.allocate(sizeof(void*) * std::max<size_t>(n, 1)));
  if (args == nullptr) throw std::bad_alloc();
  std::copy(leading.begin(), leading.end(), args);
  std::copy(input_args_.begin(), input_args_.end(), args + leading.size());
  return args;
}

void Model::call(Workspace& ws, Entry entry, void* const* args, void* const* results) const {
  if (entry(ws.abi(), args, results) != 0)
    throw ModelError(ws.failed() ? ws.error() : "the model failed without a message");
}

double Model::log_density(bool propto, bool jacobian, const double* theta_unc) const {
  WorkspaceLease ws;
  halo_tensor theta = vector_tensor(theta_unc, unc_num_);
  int64_t with_jacobian = jacobian ? 1 : 0;
  double lp = 0.0;
  void* results[1] = {&lp};
  call(*ws, propto ? entries_.log_density_propto : entries_.log_density, arguments(*ws, {&theta, &with_jacobian}),
       results);
  return lp;
}

double Model::gradient_in(Workspace& ws, bool propto, bool jacobian, const double* theta_unc, double* grad) const {
  ws.reset();
  halo_tensor theta = vector_tensor(theta_unc, unc_num_);
  int64_t with_jacobian = jacobian ? 1 : 0;
  double lp = 0.0;
  halo_tensor gradient{};
  void* results[2] = {&lp, &gradient};
  call(ws, propto ? entries_.log_density_propto_grad : entries_.log_density_grad,
       arguments(ws, {&theta, &with_jacobian}), results);
  if (gradient.dims[0] != unc_num_) throw ModelError("internal error: the gradient has the wrong size");
  if (unc_num_ > 0) std::memcpy(grad, gradient.data, sizeof(double) * static_cast<size_t>(unc_num_));
  return lp;
}

void Model::prior_draw(ModelRng* rng, double* theta_unc) const {
  if (entries_.prior_draw == nullptr) throw ModelError("this model library has no prior sampler (recompile it)");
  WorkspaceLease ws;
  ws->reset();
  auto rng_address = static_cast<int64_t>(reinterpret_cast<intptr_t>(rng));
  halo_tensor theta{};
  void* results[1] = {&theta};
  call(*ws, entries_.prior_draw, arguments(*ws, {&rng_address}), results);
  if (theta.dims[0] != unc_num_) throw ModelError("internal error: the prior draw has the wrong size");
  if (unc_num_ > 0) std::memcpy(theta_unc, theta.data, sizeof(double) * static_cast<size_t>(unc_num_));
}

double Model::log_density_batch(bool jacobian, const double* theta_unc, const int64_t* rows, size_t num_rows,
                                double* grad) const {
  if (entries_.log_density_batch == nullptr || entries_.log_density_batch_grad == nullptr)
    throw ModelError("the model declares no batch dimension (`batch int N;` in data)");
  WorkspaceLease ws;
  ws->reset();
  halo_tensor theta = vector_tensor(theta_unc, unc_num_);
  int64_t with_jacobian = jacobian ? 1 : 0;
  halo_tensor rows_tensor{};
  rows_tensor.data = const_cast<int64_t*>(rows);
  rows_tensor.dims[0] = static_cast<int64_t>(num_rows);
  // The rows follow the data and transformed data (the generated entry's last argument).
  size_t n = 2 + input_args_.size() + 1;
  auto** args = static_cast<void**>(ws->allocate(sizeof(void*) * n));
  if (args == nullptr) throw std::bad_alloc();
  args[0] = &theta;
  args[1] = &with_jacobian;
  std::copy(input_args_.begin(), input_args_.end(), args + 2);
  args[n - 1] = &rows_tensor;
  double lp = 0.0;
  if (grad == nullptr) {
    void* results[1] = {&lp};
    call(*ws, entries_.log_density_batch, args, results);
    return lp;
  }
  halo_tensor gradient{};
  void* results[2] = {&lp, &gradient};
  call(*ws, entries_.log_density_batch_grad, args, results);
  if (gradient.dims[0] != unc_num_) throw ModelError("internal error: the gradient has the wrong size");
  if (unc_num_ > 0) std::memcpy(grad, gradient.data, sizeof(double) * static_cast<size_t>(unc_num_));
  return lp;
}

double Model::log_density_gradient(bool propto, bool jacobian, const double* theta_unc, double* grad) const {
  WorkspaceLease ws;
  return gradient_in(*ws, propto, jacobian, theta_unc, grad);
}

double Model::log_density_hessian(bool propto, bool jacobian, const double* theta_unc, double* grad,
                                  double* hessian) const {
  // Stan Math's internal::finite_diff_hessian_auto (stan/math/rev/functor/hessian.hpp):
  // column i from gradients at x +- h_i e_i with h_i = cbrt(eps) * max(1, |x_i|)
  // (finite_diff_stepsize), then symmetrised.
  WorkspaceLease ws;
  const size_t n = static_cast<size_t>(unc_num_);
  double lp = gradient_in(*ws, propto, jacobian, theta_unc, grad);
  std::vector<double> x(theta_unc, theta_unc + n), plus(n), minus(n);
  const double cbrt_epsilon = std::cbrt(DBL_EPSILON);
  for (size_t i = 0; i < n; ++i) {
    double h = cbrt_epsilon * std::fmax(1.0, std::fabs(theta_unc[i]));
    x[i] = theta_unc[i] + h;
    gradient_in(*ws, propto, jacobian, x.data(), plus.data());
    x[i] = theta_unc[i] - h;
    gradient_in(*ws, propto, jacobian, x.data(), minus.data());
    x[i] = theta_unc[i];
    for (size_t j = 0; j < n; ++j) hessian[i * n + j] = (plus[j] - minus[j]) / (2 * h);
  }
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      double mean = 0.5 * (hessian[i * n + j] + hessian[j * n + i]);
      hessian[i * n + j] = hessian[j * n + i] = mean;
    }
  return lp;
}

double Model::log_density_hessian_vector_product(bool propto, bool jacobian, const double* theta_unc,
                                                 const double* vector, double* hvp) const {
  // Stan Math's internal::finite_diff_hessian_times_vector_auto: one central difference of
  // gradients along v with h = sqrt(eps) * (1 + |x|) / |v|.
  WorkspaceLease ws;
  const size_t n = static_cast<size_t>(unc_num_);
  std::vector<double> scratch(n), plus(n), minus(n);
  double lp = gradient_in(*ws, propto, jacobian, theta_unc, scratch.data());
  double x_norm = 0.0, v_norm = 0.0;
  for (size_t i = 0; i < n; ++i) {
    x_norm += theta_unc[i] * theta_unc[i];
    v_norm += vector[i] * vector[i];
  }
  x_norm = std::sqrt(x_norm);
  v_norm = std::sqrt(v_norm);
  if (v_norm == 0.0) {  // H 0 = 0 (Stan's step would be infinite)
    std::fill(hvp, hvp + n, 0.0);
    return lp;
  }
  double h = std::sqrt(DBL_EPSILON) * (1.0 + x_norm) / v_norm;
  for (size_t i = 0; i < n; ++i) scratch[i] = theta_unc[i] + h * vector[i];
  gradient_in(*ws, propto, jacobian, scratch.data(), plus.data());
  for (size_t i = 0; i < n; ++i) scratch[i] = theta_unc[i] - h * vector[i];
  gradient_in(*ws, propto, jacobian, scratch.data(), minus.data());
  for (size_t i = 0; i < n; ++i) hvp[i] = (plus[i] - minus[i]) / (2 * h);
  return lp;
}

void Model::constrain(bool include_tp, bool include_gq, const double* theta_unc, double* theta,
                      ModelRng* rng) const {
  if (include_gq && rng == nullptr) throw ModelError("include_gq=true but rng=nullptr");
  WorkspaceLease ws;
  halo_tensor unconstrained = vector_tensor(theta_unc, unc_num_);
  halo_tensor params{}, tparams{};
  void* results[2] = {&params, &tparams};
  call(*ws, entries_.constrain, arguments(*ws, {&unconstrained}), results);
  if (params.dims[0] != params_size_ || tparams.dims[0] != tparams_size_)
    throw ModelError("internal error: constrain returned the wrong number of values");
  double* out = theta;
  if (params_size_ > 0) std::memcpy(out, params.data, sizeof(double) * static_cast<size_t>(params_size_));
  out += params_size_;
  if (include_tp) {
    if (tparams_size_ > 0) std::memcpy(out, tparams.data, sizeof(double) * static_cast<size_t>(tparams_size_));
    out += tparams_size_;
  }
  if (!include_gq || gqs_.empty()) return;
  if (entries_.generated_quantities == nullptr)
    throw ModelError("this model library has no generated quantities code");
  auto rng_address = static_cast<int64_t>(reinterpret_cast<intptr_t>(rng));
  halo_tensor gq{};
  void* gq_results[1] = {&gq};
  call(*ws, entries_.generated_quantities, arguments(*ws, {&unconstrained, &rng_address}), gq_results);
  if (gq.dims[0] != gqs_size_) throw ModelError("internal error: generated quantities returned the wrong number of values");
  if (gqs_size_ > 0) std::memcpy(out, gq.data, sizeof(double) * static_cast<size_t>(gqs_size_));
}

void Model::unconstrain_halo_layout(Workspace& ws, double* params, double* theta_unc) const {
  halo_tensor constrained = vector_tensor(params, params_size_);
  halo_tensor unconstrained{};
  void* results[1] = {&unconstrained};
  call(ws, entries_.unconstrain, arguments(ws, {&constrained}), results);
  if (unconstrained.dims[0] != unc_num_) throw ModelError("internal error: unconstrain returned the wrong number of values");
  if (unc_num_ > 0) std::memcpy(theta_unc, unconstrained.data, sizeof(double) * static_cast<size_t>(unc_num_));
}

void Model::unconstrain(const double* theta, double* theta_unc) const {
  WorkspaceLease ws;
  auto* params = static_cast<double*>(ws->allocate(sizeof(double) * static_cast<size_t>(std::max<int64_t>(params_size_, 1))));
  if (params == nullptr) throw std::bad_alloc();
  int64_t offset = 0;
  for (const Shape& s : params_) {
    stan_to_halo(theta + offset, params + offset, s.dims, s.layout->array_rank);
    offset += s.size;
  }
  unconstrain_halo_layout(*ws, params, theta_unc);
}

void Model::unconstrain_json(const char* json, double* theta_unc) const {
  DataSet set = parse_cmdstan_json(json == nullptr ? std::string_view() : std::string_view(json));
  std::vector<double> params(static_cast<size_t>(params_size_));
  int64_t offset = 0;
  for (const Shape& s : params_) {
    VarSpec spec;
    spec.name = s.layout->name;
    spec.dims.assign(s.dims.begin(), s.dims.end());
    if (const Variable* x = check_variable(set, spec))
      stan_to_halo(x->values.data(), params.data() + offset, s.dims, s.layout->array_rank);
    offset += s.size;
  }
  WorkspaceLease ws;
  unconstrain_halo_layout(*ws, params.data(), theta_unc);
}

}  // namespace halo::model
