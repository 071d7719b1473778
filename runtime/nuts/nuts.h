// One NUTS transition as Stan performs it (stan/mcmc/hmc/nuts/base_nuts.hpp; Betancourt 2017,
// "A Conceptual Introduction to Hamiltonian Monte Carlo", appendix A):
//  - the trajectory doubles in a uniformly random direction until the no-U-turn criterion fails,
//    a subtree diverges, or the tree reaches max_depth;
//  - the next state is drawn multinomially over the trajectory with weights exp(-H): within a
//    subtree by uniform progressive sampling, when merging a new subtree into the trajectory by
//    biased progressive sampling (the new subtree wins outright when it is heavier), which
//    favours states far from the start;
//  - the generalised no-U-turn criterion p#(-).rho > 0 and p#(+).rho > 0, checked over each
//    merged (sub)tree and, as Stan added in 2.21 (2019), across the boundary between its two
//    halves (rho of one half plus the adjacent momentum of the other), which catches U-turns
//    that fall between the halves;
//  - a leapfrog step whose energy error H - H0 exceeds max_delta_h (1000 in Stan) is a
//    divergence: the subtree is rejected and the trajectory ends;
//  - accept_stat is the mean over every leapfrog state built (rejected subtrees included) of
//    min(1, exp(H0 - H)), the statistic Stan's dual averaging targets.
#pragma once
#include <vector>

#include <Eigen/Dense>

#include "nuts/hamiltonian.h"
#include "nuts/log_density.h"
#include "nuts/metric.h"
#include "nuts/rng.h"

namespace halo::nuts {

struct NutsOptions {
  int max_depth = 10;         // from Stan (cmdstan's max_depth default)
  double max_delta_h = 1000;  // from Stan: base_nuts.hpp max_deltaH_
};

// What a transition reports; the sampler columns of a Stan CSV row.
struct Transition {
  Eigen::VectorXd q;         // the new position
  double log_density = 0;    // lp__
  double accept_stat = 0;    // accept_stat__
  double step_size = 0;      // stepsize__ (the one used, after jitter)
  int tree_depth = 0;        // treedepth__: number of completed doublings
  int n_leapfrog = 0;        // n_leapfrog__
  bool divergent = false;    // divergent__
  double energy = 0;         // energy__: H at the new state
};

// The generalised no-U-turn criterion over a trajectory with summed momentum `rho` and sharp
// momenta at its ends: true while the trajectory keeps expanding (no U-turn yet).
bool no_u_turn(const Eigen::VectorXd& p_sharp_minus, const Eigen::VectorXd& p_sharp_plus,
               const Eigen::VectorXd& rho);

// One of two adjacent trajectories about to be merged, in the order they were built; p# is the
// sharp momentum M^{-1} p at the first (beg) and last (end) state, rho the summed momentum.
struct TrajectoryEnds {
  const Eigen::VectorXd& p_beg;
  const Eigen::VectorXd& p_sharp_beg;
  const Eigen::VectorXd& p_end;
  const Eigen::VectorXd& p_sharp_end;
  const Eigen::VectorXd& rho;
};

// The criterion for merging `first` and `second` (rho_merged = first.rho + second.rho), as
// base_nuts.hpp checks it: over the merged trajectory, and across the boundary, i.e. over
// `first` extended by the first state of `second` and over `second` extended by the last state
// of `first`. `scratch` is a work vector.
bool merged_no_u_turn(const TrajectoryEnds& first, const TrajectoryEnds& second,
                      const Eigen::VectorXd& rho_merged, Eigen::VectorXd& scratch);

// Buffers for one transition, allocated once per chain (no allocation inside a transition).
class NutsWorkspace {
 public:
  NutsWorkspace(int dim, int max_depth);
  int dim() const { return dim_; }
  int max_depth() const { return max_depth_; }

  // Per-level buffers of build_tree: level d holds what the subtree of depth d keeps while its
  // two halves (depth d - 1) are built.
  struct Level {
    explicit Level(int dim);
    Eigen::VectorXd p_init_end, p_sharp_init_end, rho_init;
    Eigen::VectorXd p_final_beg, p_sharp_final_beg, rho_final;
    Eigen::VectorXd rho_subtree, rho_scratch;
    PhasePoint z_propose_final;
  };
  std::vector<Level> levels;
  // The top level's trajectory ends and accumulators (names as in base_nuts.hpp: fwd/bck is the
  // forward/backward subtree, the second part its forward/backward end).
  PhasePoint z_fwd, z_bck, z_sample, z_propose;
  Eigen::VectorXd p_fwd_fwd, p_sharp_fwd_fwd, p_fwd_bck, p_sharp_fwd_bck;
  Eigen::VectorXd p_bck_fwd, p_sharp_bck_fwd, p_bck_bck, p_sharp_bck_bck;
  Eigen::VectorXd rho, rho_fwd, rho_bck, rho_scratch;
  Eigen::VectorXd velocity_scratch;

 private:
  int dim_;
  int max_depth_;
};

// One transition from `z` (position, log density and gradient must be valid; momentum is
// resampled). On return `z` is the new state (its momentum is the one it was reached with) and
// `out` describes the transition. `ws` must have been made for this dimension and at least
// options.max_depth.
void nuts_transition(LogDensity& target, const Metric& metric, double step_size,
                     const NutsOptions& options, Rng& rng, PhasePoint& z, NutsWorkspace& ws,
                     Transition& out);

// log(exp(a) + exp(b)) with -inf handled.
double log_sum_exp(double a, double b);

}  // namespace halo::nuts
