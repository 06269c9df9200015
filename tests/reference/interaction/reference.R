# R references for chapter 02 (treatment interaction): sonimage_utils.survival.km_difference and the Cox
# interaction models of sonimage_utils.chapters.treatment_interaction.
# Rscript reference.R (in this folder); R survival 3.5; writes ref_km_cells.csv and ref_cox.csv (17 digits).
suppressMessages(library(survival))
d <- read.csv("data_demo.csv")
d$time <- d$pfs1_months; d$event <- d$pfs1_event
d$het_group <- factor(d$het_group, levels = c("homogeneous", "heterogeneous"))
d$het_group3 <- factor(d$het_group3, levels = c("homogeneous_positive", "mixed", "homogeneous_negative"))
d$arm <- factor(d$arm, levels = c("ET", "ET+CDK4/6i"))
d$hs10 <- d$hs / 10

# Kaplan-Meier at a horizon per heterogeneity group x arm (extend = FALSE, R's default: nothing past the
# last follow-up). n.risk is the number with follow-up >= t.
km <- NULL
for (t in c(12, 24, 30)) for (g in levels(d$het_group)) for (a in levels(d$arm)) {
  cell <- d[d$het_group == g & d$arm == a, ]
  s <- summary(survfit(Surv(time, event) ~ 1, data = cell), times = t)
  if (length(s$surv) == 0) { surv <- NA; se <- NA; nr <- sum(cell$time >= t) } else {
    surv <- s$surv; se <- s$std.err; nr <- s$n.risk }
  km <- rbind(km, data.frame(t = t, group = g, arm = a, n = nrow(cell), n_risk = nr, surv = surv, se = se))
}
for (k in c("surv", "se")) km[[k]] <- sprintf("%.17g", km[[k]])
write.csv(km, "ref_km_cells.csv", row.names = FALSE, quote = FALSE)

# Cox interaction models (Efron ties): LR test of group3 x arm (2 df) and hs10 x arm (1 df), and the arm HR
# within each level (linear combinations of the interaction model's coefficients, Wald 95% CI).
lr <- function(reduced, full) {
  stat <- 2 * (full$loglik[2] - reduced$loglik[2]); df <- length(coef(full)) - length(coef(reduced))
  c(stat = stat, df = df, p = pchisq(stat, df, lower.tail = FALSE))
}
contrast <- function(fit, w) {
  b <- sum(w * coef(fit)); se <- sqrt(drop(t(w) %*% vcov(fit) %*% w))
  c(coef = b, se = se, hr = exp(b), lo = exp(b - qnorm(0.975) * se), hi = exp(b + qnorm(0.975) * se))
}
out <- NULL
add <- function(what, est, se = NA, lo = NA, hi = NA, stat = NA, df = NA, p = NA)
  out <<- rbind(out, data.frame(what = what, estimate = est, se = se, ci_low = lo, ci_high = hi,
                                statistic = stat, df = df, p = p))
m3 <- coxph(Surv(time, event) ~ het_group3 + arm, data = d, ties = "efron")
f3 <- coxph(Surv(time, event) ~ het_group3 * arm, data = d, ties = "efron")
r <- lr(m3, f3); add("group3_lr", NA, stat = r["stat"], df = r["df"], p = r["p"])
nm <- names(coef(f3))
for (lv in levels(d$het_group3)) {
  w <- as.numeric(nm == "armET+CDK4/6i" | nm == paste0("het_group3", lv, ":armET+CDK4/6i"))
  k <- contrast(f3, w); add(paste0("group3_arm_hr_", lv), k["hr"], k["se"], k["lo"], k["hi"])
}
mh <- coxph(Surv(time, event) ~ hs10 + arm, data = d, ties = "efron")
fh <- coxph(Surv(time, event) ~ hs10 * arm, data = d, ties = "efron")
r <- lr(mh, fh); add("hs10_lr", NA, stat = r["stat"], df = r["df"], p = r["p"])
s <- summary(fh)$conf.int; cf <- summary(fh)$coefficients
i <- "hs10:armET+CDK4/6i"
add("hs10_arm_interaction_hr", s[i, "exp(coef)"], cf[i, "se(coef)"], s[i, "lower .95"], s[i, "upper .95"],
    p = cf[i, "Pr(>|z|)"])
i <- "armET+CDK4/6i"
add("hs10_arm_hr_at_hs0", s[i, "exp(coef)"], cf[i, "se(coef)"], s[i, "lower .95"], s[i, "upper .95"])
for (k in c("estimate", "se", "ci_low", "ci_high", "statistic", "p")) out[[k]] <- sprintf("%.17g", out[[k]])
write.csv(out, "ref_cox.csv", row.names = FALSE, quote = FALSE)
