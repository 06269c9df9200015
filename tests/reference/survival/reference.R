# Reference values for sonimage_utils survival functions, computed by R `survival`.
# Run from the repository root:  Rscript tests/reference/survival/reference.R
# Inputs (committed): cohort.csv, km_edge.csv (written by make_data.py). Output (committed): fixtures.json.
# R 4.2.2, survival 3.5.3; every call uses the package defaults unless stated.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
dir <- "tests/reference/survival"
d <- read.csv(file.path(dir, "cohort.csv"), stringsAsFactors = FALSE)
d$het_group <- factor(d$het_group, levels = c("homogeneous", "heterogeneous"))
d$het_group3 <- factor(d$het_group3, levels = c("homogeneous_positive", "mixed", "homogeneous_negative"))
d$fes_fdg_pattern <- factor(d$fes_fdg_pattern,
  levels = c("fdg_low", "fdg_high_fes_homogeneous", "fdg_high_fes_heterogeneous"))
d$arm <- factor(d$arm, levels = c("ET", "ET+CDK4/6i"))
d$ps <- factor(d$who_performance_status)
d$visceral_disease <- as.logical(d$visceral_disease)
d$de_novo_metastatic <- as.logical(d$de_novo_metastatic)
d$prior_adjuvant_endocrine <- as.logical(d$prior_adjuvant_endocrine)
d$hs10 <- d$hs / 10

cox_out <- function(fit) {
  s <- summary(fit)
  list(term = rownames(s$coefficients), coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
       z = unname(s$coefficients[, "z"]), p = unname(s$coefficients[, "Pr(>|z|)"]),
       hr = unname(exp(coef(fit))), ci_low = unname(s$conf.int[, "lower .95"]),
       ci_high = unname(s$conf.int[, "upper .95"]), loglik = fit$loglik, n = fit$n, nevent = fit$nevent,
       vcov = unname(vcov(fit)))
}
zph_out <- function(fit, transform = "km", terms = TRUE) {
  z <- cox.zph(fit, transform = transform, terms = terms)
  list(term = rownames(z$table), chisq = unname(z$table[, "chisq"]), df = unname(z$table[, "df"]),
       p = unname(z$table[, "p"]), x = unname(z$x), time = unname(z$time), y = unname(z$y),
       y_names = colnames(z$y))
}

# Convergence: coxph's default stops when the log-likelihood changes by < 1e-9 (relative), which leaves
# coefficients ~1e-7 from the maximum; the fixtures use eps = 1e-12 so that they hold the maximum itself.
ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50)
models <- list(
  primary = coxph(Surv(pfs1_months, pfs1_event) ~ het_group + arm, data = d, control = ctl),              # ties = "efron"
  primary_breslow = coxph(Surv(pfs1_months, pfs1_event) ~ het_group + arm, data = d, ties = "breslow", control = ctl),
  group3 = coxph(Surv(pfs1_months, pfs1_event) ~ het_group3 + arm, data = d, control = ctl),
  pattern = coxph(Surv(pfs1_months, pfs1_event) ~ fes_fdg_pattern + arm, data = d, control = ctl),
  hs10 = coxph(Surv(pfs1_months, pfs1_event) ~ hs10 + arm, data = d, control = ctl),
  mean_fes = coxph(Surv(pfs1_months, pfs1_event) ~ mean_fes_suvmax + arm, data = d, control = ctl),
  clinical = coxph(Surv(pfs1_months, pfs1_event) ~ het_group + arm + visceral_disease + de_novo_metastatic +
                     prior_adjuvant_endocrine + ps, data = d, control = ctl),
  interaction = coxph(Surv(pfs1_months, pfs1_event) ~ het_group * arm, data = d, control = ctl)
)
out <- list(cox = lapply(models, cox_out))

# likelihood-ratio test of the interaction: anova(primary, interaction)
a <- anova(models$primary, models$interaction)
out$lr_interaction <- list(chisq = a$Chisq[2], df = a$Df[2], p = a$`Pr(>|Chi|)`[2])

# HR of ET+CDK4/6i vs ET within each heterogeneity group, from the interaction model (linear combination)
fi <- models$interaction; b <- coef(fi); V <- vcov(fi)
within <- list()
for (g in levels(d$het_group)) {
  L <- c(0, 1, as.numeric(g == "heterogeneous"))
  est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
  within[[g]] <- list(coef = est, se = se, hr = exp(est), ci_low = exp(est - qnorm(0.975) * se),
                      ci_high = exp(est + qnorm(0.975) * se), p = 2 * pnorm(-abs(est / se)))
}
out$within_group_arm <- within

# log-rank tests: survdiff
sd_out <- function(sd) list(chisq = sd$chisq, df = length(sd$n) - 1,
                            p = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE),
                            obs = unname(sd$obs), exp = unname(sd$exp))
out$logrank <- list(het_group = sd_out(survdiff(Surv(pfs1_months, pfs1_event) ~ het_group, data = d)),
                    het_group3 = sd_out(survdiff(Surv(pfs1_months, pfs1_event) ~ het_group3, data = d)))

# Kaplan-Meier: survfit default conf.type = "log"; medians from quantile.survfit; survival at 12 and 24 months
km_out <- function(fit, groups) {
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(groups)) {
    g <- groups[i]; fi <- fit[i]
    # times after the last follow-up are not reported (extend = FALSE); none at all -> empty
    si <- tryCatch(summary(fi, times = c(12, 24), extend = FALSE),
                   error = function(err) list(time = numeric(0), surv = numeric(0), lower = numeric(0),
                                              upper = numeric(0), n.risk = numeric(0)))
    res[[g]] <- list(median = unname(q$quantile[i, 1]), median_low = unname(q$lower[i, 1]),
                     median_high = unname(q$upper[i, 1]),
                     time = fi$time, n_risk = fi$n.risk, n_event = fi$n.event, n_censor = fi$n.censor,
                     surv = fi$surv, std_err = fi$std.err, lower = fi$lower, upper = fi$upper,
                     landmark_time = si$time, landmark_surv = si$surv, landmark_lower = si$lower,
                     landmark_upper = si$upper, landmark_n_risk = si$n.risk)
  }
  res
}
out$km_het_group <- km_out(survfit(Surv(pfs1_months, pfs1_event) ~ het_group, data = d), levels(d$het_group))
e <- read.csv(file.path(dir, "km_edge.csv"), stringsAsFactors = FALSE)
e$group <- factor(e$group, levels = unique(e$group))
out$km_edge <- km_out(survfit(Surv(time, event) ~ group, data = e), levels(e$group))

# proportional hazards: cox.zph (survival >= 3 score test), default transform "km", terms = TRUE
out$zph <- list(primary = zph_out(models$primary), group3 = zph_out(models$group3),
                clinical = zph_out(models$clinical),
                primary_identity = zph_out(models$primary, transform = "identity"),
                primary_breslow = zph_out(models$primary_breslow))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           file.path(dir, "fixtures.json"))
