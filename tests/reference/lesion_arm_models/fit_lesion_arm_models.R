# Reference fits for tests/test_lesion_arm_models.py (chapter 03: lesion models with arm, the SAP's rule for the
# form of FES SUVmax, the FES x arm interaction, the trajectory mixed model, ORR adjusted for arm).
# Run from the repository root:  Rscript tests/reference/lesion_arm_models/fit_lesion_arm_models.R
# Data (export_data.py, the demo cohort): lesions.csv (target lesions), trajectories.csv (post-baseline CTs of
# measurable patients with a heterogeneity group), best.csv (measurable patients). organ_liver is constant (0) in
# the complete cases of the FES models (liver is not FES-assessable), so it is left out here as the Python code
# drops it. R packages: lme4, geepack, Hmisc (for rcspline.eval, as rms::rcs), jsonlite.
suppressPackageStartupMessages({library(lme4); library(geepack); library(Hmisc); library(jsonlite)})
dir <- "tests/reference/lesion_arm_models"
les <- read.csv(file.path(dir, "lesions.csv"), stringsAsFactors = FALSE)
cc <- les[complete.cases(les[, c("best_pct_change", "fes_suvmax_assessable", "fdg_suvmax", "treated_cdk46i")]), ]
cc <- cc[order(cc$patient_id), ]
coefs <- function(fit) {
  cf <- summary(fit)$coefficients
  data.frame(term = rownames(cf), estimate = cf[, 1], std_error = cf[, 2], row.names = NULL)
}

# 1. The SAP rule: ML AIC of linear, log2 and 3-knot restricted cubic spline (knots at the 10/50/90th percentiles)
knots <- unname(quantile(cc$fes_suvmax_assessable, c(0.1, 0.5, 0.9), type = 7))
cc$log2_fes <- log2(cc$fes_suvmax_assessable)
cc$fes_rcs1 <- as.numeric(rcspline.eval(cc$fes_suvmax_assessable, knots = knots, inclx = FALSE, norm = 2))
rest <- "fdg_suvmax + organ_lung + organ_other + treated_cdk46i + (1 | patient_id)"
ml <- function(terms) lmer(as.formula(paste("best_pct_change ~", terms, "+", rest)), data = cc, REML = FALSE)
aic <- c(linear = AIC(ml("fes_suvmax_assessable")), log = AIC(ml("log2_fes")),
         spline = AIC(ml("fes_suvmax_assessable + fes_rcs1")))

# 2. Primary lesion model (REML), FES as log2 (the form the rule chooses on these data), with arm
prim <- lmer(as.formula(paste("best_pct_change ~ log2_fes +", rest)), data = cc, REML = TRUE)
write.csv(coefs(prim), file.path(dir, "lmm_primary.csv"), row.names = FALSE)
# 3. FES x arm interaction (pre-specified secondary term), Wald z test
cc$log2_fes_x_arm <- cc$log2_fes * cc$treated_cdk46i
inter <- lmer(as.formula(paste("best_pct_change ~ log2_fes +", sub("\\+ \\(", "+ log2_fes_x_arm + (", rest))),
              data = cc, REML = TRUE)
ic <- coefs(inter)
write.csv(ic, file.path(dir, "lmm_interaction.csv"), row.names = FALSE)
iz <- ic$estimate[ic$term == "log2_fes_x_arm"] / ic$std_error[ic$term == "log2_fes_x_arm"]

# 4. GEE of lesion response with the same terms
gee <- geeglm(responding ~ log2_fes + fdg_suvmax + organ_lung + organ_other + treated_cdk46i,
              id = factor(patient_id), data = cc, family = binomial, corstr = "exchangeable",
              control = geese.control(epsilon = 1e-10, maxit = 100))
gs <- summary(gee)$coefficients
write.csv(data.frame(term = rownames(gs), estimate = gs[, "Estimate"], std_error = gs[, "Std.err"], row.names = NULL),
          file.path(dir, "gee.csv"), row.names = FALSE)

# 5. Trajectory model: random intercept and slope first; isSingular decides the fallback to a random intercept
tr <- read.csv(file.path(dir, "trajectories.csv"), stringsAsFactors = FALSE)
tr$months_x_het <- tr$months_from_baseline * tr$heterogeneous
tr$months_x_arm <- tr$months_from_baseline * tr$treated_cdk46i
fix <- "pct_change_baseline ~ months_from_baseline + heterogeneous + treated_cdk46i + months_x_het + months_x_arm"
slope <- suppressMessages(lmer(as.formula(paste(fix, "+ (1 + months_from_baseline | patient_id)")), data = tr,
                               REML = TRUE))
icpt <- lmer(as.formula(paste(fix, "+ (1 | patient_id)")), data = tr, REML = TRUE)
write.csv(coefs(icpt), file.path(dir, "sod_lmm.csv"), row.names = FALSE)
vs <- as.data.frame(VarCorr(slope))
vi <- as.data.frame(VarCorr(icpt))

# 6. ORR: logistic regression on heterogeneity group and arm
best <- read.csv(file.path(dir, "best.csv"), stringsAsFactors = FALSE)
lg <- glm(responding ~ heterogeneous + treated_cdk46i, data = best, family = binomial)
write.csv(coefs(lg), file.path(dir, "orr_logistic.csv"), row.names = FALSE)

out <- list(
  r_version = R.version.string, lme4 = as.character(packageVersion("lme4")),
  geepack = as.character(packageVersion("geepack")), Hmisc = as.character(packageVersion("Hmisc")),
  form = list(knots = knots, aic = as.list(aic), n_obs = nrow(cc), rcs1_first = head(cc$fes_rcs1, 5),
              fes_first = head(cc$fes_suvmax_assessable, 5)),
  primary = list(var_patient = as.data.frame(VarCorr(prim))$vcov[1],
                 var_residual = as.data.frame(VarCorr(prim))$vcov[2], reml_criterion = unname(REMLcrit(prim)),
                 n_obs = nrow(cc), n_patients = length(unique(cc$patient_id))),
  interaction = list(z = iz, p_value = 2 * pnorm(-abs(iz))),
  gee = list(alpha = unname(gee$geese$alpha)),
  sod = list(slope_model_singular = isSingular(slope), slope_model_corr = vs$sdcor[vs$var1 == "(Intercept)" &
             !is.na(vs$var2)], intercept_var_patient = vi$vcov[1], intercept_var_residual = vi$vcov[2],
             intercept_reml_criterion = unname(REMLcrit(icpt)), n_obs = nrow(tr),
             n_patients = length(unique(tr$patient_id))),
  orr = list(n = nrow(best), n_responding = sum(best$responding)))
write_json(out, file.path(dir, "models.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
