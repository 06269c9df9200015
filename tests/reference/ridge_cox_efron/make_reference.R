# Reference values for the ridge Cox solver with Efron ties (sonimage_utils.survival.ridge_cox, issue 12 item 7).
# Run from this folder:  Rscript make_reference.R   (needs survival, jsonlite)
# Input: ../penalized_cox/data.csv (100 patients, times in whole days so that 7+ event times are tied).
# Writes reference.json. Penalty scale: survival's ridge() subtracts theta/2 * sum(beta^2) from the log partial
# likelihood; fit_ridge_cox(penalty = lambda) subtracts lambda/2 * sum(f_j beta_j^2): lambda = theta, f = 1 for
# x1..x4 and 0 for arm (arm outside ridge()).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- read.csv("../penalized_cox/data.csv")
ctl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 200)
out <- list(n = nrow(d), n_events = sum(d$event),
            n_tied_event_times = sum(duplicated(d$time[d$event == 1])))
zero <- data.frame(x1 = 0, x2 = 0, x3 = 0, x4 = 0, arm = 0)
base <- function(fit) {
  # baseline cumulative hazard at covariates 0: R's default survfit of an Efron fit (ctype = 2)
  sf <- survfit(fit, newdata = zero)
  keep <- sf$n.event > 0
  list(time = sf$time[keep], cumhaz = as.numeric(sf$cumhaz[keep]))
}
f0 <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + arm, data = d, ties = "efron", control = ctl)
out$unpenalised <- c(list(coef = unname(coef(f0)), loglik = f0$loglik[2]), baseline = list(base(f0)))
for (theta in c(1, 5, 50)) {
  fr <- coxph(Surv(time, event) ~ ridge(x1, x2, x3, x4, theta = theta, scale = FALSE) + arm, data = d,
              ties = "efron", control = ctl)
  out[[paste0("ridge_theta_", theta)]] <- list(theta = theta, coef = unname(coef(fr)),
                                               loglik_unpenalised = fr$loglik[2], baseline = base(fr))
}
# every coefficient penalised (the prognostic model's case: no unpenalised term)
fa <- coxph(Surv(time, event) ~ ridge(x1, x2, x3, x4, arm, theta = 5, scale = FALSE), data = d,
            ties = "efron", control = ctl)
out$ridge_all_theta_5 <- list(theta = 5, coef = unname(coef(fa)), loglik_unpenalised = fa$loglik[2],
                              baseline = base(fa))
out$R_version <- R.version.string
out$survival_version <- as.character(packageVersion("survival"))
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "reference.json")
