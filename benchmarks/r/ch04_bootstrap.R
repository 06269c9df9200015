# Chapter 04 work in R: per resample, ridge Cox (glmnet, alpha = 0) with the penalty chosen by 10-fold CV
# (grouped partial likelihood), then Harrell's C (concordance, reverse) and the calibration slope (coxph,
# Efron) on the resample and on the original data. Usage: Rscript ch04_bootstrap.R data.csv B seed
suppressPackageStartupMessages({library(survival); library(glmnet)})
a <- commandArgs(TRUE); d <- read.csv(a[1]); B <- as.integer(a[2]); set.seed(as.integer(a[3]))
measure <- function(lp, dd) {
  c(concordance(Surv(time, event) ~ lp, data = dd, reverse = TRUE)$concordance,
    coef(coxph(Surv(dd$time, dd$event) ~ lp)))
}
t0 <- proc.time()
for (b in seq_len(B)) {
  bd <- d[sample.int(nrow(d), replace = TRUE), ]
  x <- cbind(hs = bd$hs, zero = 0)
  y <- Surv(bd$time, bd$event)
  foldid <- sample(rep_len(1:10, nrow(bd)))
  cv <- tryCatch(cv.glmnet(x, y, family = "cox", alpha = 0, foldid = foldid, nlambda = 21), error = function(e) NULL)
  if (is.null(cv)) next
  beta <- as.numeric(coef(cv, s = "lambda.min"))[1]
  measure(bd$hs * beta, bd); measure(d$hs * beta, d)
}
tt <- proc.time() - t0
cat(sprintf("CPU %.6f\n", tt[["user.self"]] + tt[["sys.self"]]))
