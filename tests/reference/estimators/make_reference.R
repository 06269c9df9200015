# Reference values for the book's single estimators (sonimage_utils.survival: baseline, efron, measures).
# Run in this folder: Rscript make_reference.R  (R >= 4.2 with survival; no other package).
# Writes the data sets (data_*.csv) and the R results (ref_*.csv) that tests/test_estimators_reference.py
# reads; rerunning gives byte-identical files.
suppressPackageStartupMessages(library(survival))
options(digits = 17)

# data sets with tied event times ------------------------------------------------------------------
lung_d <- na.omit(data.frame(time = lung$time, event = as.integer(lung$status == 2), age = lung$age,
                             sex = lung$sex, ecog = lung$ph.ecog))
vet_d <- data.frame(time = veteran$time, event = veteran$status, karno = veteran$karno, age = veteran$age,
                    trt = veteran$trt - 1)
# small toy: 3 events tied at 2, an event and a censoring tied at 4, two censorings tied at 6, tied x
toy_d <- data.frame(time = c(1, 2, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8),
                    event = c(1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0),
                    x = c(0.5, 1.2, -0.3, 0.8, 0.0, 1.5, -1.0, 0.2, 0.7, -0.4, 0.9, -1.2),
                    z = c(1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1))
pen_d <- read.csv("../penalized_cox/data.csv")
pen_d$lp <- 0.6 * pen_d$x1 - 0.4 * pen_d$x2 + 0.5 * pen_d$x3
write.csv(lung_d, "data_lung.csv", row.names = FALSE)
write.csv(vet_d, "data_veteran.csv", row.names = FALSE)
write.csv(toy_d, "data_toy.csv", row.names = FALSE)

# b: fixed coefficients of a (miscalibrated) model whose calibration slope is estimated
sets <- list(lung = list(d = lung_d, f = Surv(time, event) ~ age + sex + ecog, t = c(100, 183, 365, 500, 1100),
                         b = c(age = 0.03, sex = -0.3, ecog = 0.7)),
             veteran = list(d = vet_d, f = Surv(time, event) ~ karno + age + trt, t = c(30, 90, 100, 365, 1000),
                            b = c(karno = -0.05, age = 0.01, trt = 0.3)),
             toy = list(d = toy_d, f = Surv(time, event) ~ x + z, t = c(0.5, 2, 4, 5.5, 8, 9),
                        b = c(x = 0.8, z = -0.5)))
ctl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)  # converge fully, as the engine does

km_rows <- list(); cox_rows <- list(); ll_rows <- list(); base_rows <- list(); sc_rows <- list()
for (nm in names(sets)) {
  s <- sets[[nm]]; d <- s$d
  # Kaplan-Meier at t with Greenwood standard error (of S)
  sm <- summary(survfit(Surv(time, event) ~ 1, data = d), times = s$t, extend = TRUE)
  km_rows[[nm]] <- data.frame(dataset = nm, t = s$t, surv = sm$surv, std_err = sm$std.err)
  for (ties in c("efron", "breslow")) {
    fit <- coxph(s$f, data = d, ties = ties, control = ctl)
    cox_rows[[paste(nm, ties)]] <- data.frame(dataset = nm, ties = ties, term = names(coef(fit)),
                                              coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))))
    ll_rows[[paste(nm, ties)]] <- data.frame(dataset = nm, ties = ties, loglik_null = fit$loglik[1],
                                             loglik = fit$loglik[2])
    # Breslow baseline cumulative hazard at covariates 0: basehaz() for the Breslow fit; for the Efron fit
    # survfit(ctype = 1), the Breslow estimator at the Efron coefficients (basehaz would use ctype = 2)
    if (ties == "breslow") {
      bh <- basehaz(fit, centered = FALSE)
    } else {
      zero <- as.data.frame(as.list(setNames(rep(0, length(coef(fit))), names(coef(fit)))))
      sf <- survfit(fit, newdata = zero, ctype = 1)
      bh <- data.frame(hazard = sf$cumhaz, time = sf$time)
      # R's default survfit of an Efron fit: Efron's rule at tied event times (ctype = 2)
      sf2 <- survfit(fit, newdata = zero)
      base_rows[[paste(nm, "efron_ctype2")]] <- data.frame(dataset = nm, ties = "efron_ctype2", time = sf2$time,
                                                           cumhaz = sf2$cumhaz)
    }
    base_rows[[paste(nm, ties)]] <- data.frame(dataset = nm, ties = ties, time = bh$time, cumhaz = bh$hazard)
  }
  fit <- coxph(s$f, data = d, control = ctl)
  d$lp <- predict(fit, type = "lp", reference = "zero")
  # Harrell's C: concordance(reverse = TRUE); pairs tied on time are not comparable except an event with a
  # censoring at the same time (the censored one outlives it); pairs tied on lp count 1/2
  cc <- concordance(Surv(time, event) ~ lp, data = d, reverse = TRUE)
  d$lp_tied <- round(d$lp, 1)  # heavy ties in the score
  cct <- concordance(Surv(time, event) ~ lp_tied, data = d, reverse = TRUE)
  # calibration slope: coxph (Efron, R's default) on the lp of the fixed-coefficient model b
  d$lp_b <- as.vector(as.matrix(d[names(s$b)]) %*% s$b)
  sl <- coxph(Surv(time, event) ~ lp_b, data = d, control = ctl)
  sc_rows[[nm]] <- data.frame(dataset = nm,
                              measure = c("harrell_c", "harrell_c_tied_lp", "calibration_slope",
                                          "calibration_slope_se"),
                              value = c(cc$concordance, cct$concordance, unname(coef(sl)),
                                        unname(sqrt(vcov(sl)[1, 1]))))
}
# the penalized_cox fixture (100 patients, tied times): slope of its lp, Efron and Breslow
for (ties in c("efron", "breslow")) {
  sl <- coxph(Surv(time, event) ~ lp, data = pen_d, ties = ties, control = ctl)
  sc_rows[[paste("pen", ties)]] <- data.frame(dataset = "penalized_cox",
                                              measure = paste0(c("calibration_slope_", "calibration_slope_se_"), ties),
                                              value = c(unname(coef(sl)), unname(sqrt(vcov(sl)[1, 1]))))
}
w <- function(rows, file) {  # 17 significant digits: the CSV carries R's doubles exactly
  x <- do.call(rbind, rows)
  for (k in names(x)) if (is.numeric(x[[k]])) x[[k]] <- sprintf("%.17g", x[[k]])
  write.csv(x, file, row.names = FALSE, quote = FALSE)
}
w(km_rows, "ref_km.csv"); w(cox_rows, "ref_cox.csv"); w(ll_rows, "ref_loglik.csv")
w(base_rows, "ref_baseline.csv"); w(sc_rows, "ref_measures.csv")
writeLines(capture.output(sessionInfo()), "sessionInfo.txt")
