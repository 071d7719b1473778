// Limited-memory BFGS minimisation with a strong-Wolfe line search, with the defaults and the
// termination tests of Stan's optimiser (stan/optimization/bfgs.hpp, bfgs_linesearch.hpp,
// lbfgs_update.hpp; CmdStan's `optimize algorithm=lbfgs`):
//   - search direction by the two-loop recursion over the last `history_size` pairs (s, y),
//     initial inverse Hessian gamma I with gamma = s'y / y'y of the newest pair (Nocedal &
//     Wright 2006, Numerical Optimization, algorithm 7.4 and eq. 7.20);
//   - line search for the strong Wolfe conditions with c1 = 1e-4, c2 = 0.9 (Stan's LSOptions),
//     expanding the step tenfold until the minimum is bracketed, then zooming by safeguarded
//     cubic interpolation with a bisection every fifth trial (N&W algorithms 3.5 and 3.6, as
//     Stan's WolfeLineSearch / WolfLSZoom); a point where the objective cannot be evaluated
//     halves the step (at most 10 times in a row, Stan's maxLSRestarts); at most 20 expansions
//     (Stan's maxLSIts);
//   - the first step is init_alpha times the steepest-descent direction; later steps start at
//     the quasi-Newton step alpha = 1 (N&W section 3.5; Stan instead extrapolates the previous
//     line search by a cubic, capped at 1). A failed line search clears the history and retries
//     along the steepest descent from init_alpha; a second failure ends the run;
//   - termination, checked in Stan's order after each iteration: |f_k - f_k-1| < tol_obj,
//     ||g|| < tol_grad, ||x_k - x_k-1|| < tol_param, the iteration limit,
//     |f_k - f_k-1| / max(|f_k-1|, |f_k|, 1) < tol_rel_obj * epsilon,
//     g' H g / max(|f_k|, 1) < tol_rel_grad * epsilon (H the L-BFGS inverse Hessian).
#pragma once
#include <functional>
#include <string>

#include <Eigen/Dense>

namespace halo::cli {

struct LbfgsSettings {
  int max_iterations = 2000;  // CmdStan's defaults, all of them
  double init_alpha = 1e-3;
  double tol_obj = 1e-12;
  double tol_rel_obj = 1e4;
  double tol_grad = 1e-8;
  double tol_rel_grad = 1e7;
  double tol_param = 1e-8;
  int history_size = 5;
};

enum class LbfgsStatus {
  AbsoluteObjective,  // converged
  RelativeObjective,  // converged
  AbsoluteGradient,   // converged
  RelativeGradient,   // converged
  AbsoluteParameter,  // converged
  MaxIterations,      // stopped, maybe not at an optimum
  LineSearchFailed,   // no further decrease found
};
// Stan's wording for each ("Convergence detected: relative gradient magnitude is below
// tolerance", ...).
const char* describe(LbfgsStatus status);
bool converged(LbfgsStatus status);

struct LbfgsResult {
  Eigen::VectorXd x;
  double f = 0;
  Eigen::VectorXd grad;
  int iterations = 0;
  long evaluations = 0;  // objective-and-gradient evaluations
  LbfgsStatus status = LbfgsStatus::MaxIterations;
};

// f(x) and its gradient; false when it cannot be evaluated at x (outside the support). A
// non-finite value or gradient counts as a failure too.
using Objective = std::function<bool(const Eigen::VectorXd& x, double& f, Eigen::VectorXd& grad)>;
// Called after each iteration with the current state (status meaningless until the end).
using IterationCallback = std::function<void(const LbfgsResult& state)>;

// Minimises from x0. Throws std::domain_error when the objective fails at x0.
LbfgsResult minimize_lbfgs(const Objective& objective, const Eigen::VectorXd& x0,
                           const LbfgsSettings& settings = {},
                           const IterationCallback& on_iteration = nullptr);

}  // namespace halo::cli
