# Chapter 05 work in R (lean, coxph + basehaz): per resample of a validation cohort with a frozen linear
# predictor, Harrell's C, Uno's C truncated at t, observed/expected, calibration slope and the IPCW Brier
# score at t. Usage: Rscript ch05_bootstrap.R data.csv B seed t
suppressPackageStartupMessages(library(survival))
a <- commandArgs(TRUE); d <- read.csv(a[1]); B <- as.integer(a[2]); set.seed(as.integer(a[3])); t <- as.numeric(a[4])
one <- function(dd) {
  hc <- concordance(Surv(time, event) ~ lp, data = dd, reverse = TRUE)$concordance
  uc <- concordance(Surv(time, event) ~ lp, data = dd, reverse = TRUE, timewt = "n/G2", ymax = t)$concordance
  fit <- coxph(Surv(time, event) ~ lp, data = dd)
  bh <- basehaz(fit, centered = FALSE)
  km <- summary(survfit(Surv(time, event) ~ 1, data = dd), times = t, extend = TRUE)$surv
  oe <- (1 - km) / mean(dd$risk)
  cens <- survfit(Surv(time, 1 - event) ~ 1, data = dd)
  G <- stepfun(cens$time, c(1, cens$surv))
  w <- ifelse(dd$time <= t & dd$event == 1, 1 / G(dd$time), ifelse(dd$time > t, 1 / G(t), 0))
  brier <- mean(w * ((dd$time <= t) - dd$risk)^2)
  c(hc, uc, oe, coef(fit), brier, nrow(bh))
}
t0 <- proc.time()
for (b in seq_len(B)) one(d[sample.int(nrow(d), replace = TRUE), ])
tt <- proc.time() - t0
cat(sprintf("CPU %.6f\n", tt[["user.self"]] + tt[["sys.self"]]))
