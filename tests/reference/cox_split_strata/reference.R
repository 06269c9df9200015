# Piecewise (episode-split) and stratified Cox models, R's reference for sonimage_utils.survival.piecewise
# and fit_cox(strata=). Rscript reference.R (in this folder); R survival 3.5; writes ref_cox.csv and
# data_empty_stratum.csv (17 significant digits).
suppressMessages(library(survival))
ctl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)
demo <- read.csv("../rmst/data_demo.csv")
demo$het <- as.numeric(demo$het_group == "heterogeneous")
demo$cdk <- as.numeric(demo$arm == "ET+CDK4/6i")
rows <- list()
add <- function(model, fit, names) {
  s <- summary(fit)$coefficients
  rows[[length(rows) + 1]] <<- data.frame(model = model, term = names, coef = s[, "coef"], se = s[, "se(coef)"],
                                          n = fit$n, n_events = fit$nevent)
}
# piecewise: one heterogeneity coefficient per interval, arm common, one baseline hazard
for (cuts in list(12, c(12, 24))) {
  sp <- survSplit(Surv(pfs1_months, pfs1_event) ~ ., data = demo, cut = cuts, episode = "interval")
  k <- length(cuts) + 1
  for (j in 1:k) sp[[paste0("g", j)]] <- sp$het * (sp$interval == j)
  f <- as.formula(paste("Surv(tstart, pfs1_months, pfs1_event) ~", paste0("g", 1:k, collapse = " + "), "+ cdk"))
  fit <- coxph(f, data = sp, ties = "efron", control = ctl)
  add(paste0("piecewise_", paste(cuts, collapse = "_")), fit, c(paste0("interval", 1:k), "arm"))
}
# stratified by centre
fit <- coxph(Surv(pfs1_months, pfs1_event) ~ het + cdk + strata(center), data = demo, ties = "efron", control = ctl)
add("strata_center", fit, c("het_group", "arm"))
# a stratum without events: 3 censored patients of an extra centre
extra <- data.frame(patient_id = c("X-1", "X-2", "X-3"), pfs1_months = c(3.5, 8.25, 20),
                    pfs1_event = 0, het_group = c("homogeneous", "heterogeneous", "homogeneous"),
                    arm = c("ET", "ET+CDK4/6i", "ET"), center = "ZZZ")
write.csv(extra, "data_empty_stratum.csv", row.names = FALSE, quote = FALSE)
d2 <- rbind(demo[, names(extra)], extra)
d2$het <- as.numeric(d2$het_group == "heterogeneous"); d2$cdk <- as.numeric(d2$arm == "ET+CDK4/6i")
fit <- coxph(Surv(pfs1_months, pfs1_event) ~ het + cdk + strata(center), data = d2, ties = "efron", control = ctl)
add("strata_center_empty_stratum", fit, c("het_group", "arm"))
out <- do.call(rbind, rows)
for (k in c("coef", "se")) out[[k]] <- sprintf("%.17g", out[[k]])
write.csv(out, "ref_cox.csv", row.names = FALSE, quote = FALSE)
