#!/usr/bin/env Rscript
# Reference fixtures for sonimage_utils.validation: the Rotterdam (development) and GBSG (external
# validation) breast cancer cohorts shipped with R's `survival` package, prepared as in
# McLernon et al. (Ann Intern Med 2023) and the public code that goes with the paper
# (github.com/danielegiardiello/Prediction_performance_survival, 03_predsurv_extended): recurrence-free
# survival, administrative censoring at 5 years, Cox model csize + nodes2 + nodes3 + grade3.
# The code below is written afresh from the method described there; only R's survival, Hmisc, rms and
# jsonlite are used (riskRegression / timeROC are not available here, so IPCW Brier, IPA and Uno's
# AUC are computed by hand from their definitions, as the paper's own hand-written check does).
#
# Run from the repository root:  Rscript tests/reference/rotterdam_gbsg/make_reference.R
# Writes, beside this script: rott5.csv, gbsg5.csv, reference.json, decision_curve.csv, auc_curve.csv,
# sessionInfo.txt
suppressPackageStartupMessages({
  library(survival)
  library(Hmisc)
  library(rms)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/rotterdam_gbsg"

rotterdam <- survival::rotterdam
gbsg <- survival::gbsg

# ---- development data (Rotterdam): recurrence-free survival in years --------------------------------
rotterdam$ryear <- rotterdam$rtime / 365.25
rotterdam$rfs <- pmax(rotterdam$recur, rotterdam$death)
# 43 patients died without recorded recurrence after their recurrence-censoring time: use the death time
fix <- rotterdam$rfs == 1 & rotterdam$recur == 0 & rotterdam$death == 1 & rotterdam$rtime < rotterdam$dtime
rotterdam$ryear[fix] <- rotterdam$dtime[fix] / 365.25
nodes99 <- quantile(rotterdam$nodes, 0.99, type = 1)       # winsorise nodes at the 99th percentile
rotterdam$nodes2 <- pmin(rotterdam$nodes, nodes99)
rotterdam$csize <- rotterdam$size                          # factor <=20, 20-50, >50
rotterdam$grade3 <- factor(ifelse(rotterdam$grade == 3, "3", "1-2"), levels = c("1-2", "3"))
rotterdam$nodes3 <- as.vector(rcspline.eval(rotterdam$nodes2, knots = c(0, 1, 9)))

# ---- validation data (GBSG) ---------------------------------------------------------------------------
gbsg$ryear <- gbsg$rfstime / 365.25
gbsg$rfs <- gbsg$status
gbsg$csize <- cut(gbsg$size, c(-1, 20, 50, 500), c("<=20", "20-50", ">50"))
gbsg$nodes2 <- pmin(gbsg$nodes, nodes99)
gbsg$grade3 <- factor(ifelse(gbsg$grade == 3, "3", "1-2"), levels = c("1-2", "3"))
gbsg$nodes3 <- as.vector(rcspline.eval(gbsg$nodes2, knots = c(0, 1, 9)))

# ---- administrative censoring at 5 years ---------------------------------------------------------------
cens5 <- function(d) {
  tmp <- survSplit(Surv(ryear, rfs) ~ ., data = d, cut = 5, episode = "epoch")
  subset(tmp, epoch == 1)
}
rott5 <- cens5(rotterdam)
gbsg5 <- cens5(gbsg)

# ---- model development ----------------------------------------------------------------------------------
efit1 <- coxph(Surv(ryear, rfs) ~ csize + nodes2 + nodes3 + grade3, data = rott5, x = TRUE, y = TRUE)

horizon <- 5
t_disc <- 4.99   # the paper's horizon for AUC and Brier (non-cases are those still at risk after t)

risk_at <- function(fit, newdata, t) {
  sf <- survfit(fit, newdata = newdata)
  1 - as.vector(summary(sf, times = t, extend = TRUE)$surv)
}
gbsg5$lp <- predict(efit1, newdata = gbsg5, type = "lp")
rott5$lp <- predict(efit1, newdata = rott5, type = "lp")
gbsg5$risk5 <- risk_at(efit1, gbsg5, horizon)
gbsg5$risk499 <- risk_at(efit1, gbsg5, t_disc)
rott5$risk5 <- risk_at(efit1, rott5, horizon)
rott5$risk499 <- risk_at(efit1, rott5, t_disc)
gbsg5$expected <- predict(efit1, newdata = gbsg5, type = "expected")  # model cumulative hazard at own time

bh <- basehaz(efit1, centered = TRUE)
H0_5 <- max(bh$hazard[bh$time <= horizon])

# ---- metric helpers (definitions, written out) ------------------------------------------------------------
km_at <- function(time, status, t) {
  s <- summary(survfit(Surv(time, status) ~ 1), times = t, extend = TRUE)
  as.vector(s$surv)
}
# reverse Kaplan-Meier G(u) and G(u-) for IPCW
cens_fun <- function(time, status) {
  g <- survfit(Surv(time, 1 - status) ~ 1)
  list(
    at = function(u) { i <- findInterval(u, g$time); ifelse(i == 0, 1, g$surv[pmax(i, 1)]) },
    before = function(u) { i <- findInterval(u, g$time, left.open = TRUE); ifelse(i == 0, 1, g$surv[pmax(i, 1)]) }
  )
}
ipcw_brier <- function(time, status, risk, t) {
  G <- cens_fun(time, status)
  case <- time <= t & status == 1
  ctrl <- time > t
  w <- ifelse(case, 1 / G$before(time), ifelse(ctrl, 1 / G$at(t), 0))
  mean(w * ((case * 1) - risk)^2)
}
uno_auc <- function(time, status, marker, t) {
  G <- cens_fun(time, status)
  case <- time <= t & status == 1
  ctrl <- time > t
  wi <- 1 / G$before(time[case])
  wj <- rep(1 / G$at(t), sum(ctrl))
  mi <- marker[case]; mj <- marker[ctrl]
  num <- 0
  for (k in seq_along(mi)) num <- num + wi[k] * sum(wj * ((mi[k] > mj) + 0.5 * (mi[k] == mj)))
  num / (sum(wi) * sum(wj))
}
uno_auc_rttright <- function(time, status, marker, t) {
  w <- rttright(Surv(time, status) ~ 1, times = t)
  yy <- as.numeric(time <= t & status == 1)
  keep <- w > 0
  concordance(yy[keep] ~ marker[keep], weights = w[keep])$concordance
}

performance <- function(d, risk, t_cal, t_disc) {
  harrell <- concordance(Surv(ryear, rfs) ~ lp, d, reverse = TRUE)
  uno <- concordance(Surv(ryear, rfs) ~ lp, d, reverse = TRUE, timewt = "n/G2")
  uno_trunc <- concordance(Surv(ryear, rfs) ~ lp, d, reverse = TRUE, timewt = "n/G2", ymax = t_cal)
  # O/E at t
  obs_t <- 1 - km_at(d$ryear, d$rfs, t_cal)
  oe <- obs_t / mean(risk)
  # calibration slope: Cox of outcome on the linear predictor
  slope_fit <- coxph(Surv(ryear, rfs) ~ lp, data = d)
  # smoothed calibration at t: secondary Cox on rcs(cloglog(risk), 3 knots), rms defaults
  d$pred.cll <- log(-log(1 - risk))
  knots <- rcspline.eval(d$pred.cll, nk = 3, knots.only = TRUE)
  vcal <- cph(Surv(ryear, rfs) ~ rcs(pred.cll, 3), x = TRUE, y = TRUE, surv = TRUE, data = d)
  se <- survest(vcal, times = t_cal, newdata = d)
  obs <- 1 - as.vector(se$surv)
  absdiff <- abs(risk - obs)
  # IPCW Brier and IPA at t (null model: Kaplan-Meier of the same data)
  brier <- ipcw_brier(d$ryear, d$rfs, risk, t_cal)
  brier_null <- ipcw_brier(d$ryear, d$rfs, rep(1 - km_at(d$ryear, d$rfs, t_cal), nrow(d)), t_cal)
  list(
    harrell_c = unname(harrell$concordance), harrell_c_se = sqrt(harrell$var),
    uno_c_untruncated = unname(uno$concordance), uno_c = unname(uno_trunc$concordance),
    uno_c_se = sqrt(uno_trunc$var),
    auc = uno_auc(d$ryear, d$rfs, d$lp, t_disc),
    auc_rttright = uno_auc_rttright(d$ryear, d$rfs, d$lp, t_disc),
    oe = oe, observed_risk = obs_t, expected_risk = mean(risk),
    calibration_slope = unname(coef(slope_fit)), calibration_slope_se = sqrt(vcov(slope_fit)[1, 1]),
    calibration_knots = unname(knots),
    ici = mean(absdiff), e50 = unname(quantile(absdiff, 0.5)), e90 = unname(quantile(absdiff, 0.9)),
    emax = max(absdiff),
    brier = brier, brier_null = brier_null, ipa = 1 - brier / brier_null,
    cal_obs = obs, cal_lower = 1 - as.vector(se$upper), cal_upper = 1 - as.vector(se$lower)
  )
}

# Every metric at one horizon t (what survival_performance(time, event, risk, lp, t) computes)
perf5 <- performance(gbsg5, gbsg5$risk5, horizon, horizon - 1e-9)
perf499 <- performance(gbsg5, gbsg5$risk499, t_disc, t_disc)
dev5 <- performance(rott5, rott5$risk5, horizon, horizon - 1e-9)

# calibration-in-the-large over follow-up and its slope (Poisson, offset log cumulative hazard)
pfit1 <- glm(rfs ~ offset(log(expected)), family = poisson, data = gbsg5, subset = expected > 0)
logbase <- log(gbsg5$expected) - gbsg5$lp
pfit2 <- glm(rfs ~ lp + offset(logbase), family = poisson, data = gbsg5, subset = expected > 0)

# calibration-curve columns for the validation set at 5 years
gbsg5$cal_obs5 <- perf5$cal_obs
gbsg5$cal_lower5 <- perf5$cal_lower
gbsg5$cal_upper5 <- perf5$cal_upper
for (nm in c("cal_obs", "cal_lower", "cal_upper")) { perf5[[nm]] <- NULL; perf499[[nm]] <- NULL; dev5[[nm]] <- NULL }

# ---- decision curve at 5 years (net benefit, Kaplan-Meier among those above the threshold) ----------------
thresholds <- seq(0, 0.99, by = 0.01)
f_all <- 1 - km_at(gbsg5$ryear, gbsg5$rfs, horizon)
nb <- t(sapply(thresholds, function(pt) {
  odds <- pt / (1 - pt)
  above <- gbsg5$risk5 > pt
  p_above <- mean(above)
  if (sum(above) == 0) return(c(pt, NA, f_all - (1 - f_all) * odds))
  f_above <- 1 - km_at(gbsg5$ryear[above], gbsg5$rfs[above], horizon)
  c(pt, f_above * p_above - (1 - f_above) * p_above * odds, f_all - (1 - f_all) * odds)
}))
colnames(nb) <- c("threshold", "net_benefit_model", "net_benefit_all")

# ---- Uno AUC over time (validation) --------------------------------------------------------------------
auc_times <- c(1, 2, 3, 4, t_disc)
auc_curve <- data.frame(time = auc_times,
                        auc = sapply(auc_times, function(u) uno_auc(gbsg5$ryear, gbsg5$rfs, gbsg5$lp, u)))

# ---- write -------------------------------------------------------------------------------------------------
keep_cols <- function(d, extra) {
  out <- data.frame(pid = d$pid, ryear = d$ryear, rfs = d$rfs, csize = as.character(d$csize),
                    nodes2 = d$nodes2, nodes3 = d$nodes3, grade3 = as.character(d$grade3))
  cbind(out, d[extra])
}
write.csv(keep_cols(rott5, c("lp", "risk5", "risk499")), file.path(outdir, "rott5.csv"), row.names = FALSE)
write.csv(keep_cols(gbsg5, c("lp", "risk5", "risk499", "expected", "cal_obs5", "cal_lower5", "cal_upper5")),
          file.path(outdir, "gbsg5.csv"), row.names = FALSE)
write.csv(nb, file.path(outdir, "decision_curve.csv"), row.names = FALSE)
write.csv(auc_curve, file.path(outdir, "auc_curve.csv"), row.names = FALSE)

ref <- list(
  source = paste("survival", as.character(packageVersion("survival")), "datasets rotterdam, gbsg;",
                 "rms", as.character(packageVersion("rms")), "Hmisc", as.character(packageVersion("Hmisc"))),
  n_development = nrow(rott5), events_development = sum(rott5$rfs),
  n_validation = nrow(gbsg5), events_validation = sum(gbsg5$rfs),
  coefficients = as.list(coef(efit1)), baseline_cumhaz_5_centered = H0_5,
  lp_center = unname(efit1$means %*% coef(efit1)),
  validation_t5 = perf5, validation_t499 = perf499, development_t5 = dev5,
  poisson_citl_ratio = unname(exp(coef(pfit1))), poisson_slope = unname(coef(pfit2)["lp"]),
  net_benefit_023 = as.list(nb[abs(nb[, "threshold"] - 0.23) < 1e-9, ])
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(outdir, "reference.json"))
writeLines(capture.output(sessionInfo()), file.path(outdir, "sessionInfo.txt"))
