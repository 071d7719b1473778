# NUTS efficiency of rstan 2.21 on the benchmark models (issue 5 item 9, issue 6 item 5): the
# rstan half of the Halo-vs-rstan NUTS comparison. For each model: compile (stan_model, timed),
# sample 4 chains x (1000 warmup + 1000 draws), then report
#   min bulk ESS over the parameters block (rstan::monitor, Vehtari et al. 2021),
#   min bulk ESS per second of sampling, where the seconds are Stan's own per-chain elapsed
#     times (warmup + sampling) summed over chains: ESS per core-second, independent of how
#     many chains ran at once (rstan's sampling() wall time, also recorded, adds seconds of
#     starting R worker processes, which dwarf a small model's sampling),
#   gradient evaluations per second (n_leapfrog__ summed over all iterations and chains, over
#     the same summed chain time),
#   wall time including compilation, divergences, max R-hat.
# Writes one JSON record per model (--out) for a later script to set beside `halo sample`.
#
#   Rscript bench/rstan_nuts.R [--models eight_schools,logistic,arK,low_dim,bnn] [--chains 4]
#       [--warmup 1000] [--samples 1000] [--seed 1] [--cores N] [--out FILE]
#       [--gen-dir DIR] [--draws-dir DIR]
#
# --gen-dir: where bench/make_data.py's data sets are (written there if missing; default a
# temporary directory). --draws-dir: also write each model's post-warmup draws, one CSV per chain
# (DIR/<model>-<k>.csv, every quantity with Stan CSV names such as `theta.1`), for
# bench/monitor_csv.R (bench/run_nuts_bench.py compares the BNN's predictive with Halo's there).
#
# Stan 2.21 needs the old array syntax (the bench/stan/*.stan files) and Boost through a
# directory holding one symlink boost -> /usr/include/boost (../shared/toolchain.md section 7).
suppressMessages({
  library(rstan)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script_dir <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
repo <- normalizePath(file.path(script_dir, ".."))
opt <- list(models = "eight_schools,logistic,arK,low_dim,bnn", chains = 4, warmup = 1000,
            samples = 1000, seed = 1, cores = min(4, parallel::detectCores()),
            out = file.path(repo, "bench", "results", "rstan_nuts.json"), gen_dir = "",
            draws_dir = "")
targs <- commandArgs(trailingOnly = TRUE)
i <- 1
while (i <= length(targs)) {
  key <- gsub("-", "_", sub("^--", "", targs[i]))
  if (!key %in% names(opt) || i == length(targs)) stop("unknown or incomplete option ", targs[i])
  opt[[key]] <- if (is.numeric(opt[[key]])) as.numeric(targs[i + 1]) else targs[i + 1]
  i <- i + 2
}

boost_dir <- file.path(tempdir(), "boost-link")
dir.create(boost_dir, showWarnings = FALSE)
if (!file.exists(file.path(boost_dir, "boost"))) invisible(file.symlink("/usr/include/boost", file.path(boost_dir, "boost")))
rstan_options(boost_lib = boost_dir)
rstan_options(auto_write = FALSE)

gen_dir <- if (opt$gen_dir != "") opt$gen_dir else file.path(tempdir(), "halo-bench-data")
pdb <- function(p) file.path(repo, "models", "posteriordb", paste0(p, ".data.json"))
# name -> Stan program and data (the same files the gradient bench uses).
catalogue <- list(
  eight_schools = list(stan = "eight_schools-eight_schools_noncentered.stan",
                       data = pdb("eight_schools-eight_schools_noncentered")),
  logistic = list(stan = "logistic.stan", data = file.path(gen_dir, "logistic.data.json")),
  arK = list(stan = "arK-arK.stan", data = pdb("arK-arK")),
  low_dim = list(stan = "low_dim_gauss_mix-low_dim_gauss_mix.stan", data = pdb("low_dim_gauss_mix-low_dim_gauss_mix")),
  kidiq = list(stan = "kidiq-kidscore_interaction.stan", data = pdb("kidiq-kidscore_interaction")),
  bnn = list(stan = "bnn.stan", data = file.path(repo, "models", "bnn", "bnn.data.json")),
  bnn_wide = list(stan = "bnn_wide.stan", data = file.path(gen_dir, "bnn_wide.data.json"))
)
chosen <- strsplit(opt$models, ",")[[1]]
bad <- setdiff(chosen, names(catalogue))
if (length(bad)) stop("unknown model(s): ", paste(bad, collapse = ", "), "; known: ", paste(names(catalogue), collapse = ", "))
gen_files <- file.path(gen_dir, c(logistic = "logistic.data.json", bnn_wide = "bnn_wide.data.json"))
if (!all(file.exists(gen_files[intersect(chosen, c("logistic", "bnn_wide"))]))) {
  status <- system2("python3", c(file.path(repo, "bench", "make_data.py"), gen_dir))
  if (status != 0) stop("bench/make_data.py failed")
}

# CmdStan JSON -> the list rstan wants: jsonlite turns arrays of rows into matrices (row-major
# nesting, as CmdStan reads it) and keeps integers as integers.
read_data <- function(path) fromJSON(path, simplifyVector = TRUE, simplifyMatrix = TRUE)

results <- list()
for (name in chosen) {
  m <- catalogue[[name]]
  cat(sprintf("== %s: compiling %s\n", name, m$stan))
  t0 <- Sys.time()
  sm <- stan_model(file.path(repo, "bench", "stan", m$stan), model_name = name)
  compile_s <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  data <- read_data(m$data)
  cat(sprintf("   compiled in %.1f s; sampling %d chains x (%d + %d) on %d cores\n", compile_s,
              opt$chains, opt$warmup, opt$samples, opt$cores))
  t1 <- Sys.time()
  fit <- sampling(sm, data = data, chains = opt$chains, warmup = opt$warmup,
                  iter = opt$warmup + opt$samples, seed = opt$seed, cores = opt$cores, refresh = 0)
  sampling_s <- as.numeric(difftime(Sys.time(), t1, units = "secs"))

  # Only the parameters block (the names of an init), not transformed parameters or generated
  # quantities: the quantities the sampler moves.
  param_names <- names(get_inits(fit)[[1]])
  sims <- as.array(fit, pars = param_names)
  mon <- monitor(sims, warmup = 0, print = FALSE)
  ess_bulk <- min(mon[, "Bulk_ESS"])

  elapsed <- get_elapsed_time(fit)  # per chain: warmup, sample (seconds)
  sp <- get_sampler_params(fit, inc_warmup = TRUE)
  leapfrogs <- sum(sapply(sp, function(s) sum(s[, "n_leapfrog__"])))
  divergent <- sum(sapply(sp, function(s) sum(s[(opt$warmup + 1):nrow(s), "divergent__"])))
  rec <- list(model = name, stan = m$stan, chains = opt$chains, warmup = opt$warmup,
              samples = opt$samples, cores = opt$cores, seed = opt$seed,
              compile_s = compile_s, sampling_s = sampling_s,
              chain_s = sum(elapsed),
              max_chain_s = max(rowSums(elapsed)),
              post_warmup_chain_s = sum(elapsed[, "sample"]),
              min_ess_bulk = ess_bulk,
              min_ess_bulk_per_s = ess_bulk / sum(elapsed),
              min_ess_bulk_per_post_warmup_s = ess_bulk / sum(elapsed[, "sample"]),
              min_ess_bulk_per_sampling_wall_s = ess_bulk / sampling_s,
              gradients = leapfrogs,
              gradients_per_s = leapfrogs / sum(elapsed),
              wall_s = compile_s + sampling_s,
              divergent = divergent,
              max_rhat = max(mon[, "Rhat"]))
  results[[name]] <- rec
  if (opt$draws_dir != "") {
    # Post-warmup draws of every quantity, one CSV per chain, with Stan CSV column names
    # (`net_layer1_W[1,2]` -> `net_layer1_W.1.2`); write.csv keeps 15 significant digits.
    dir.create(opt$draws_dir, showWarnings = FALSE, recursive = TRUE)
    all_draws <- as.array(fit)
    csv_names <- sub("\\]$", "", gsub("[,\\[]", ".", dimnames(all_draws)[[3]]))
    for (k in seq_len(dim(all_draws)[2])) {
      d <- as.data.frame(all_draws[, k, ])
      names(d) <- csv_names
      write.csv(d, file.path(opt$draws_dir, sprintf("%s-%d.csv", name, k)), row.names = FALSE)
    }
  }
  cat(sprintf(paste0("   sampling() %.1f s wall, chains %.2f s in all; min bulk ESS %.0f -> %.1f per chain-second; ",
                     "%.3g gradients/s; wall %.1f s incl. compile; %d divergences; max R-hat %.3f\n"),
              rec$sampling_s, rec$chain_s, rec$min_ess_bulk, rec$min_ess_bulk_per_s,
              rec$gradients_per_s, rec$wall_s, rec$divergent, rec$max_rhat))
}

cat("\n| model | compile s | sampling() wall s | chain s (sum) | min bulk ESS | min ESS per chain-s | gradients/s | wall s incl. compile | divergences |\n")
cat("|---|---|---|---|---|---|---|---|---|\n")
for (r in results) {
  cat(sprintf("| %s | %.1f | %.1f | %.2f | %.0f | %.1f | %.3g | %.1f | %d |\n", r$model, r$compile_s,
              r$sampling_s, r$chain_s, r$min_ess_bulk, r$min_ess_bulk_per_s, r$gradients_per_s, r$wall_s,
              r$divergent))
}
if (opt$out != "none") {
  dir.create(dirname(opt$out), showWarnings = FALSE, recursive = TRUE)
  write(toJSON(list(date = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    rstan = as.character(packageVersion("rstan")),
                    machine = Sys.info()[["nodename"]],
                    results = unname(results)), auto_unbox = TRUE, pretty = TRUE, digits = NA), opt$out)
  cat("wrote", opt$out, "\n")
}
