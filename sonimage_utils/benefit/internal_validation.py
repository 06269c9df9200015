"""Internal validation by Harrell's bootstrap optimism correction, run in parallel (joblib or dask).

One job: refit a whole modelling procedure (penalty choice included) in each bootstrap resample, measure
it on the resample (apparent) and on the original data (test), and subtract the mean difference
(optimism) from the apparent performance of the model fitted on the original data. The procedure and
the measures are callables, so the same machinery validates any model. Also the smoothed calibration at a
horizon the bootstrap needs; its Cox fit is the fast Efron engine
(:func:`~sonimage_utils.survival.efron.fit_cox_efron`) and its baseline the Breslow step function
(:func:`~sonimage_utils.survival.baseline.compute_baseline_cumhaz`, Efron's rule at tied times, as R
``survfit`` of an Efron fit). Harrell's C and the calibration slope
are :func:`sonimage_utils.survival.compute_harrell_c` and
:func:`sonimage_utils.survival.compute_calibration_slope`, the same functions chapter 05 uses.

Resamples are seeded one by one from ``numpy.random.SeedSequence(seed).spawn(n_boot)``, so results do
not depend on the number of jobs or the backend. On this machine the workers are forked copies of the
calling process (joblib's ``"multiprocessing"`` backend): they start with the analysis stack already
imported, where loky's fresh interpreters import it again (2.6 s of CPU and 1 s of wall time per notebook
on 2 cores, ``benchmarks/bootstrap_workers.py``). Each worker runs its numerical libraries on ``cpu_count // n_jobs``
threads, as loky would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import joblib
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from sonimage_utils.survival.baseline import _baseline_cumhaz_on, compute_baseline_cumhaz, evaluate_step
from sonimage_utils.survival.design import compute_rcs_basis
from sonimage_utils.survival.efron import _fit_cox_efron_on, fit_cox_efron

__all__ = [
    "compute_observed_risk_curve",
    "bootstrap_optimism",
    "OptimismResult",
    "compute_optimism_stability",
]


def compute_observed_risk_curve(time, event, predicted_risk, t, grid) -> np.ndarray:
    """Smoothed observed risk by ``t`` at predicted risks ``grid`` (Austin et al. 2020).

    A Cox model of the outcome on a 3-knot restricted cubic spline of ``cloglog(predicted_risk)`` (knots at
    its 10th, 50th and 90th percentiles) gives the observed risk ``1 - S(t | spline)`` at each grid value.
    When the predictions do not vary, the observed risk is ``1 - exp(-H(t))`` with ``H`` the Nelson-Aalen
    (Breslow at lp = 0) cumulative hazard, for every grid value. The Cox fit has Efron ties (R ``coxph``).

    Returns
    -------
    ndarray
        Observed risk at each ``grid`` value.

    References
    ----------
    Austin PC, Harrell FE, van Klaveren D. Graphical calibration curves and the integrated calibration
    index (ICI) for survival models. Stat Med 2020;39:2714-42.
    """
    return _observed_risk_curve(time, event, predicted_risk, t, grid, None)


def _observed_risk_curve(time, event, predicted_risk, t, grid, outcome):
    """:func:`compute_observed_risk_curve`; with ``outcome`` (the data set's
    :class:`~sonimage_utils.survival.efron._SortedOutcome`, ``time`` and ``event`` validated by the caller) the
    Cox fit and its baseline reuse that one sort of the times (a bootstrap resample's other fits share it),
    with the same numbers to the bit."""
    risk = np.clip(np.asarray(predicted_risk, dtype=float), 1e-6, 1 - 1e-6)
    grid = np.clip(np.asarray(grid, dtype=float), 1e-6, 1 - 1e-6)
    x = np.log(-np.log(1 - risk))
    xg = np.log(-np.log(1 - grid))
    if np.std(x) < 1e-8:
        design, design_grid = np.zeros((x.size, 1)), np.zeros((xg.size, 1))
    else:
        knots = np.quantile(x, [0.1, 0.5, 0.9])
        if np.min(np.diff(knots)) < 1e-8:
            design, design_grid = x[:, None], xg[:, None]
        else:
            design, design_grid = compute_rcs_basis(x, knots), compute_rcs_basis(xg, knots)
    if np.ptp(design) == 0:  # constant predictions: no calibration model, the baseline alone
        coef = np.zeros(design.shape[1])
    elif outcome is None:
        coef = fit_cox_efron(design, time, event).coef
    else:
        coef = _fit_cox_efron_on(outcome, design).coef
    # a calibration model that ran off to infinity (monotone likelihood in a small resample) gives non-finite
    # values here: no warning, the bootstrap counts such resamples (OptimismResult.n_not_finite) and reports them
    with np.errstate(over="ignore", invalid="ignore"):
        lp = design @ coef
        base = (compute_baseline_cumhaz(time, event, lp, ties="efron") if outcome is None
                else _baseline_cumhaz_on(outcome, lp, "efron"))
        h0 = evaluate_step(*base, t)
        return 1 - np.exp(-h0 * np.exp(design_grid @ coef))


@dataclass
class OptimismResult:
    """Harrell's bootstrap optimism correction.

    Attributes
    ----------
    apparent : dict
        Measures of the model fitted on the original data, on the original data.
    optimism : dict
        Mean over resamples of (apparent in resample - test on original).
    corrected : dict
        ``apparent - optimism``.
    resamples : DataFrame
        Per resample and scalar measure: ``app_<name>`` and ``test_<name>``.
    n_boot : int
    n_failed : int
        Resamples where the procedure could not be fitted (left out of the means).
    n_not_finite : dict
        Measure name -> resamples (among those fitted) where the measure was not finite on the resample or on
        the original data (e.g. a calibration model that did not converge); they are left out of that
        measure's optimism, and the count says how many.
    predictions : dict
        With a ``predict_fn``: name -> array (n_boot, n) of the per-patient predictions of each resample's
        model on the original data (a row of NaN where the resample failed); else empty.
    apparent_predictions : dict
        With a ``predict_fn``: name -> array (n,) of the predictions of the model fitted on the original data.
    """

    apparent: dict
    optimism: dict
    corrected: dict
    resamples: pd.DataFrame
    n_boot: int
    n_failed: int
    predictions: dict = field(default_factory=dict)
    apparent_predictions: dict = field(default_factory=dict)
    n_not_finite: dict = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Scalar measures: apparent, optimism (Harrell's mean), corrected, and the spread of the
        per-resample optimism (median and SD) that shows how stable the mean is."""
        names = [k for k, v in self.apparent.items() if np.ndim(v) == 0]
        diffs = {k: (self.resamples[f"app_{k}"] - self.resamples[f"test_{k}"]).to_numpy(float) for k in names}
        return pd.DataFrame({"measure": names,
                             "apparent": [self.apparent[k] for k in names],
                             "optimism": [self.optimism[k] for k in names],
                             "corrected": [self.corrected[k] for k in names],
                             "optimism_median": [np.nanmedian(diffs[k]) for k in names],
                             "optimism_sd": [np.nanstd(diffs[k], ddof=1) for k in names]})


def _one_resample(frame, fit_fn, metric_fn, child_seed, predict_fn=None):
    rng = np.random.default_rng(child_seed)
    idx = rng.integers(0, frame.shape[0], size=frame.shape[0])
    boot = frame.iloc[idx]
    try:
        model = fit_fn(boot, int(rng.integers(0, 2**31 - 1)))
        if predict_fn is None:
            return metric_fn(model, boot), metric_fn(model, frame)
        return metric_fn(model, boot), metric_fn(model, frame), predict_fn(model, frame)
    except (ValueError, np.linalg.LinAlgError):
        return None


def _run_chunk(frame, fit_fn, metric_fn, seeds, predict_fn=None, blas_threads=None):
    # blas_threads: threads of the numerical libraries in a worker (None = as they are)
    with threadpool_limits(limits=blas_threads):
        return [_one_resample(frame, fit_fn, metric_fn, s, predict_fn) for s in seeds]


def bootstrap_optimism(frame: pd.DataFrame, fit_fn, metric_fn, *, n_boot, seed, fit_seed, n_jobs=1,
                       backend="multiprocessing", scheduler_address=None, predict_fn=None) -> OptimismResult:
    """Harrell's bootstrap optimism correction of a whole modelling procedure.

    Parameters
    ----------
    frame : DataFrame
        Development data, one row per patient.
    fit_fn : callable ``fit_fn(frame, seed) -> model``
        The whole procedure (preprocessing, penalty choice, fit); must be picklable (a module-level
        function or a ``functools.partial`` of one) for parallel backends.
    metric_fn : callable ``metric_fn(model, frame) -> dict``
        Measures: scalars, or equal-length arrays (e.g. a calibration curve on a fixed grid).
    n_boot : int
        Number of resamples B.
    seed : int
        Seed of the resampling.
    n_jobs : int
        Parallel jobs (joblib); ignored on a dask cluster, whose workers set the parallelism.
    backend : str
        joblib backend on this machine: "multiprocessing" (forked workers, the default), "loky" or
        "threading"; the results are the same with each.
    scheduler_address : str, optional
        Address of a dask scheduler; when given the resamples run on that cluster
        (``joblib.parallel_config(backend="dask")``). A cluster with a single worker thread in all
        makes joblib run the tasks in this process instead (same results).
    fit_seed : int
        Seed passed to ``fit_fn`` for the fit on the original data.
    predict_fn : callable ``predict_fn(model, frame) -> dict of arrays``, optional
        Per-patient predictions of each resample's model on the original ``frame``, kept whole
        (:attr:`OptimismResult.predictions`) for bootstrap intervals of individual predictions: the same
        resamples and refits, no second bootstrap. Uses no random numbers, so the other results do not change.

    Returns
    -------
    OptimismResult

    Raises
    ------
    ValueError
        If ``n_boot`` < 1 or every resample failed.

    References
    ----------
    Harrell FE, Lee KL, Mark DB. Multivariable prognostic models. Stat Med 1996;15:361-87.
    Steyerberg EW. Clinical Prediction Models, 2nd ed. Springer 2019, ch. 17.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    model0 = fit_fn(frame, fit_seed)
    apparent = metric_fn(model0, frame)
    apparent_pred = {} if predict_fn is None else predict_fn(model0, frame)
    seeds = np.random.SeedSequence(seed).spawn(n_boot)
    if n_jobs == 1 and scheduler_address is None:
        results = _run_chunk(frame, fit_fn, metric_fn, seeds, predict_fn)
    else:
        if scheduler_address is not None:
            from dask.distributed import Client

            # the cluster decides the parallelism (n_jobs is ignored); chunks sized to its threads
            with Client(scheduler_address) as client, joblib.parallel_config(backend="dask"):
                n_chunks = min(n_boot, 4 * max(sum(client.nthreads().values()), 1))
                chunks = [seeds[i::n_chunks] for i in range(n_chunks)]
                parts = joblib.Parallel(n_jobs=-1)(
                    joblib.delayed(_run_chunk)(frame, fit_fn, metric_fn, c, predict_fn) for c in chunks)
        else:
            n_workers = joblib.cpu_count() if n_jobs in (None, -1) else max(int(n_jobs), 1)
            n_chunks = min(n_boot, 4 * n_workers)
            chunks = [seeds[i::n_chunks] for i in range(n_chunks)]
            threads = max(joblib.cpu_count() // n_workers, 1)
            parts = joblib.Parallel(n_jobs=n_jobs, backend=backend)(
                joblib.delayed(_run_chunk)(frame, fit_fn, metric_fn, c, predict_fn, threads) for c in chunks)
        # undo the round-robin split so resample b is row b whatever the number of chunks
        results = [None] * n_boot
        for i, part in enumerate(parts):
            for j, r in enumerate(part):
                results[i + j * n_chunks] = r
    ok = [r for r in results if r is not None]
    if not ok:
        raise ValueError("the procedure failed in every bootstrap resample")
    diffs = {k: np.array([r[0][k] for r in ok], dtype=float) - np.array([r[1][k] for r in ok], dtype=float)
             for k in apparent}
    optimism = {k: np.nanmean(d, axis=0) for k, d in diffs.items()}
    # resamples where a measure (any point of a curve) is not finite: left out of its mean above, counted here
    not_finite = {k: int(np.sum(~np.all(np.isfinite(d.reshape(len(ok), -1)), axis=1))) for k, d in diffs.items()}
    corrected = {k: np.asarray(apparent[k], dtype=float) - optimism[k] for k in apparent}
    scalars = [k for k, v in apparent.items() if np.ndim(v) == 0]
    rows = []
    for r in results:
        app, test = (r[0], r[1]) if r is not None else ({}, {})
        rows.append({**{f"app_{k}": app.get(k, np.nan) for k in scalars},
                     **{f"test_{k}": test.get(k, np.nan) for k in scalars}})
    unbox = lambda d: {k: (float(v) if np.ndim(v) == 0 else np.asarray(v, float)) for k, v in d.items()}  # noqa: E731
    predictions = {}
    for k, v in apparent_pred.items():
        m = np.full((n_boot, np.size(v)), np.nan)
        for b, r in enumerate(results):
            if r is not None:
                m[b] = np.asarray(r[2][k], dtype=float)
        predictions[k] = m
    return OptimismResult(unbox(apparent), unbox(optimism), unbox(corrected),
                          pd.DataFrame(rows).rename_axis("resample"), n_boot, n_boot - len(ok), predictions,
                          {k: np.asarray(v, dtype=float) for k, v in apparent_pred.items()}, not_finite)


def compute_optimism_stability(result: OptimismResult, sd_max: dict) -> pd.DataFrame:
    """The SAP rule for unstable bootstrap optimism: the corrected value, or "not estimable" with the reason.

    Harrell's correction subtracts the *mean* per-resample optimism. When that optimism varies across
    resamples by more than ``sd_max[measure]`` (its SD), or its mean and median differ by more than
    ``sd_max[measure]`` (a few wild resamples dominate the mean), the correction is noise: the corrected
    value is then NaN, ``stable`` False and ``reason`` says why. Measures without a threshold in ``sd_max``
    are reported as corrected. A measure whose optimism is missing in every resample is not estimable.

    Parameters
    ----------
    result : OptimismResult
    sd_max : dict
        Measure name -> largest acceptable SD of the per-resample optimism (the SAP's
        ``benefit_optimism_sd_max``), on the measure's own scale.

    Returns
    -------
    DataFrame
        :attr:`OptimismResult.summary` with ``threshold``, ``stable`` (bool), ``reported`` (the corrected
        value, or NaN when not estimable) and ``reason`` ("" when stable).

    Raises
    ------
    ValueError
        If a threshold is not positive.

    Examples
    --------
    >>> r = OptimismResult({"slope": 1.5}, {"slope": -4.0}, {"slope": 5.5},
    ...                    pd.DataFrame({"app_slope": [1.0, 2.0, 300.0], "test_slope": [0.9, 1.9, 1.0]}), 3, 0)
    >>> t = compute_optimism_stability(r, {"slope": 1.0})
    >>> bool(t.loc[0, "stable"]), t.loc[0, "reason"]
    (False, 'optimism SD 172.6 > 1; mean -4.0, median 0.1')
    """
    for k, v in sd_max.items():
        if not float(v) > 0:
            raise ValueError(f"sd_max[{k!r}] must be > 0, got {v}")
    table = result.summary
    thresholds, stable, reported, reasons = [], [], [], []
    for _, row in table.iterrows():
        limit = float(sd_max[row["measure"]]) if row["measure"] in sd_max else np.nan
        sd, mean, median = row["optimism_sd"], row["optimism"], row["optimism_median"]
        if not np.isfinite(mean):
            ok, reason = False, "optimism missing in every resample"
        elif np.isfinite(limit) and not sd <= limit:
            ok, reason = False, f"optimism SD {sd:.1f} > {limit:g}; mean {mean:.1f}, median {median:.1f}"
        elif np.isfinite(limit) and abs(mean - median) > limit:
            ok, reason = False, f"optimism mean {mean:.2f} and median {median:.2f} differ by more than {limit:g}"
        else:
            ok, reason = True, ""
        thresholds.append(limit)
        stable.append(ok)
        reported.append(float(row["corrected"]) if ok else np.nan)
        reasons.append(reason)
    return table.assign(threshold=thresholds, stable=stable, reported=reported, reason=reasons)
