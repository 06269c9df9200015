# Reference fits for tests/test_lesion_response.py (sonimage_utils.lesion_response).
# Run from the repository root:  Rscript tests/reference/lesion_models/fit_lesion_models.R
# Data: lesions.csv = complete-case target lesions of the synthetic cohort (sonimage simulate --seed 1),
# as built by build_lesion_response_set (best % change before first PD, FES SUVmax of FES-assessable lesions).
# Writes lmm.csv, gee.csv (one row per fixed effect) and models.json (variance components, alpha, and the
# ORR / Fisher reference values). R packages: lme4, geepack, jsonlite (Debian r-cran-*).
suppressPackageStartupMessages({library(lme4); library(geepack); library(jsonlite)})
dir <- "tests/reference/lesion_models"
d <- read.csv(file.path(dir, "lesions.csv"), stringsAsFactors = FALSE)
d <- d[order(d$patient_id), ]  # geeglm needs each cluster contiguous

# Linear mixed model, random intercept per patient, REML
lmm <- lmer(best_pct_change ~ fes_suvmax_assessable + fdg_suvmax + organ_lung + organ_other + (1 | patient_id),
            data = d, REML = TRUE)
cf <- summary(lmm)$coefficients
lmm_out <- data.frame(term = c("Intercept", rownames(cf)[-1]), estimate = cf[, "Estimate"],
                      std_error = cf[, "Std. Error"], row.names = NULL)
write.csv(lmm_out, file.path(dir, "lmm.csv"), row.names = FALSE)
vc <- as.data.frame(VarCorr(lmm))

# GEE, logit link, exchangeable working correlation, robust (sandwich) SE
gee <- geeglm(responding ~ fes_suvmax_assessable + fdg_suvmax + organ_lung + organ_other,
              id = factor(patient_id), data = d, family = binomial, corstr = "exchangeable",
              control = geese.control(epsilon = 1e-10, maxit = 100))
gs <- summary(gee)$coefficients
gee_out <- data.frame(term = c("Intercept", rownames(gs)[-1]), estimate = gs[, "Estimate"],
                      std_error = gs[, "Std.err"], row.names = NULL)
write.csv(gee_out, file.path(dir, "gee.csv"), row.names = FALSE)

# ORR exact CI and Fisher's exact test on fixed counts
orr <- lapply(list(c(7, 25), c(0, 12), c(12, 12), c(3, 40)), function(x) {
  ci <- binom.test(x[1], x[2])$conf.int
  list(x = x[1], n = x[2], ci_low = ci[1], ci_high = ci[2])
})
ft <- function(r1, n1, r2, n2) {  # odds of response in group 2 vs group 1
  f <- fisher.test(matrix(c(r2, r1, n2 - r2, n1 - r1), 2))
  list(r1 = r1, n1 = n1, r2 = r2, n2 = n2, p_value = f$p.value, odds_ratio = unname(f$estimate),
       ci_low = f$conf.int[1], ci_high = f$conf.int[2])
}
fisher <- list(ft(12, 40, 4, 35), ft(10, 20, 3, 20), ft(5, 30, 5, 30))

out <- list(
  r_version = R.version.string, lme4 = as.character(packageVersion("lme4")),
  geepack = as.character(packageVersion("geepack")),
  lmm = list(var_patient = vc$vcov[vc$grp == "patient_id"], var_residual = vc$vcov[vc$grp == "Residual"],
             reml_criterion = unname(REMLcrit(lmm)), n_obs = nrow(d)),
  gee = list(alpha = unname(gee$geese$alpha), scale = unname(gee$geese$gamma)),
  orr = orr, fisher = fisher)
write_json(out, file.path(dir, "models.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
