#include "nuts/nuts.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace halo::nuts {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// What every subtree of one transition shares.
struct TreeContext {
  LogDensity& target;
  const Metric& metric;
  double step_size;  // signed by the direction of the current doubling
  double max_delta_h;
  Rng& rng;
  NutsWorkspace& ws;
  double h0;                   // H at the start of the transition
  int n_leapfrog = 0;
  double sum_metro_prob = 0;   // sum of min(1, exp(H0 - H)) over built states
  bool divergent = false;
};

// Builds a subtree of 2^depth leapfrog steps from the edge point `z` (advanced in place),
// following base_nuts.hpp's build_tree. Outputs: the subtree's proposal, its sharp momenta and
// momenta at its first (beg) and last (end) states, its summed momentum added into `rho`, and
// its log-sum weight combined into `log_sum_weight`. Returns false when the subtree diverged or
// contains a U-turn; the caller then discards it.
bool build_tree(TreeContext& c, int depth, PhasePoint& z, PhasePoint& z_propose,
                Eigen::VectorXd& p_sharp_beg, Eigen::VectorXd& p_sharp_end, Eigen::VectorXd& rho,
                Eigen::VectorXd& p_beg, Eigen::VectorXd& p_end, double& log_sum_weight) {
  if (depth == 0) {
    leapfrog(c.target, c.metric, c.step_size, z, c.ws.velocity_scratch);
    ++c.n_leapfrog;
    double h = hamiltonian(c.metric, z);
    if (std::isnan(h)) h = std::numeric_limits<double>::infinity();
    if (h - c.h0 > c.max_delta_h) c.divergent = true;
    log_sum_weight = log_sum_exp(log_sum_weight, c.h0 - h);
    c.sum_metro_prob += c.h0 - h > 0 ? 1.0 : std::exp(c.h0 - h);
    z_propose = z;
    velocity(c.metric, z.p, p_sharp_beg);
    p_sharp_end = p_sharp_beg;
    rho += z.p;
    p_beg = z.p;
    p_end = z.p;
    return !c.divergent;
  }

  NutsWorkspace::Level& L = c.ws.levels[depth];

  // First half: its first state is this subtree's first state.
  double log_sum_weight_init = kNegInf;
  L.rho_init.setZero();
  if (!build_tree(c, depth - 1, z, z_propose, p_sharp_beg, L.p_sharp_init_end, L.rho_init,
                  p_beg, L.p_init_end, log_sum_weight_init))
    return false;

  // Second half: its last state is this subtree's last state.
  double log_sum_weight_final = kNegInf;
  L.rho_final.setZero();
  if (!build_tree(c, depth - 1, z, L.z_propose_final, L.p_sharp_final_beg, p_sharp_end,
                  L.rho_final, L.p_final_beg, p_end, log_sum_weight_final))
    return false;

  // Uniform progressive sampling between the halves: the second half's proposal replaces the
  // first's with probability w_final / (w_init + w_final).
  const double log_sum_weight_subtree = log_sum_exp(log_sum_weight_init, log_sum_weight_final);
  log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);
  if (log_sum_weight_final > log_sum_weight_subtree) {
    z_propose = L.z_propose_final;
  } else {
    const double accept_prob = std::exp(log_sum_weight_final - log_sum_weight_subtree);
    if (c.rng.uniform() < accept_prob) z_propose = L.z_propose_final;
  }

  L.rho_subtree = L.rho_init + L.rho_final;
  rho += L.rho_subtree;

  const bool persist = merged_no_u_turn(
      TrajectoryEnds{p_beg, p_sharp_beg, L.p_init_end, L.p_sharp_init_end, L.rho_init},
      TrajectoryEnds{L.p_final_beg, L.p_sharp_final_beg, p_end, p_sharp_end, L.rho_final},
      L.rho_subtree, L.rho_scratch);
  return persist;
}
}  // namespace

double log_sum_exp(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  return a > b ? a + std::log1p(std::exp(b - a)) : b + std::log1p(std::exp(a - b));
}

bool no_u_turn(const Eigen::VectorXd& p_sharp_minus, const Eigen::VectorXd& p_sharp_plus,
               const Eigen::VectorXd& rho) {
  return p_sharp_plus.dot(rho) > 0 && p_sharp_minus.dot(rho) > 0;
}

bool merged_no_u_turn(const TrajectoryEnds& first, const TrajectoryEnds& second,
                      const Eigen::VectorXd& rho_merged, Eigen::VectorXd& scratch) {
  if (!no_u_turn(first.p_sharp_beg, second.p_sharp_end, rho_merged)) return false;
  scratch = first.rho + second.p_beg;
  if (!no_u_turn(first.p_sharp_beg, second.p_sharp_beg, scratch)) return false;
  scratch = second.rho + first.p_end;
  return no_u_turn(first.p_sharp_end, second.p_sharp_end, scratch);
}

NutsWorkspace::Level::Level(int dim)
    : p_init_end(dim), p_sharp_init_end(dim), rho_init(dim), p_final_beg(dim),
      p_sharp_final_beg(dim), rho_final(dim), rho_subtree(dim), rho_scratch(dim),
      z_propose_final(dim) {}

NutsWorkspace::NutsWorkspace(int dim, int max_depth)
    : z_fwd(dim), z_bck(dim), z_sample(dim), z_propose(dim), p_fwd_fwd(dim),
      p_sharp_fwd_fwd(dim), p_fwd_bck(dim), p_sharp_fwd_bck(dim), p_bck_fwd(dim),
      p_sharp_bck_fwd(dim), p_bck_bck(dim), p_sharp_bck_bck(dim), rho(dim), rho_fwd(dim),
      rho_bck(dim), rho_scratch(dim), velocity_scratch(dim), dim_(dim), max_depth_(max_depth) {
  levels.reserve(static_cast<std::size_t>(max_depth) + 1);
  for (int d = 0; d <= max_depth; ++d) levels.emplace_back(dim);
}

void nuts_transition(LogDensity& target, const Metric& metric, double step_size,
                     const NutsOptions& options, Rng& rng, PhasePoint& z, NutsWorkspace& ws,
                     Transition& out) {
  if (ws.dim() != static_cast<int>(z.q.size()) || ws.max_depth() < options.max_depth)
    throw std::invalid_argument("nuts_transition: workspace does not fit the problem");

  sample_momentum(metric, rng, z.p);
  TreeContext c{target, metric, step_size, options.max_delta_h, rng, ws, hamiltonian(metric, z)};

  ws.z_fwd = z;
  ws.z_bck = z;
  ws.z_sample = z;
  ws.z_propose = z;
  ws.p_fwd_fwd = z.p;
  velocity(metric, z.p, ws.p_sharp_fwd_fwd);
  ws.p_fwd_bck = z.p;
  ws.p_sharp_fwd_bck = ws.p_sharp_fwd_fwd;
  ws.p_bck_fwd = z.p;
  ws.p_sharp_bck_fwd = ws.p_sharp_fwd_fwd;
  ws.p_bck_bck = z.p;
  ws.p_sharp_bck_bck = ws.p_sharp_fwd_fwd;
  ws.rho = z.p;

  double log_sum_weight = 0;  // log of the start's weight exp(H0 - H0)
  int depth = 0;
  while (depth < options.max_depth) {
    ws.rho_fwd.setZero();
    ws.rho_bck.setZero();
    double log_sum_weight_subtree = kNegInf;
    bool valid_subtree;
    if (rng.uniform() > 0.5) {
      // Forward: the old trajectory becomes the backward subtree.
      ws.rho_bck = ws.rho;
      ws.p_bck_fwd = ws.p_fwd_fwd;
      ws.p_sharp_bck_fwd = ws.p_sharp_fwd_fwd;
      c.step_size = step_size;
      valid_subtree = build_tree(c, depth, ws.z_fwd, ws.z_propose, ws.p_sharp_fwd_bck,
                                 ws.p_sharp_fwd_fwd, ws.rho_fwd, ws.p_fwd_bck, ws.p_fwd_fwd,
                                 log_sum_weight_subtree);
    } else {
      // Backward: the old trajectory becomes the forward subtree.
      ws.rho_fwd = ws.rho;
      ws.p_fwd_bck = ws.p_bck_bck;
      ws.p_sharp_fwd_bck = ws.p_sharp_bck_bck;
      c.step_size = -step_size;
      valid_subtree = build_tree(c, depth, ws.z_bck, ws.z_propose, ws.p_sharp_bck_fwd,
                                 ws.p_sharp_bck_bck, ws.rho_bck, ws.p_bck_fwd, ws.p_bck_bck,
                                 log_sum_weight_subtree);
    }
    if (!valid_subtree) break;
    ++depth;

    // Biased progressive sampling: a heavier new subtree always takes over.
    if (log_sum_weight_subtree > log_sum_weight) {
      ws.z_sample = ws.z_propose;
    } else {
      const double accept_prob = std::exp(log_sum_weight_subtree - log_sum_weight);
      if (rng.uniform() < accept_prob) ws.z_sample = ws.z_propose;
    }
    log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);

    // In time order the backward subtree comes first.
    ws.rho = ws.rho_bck + ws.rho_fwd;
    const bool persist = merged_no_u_turn(
        TrajectoryEnds{ws.p_bck_bck, ws.p_sharp_bck_bck, ws.p_bck_fwd, ws.p_sharp_bck_fwd,
                       ws.rho_bck},
        TrajectoryEnds{ws.p_fwd_bck, ws.p_sharp_fwd_bck, ws.p_fwd_fwd, ws.p_sharp_fwd_fwd,
                       ws.rho_fwd},
        ws.rho, ws.rho_scratch);
    if (!persist) break;
  }

  z = ws.z_sample;
  out.q = z.q;
  out.log_density = z.log_density;
  out.accept_stat = c.sum_metro_prob / static_cast<double>(c.n_leapfrog);
  out.step_size = step_size;
  out.tree_depth = depth;
  out.n_leapfrog = c.n_leapfrog;
  out.divergent = c.divergent;
  out.energy = hamiltonian(metric, z);
}

}  // namespace halo::nuts
