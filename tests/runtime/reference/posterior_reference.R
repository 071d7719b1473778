#!/usr/bin/env Rscript
# Reference values for tests/runtime/test_summary.cpp, computed by the R package posterior
# (Debian r-cran-posterior 1.4.0; Vehtari et al. 2021) from reference_draws.csv.
# Run from this directory: Rscript posterior_reference.R > posterior_reference.txt
# Prints one C++ initializer per quantity, 17 significant digits.
suppressMessages(library(posterior))
d <- read.csv("reference_draws.csv", stringsAsFactors = FALSE)
f <- function(x) formatC(x, digits = 17, format = "g")
cat(sprintf("// posterior %s, R %s\n", packageVersion("posterior"), getRversion()))
for (q in unique(d$quantity)) {
  s <- d[d$quantity == q, ]
  nchain <- max(s$chain)
  x <- matrix(s$value[order(s$chain, s$draw)], ncol = nchain)  # iterations x chains
  qs <- quantile2(x, probs = c(0.05, 0.5, 0.95), names = FALSE)
  ac <- posterior:::autocovariance(x[, 1])
  vals <- c(mean(x), sd(x), mcse_mean(x), qs, rhat(x), ess_bulk(x), ess_tail(x),
            rhat_basic(x), ess_basic(x), ess_quantile(x, 0.05, names = FALSE),
            ess_quantile(x, 0.95, names = FALSE), ac[1], ac[2], ac[3], ac[6])
  cat(sprintf("{\"%s\", {%s}},\n", q, paste(f(vals), collapse = ", ")))
}
