# Chapter 00 references: median follow-up by reverse Kaplan-Meier (overall and by arm), PFS1 event types by arm,
# and the primary Cox model refitted without the patients with a baseline scan outside the window.
# Rscript reference.R (in this folder); writes ref_followup.csv, ref_event_types.csv, ref_cox_scan_window.csv
# (17 significant digits).
suppressMessages(library(survival))
demo <- read.csv("data_demo.csv")
demo$time <- demo$pfs1_months
demo$censor <- 1 - demo$pfs1_event          # reverse Kaplan-Meier: censoring is the event
med <- function(fit) {
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  tab[, "median"]
}
all <- med(survfit(Surv(time, censor) ~ 1, data = demo))
by <- med(survfit(Surv(time, censor) ~ arm, data = demo))
fu <- data.frame(group = c("overall", sub("arm=", "", names(by))), median_follow_up = c(all, by))
fu$median_follow_up <- sprintf("%.17g", fu$median_follow_up)
write.csv(fu, "ref_followup.csv", row.names = FALSE, quote = FALSE)

types <- as.data.frame(table(event_type = demo$pfs1_event_type, arm = demo$arm))
write.csv(types, "ref_event_types.csv", row.names = FALSE, quote = FALSE)

inside <- demo[demo$scan_outside == 0, ]
inside$het_group <- factor(inside$het_group, levels = c("homogeneous", "heterogeneous"))
inside$arm <- factor(inside$arm, levels = c("ET", "ET+CDK4/6i"))
fit <- coxph(Surv(time, pfs1_event) ~ het_group + arm, data = inside, ties = "efron")
s <- summary(fit)
cox <- data.frame(term = rownames(s$coefficients), coef = s$coefficients[, "coef"],
                  se = s$coefficients[, "se(coef)"], hr = s$conf.int[, "exp(coef)"],
                  hr_ci_low = s$conf.int[, "lower .95"], hr_ci_high = s$conf.int[, "upper .95"],
                  p = s$coefficients[, "Pr(>|z|)"], n = fit$n, n_events = fit$nevent)
for (k in c("coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p")) cox[[k]] <- sprintf("%.17g", cox[[k]])
write.csv(cox, "ref_cox_scan_window.csv", row.names = FALSE, quote = FALSE)
