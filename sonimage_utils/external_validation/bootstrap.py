"""Bootstrap confidence intervals for external-validation metrics and for the smoothed calibration curve.

Patients are resampled with replacement; in each resample every metric is recomputed from scratch, the
censoring distribution (IPCW) and the secondary calibration model included, and the percentile interval
is reported. The model itself is frozen: predictions are not re-estimated. All resample indices are drawn
up front from one ``numpy.random.default_rng(seed)``, so results are identical for any ``n_jobs``
(joblib does the parallel work) and on a dask cluster (``scheduler_address``): each resample is the same
computation on the same indices wherever it runs, and the results are put back in resample order.
On this machine the workers are forked copies of the calling process (joblib's ``"multiprocessing"``
backend), which start with the analysis stack imported; loky's fresh interpreters import it again (2.6 s
of CPU and 1 s of wall time per notebook on 2 cores, ``benchmarks/bootstrap_workers.py``). Each runs its numerical libraries on
``cpu_count // n_jobs`` threads, as loky would.

References
----------
Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall 1993, ch. 13 (percentile interval).
McLernon et al., Ann Intern Med 2023 (bootstrap intervals for ICI, IPA and the AUC).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, cpu_count, delayed
from threadpoolctl import threadpool_limits

from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS, survival_performance
from sonimage_utils.external_validation.calibration import compute_smoothed_calibration
from sonimage_utils.external_validation.metrics import check_survival_inputs

__all__ = ["BootstrapPerformance", "bootstrap_performance", "bootstrap_calibration_curve", "bootstrap_auc_curve",
           "draw_bootstrap_indices"]


@dataclass
class BootstrapPerformance:
    """Metrics with bootstrap percentile intervals.

    Attributes
    ----------
    summary : pandas.DataFrame
        ``metric``, ``estimate`` (on the original data), ``ci_low``, ``ci_high``, ``n_valid`` (resamples in
        which the metric could be estimated).
    replicates : pandas.DataFrame
        One row per resample, one column per metric.
    estimate : dict
        The point estimates (as :func:`sonimage_utils.validation.survival_performance`).
    """

    summary: pd.DataFrame
    replicates: pd.DataFrame
    estimate: dict
    n_boot: int
    seed: int
    alpha: float


def draw_bootstrap_indices(n: int, n_boot: int, seed: int, strata=None) -> np.ndarray:
    """Resample indices, shape (n_boot, n), from one seeded generator (optionally within strata).

    Examples
    --------
    >>> draw_bootstrap_indices(5, 2, seed=1).shape
    (2, 5)
    """
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.integers(0, n, size=(n_boot, n))
    strata = np.asarray(strata)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    out = np.empty((n_boot, n), dtype=int)
    for b in range(n_boot):
        out[b] = np.concatenate([g[rng.integers(0, g.size, size=g.size)] for g in groups])
    return out


def _chunk(fn, idx, args, blas_threads=None):
    # blas_threads: threads of the numerical libraries in a worker (None = as they are)
    with threadpool_limits(limits=blas_threads):
        return [fn(i, *args) for i in idx]


def _map_resamples(fn, idx, args, *, n_jobs, scheduler_address):
    """``[fn(i, *args) for i in idx]`` with joblib on this machine, or on the dask cluster at ``scheduler_address``.

    The resamples go in contiguous chunks and come back in resample order: on this machine 4 chunks per job,
    run by forked workers; on a cluster 4 per worker thread, ``n_jobs`` then ignored (the cluster sets the
    parallelism), as in :func:`sonimage_utils.benefit.internal_validation.bootstrap_optimism`.
    """
    if scheduler_address is None:
        if n_jobs == 1:
            return _chunk(fn, idx, args)
        n_workers = cpu_count() if n_jobs in (None, -1) else max(int(n_jobs), 1)
        bounds = np.linspace(0, len(idx), min(len(idx), 4 * n_workers) + 1).astype(int)
        threads = max(cpu_count() // n_workers, 1)
        parts = Parallel(n_jobs=n_jobs, backend="multiprocessing")(
            delayed(_chunk)(fn, idx[a:b], args, threads) for a, b in zip(bounds[:-1], bounds[1:]))
        return [r for part in parts for r in part]
    import joblib
    from dask.distributed import Client

    with Client(scheduler_address) as client, joblib.parallel_config(backend="dask"):
        n_chunks = min(len(idx), 4 * max(sum(client.nthreads().values()), 1))
        bounds = np.linspace(0, len(idx), n_chunks + 1).astype(int)
        parts = Parallel(n_jobs=-1)(delayed(_chunk)(fn, idx[a:b], args) for a, b in zip(bounds[:-1], bounds[1:]))
    return [r for part in parts for r in part]


def _one(idx, t_arr, e_arr, r_arr, x_arr, t, knots, smooth=True):
    with warnings.catch_warnings():
        # small resamples can make lifelines/sksurv warn (e.g. convergence); such a resample gives NaN
        # for the metric concerned instead of failing the whole run
        warnings.simplefilter("ignore")
        try:
            return survival_performance(t_arr[idx], e_arr[idx], r_arr[idx], x_arr[idx], t,
                                        calibration_knots=knots, smooth_calibration=smooth)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return {k: np.nan for k in PERFORMANCE_METRICS}


def bootstrap_performance(time, event, risk, lp, t: float, *, n_boot: int, seed: int, alpha: float = 0.05,
                          n_jobs: int = 1, stratify_event: bool = False, smooth_calibration: bool = True,
                          scheduler_address: str | None = None) -> BootstrapPerformance:
    """Every metric of :func:`~sonimage_utils.validation.survival_performance` with a bootstrap interval.

    Parameters
    ----------
    time, event, risk, lp, t
        As :func:`~sonimage_utils.validation.survival_performance`.
    n_boot : int
        Number of resamples.
    seed : int
        Seed of the resampling.
    alpha : float
        1 - confidence level; percentile interval ``[alpha/2, 1 - alpha/2]``.
    n_jobs : int
        Parallel jobs (joblib); the result does not depend on it.
    stratify_event : bool
        Resample within event/censored strata (keeps the number of events fixed; useful for small cohorts).
    smooth_calibration : bool
        As :func:`~sonimage_utils.external_validation.performance.survival_performance`; decided once on the
        original data, so every resample follows the same rule.
    scheduler_address : str, optional
        Address of a dask scheduler: the resamples run on that cluster (``n_jobs`` is then ignored); the
        result is the same, bit for bit.

    Returns
    -------
    BootstrapPerformance

    Raises
    ------
    ValueError
        On invalid inputs or ``alpha`` outside (0, 1).
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    tt, e, r, x = check_survival_inputs(time, event, risk, lp, names=["risk", "lp"])
    est = survival_performance(tt, e, r, x, t, smooth_calibration=smooth_calibration)
    idx = draw_bootstrap_indices(tt.size, n_boot, seed, strata=e if stratify_event else None)
    reps = _map_resamples(_one, idx, (tt, e, r, x, t, None, smooth_calibration), n_jobs=n_jobs,
                          scheduler_address=scheduler_address)
    rep = pd.DataFrame(reps, columns=list(PERFORMANCE_METRICS))
    rows = []
    for m in PERFORMANCE_METRICS:
        v = rep[m].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        lo, hi = (np.quantile(v, [alpha / 2, 1 - alpha / 2]) if v.size else (np.nan, np.nan))
        rows.append({"metric": m, "estimate": est[m], "ci_low": float(lo), "ci_high": float(hi),
                     "n_valid": int(v.size)})
    return BootstrapPerformance(summary=pd.DataFrame(rows), replicates=rep, estimate=est, n_boot=n_boot,
                                seed=seed, alpha=alpha)


def _curve_one(idx, t_arr, e_arr, r_arr, t, grid):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cal = compute_smoothed_calibration(t_arr[idx], e_arr[idx], r_arr[idx], t, grid=grid)
            return cal.curve["observed"].to_numpy()
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return np.full(grid.size, np.nan)


def bootstrap_calibration_curve(time, event, risk, t: float, *, n_boot: int, seed: int, grid=None, n_grid: int = 50,
                                alpha: float = 0.05, n_jobs: int = 1, scheduler_address: str | None = None
                                ) -> pd.DataFrame:
    """Smoothed calibration curve at ``t`` with a pointwise bootstrap percentile band.

    Parameters
    ----------
    time, event, risk, t
        As :func:`~sonimage_utils.external_validation.calibration.compute_smoothed_calibration`.
    grid : array-like, optional
        Predicted risks at which the curve is evaluated; default ``n_grid`` points over the 2.5th to
        97.5th percentile of the predictions (the band is not shown where data are sparse).
    n_boot, seed, alpha, n_jobs, scheduler_address
        As :func:`bootstrap_performance`.

    Returns
    -------
    pandas.DataFrame
        ``predicted``, ``observed``, ``ci_low``, ``ci_high``.
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    if grid is None:
        lo, hi = np.quantile(r, [0.025, 0.975])
        grid = np.linspace(lo, hi, n_grid)
    grid = np.asarray(grid, dtype=float)
    cal = compute_smoothed_calibration(tt, e, r, t, grid=grid)
    idx = draw_bootstrap_indices(tt.size, n_boot, seed)
    reps = np.vstack(_map_resamples(_curve_one, idx, (tt, e, r, t, grid), n_jobs=n_jobs,
                                    scheduler_address=scheduler_address))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN bounds
        lo_b, hi_b = np.nanquantile(reps, [alpha / 2, 1 - alpha / 2], axis=0)
    return pd.DataFrame({"predicted": grid, "observed": cal.curve["observed"].to_numpy(), "ci_low": lo_b,
                         "ci_high": hi_b})


def _auc_one(idx, t_arr, e_arr, x_arr, times):
    """AUC(t) at each of ``times`` in one resample, NaN where it is not estimable.

    One :class:`~sonimage_utils.survival.baseline.SurvivalOutcome` (one sort, one censoring Kaplan-Meier) and
    one :func:`~sonimage_utils.external_validation.metrics.compute_cd_auc_from` call (one marker sort) for
    all estimable times (inside the resample's follow-up, with an event by then): each time's AUC is computed
    in its own row from the same weights, so each value is the one a call for that time alone gives, to the
    bit. Should the joint call fail, the times are taken one by one, each failure giving NaN for its time.
    """
    from sonimage_utils.external_validation.metrics import compute_cd_auc_from
    from sonimage_utils.survival.baseline import SurvivalOutcome

    tt, ee, xx = t_arr[idx], e_arr[idx], x_arr[idx]
    out = np.full(times.size, np.nan)
    ev_times = tt[ee.astype(bool)]
    if ev_times.size == 0:
        return out  # no event in the resample: no AUC at any time
    ok = (times >= tt.min()) & (times < tt.max()) & (times >= ev_times.min())
    if not ok.any():
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            outcome = SurvivalOutcome(tt, ee)
        except (ValueError, ArithmeticError):
            return out
        try:
            grid = np.unique(times[ok])  # the AUCs come back for the sorted, distinct times
            out[ok] = compute_cd_auc_from(outcome, xx, grid)[np.searchsorted(grid, times[ok])]
            return out
        except (ValueError, ArithmeticError):
            pass
        for j in np.flatnonzero(ok):
            try:
                out[j] = compute_cd_auc_from(outcome, xx, [times[j]])[0]
            except (ValueError, ArithmeticError):
                pass
    return out


def bootstrap_auc_curve(time, event, marker, times, *, n_boot: int, seed: int, alpha: float = 0.05,
                        n_jobs: int = 1, scheduler_address: str | None = None) -> pd.DataFrame:
    """Cumulative/dynamic AUC at each of ``times`` with pointwise bootstrap percentile intervals.

    Parameters
    ----------
    time, event, marker
        As :func:`~sonimage_utils.external_validation.metrics.compute_cd_auc`.
    times : array-like
        Time points inside the follow-up.
    n_boot, seed, alpha, n_jobs, scheduler_address
        As :func:`bootstrap_performance`; ``n_boot = 0`` gives no interval.

    Returns
    -------
    pandas.DataFrame
        ``time``, ``auc``, ``ci_low``, ``ci_high``.
    """
    tt, e, x = check_survival_inputs(time, event, marker, names=["marker"])
    times = np.atleast_1d(np.asarray(times, dtype=float))
    est = _auc_one(np.arange(tt.size), tt, e, x, times)
    lo = hi = np.full(times.size, np.nan)
    if n_boot > 0:
        idx = draw_bootstrap_indices(tt.size, n_boot, seed)
        reps = np.vstack(_map_resamples(_auc_one, idx, (tt, e, x, times), n_jobs=n_jobs,
                                        scheduler_address=scheduler_address))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanquantile(reps, [alpha / 2, 1 - alpha / 2], axis=0)
    return pd.DataFrame({"time": times, "auc": est, "ci_low": lo, "ci_high": hi})
