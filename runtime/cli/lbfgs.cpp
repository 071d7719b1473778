#include "cli/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <stdexcept>

namespace halo::cli {

namespace {

// Line-search constants of Stan's LSOptions (bfgs.hpp).
constexpr double kC1 = 1e-4;
constexpr double kC2 = 0.9;
constexpr int kMaxExpansions = 20;     // maxLSIts
constexpr int kMaxRestarts = 10;       // maxLSRestarts
constexpr int kMaxZoomTrials = 100;    // a bound Stan leaves to the bracket width
constexpr double kMinBracket = 1e-16;  // WolfLSZoom's min_range

struct Point {
  Eigen::VectorXd x;
  double f = 0;
  Eigen::VectorXd g;
};

class Evaluator {
 public:
  explicit Evaluator(const Objective& objective) : objective_(objective) {}
  bool operator()(Point& p) {
    ++count;
    if (!objective_(p.x, p.f, p.g)) return false;
    return std::isfinite(p.f) && p.g.allFinite();
  }
  long count = 0;

 private:
  const Objective& objective_;
};

// Minimiser over [lo, hi] (either order) of the cubic matching phi and phi' at both ends (N&W
// eq. 3.59); NaN when the cubic has no usable minimiser there.
double cubic_minimizer(double lo, double f_lo, double d_lo, double hi, double f_hi, double d_hi) {
  const double d1 = d_lo + d_hi - 3 * (f_lo - f_hi) / (lo - hi);
  const double disc = d1 * d1 - d_lo * d_hi;
  if (disc < 0) return std::numeric_limits<double>::quiet_NaN();
  double d2 = std::sqrt(disc);
  if (hi < lo) d2 = -d2;
  return hi - (hi - lo) * (d_hi + d2 - d1) / (d_hi - d_lo + 2 * d2);
}

// Strong-Wolfe line search from `start` along `p` (a descent direction). On success `out` is
// the accepted point and `alpha` its step.
bool wolfe_line_search(Evaluator& eval, const Point& start, const Eigen::VectorXd& p, double& alpha,
                       Point& out) {
  const double dphi0 = start.g.dot(p);
  if (!(dphi0 < 0)) return false;
  const double sufficient = kC1 * dphi0;
  const double curvature = -kC2 * dphi0;

  // Evaluates at step a, halving towards `toward` while the objective fails there.
  auto try_step = [&](double& a, double toward) {
    for (int restart = 0; restart <= kMaxRestarts; ++restart) {
      out.x = start.x + a * p;
      if (eval(out)) return true;
      const double next = 0.5 * (a + toward);
      if (next == a) return false;
      a = next;
    }
    return false;
  };

  auto zoom = [&](double lo, double f_lo, double d_lo, double hi, double f_hi, double d_hi) {
    for (int trial = 1; trial <= kMaxZoomTrials; ++trial) {
      if (std::fabs(lo - hi) < kMinBracket || std::nextafter(lo, hi) == hi) return false;
      double a = 0.5 * (lo + hi);
      if (trial % 5 != 0) {
        double c = cubic_minimizer(lo, f_lo, d_lo, hi, f_hi, d_hi);
        const double margin = 0.01 * std::fabs(hi - lo);
        if (std::isfinite(c) && c > std::min(lo, hi) + margin && c < std::max(lo, hi) - margin) a = c;
      }
      if (!try_step(a, std::min(lo, hi))) return false;
      const double d = out.g.dot(p);
      if (out.f > start.f + a * sufficient || out.f >= f_lo) {
        hi = a;
        f_hi = out.f;
        d_hi = d;
      } else {
        if (std::fabs(d) <= curvature) {
          alpha = a;
          return true;
        }
        if (d * (hi - lo) >= 0) {
          hi = lo;
          f_hi = f_lo;
          d_hi = d_lo;
        }
        lo = a;
        f_lo = out.f;
        d_lo = d;
      }
    }
    return false;
  };

  double a_prev = 0, f_prev = start.f, d_prev = dphi0;
  double a = alpha;
  for (int expansion = 0; expansion < kMaxExpansions; ++expansion) {
    if (!try_step(a, a_prev)) return false;
    const double d = out.g.dot(p);
    if (out.f > start.f + a * sufficient || (expansion > 0 && out.f >= f_prev))
      return zoom(a_prev, f_prev, d_prev, a, out.f, d);
    if (std::fabs(d) <= curvature) {
      alpha = a;
      return true;
    }
    if (d >= 0) return zoom(a, out.f, d, a_prev, f_prev, d_prev);
    a_prev = a;
    f_prev = out.f;
    d_prev = d;
    a *= 10;  // Stan's expansion factor
  }
  return false;
}

struct CurvaturePair {
  Eigen::VectorXd s, y;
  double rho;  // 1 / s'y
};

// p = -H g by the two-loop recursion (N&W algorithm 7.4).
void search_direction(const std::deque<CurvaturePair>& history, const Eigen::VectorXd& g,
                      Eigen::VectorXd& p) {
  if (history.empty()) {
    p = -g;
    return;
  }
  Eigen::VectorXd q = g;
  std::vector<double> a(history.size());
  for (size_t k = history.size(); k-- > 0;) {
    a[k] = history[k].rho * history[k].s.dot(q);
    q -= a[k] * history[k].y;
  }
  const CurvaturePair& newest = history.back();
  q *= newest.s.dot(newest.y) / newest.y.squaredNorm();
  for (size_t k = 0; k < history.size(); ++k) {
    const double b = history[k].rho * history[k].y.dot(q);
    q += (a[k] - b) * history[k].s;
  }
  p = -q;
}

}  // namespace

const char* describe(LbfgsStatus status) {
  switch (status) {
    case LbfgsStatus::AbsoluteObjective:
      return "Convergence detected: absolute change in objective function was below tolerance";
    case LbfgsStatus::RelativeObjective:
      return "Convergence detected: relative change in objective function was below tolerance";
    case LbfgsStatus::AbsoluteGradient: return "Convergence detected: gradient norm is below tolerance";
    case LbfgsStatus::RelativeGradient:
      return "Convergence detected: relative gradient magnitude is below tolerance";
    case LbfgsStatus::AbsoluteParameter:
      return "Convergence detected: absolute parameter change was below tolerance";
    case LbfgsStatus::MaxIterations: return "Maximum number of iterations hit, may not be at an optimum";
    case LbfgsStatus::LineSearchFailed:
      return "Line search failed to achieve a sufficient decrease, no more progress can be made";
  }
  return "unknown";
}

bool converged(LbfgsStatus status) {
  return status != LbfgsStatus::MaxIterations && status != LbfgsStatus::LineSearchFailed;
}

LbfgsResult minimize_lbfgs(const Objective& objective, const Eigen::VectorXd& x0,
                           const LbfgsSettings& settings, const IterationCallback& on_iteration) {
  if (settings.history_size < 1) throw std::invalid_argument("L-BFGS needs a history of at least 1");
  Evaluator eval(objective);
  Point current;
  current.x = x0;
  current.g.resize(x0.size());
  if (!eval(current)) throw std::domain_error("the objective cannot be evaluated at the initial point");

  LbfgsResult result;
  auto publish = [&](LbfgsStatus status) {
    result.x = current.x;
    result.f = current.f;
    result.grad = current.g;
    result.evaluations = eval.count;
    result.status = status;
  };
  publish(LbfgsStatus::MaxIterations);
  if (current.g.norm() < settings.tol_grad) {
    publish(LbfgsStatus::AbsoluteGradient);
    return result;
  }

  std::deque<CurvaturePair> history;
  Eigen::VectorXd p = -current.g;
  Point next;
  next.g.resize(x0.size());
  const double eps = std::numeric_limits<double>::epsilon();
  for (int iteration = 1;; ++iteration) {
    bool steepest = history.empty();
    double alpha = steepest ? settings.init_alpha : 1.0;
    if (!wolfe_line_search(eval, current, p, alpha, next)) {
      if (steepest) {
        result.iterations = iteration - 1;
        publish(LbfgsStatus::LineSearchFailed);
        return result;
      }
      // Forget the curvature pairs and retry along the steepest descent.
      history.clear();
      p = -current.g;
      alpha = settings.init_alpha;
      if (!wolfe_line_search(eval, current, p, alpha, next)) {
        result.iterations = iteration - 1;
        publish(LbfgsStatus::LineSearchFailed);
        return result;
      }
    }
    CurvaturePair pair{next.x - current.x, next.g - current.g, 0};
    const double sy = pair.s.dot(pair.y);
    const double f_previous = current.f;
    std::swap(current, next);
    // The strong Wolfe conditions make s'y > 0; guard against rounding anyway.
    if (sy > eps * pair.s.norm() * pair.y.norm()) {
      pair.rho = 1.0 / sy;
      history.push_back(std::move(pair));
      if (static_cast<int>(history.size()) > settings.history_size) history.pop_front();
    }
    search_direction(history, current.g, p);
    result.iterations = iteration;

    const double change = std::fabs(f_previous - current.f);
    const double step = (current.x - next.x).norm();
    LbfgsStatus status = LbfgsStatus::MaxIterations;
    bool done = true;
    if (change < settings.tol_obj) {
      status = LbfgsStatus::AbsoluteObjective;
    } else if (current.g.norm() < settings.tol_grad) {
      status = LbfgsStatus::AbsoluteGradient;
    } else if (step < settings.tol_param) {
      status = LbfgsStatus::AbsoluteParameter;
    } else if (iteration >= settings.max_iterations) {
      status = LbfgsStatus::MaxIterations;
    } else if (change / std::max({std::fabs(f_previous), std::fabs(current.f), 1.0}) <
               settings.tol_rel_obj * eps) {
      status = LbfgsStatus::RelativeObjective;
    } else if (-p.dot(current.g) / std::max(std::fabs(current.f), 1.0) < settings.tol_rel_grad * eps) {
      status = LbfgsStatus::RelativeGradient;
    } else {
      done = false;
    }
    publish(status);
    if (on_iteration) on_iteration(result);
    if (done) return result;
  }
}

}  // namespace halo::cli
