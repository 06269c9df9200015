# Band of the scaled Schoenfeld residual smoother: R's reference for sonimage_utils.survival.ph.compute_zph_smooth.
# A natural cubic spline (splines::ns, boundary knots at the 5th and 95th percentiles of the transformed
# time, interior knots at the 35th and 65th: the span of Harrell's 4-knot restricted cubic spline) fitted by
# lm to cox.zph's scaled residuals of the demo primary model; predict(se.fit = TRUE) gives the fit and its SE.
# Rscript reference.R (in this folder); R survival 3.5; writes ref_band.csv (17 significant digits).
suppressMessages({library(survival); library(splines)})
demo <- read.csv("../rmst/data_demo.csv")
demo$het <- as.numeric(demo$het_group == "heterogeneous"); demo$cdk <- as.numeric(demo$arm == "ET+CDK4/6i")
fit <- coxph(Surv(pfs1_months, pfs1_event) ~ het + cdk, data = demo, ties = "efron",
             control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
z <- cox.zph(fit, transform = "km")
out <- NULL
for (j in 1:2) {
  x <- z$x; y <- z$y[, j]
  k <- quantile(x, c(0.05, 0.35, 0.65, 0.95))
  m <- lm(y ~ ns(x, knots = k[2:3], Boundary.knots = k[c(1, 4)]))
  p <- predict(m, se.fit = TRUE)
  out <- rbind(out, data.frame(term = c("het_group", "arm")[j], time = z$time, x = x,
                               fit = sprintf("%.17g", p$fit), se = sprintf("%.17g", p$se.fit)))
}
write.csv(out, "ref_band.csv", row.names = FALSE, quote = FALSE)
