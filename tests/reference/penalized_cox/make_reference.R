# Reference values for sonimage_utils.penalized_cox and the bootstrap's fast measures.
# Run from this folder:  Rscript make_reference.R   (needs survival, glmnet, jsonlite)
# Writes data.csv (the committed input) and reference.json (the committed expected values).
suppressPackageStartupMessages({library(survival); library(glmnet); library(jsonlite)})
set.seed(20241121)
n <- 100
x1 <- rnorm(n); x2 <- rnorm(n); x3 <- rbinom(n, 1, 0.4); x4 <- rnorm(n)
arm <- rep(0:1, length.out = n)
lin <- 0.6 * x1 - 0.4 * x2 + 0.5 * x3 - 0.5 * arm
t_event <- rexp(n, 0.05 * exp(lin))
t_cens <- runif(n, 10, 40)
# times rounded to whole days in months, so that ties occur as in real data
time <- pmax(round(pmin(t_event, t_cens) * 30.4375), 1) / 30.4375
event <- as.integer(t_event <= t_cens)
d <- data.frame(time, event, x1, x2, x3, x4, arm)
write.csv(d, "data.csv", row.names = FALSE)

out <- list(n = n, n_events = sum(event), n_tied_event_times = sum(duplicated(time[event == 1])))

# 1. unpenalised Cox, Breslow ties
f0 <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + arm, data = d, ties = "breslow",
            control = coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100))
out$unpenalised <- list(coef = unname(coef(f0)), loglik = f0$loglik[2])
bh <- basehaz(f0, centered = FALSE)
bh <- bh[c(TRUE, diff(bh$hazard) > 0), ]   # keep the event times
out$unpenalised$baseline_time <- bh$time[bh$hazard > 0]
out$unpenalised$baseline_cumhaz <- bh$hazard[bh$hazard > 0]

# 2. ridge on x1..x4 (theta = 5, penalty theta/2 * sum(beta^2)), arm unpenalised
for (theta in c(1, 5, 50)) {
  fr <- coxph(Surv(time, event) ~ ridge(x1, x2, x3, x4, theta = theta, scale = FALSE) + arm, data = d,
              ties = "breslow", control = coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100))
  out[[paste0("ridge_theta_", theta)]] <- list(theta = theta, coef = unname(coef(fr)),
                                               loglik_unpenalised = fr$loglik[2])
}

# 3. glmnet Cox, alpha = 0 (ridge), no standardisation, arm unpenalised.
# glmnet minimises -loglik/n + lambda/2 * sum(pf_j beta_j^2) with pf rescaled to sum to nvars (5/4 here):
# our penalty = n * lambda * 5/4.
X <- as.matrix(d[, c("x1", "x2", "x3", "x4", "arm")])
lam <- 0.04
g <- glmnet(X, Surv(d$time, d$event), family = "cox", alpha = 0, lambda = lam, standardize = FALSE,
            penalty.factor = c(1, 1, 1, 1, 0), thresh = 1e-20, maxit = 1e6)
out$glmnet <- list(lambda = lam, our_penalty = n * lam * 5 / 4, coef = unname(as.numeric(coef(g))))

# 4. Harrell's C (survival::concordance, a higher lp = a shorter time) and calibration slope
lp <- 0.6 * d$x1 - 0.4 * d$x2 + 0.5 * d$x3
out$harrell_c <- concordance(Surv(time, event) ~ lp, data = d, reverse = TRUE)$concordance
out$calibration_slope <- unname(coef(coxph(Surv(time, event) ~ lp, data = d, ties = "breslow",
                                            control = coxph.control(eps = 1e-12, toler.chol = 1e-14))))
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "reference.json")
