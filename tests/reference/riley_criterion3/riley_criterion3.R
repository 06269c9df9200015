# Riley's criterion 3 for a survival prediction model (precise overall risk at the time point).
# R pmsampsize (not packaged for Debian) prints, as its criterion-3 check, the 95% CI of the cumulative
# incidence at `timepoint` for person-time n x meanfup:
#   uci <- 1 - exp(-(rate + 1.96 * sqrt(rate / (meanfup * n))) * timepoint)
#   lci <- 1 - exp(-(rate - 1.96 * sqrt(rate / (meanfup * n))) * timepoint)
# (pmsampsize_surv.R, v1.1.3). This script searches n upwards, by brute force, for the smallest n whose
# interval lies within +/- margin of the cumulative incidence: an independent check of the closed form in
# sonimage_utils.benefit.riley_n_criterion3. Run: Rscript riley_criterion3.R > riley_criterion3.csv
ci <- function(rate, timepoint, meanfup, n) {
  half <- 1.96 * sqrt(rate / (meanfup * n))
  c(lci = 1 - exp(-(rate - half) * timepoint), uci = 1 - exp(-(rate + half) * timepoint))
}
scen <- data.frame(rate = c(0.065, 0.065, 0.1, 0.04123, 0.03),
                   timepoint = c(2, 4, 2, 24, 1),
                   meanfup = c(2.07, 2.07, 2.07, 18.19, 5),
                   margin = c(0.05, 0.05, 0.05, 0.05, 0.02))
out <- do.call(rbind, lapply(seq_len(nrow(scen)), function(i) {
  s <- scen[i, ]
  cum <- 1 - exp(-s$rate * s$timepoint)
  n <- 1
  repeat {
    b <- ci(s$rate, s$timepoint, s$meanfup, n)
    if (cum - b[["lci"]] <= s$margin && b[["uci"]] - cum <= s$margin) break
    n <- n + 1
  }
  b <- ci(s$rate, s$timepoint, s$meanfup, n)
  data.frame(s, n_criterion3 = n, cuminc = cum, lci = b[["lci"]], uci = b[["uci"]])
}))
# the published check of Riley et al. (BMJ 2020; pmsampsize test 3.1): n = 4286, CI of the 2-year risk
b <- ci(0.065, 2, 2.07, 4286)
out <- rbind(out, data.frame(rate = 0.065, timepoint = 2, meanfup = 2.07, margin = NA, n_criterion3 = 4286,
                             cuminc = 1 - exp(-0.13), lci = b[["lci"]], uci = b[["uci"]]))
write.csv(out, stdout(), row.names = FALSE)
