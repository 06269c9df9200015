# Reference values for sonimage_utils.benefit.uncertainty (issue 12 item 5): bootstrap percentile intervals.
# Run from this folder:  Rscript make_reference.R   (base R only)
# boot.csv: 200 resamples x 30 patients of predicted benefit (one row of NA = a failed resample);
# estimate.csv: the original fit's predictions. reference.csv: per-patient 2.5%/97.5% quantiles (type 7, R's
# default = numpy's linear) over the usable resamples, and the percentiles 10, 25, 50, 75, 90 across patients with
# the quantiles over resamples of each resample's percentile.
set.seed(20261130)
n <- 30; B <- 200
est <- rnorm(n, 0.1, 0.05)
boot <- t(replicate(B, est + rnorm(n, 0, 0.04) + rnorm(1, 0, 0.03)))
boot[17, ] <- NA
write.csv(data.frame(estimate = est), "estimate.csv", row.names = FALSE)
write.csv(as.data.frame(boot), "boot.csv", row.names = FALSE)
ok <- boot[complete.cases(boot), ]
q <- apply(ok, 2, quantile, probs = c(0.025, 0.975), type = 7)
per <- data.frame(kind = "patient", index = seq_len(n), estimate = est, ci_low = q[1, ], ci_high = q[2, ])
pcts <- c(10, 25, 50, 75, 90)
pr <- apply(ok, 1, quantile, probs = pcts / 100, type = 7)  # percentiles x resamples
dist <- data.frame(kind = "percentile", index = pcts, estimate = quantile(est, pcts / 100, type = 7),
                   ci_low = apply(pr, 1, quantile, 0.025, type = 7), ci_high = apply(pr, 1, quantile, 0.975, type = 7))
write.csv(rbind(per, dist), "reference.csv", row.names = FALSE)
