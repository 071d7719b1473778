# Translates Stan 2.21 programs to C++ with rstan::stanc (one R session for all of them: loading
# rstan takes seconds). Arguments come in triples: in.stan out.hpp model_name.
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) %% 3 == 0)
suppressMessages(library(rstan))
for (i in seq(1, length(args), by = 3)) {
  r <- stanc(file = args[i], model_name = args[i + 2], obfuscate_model_name = FALSE)
  if (!isTRUE(r$status)) stop("stanc failed on ", args[i])
  cat(r$cppcode, file = args[i + 1])
}
