# Reference for compute_calibration_by_value: Kaplan-Meier risk at t = 24 with a log-log 95% interval,
# per distinct predicted risk (R survival::survfit, conf.type = "log-log").
# Run: Rscript calibration_by_value.R  (writes expected.csv)
library(survival)
d <- read.csv("data.csv")
t <- 24
out <- do.call(rbind, lapply(sort(unique(d$risk)), function(r) {
  s <- d[d$risk == r, ]
  f <- survfit(Surv(time, event) ~ 1, data = s, conf.type = "log-log")
  ss <- summary(f, times = t, extend = TRUE)
  data.frame(predicted = r, n = nrow(s), n_events = sum(s$event == 1 & s$time <= t),
             observed = 1 - ss$surv, ci_low = 1 - ss$upper, ci_high = 1 - ss$lower)
}))
write.csv(out, "expected.csv", row.names = FALSE)
print(out, digits = 10)
