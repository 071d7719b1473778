// The sampling target: an unnormalised log density over R^dim and its gradient.
//
// A model library evaluates it in generated code; tests use plain C++ functions. During
// sampling, a point where the target throws `halo::DomainError` (a reject() or an invalid
// argument in the model), or returns a non-finite value or gradient, is a point of zero density:
// the trajectory that reaches it is marked divergent and never chosen. Other exceptions are bugs
// or resource failures and propagate to the caller.
#pragma once
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace halo {

// A recoverable rejection from the model, as Stan's std::domain_error. Deriving from it lets
// code that catches std::domain_error (ours included) treat both alike.
class DomainError : public std::domain_error {
 public:
  explicit DomainError(const std::string& what) : std::domain_error(what) {}
};

namespace nuts {

struct LogDensity {
  explicit LogDensity(int dimension) : dim(dimension) {}
  virtual ~LogDensity() = default;
  // Returns log p(q) up to a constant and writes d/dq log p(q) into grad[0..dim).
  // Called from one thread per chain: a target shared by chains must be reentrant.
  virtual double log_density_gradient(const double* q, double* grad) = 0;
  int dim;
};

// Adapts a callable `double(const double* q, double* grad)` (tests, small drivers).
class FunctionLogDensity final : public LogDensity {
 public:
  using Function = std::function<double(const double* q, double* grad)>;
  FunctionLogDensity(int dimension, Function f) : LogDensity(dimension), f_(std::move(f)) {}
  double log_density_gradient(const double* q, double* grad) override { return f_(q, grad); }

 private:
  Function f_;
};

}  // namespace nuts
}  // namespace halo
