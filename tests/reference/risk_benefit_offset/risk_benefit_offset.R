# The risk-based benefit model with the shrunk prognostic linear predictor as an offset (issue 12, item 2):
# coxph(Surv(time, event) ~ treated + offset(lp)), Efron ties (R's default), and its baseline survival at
# treated = 0, lp = 0 (survfit of the Efron fit) at 12, 24 and 36 months. data.csv: a simulated cohort of 200
# (sonimage_utils.simulate.benefit, seed 3; predictors hs and log_fdg_suvmax; times rounded up to whole months
# so that many event times tie); lp from the ridge prognostic model fitted by sonimage_utils.
# Run: Rscript risk_benefit_offset.R > risk_benefit_offset.csv
suppressPackageStartupMessages(library(survival))
d <- read.csv("data.csv")
fit <- coxph(Surv(time, event) ~ treated + offset(lp), data = d, ties = "efron")
sf <- survfit(fit, newdata = data.frame(treated = 0, lp = 0))
s <- summary(sf, times = c(12, 24, 36), extend = TRUE)$surv
out <- data.frame(quantity = c("coef_treated", "se_treated", "S0_12", "S0_24", "S0_36"),
                  value = c(coef(fit)[["treated"]], sqrt(vcov(fit)[1, 1]), s))
write.csv(format(out, digits = 15), stdout(), row.names = FALSE)
