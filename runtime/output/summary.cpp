#include "output/summary.h"

#include <boost/math/special_functions/erf.hpp>
#include <unsupported/Eigen/FFT>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <complex>
#include <cstdio>
#include <limits>
#include <numeric>

namespace halo::output {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

size_t total_size(const ChainDraws& chains) {
  size_t n = 0;
  for (const auto& c : chains) n += c.size();
  return n;
}

std::vector<double> pooled(const ChainDraws& chains) {
  std::vector<double> all;
  all.reserve(total_size(chains));
  for (const auto& c : chains) all.insert(all.end(), c.begin(), c.end());
  return all;
}

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

// Sample variance (n - 1), as R's var().
double var_of(const std::vector<double>& x) {
  if (x.size() < 2) return kNaN;
  double m = mean_of(x), s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return s / static_cast<double>(x.size() - 1);
}

// posterior::should_return_NA: non-finite draws, or all draws equal (to machine epsilon).
bool should_return_na(const ChainDraws& chains) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  size_t n = 0;
  for (const auto& c : chains) {
    for (double v : c) {
      if (!std::isfinite(v)) return true;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      ++n;
    }
  }
  return n == 0 || std::fabs(hi - lo) < DBL_EPSILON;
}

// R's nextn(): the smallest n' >= n whose only prime factors are 2, 3 and 5.
size_t next_fast_size(size_t n) {
  for (size_t m = std::max<size_t>(n, 1);; ++m) {
    size_t r = m;
    for (size_t f : {2, 3, 5})
      while (r % f == 0) r /= f;
    if (r == 1) return m;
  }
}

// Phi^-1(p) through the inverse complementary error function (Boost.Math).
double normal_quantile(double p) { return -std::sqrt(2.0) * boost::math::erfc_inv(2.0 * p); }

double median_of(std::vector<double> x) { return quantile(std::move(x), 0.5); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Building blocks

std::vector<double> autocovariance(const std::vector<double>& x) {
  size_t n = x.size();
  if (n == 0) return {};
  double varx = var_of(x);
  if (!(varx > 0) && !std::isnan(varx)) return std::vector<double>(n, 0.0);
  if (n == 1) return {0.0};
  // Zero padding to twice a 2-3-5-smooth size avoids wrap-around and keeps the FFT fast.
  size_t padded = 2 * next_fast_size(n);
  double m = mean_of(x);
  std::vector<std::complex<double>> y(padded, 0.0), freq, back;
  for (size_t i = 0; i < n; ++i) y[i] = x[i] - m;
  Eigen::FFT<double> fft;
  fft.fwd(freq, y);
  for (auto& f : freq) f = std::norm(f);
  fft.inv(back, freq);
  std::vector<double> ac(n);
  double ac0 = back[0].real();
  // Scale so that ac[0] is the biased variance; posterior does the same ("direct scaling with
  // var(x) avoids need to compute mask effect"). ac[k] = sum_t yc[t] yc[t+k] / n.
  double scale = varx * static_cast<double>(n - 1) / static_cast<double>(n) / ac0;
  for (size_t k = 0; k < n; ++k) ac[k] = back[k].real() * scale;
  return ac;
}

ChainDraws split_chains(const ChainDraws& chains) {
  if (chains.empty() || chains[0].size() <= 1) return chains;
  size_t n = chains[0].size();
  size_t half = n / 2;  // floor(n/2) draws in each half; the middle one of an odd chain is dropped
  ChainDraws out;
  out.reserve(2 * chains.size());
  for (const auto& c : chains) out.emplace_back(c.begin(), c.begin() + static_cast<long>(half));
  for (const auto& c : chains) out.emplace_back(c.end() - static_cast<long>(half), c.end());
  return out;
}

ChainDraws z_scale(const ChainDraws& chains) {
  std::vector<double> all = pooled(chains);
  size_t s = all.size();
  std::vector<size_t> order(s);
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return all[a] < all[b]; });
  std::vector<double> rank(s);
  for (size_t i = 0; i < s;) {
    size_t j = i;
    while (j + 1 < s && all[order[j + 1]] == all[order[i]]) ++j;
    double average = 0.5 * static_cast<double>(i + j) + 1.0;  // 1-based average rank of the tie
    for (size_t k = i; k <= j; ++k) rank[order[k]] = average;
    i = j + 1;
  }
  // Blom's offset c = 3/8 (Vehtari et al. 2021, eq. 14): (r - c) / (S - 2c + 1).
  const double c = 3.0 / 8.0;
  ChainDraws out = chains;
  size_t k = 0;
  for (auto& chain : out) {
    for (double& v : chain) {
      v = normal_quantile((rank[k] - c) / (static_cast<double>(s) - 2 * c + 1));
      ++k;
    }
  }
  return out;
}

ChainDraws fold_draws(const ChainDraws& chains) {
  double med = median_of(pooled(chains));
  ChainDraws out = chains;
  for (auto& c : out)
    for (double& v : c) v = std::fabs(v - med);
  return out;
}

double quantile(std::vector<double> x, double p) {
  if (x.empty()) return kNaN;
  std::sort(x.begin(), x.end());
  double h = static_cast<double>(x.size() - 1) * p;
  size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= x.size()) return x.back();
  return x[lo] + (h - static_cast<double>(lo)) * (x[lo + 1] - x[lo]);
}

double rhat_of(const ChainDraws& chains) {
  if (chains.size() < 2 || should_return_na(chains)) return kNaN;
  double n = static_cast<double>(chains[0].size());
  std::vector<double> chain_mean, chain_var;
  for (const auto& c : chains) {
    chain_mean.push_back(mean_of(c));
    chain_var.push_back(var_of(c));
  }
  double var_between = n * var_of(chain_mean);
  double var_within = mean_of(chain_var);
  return std::sqrt((var_between / var_within + n - 1) / n);
}

double ess_of(const ChainDraws& chains) {
  size_t m = chains.size();
  if (m == 0) return kNaN;
  size_t n = chains[0].size();
  if (n < 3 || should_return_na(chains)) return kNaN;
  std::vector<double> acov_mean(n, 0.0), chain_mean;
  for (const auto& c : chains) {
    std::vector<double> ac = autocovariance(c);
    for (size_t k = 0; k < n; ++k) acov_mean[k] += ac[k] / static_cast<double>(m);
    chain_mean.push_back(mean_of(c));
  }
  double dn = static_cast<double>(n);
  double mean_var = acov_mean[0] * dn / (dn - 1);
  double var_plus = mean_var * (dn - 1) / dn;
  if (m > 1) var_plus += var_of(chain_mean);

  // Geyer's initial positive sequence (Geyer 1992), on sums of adjacent pairs.
  std::vector<double> rho(n, 0.0);
  size_t t = 0;
  double rho_even = 1.0;
  rho[0] = rho_even;
  double rho_odd = 1 - (mean_var - acov_mean[1]) / var_plus;
  rho[1] = rho_odd;
  while (t + 5 < n && !std::isnan(rho_even + rho_odd) && rho_even + rho_odd > 0) {
    t += 2;
    rho_even = 1 - (mean_var - acov_mean[t]) / var_plus;
    rho_odd = 1 - (mean_var - acov_mean[t + 1]) / var_plus;
    if (rho_even + rho_odd >= 0) {
      rho[t] = rho_even;
      rho[t + 1] = rho_odd;
    }
  }
  size_t max_t = t;
  // Used in the improved estimate (posterior: "reduces variance in antithetic case").
  if (rho_even > 0) rho[max_t] = rho_even;
  // Geyer's initial monotone sequence.
  t = 0;
  while (t + 4 <= max_t) {
    t += 2;
    if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]) {
      rho[t] = (rho[t - 2] + rho[t - 1]) / 2;
      rho[t + 1] = rho[t];
    }
  }
  double ess = static_cast<double>(m) * dn;
  // tau = -1 + 2 sum(rho[0 .. max_t-1]) + rho[max_t]. posterior writes the sum as
  // sum(rho_hat_t[1:max_t]); for max_t = 0, R's 1:0 is c(1, 0) and the sum is rho[0]. Kept.
  double sum = 0;
  if (max_t == 0) {
    sum = rho[0];
  } else {
    for (size_t k = 0; k < max_t; ++k) sum += rho[k];
  }
  double tau = -1 + 2 * sum + rho[max_t];
  // Caps ESS at S log10(S) against unstable antithetic estimates (posterior).
  tau = std::max(tau, 1 / std::log10(ess));
  return ess / tau;
}

double rhat_basic(const ChainDraws& chains) { return rhat_of(split_chains(chains)); }
double ess_basic(const ChainDraws& chains) { return ess_of(split_chains(chains)); }

double rhat(const ChainDraws& chains) {
  if (should_return_na(chains)) return kNaN;
  double bulk = rhat_of(z_scale(split_chains(chains)));
  double tail = rhat_of(z_scale(split_chains(fold_draws(chains))));
  if (std::isnan(bulk) || std::isnan(tail)) return kNaN;
  return std::max(bulk, tail);
}

double ess_bulk(const ChainDraws& chains) {
  if (should_return_na(chains)) return kNaN;
  return ess_of(z_scale(split_chains(chains)));
}

double ess_quantile(const ChainDraws& chains, double prob) {
  if (should_return_na(chains)) return kNaN;
  std::vector<double> all = pooled(chains);
  if (prob == 1) prob = (static_cast<double>(all.size()) - 0.5) / static_cast<double>(all.size());
  double q = quantile(all, prob);
  ChainDraws indicator = chains;
  for (auto& c : indicator)
    for (double& v : c) v = v <= q ? 1.0 : 0.0;
  return ess_of(split_chains(indicator));
}

double ess_tail(const ChainDraws& chains) {
  double lo = ess_quantile(chains, 0.05), hi = ess_quantile(chains, 0.95);
  if (std::isnan(lo) || std::isnan(hi)) return kNaN;
  return std::min(lo, hi);
}

double mcse_mean(const ChainDraws& chains) {
  return std::sqrt(var_of(pooled(chains))) / std::sqrt(ess_basic(chains));
}

double ebfmi(const std::vector<double>& energy) {
  size_t n = energy.size();
  if (n < 2) return kNaN;
  double m = mean_of(energy), num = 0, den = 0;
  for (size_t i = 1; i < n; ++i) num += (energy[i] - energy[i - 1]) * (energy[i] - energy[i - 1]);
  for (double e : energy) den += (e - m) * (e - m);
  return (num / static_cast<double>(n - 1)) / (den / static_cast<double>(n));
}

// ---------------------------------------------------------------------------------------------
// Run summaries

QuantitySummary summarize_quantity(const std::string& name, const ChainDraws& chains) {
  QuantitySummary s;
  s.name = name;
  std::vector<double> all = pooled(chains);
  s.mean = mean_of(all);
  s.sd = std::sqrt(var_of(all));
  s.mcse_mean = mcse_mean(chains);
  s.q5 = quantile(all, 0.05);
  s.q50 = quantile(all, 0.5);
  s.q95 = quantile(all, 0.95);
  s.rhat = rhat(chains);
  s.ess_bulk = ess_bulk(chains);
  s.ess_tail = ess_tail(chains);
  return s;
}

namespace {

bool is_sampler_column(const std::string& name) {
  return name.size() > 2 && name.compare(name.size() - 2, 2, "__") == 0;
}

}  // namespace

RunSummary summarize_run(const std::vector<StanCsv>& chains) {
  RunSummary run;
  if (chains.empty()) throw OutputError("no chains to summarise");
  const StanCsv& first = chains[0];
  const std::string* model = first.config_value("model");
  run.model = model ? *model : "";
  run.chains = chains.size();
  run.draws_per_chain = first.num_draws();
  run.max_depth = static_cast<int>(first.config_number("max_depth", 10));
  for (const StanCsv& c : chains) {
    if (c.columns != first.columns) {
      throw OutputError(c.path + " has different columns from " + first.path +
                        "; chains of one run must have the same quantities");
    }
    if (c.num_draws() != run.draws_per_chain) {
      throw OutputError(c.path + " has " + std::to_string(c.num_draws()) + " draws but " +
                        first.path + " has " + std::to_string(run.draws_per_chain) +
                        "; summarise chains of equal length");
    }
  }
  if (run.draws_per_chain == 0) throw OutputError(first.path + " has no draws");

  auto gather = [&](size_t col) {
    ChainDraws d;
    for (const StanCsv& c : chains) d.push_back(c.column(col));
    return d;
  };
  long lp = first.column_index("lp__");
  if (lp >= 0) run.quantities.push_back(summarize_quantity("lp__", gather(static_cast<size_t>(lp))));
  for (size_t col = 0; col < first.columns.size(); ++col) {
    if (is_sampler_column(first.columns[col])) continue;
    run.quantities.push_back(summarize_quantity(first.columns[col], gather(col)));
  }

  long divergent = first.column_index("divergent__");
  long treedepth = first.column_index("treedepth__");
  long energy = first.column_index("energy__");
  for (const StanCsv& c : chains) {
    ChainDiagnostics d;
    d.draws = c.num_draws();
    if (divergent >= 0) {
      for (double v : c.column(static_cast<size_t>(divergent))) d.divergences += v != 0;
    }
    if (treedepth >= 0) {
      for (double v : c.column(static_cast<size_t>(treedepth))) d.max_treedepth_hits += v >= run.max_depth;
    }
    d.ebfmi = energy >= 0 ? ebfmi(c.column(static_cast<size_t>(energy))) : kNaN;
    run.chain_diagnostics.push_back(d);
  }
  run.warnings = run_warnings(run);
  return run;
}

namespace {

std::string fmt(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

std::string num(double x, int sig = 4) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", sig, x);
  return buf;
}

}  // namespace

std::vector<std::string> run_warnings(const RunSummary& run) {
  std::vector<std::string> w;
  // R-hat above 1.01 and ESS below 100 per chain: the thresholds of Vehtari et al. (2021).
  size_t bad_rhat = 0;
  const QuantitySummary* worst_rhat = nullptr;
  size_t low_bulk = 0, low_tail = 0;
  const QuantitySummary* lowest_bulk = nullptr;
  const QuantitySummary* lowest_tail = nullptr;
  double min_ess = 100.0 * static_cast<double>(run.chains);
  for (const QuantitySummary& q : run.quantities) {
    if (q.rhat > 1.01) {
      ++bad_rhat;
      if (!worst_rhat || q.rhat > worst_rhat->rhat) worst_rhat = &q;
    }
    if (q.ess_bulk < min_ess) {
      ++low_bulk;
      if (!lowest_bulk || q.ess_bulk < lowest_bulk->ess_bulk) lowest_bulk = &q;
    }
    if (q.ess_tail < min_ess) {
      ++low_tail;
      if (!lowest_tail || q.ess_tail < lowest_tail->ess_tail) lowest_tail = &q;
    }
  }
  if (bad_rhat) {
    w.push_back("R-hat is above 1.01 for " + std::to_string(bad_rhat) + " quantit" +
                (bad_rhat == 1 ? "y" : "ies") + " (worst: " + worst_rhat->name + ", " +
                fmt("%.3f", worst_rhat->rhat) +
                "): the chains disagree, so the estimates cannot be trusted yet. Run longer "
                "(more warmup and samples); if it persists, look for multimodality or weakly "
                "identified parameters and reparameterise.");
  }
  if (low_bulk) {
    w.push_back("Bulk ESS is below " + fmt("%.0f", min_ess) + " (100 per chain) for " +
                std::to_string(low_bulk) + " quantit" + (low_bulk == 1 ? "y" : "ies") +
                " (lowest: " + lowest_bulk->name + ", " + fmt("%.0f", lowest_bulk->ess_bulk) +
                "): means and medians are imprecise. Run more iterations, or reparameterise "
                "to reduce correlations (e.g. a non-centred hierarchical model).");
  }
  if (low_tail) {
    w.push_back("Tail ESS is below " + fmt("%.0f", min_ess) + " (100 per chain) for " +
                std::to_string(low_tail) + " quantit" + (low_tail == 1 ? "y" : "ies") +
                " (lowest: " + lowest_tail->name + ", " + fmt("%.0f", lowest_tail->ess_tail) +
                "): the 5% and 95% quantiles are imprecise. Run more iterations.");
  }
  size_t divergences = 0, hits = 0, total = 0;
  for (const ChainDiagnostics& d : run.chain_diagnostics) {
    divergences += d.divergences;
    hits += d.max_treedepth_hits;
    total += d.draws;
  }
  if (divergences) {
    w.push_back(std::to_string(divergences) + " of " + std::to_string(total) + " transitions (" +
                num(100.0 * static_cast<double>(divergences) / static_cast<double>(total), 2) +
                "%) ended with a divergence: the sampler met curvature it cannot follow, and the "
                "draws may be biased. Raise the target acceptance rate (--delta 0.95 or 0.99); "
                "if divergences remain, reparameterise (e.g. non-centred hierarchical scales).");
  }
  if (hits) {
    w.push_back(std::to_string(hits) + " of " + std::to_string(total) +
                " transitions hit the maximum tree depth of " + std::to_string(run.max_depth) +
                ": an efficiency problem, not a validity one. Raise --max-depth, or "
                "reparameterise to reduce strong posterior correlations.");
  }
  for (size_t c = 0; c < run.chain_diagnostics.size(); ++c) {
    double e = run.chain_diagnostics[c].ebfmi;
    // 0.3: the threshold Stan and ArviZ use for a low E-BFMI (Betancourt 2016).
    if (e < 0.3) {
      w.push_back("Chain " + std::to_string(c + 1) + " has E-BFMI " + fmt("%.2f", e) +
                  " (below 0.3): momentum resampling explores the energy distribution poorly, "
                  "often because of heavy tails or funnel-shaped geometry. Reparameterise the "
                  "model.");
    }
  }
  return w;
}

std::string format_summary(const RunSummary& run) {
  std::string out;
  out += "Inference for model: " + run.model + "\n";
  out += std::to_string(run.chains) + " chain" + (run.chains == 1 ? "" : "s") + ", " +
         std::to_string(run.draws_per_chain) + " draws each, " +
         std::to_string(run.chains * run.draws_per_chain) + " in total.\n\n";

  const std::vector<std::string> heads = {"Mean", "MCSE", "StdDev", "5%",    "50%",
                                          "95%",  "ESS_bulk", "ESS_tail", "R_hat"};
  std::vector<std::vector<std::string>> rows;
  size_t name_width = 4;
  for (const QuantitySummary& q : run.quantities) {
    name_width = std::max(name_width, q.name.size());
    rows.push_back({q.name, num(q.mean), num(q.mcse_mean, 2), num(q.sd, 3), num(q.q5),
                    num(q.q50), num(q.q95),
                    std::isnan(q.ess_bulk) ? "nan" : fmt("%.0f", q.ess_bulk),
                    std::isnan(q.ess_tail) ? "nan" : fmt("%.0f", q.ess_tail),
                    std::isnan(q.rhat) ? "nan" : fmt("%.3f", q.rhat)});
  }
  std::vector<size_t> width(heads.size());
  for (size_t k = 0; k < heads.size(); ++k) {
    width[k] = heads[k].size();
    for (const auto& r : rows) width[k] = std::max(width[k], r[k + 1].size());
  }
  auto pad_left = [](const std::string& s, size_t w) { return std::string(w - std::min(w, s.size()), ' ') + s; };
  auto pad_right = [](const std::string& s, size_t w) { return s + std::string(w - std::min(w, s.size()), ' '); };
  out += pad_right("", name_width);
  for (size_t k = 0; k < heads.size(); ++k) out += "  " + pad_left(heads[k], width[k]);
  out += "\n";
  for (const auto& r : rows) {
    out += pad_right(r[0], name_width);
    for (size_t k = 0; k < heads.size(); ++k) out += "  " + pad_left(r[k + 1], width[k]);
    out += "\n";
  }

  out += "\nPer chain:";
  out += "\n  chain  draws  divergences  max-treedepth hits  E-BFMI\n";
  for (size_t c = 0; c < run.chain_diagnostics.size(); ++c) {
    const ChainDiagnostics& d = run.chain_diagnostics[c];
    char line[160];
    std::snprintf(line, sizeof line, "  %5zu  %5zu  %11zu  %18zu  %6s\n", c + 1, d.draws,
                  d.divergences, d.max_treedepth_hits,
                  std::isnan(d.ebfmi) ? "nan" : fmt("%.2f", d.ebfmi).c_str());
    out += line;
  }
  out += "\nMCSE is the Monte Carlo standard error of the mean; ESS_bulk and ESS_tail are the\n"
         "effective sample sizes of the centre and the 5%/95% tails; R_hat is the rank-normalised\n"
         "split R-hat (Vehtari et al. 2021), near 1.00 when the chains agree.\n";
  if (run.warnings.empty()) {
    out += "\nNo problems found.\n";
  } else {
    out += "\nWarnings:\n";
    for (const std::string& w : run.warnings) out += "  - " + w + "\n";
  }
  return out;
}

}  // namespace halo::output
