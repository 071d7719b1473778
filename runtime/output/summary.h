// Posterior summaries and convergence diagnostics.
//
// R-hat and ESS follow Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), "Rank-normalization,
// folding, and localization: an improved R-hat for assessing convergence of MCMC", Bayesian
// Analysis 16(2), and reproduce the R package posterior (stan-dev/posterior, R/convergence.R:
// .rhat, .ess, autocovariance, z_scale, fold_draws, ess_quantile; R/split_chains.R) number for
// number; the tests compare with values computed by posterior 1.4.0. Stan's C++
// (stan/analyze/mcmc/) computes the same quantities.
//
// A quantity's draws are given per chain: chains[c][i]; every chain has the same length.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "output/stan_csv_reader.h"

namespace halo::output {

using ChainDraws = std::vector<std::vector<double>>;

// ---- building blocks (each NaN when posterior returns NA: non-finite or constant draws) ----

// Biased autocovariance (divide by N; Geyer 1992) at lags 0..N-1, via FFT with zero padding.
std::vector<double> autocovariance(const std::vector<double>& x);
// Each chain cut in two halves; the middle draw of an odd-length chain is dropped.
ChainDraws split_chains(const ChainDraws& chains);
// Normal scores of the pooled ranks: Phi^-1((r - 3/8) / (S + 1/4)), ties given average ranks.
ChainDraws z_scale(const ChainDraws& chains);
// |x - median(x)| (median over all draws).
ChainDraws fold_draws(const ChainDraws& chains);
// Sample quantile, R's type 7 (the default of quantile()).
double quantile(std::vector<double> x, double p);

// posterior's .rhat / .ess on chains as given (no splitting, no ranks).
double rhat_of(const ChainDraws& chains);
double ess_of(const ChainDraws& chains);

double rhat_basic(const ChainDraws& chains);  // split R-hat (BDA3)
double ess_basic(const ChainDraws& chains);   // split ESS = posterior::ess_mean
// max(bulk, tail) rank-normalised split R-hat: posterior::rhat.
double rhat(const ChainDraws& chains);
double ess_bulk(const ChainDraws& chains);
double ess_quantile(const ChainDraws& chains, double prob);
// min(ess_quantile 5%, 95%).
double ess_tail(const ChainDraws& chains);
// sd / sqrt(ess_mean): posterior::mcse_mean.
double mcse_mean(const ChainDraws& chains);

// Energy Bayesian fraction of missing information of one chain: mean squared successive
// difference of energy__ over its (biased) variance (Betancourt 2016; ArviZ `bfmi`).
double ebfmi(const std::vector<double>& energy);

// ---- summaries of runs ----

struct QuantitySummary {
  std::string name;
  double mean = 0, sd = 0, mcse_mean = 0;
  double q5 = 0, q50 = 0, q95 = 0;
  double rhat = 0, ess_bulk = 0, ess_tail = 0;
};
QuantitySummary summarize_quantity(const std::string& name, const ChainDraws& chains);

struct ChainDiagnostics {
  size_t draws = 0;
  size_t divergences = 0;
  size_t max_treedepth_hits = 0;  // treedepth__ >= max_depth
  double ebfmi = 0;               // NaN without energy__
};

struct RunSummary {
  std::string model;
  size_t chains = 0;
  size_t draws_per_chain = 0;
  int max_depth = 10;
  std::vector<QuantitySummary> quantities;  // lp__, then the model's columns
  std::vector<ChainDiagnostics> chain_diagnostics;
  // Plain-words warnings, each with what to do; empty when nothing needs attention.
  std::vector<std::string> warnings;
};

// Chains of one run (sampler output from Halo or CmdStan). Throws OutputError when the files
// do not belong together (different columns or draw counts).
RunSummary summarize_run(const std::vector<StanCsv>& chains);
// The warnings of a run, from its summaries (thresholds from Vehtari et al. 2021 and Stan).
std::vector<std::string> run_warnings(const RunSummary& run);
// A stansummary-like table with aligned columns, then diagnostics and warnings.
std::string format_summary(const RunSummary& run);

}  // namespace halo::output
