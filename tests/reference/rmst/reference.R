# Restricted mean survival time from survfit, R's reference for sonimage_utils.survival.rmst.
# Rscript reference.R (in this folder); R survival 3.5; writes ref_rmst.csv (17 significant digits).
suppressMessages(library(survival))
demo <- read.csv("data_demo.csv")
lung <- read.csv("../estimators/data_lung.csv")
toy <- read.csv("../estimators/data_toy.csv")
one <- function(data, label, group, tau) {
  f <- if (is.null(group)) Surv(time, event) ~ 1 else as.formula(paste("Surv(time, event) ~", group))
  fit <- survfit(f, data = data)
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  lev <- if (is.null(group)) "all" else sub(".*=", "", rownames(tab))
  data.frame(data = label, group = lev, tau = tau, rmean = tab[, "rmean"], se = tab[, "se(rmean)"])
}
demo$time <- demo$pfs1_months; demo$event <- demo$pfs1_event
out <- rbind(
  one(demo, "demo", "het_group", 12), one(demo, "demo", "het_group", 36), one(demo, "demo", "het_group", 50),
  one(demo, "demo", NULL, 36),
  one(lung, "lung", NULL, 365), one(lung, "lung", "sex", 500), one(lung, "lung", "sex", 2000),
  one(toy, "toy", NULL, 4), one(toy, "toy", NULL, 5))
for (k in c("tau", "rmean", "se")) out[[k]] <- sprintf("%.17g", out[[k]])
write.csv(out, "ref_rmst.csv", row.names = FALSE, quote = FALSE)
