# rstan::monitor (Vehtari et al. 2021: rank-normalised split R-hat, bulk and tail ESS) on draws
# read from Stan CSV files, one file per chain: the estimator of bench/rstan_nuts.R applied to
# `halo sample`'s output (and to the rstan draws that rstan_nuts.R --draws-dir writes), so that
# both sides of the NUTS benchmark are measured by the same code.
#
#   Rscript bench/monitor_csv.R --params NAMES [--quantities NAMES] --out FILE chain1.csv ...
#
# NAMES: comma-separated column names as in the CSV header (Stan's `theta.1` style), or @FILE
# with one name per line. --params: the parameters block (the minimum bulk ESS and maximum R-hat
# are taken over these). --quantities: columns summarised one by one (mean, sd, 5% and 95%
# quantiles with their Monte Carlo standard errors, bulk ESS, R-hat) for comparisons between
# runs. Rows of warmup draws must not be in the files (`halo sample` without --save-warmup).
suppressMessages({
  library(rstan)
  library(jsonlite)
})

opt <- list(params = "", quantities = "", out = "")
targs <- commandArgs(trailingOnly = TRUE)
files <- character()
i <- 1
while (i <= length(targs)) {
  if (startsWith(targs[i], "--")) {
    key <- sub("^--", "", targs[i])
    if (!key %in% names(opt) || i == length(targs)) stop("unknown or incomplete option ", targs[i])
    opt[[key]] <- targs[i + 1]
    i <- i + 2
  } else {
    files <- c(files, targs[i])
    i <- i + 1
  }
}
if (!length(files)) stop("no CSV files given")
if (opt$params == "" || opt$out == "") stop("--params and --out are required")

names_arg <- function(s) {
  if (s == "") return(character())
  if (startsWith(s, "@")) return(readLines(substring(s, 2)))
  strsplit(s, ",")[[1]]
}
params <- names_arg(opt$params)
quantities <- names_arg(opt$quantities)

# Stan CSV: comment lines (config, adaptation, timing) start with '#'; the header keeps its names.
chains <- lapply(files, function(f) {
  d <- read.csv(f, comment.char = "#", check.names = FALSE)
  missing <- setdiff(c(params, quantities), names(d))
  if (length(missing)) stop(f, " lacks the column(s) ", paste(head(missing, 5), collapse = ", "))
  as.matrix(d[, c(params, quantities), drop = FALSE])
})
n <- min(sapply(chains, nrow))
if (n < 4) stop("too few draws")
all_names <- colnames(chains[[1]])
sims <- array(NA_real_, dim = c(n, length(chains), length(all_names)),
              dimnames = list(NULL, NULL, all_names))
for (c in seq_along(chains)) sims[, c, ] <- chains[[c]][seq_len(n), , drop = FALSE]

mon <- monitor(sims[, , params, drop = FALSE], warmup = 0, print = FALSE)
ess_bulk <- mon[, "Bulk_ESS"]
res <- list(files = files, draws_per_chain = n, chains = length(chains),
            min_ess_bulk = min(ess_bulk), argmin_ess_bulk = params[which.min(ess_bulk)],
            max_rhat = max(mon[, "Rhat"]),
            ess_bulk = as.list(setNames(as.numeric(ess_bulk), params)))

# Per quantity: mean and its MCSE (mcse_mean), sd and its MCSE (mcse_sd), the 5% and 95%
# quantiles and their MCSEs (mcse_quantile, Vehtari et al. 2021 section 4.3): rstan's own
# functions, as monitor() uses them.
q <- list()
for (name in quantities) {
  x <- sims[, , name]
  q[[name]] <- list(mean = mean(x), mcse_mean = rstan:::mcse_mean(x), sd = sd(as.vector(x)),
                    mcse_sd = rstan:::mcse_sd(x),
                    q5 = unname(quantile(x, 0.05)), mcse_q5 = rstan:::mcse_quantile(x, 0.05),
                    q95 = unname(quantile(x, 0.95)), mcse_q95 = rstan:::mcse_quantile(x, 0.95),
                    ess_bulk = rstan:::ess_bulk(x), rhat = rstan:::Rhat(x))
}
if (length(q)) res$quantities <- q
write(toJSON(res, auto_unbox = TRUE, pretty = TRUE, digits = NA), opt$out)
