# Calibration slope and ICI/E50/E90 of chapter 05 (and chapter 04 apparent slope) recomputed in R from the CSVs
# chapter_export.py writes: Rscript chapter_check.R OUT_DIR HORIZON. Efron coxph (eps 1e-14), survfit default
# (ctype 2) of the spline calibration model read at the horizon.
suppressPackageStartupMessages(library(survival))
ctl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)
for (nm in c("sonimage", "impact_mbc", "et_fes")) {
  d <- read.csv(file.path(commandArgs(TRUE)[1], paste0(nm, ".csv")))
  sl <- coxph(Surv(time, event) ~ lp, data = d, control = ctl)
  cal <- coxph(Surv(time, event) ~ b1 + b2, data = d, control = ctl)
  o <- 1 - as.vector(summary(survfit(cal, newdata = d), times = as.numeric(commandArgs(TRUE)[2]), extend = TRUE)$surv)
  a <- abs(o - d$risk)
  cat(sprintf("%s: R slope %.13f se %.13f | ICI %.13f E50 %.13f E90 %.13f\n", nm, coef(sl), sqrt(vcov(sl)[1, 1]),
              mean(a), quantile(a, 0.5), quantile(a, 0.9)))
}
