"""Power to detect a heterogeneity x treatment interaction on PFS1, by simulation.

Each simulated trial has the cohort's size, group split and expected number of events: exponential PFS
times whose hazard depends on the heterogeneity group, the arm and their interaction, and exponential
censoring with its rate solved so that the expected event fraction equals the cohort's. Each trial is
analysed as the book analyses the real one: Cox ``PFS1 ~ group + arm`` and ``PFS1 ~ group * arm``, and a
likelihood-ratio test of the interaction.

Why a hand-written Cox fit: fitting 2 x 1,000 models with lifelines takes minutes; :func:`fit_cox_batch`
runs Newton-Raphson on all simulated trials at once with numpy (Breslow partial likelihood, which equals
Efron's here because simulated times are continuous and have no ties). Its risk-set sums run over the 4
covariate patterns (group x arm) rather than over patients, and trials are fitted in chunks of bounded
size, so 1,000 trials of a 10,000-patient cohort take minutes and about 300 MB (one batch of per-patient
sums took 3.6 GB). It is checked against lifelines in
``tests/test_interaction_power.py``. It is not the one-model Efron engine of
:mod:`sonimage_utils.survival.efron` because it works along a batch axis of 1,000 trials with different
risk sets; with continuous simulated times there are no ties, so the two likelihoods are the same.

References
----------
Bender R, Augustin T, Blettner M. Generating survival times to simulate Cox proportional hazards models.
Stat Med 2005;24:1713-1723.
Brookes ST et al. Subgroup analyses in randomised controlled trials: quantifying the risks of false-positives
and false-negatives. Health Technol Assess 2001;5(33).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["simulate_interaction_trials", "fit_cox_batch", "compute_interaction_power", "compute_censoring_rate"]

#: Largest number of patient rows (trials x patients) one batched Newton-Raphson works on at once. The trials
#: are independent, so a batch of many trials is cut into chunks of whole trials of at most this many rows:
#: the working arrays of :func:`_breslow` (about 40 floats a row with 3 coefficients) stay near 200 MB
#: however large the cohort (a 10,000-patient cohort x 1,000 trials held 3.6 GB in one batch). Each trial's
#: arithmetic does not depend on the other trials in its chunk, so the results do not depend on the chunking;
#: the demo cohort (100 x 1,000 rows) is one chunk. An engineering limit, not a study value.
MAX_BATCH_ROWS = 2 ** 19


def _censoring_rate(hazards: np.ndarray, shares: np.ndarray, event_fraction: float) -> float:
    """Exponential censoring rate c with sum(share * h / (h + c)) = event_fraction (P(event) = h / (h + c))."""
    if event_fraction >= 1:
        return 0.0
    f = lambda c: np.sum(shares * hazards / (hazards + c)) - event_fraction  # noqa: E731
    return float(optimize.brentq(f, 1e-12, 1e6 * hazards.max(), xtol=1e-14))


def compute_censoring_rate(*, n_patients: int, n_heterogeneous: int, n_treated: int, event_fraction: float,
                           hr_group: float, hr_arm: float, hr_interaction: float,
                           median_reference_months: float) -> float:
    """Rate (per month) of the exponential censoring of :func:`simulate_interaction_trials`.

    Censoring times are exponential with one rate for every patient, independent of group, arm and PFS1
    (non-informative), and the rate solves ``sum_cells share * h / (h + c) = event_fraction``: the expected
    share of patients with an observed PFS1 event equals the cohort's, over the four group x arm cells with
    their expected shares and exponential PFS1 hazards ``h``. The median censoring time is ``log(2) / c``.

    Parameters
    ----------
    n_patients, n_heterogeneous, n_treated, event_fraction, hr_group, hr_arm, hr_interaction, median_reference_months
        As :func:`simulate_interaction_trials`.

    Returns
    -------
    float
        The rate; 0 when ``event_fraction`` is 1 (no censoring).

    Examples
    --------
    >>> c = compute_censoring_rate(n_patients=100, n_heterogeneous=50, n_treated=50, event_fraction=0.5,
    ...                            hr_group=1.0, hr_arm=1.0, hr_interaction=1.0, median_reference_months=12.0)
    >>> round(float(np.log(2) / c), 6)  # half the events: censoring as fast as progression
    12.0
    """
    beta = np.log([hr_group, hr_arm, hr_interaction])
    # expected event fraction with the design's expected cell sizes
    cells = np.array([[gg, aa, gg * aa] for gg in (0, 1) for aa in (0, 1)])
    share = np.array([(n_heterogeneous if gg else n_patients - n_heterogeneous) / n_patients
                      * (n_treated if aa else n_patients - n_treated) / n_patients for gg, aa, _ in cells])
    cell_h = np.log(2) / median_reference_months * np.exp(cells @ beta)
    return _censoring_rate(cell_h, share, event_fraction)


def simulate_interaction_trials(n_sim: int, *, n_patients: int, n_heterogeneous: int, n_treated: int,
                                event_fraction: float, hr_group: float, hr_arm: float,
                                median_reference_months: float, seed: int, hr_interaction: float = 1.0):
    """Simulate trials with a known heterogeneity x treatment interaction.

    Parameters
    ----------
    n_sim : int
        Number of trials.
    n_patients, n_heterogeneous, n_treated : int
        Cohort size, number in the heterogeneous group and number allocated ET+CDK4/6i; group and arm are
        assigned independently at random with exactly these counts.
    event_fraction : float
        Expected share of patients with a PFS1 event (the cohort's events / patients).
    hr_group : float
        HR heterogeneous vs homogeneous, within the ET arm.
    hr_arm : float
        HR ET+CDK4/6i vs ET in the homogeneous group (SONIA overall: 0.59).
    hr_interaction : float
        Ratio of the arm HR in the heterogeneous group to that in the homogeneous group (1 = no interaction).
    median_reference_months : float
        Median PFS1 of homogeneous patients on ET (SONIA ET arm: 16.1 months).
    seed : int

    Returns
    -------
    time, event : numpy.ndarray, shape (n_sim, n_patients)
    X : numpy.ndarray, shape (n_sim, n_patients, 3)
        Columns heterogeneous, ET+CDK4/6i, their product.

    Raises
    ------
    ValueError
        On counts outside the cohort or non-positive hazard ratios.
    """
    if not (0 < n_heterogeneous < n_patients and 0 < n_treated < n_patients):
        raise ValueError("each group and each arm needs at least one patient and not all of them")
    if min(hr_group, hr_arm, hr_interaction, median_reference_months) <= 0:
        raise ValueError("hazard ratios and the median must be positive")
    if not 0 < event_fraction <= 1:
        raise ValueError("event_fraction must lie in (0, 1]")
    rng = np.random.default_rng(seed)
    base_g = np.r_[np.ones(n_heterogeneous), np.zeros(n_patients - n_heterogeneous)]
    base_a = np.r_[np.ones(n_treated), np.zeros(n_patients - n_treated)]
    g = rng.permuted(np.tile(base_g, (n_sim, 1)), axis=1)
    a = rng.permuted(np.tile(base_a, (n_sim, 1)), axis=1)
    X = np.stack([g, a, g * a], axis=-1)
    beta = np.log([hr_group, hr_arm, hr_interaction])
    hazard = np.log(2) / median_reference_months * np.exp(X @ beta)
    c = compute_censoring_rate(n_patients=n_patients, n_heterogeneous=n_heterogeneous, n_treated=n_treated,
                               event_fraction=event_fraction, hr_group=hr_group, hr_arm=hr_arm,
                               hr_interaction=hr_interaction, median_reference_months=median_reference_months)
    t_event = rng.exponential(1.0 / hazard)
    t_cens = rng.exponential(1.0 / c, size=hazard.shape) if c > 0 else np.full(hazard.shape, np.inf)
    return np.minimum(t_event, t_cens), (t_event <= t_cens).astype(float), X


def _breslow(beta, P, N, ds, D):
    """Breslow log partial likelihood, score and information of each trial from its covariate patterns.

    With K covariate patterns (rows of ``P``) the risk-set sums at a sorted position i are sums over the
    patterns: ``s0_i = sum_c N_ic w_c`` with ``N_ic`` the number at risk with pattern c and ``w_c = exp(P_c b)``.
    With ``pi_ic = N_ic w_c / s0_i``, ``A_c = sum_i d_i pi_ic`` and ``B_cd = sum_i d_i pi_ic pi_id``, the score is
    ``(D - A) P`` (``D_c`` events with pattern c) and the information ``P' (diag(A) - B) P``: the same sums as
    over patients, in K instead of n terms per risk set.
    """
    eta = beta @ P.T  # (s, K)
    eta = eta - eta.max(axis=1, keepdims=True)
    w = np.exp(eta)
    s0 = np.matmul(N, w[..., None])[..., 0]  # (s, n)
    u = ds / s0
    A = w * np.matmul(u[:, None, :], N)[:, 0, :]  # sum_i d_i N_ic w_c / s0_i
    B = w[:, :, None] * w[:, None, :] * np.matmul(N.transpose(0, 2, 1), N * (u / s0)[..., None])
    ll = np.einsum("sc,sc->s", D, eta) - np.einsum("sn,sn->s", ds, np.log(s0))
    grad = (D - A) @ P
    M = A[:, :, None] * np.eye(P.shape[0]) - B
    info = np.einsum("cp,scd,dq->spq", P, M, P)
    return ll, grad, info


def _patterns(rows):
    """Distinct rows of a (m, p) array and each row's index into them (column codes combined by hashing)."""
    code = np.zeros(rows.shape[0], np.int64)
    for j in range(rows.shape[1]):
        inv, uniq = pd.factorize(rows[:, j], sort=True)
        code = code * len(uniq) + inv
        if len(uniq) > MAX_PATTERNS:
            break
    cell, uniq = pd.factorize(code, sort=True)
    if len(uniq) > MAX_PATTERNS or rows.shape[1] and code.max() >= np.iinfo(np.int64).max // (MAX_PATTERNS + 1):
        raise ValueError(f"X has more than {MAX_PATTERNS} distinct covariate rows; fit_cox_batch takes at most "
                         f"{MAX_PATTERNS}")
    first = np.zeros(len(uniq), np.int64)
    first[cell[::-1]] = np.arange(len(cell))[::-1]  # first row of each pattern
    return rows[first], cell.astype(np.int32)


#: Most covariate patterns :func:`fit_cox_batch` accepts (the simulated trials have 4: group x arm).
MAX_PATTERNS = 64


def _prepare(time, event, X):
    """Patterns of X, and each trial's pattern codes and events in time order (shared by both models)."""
    n_sim, n, p = X.shape
    P, cell = _patterns(X.reshape(-1, p))
    order = np.argsort(time, axis=1, kind="stable")
    return P, np.take_along_axis(cell.reshape(n_sim, n), order, axis=1), np.take_along_axis(event, order, axis=1)


def _fit_prepared(P, cell, ds, *, max_iter, tol, max_abs_coef):
    n_sim, n = cell.shape
    chunk = max(1, MAX_BATCH_ROWS // max(n, 1))
    if n_sim > chunk:  # independent trials: fit them a chunk at a time (see MAX_BATCH_ROWS)
        parts = [_fit_prepared(P, cell[i:i + chunk], ds[i:i + chunk], max_iter=max_iter, tol=tol,
                               max_abs_coef=max_abs_coef) for i in range(0, n_sim, chunk)]
        return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    p = P.shape[1]
    onehot = (cell[..., None] == np.arange(P.shape[0])).astype(float)
    N = np.cumsum(onehot[:, ::-1], axis=1)[:, ::-1]  # at risk by pattern (sorted times, no ties)
    D = np.einsum("sn,snc->sc", ds, onehot)
    del onehot
    # only event rows enter the sums: keep them (in time order), padded with weight-0 rows to the largest count
    ev = ds > 0
    n_ev = ev.sum(axis=1, keepdims=True)
    m = max(int(n_ev.max()), 1)
    dest = np.where(ev, np.cumsum(ev, axis=1) - 1, n_ev + np.cumsum(~ev, axis=1) - 1)  # stable partition
    rows = np.empty_like(dest)
    np.put_along_axis(rows, dest, np.broadcast_to(np.arange(n), dest.shape), axis=1)
    rows = rows[:, :m]
    N = np.take_along_axis(N, rows[..., None], axis=1)
    ds = np.take_along_axis(ds, rows, axis=1)
    beta = np.zeros((n_sim, p))
    ll, grad, info = _breslow(beta, P, N, ds, D)
    done = np.zeros(n_sim, bool)
    eye = np.eye(p)
    for _ in range(max_iter):
        step = np.linalg.solve(info + 1e-12 * eye, grad[..., None])[..., 0]
        step[done] = 0.0
        scale = np.ones(n_sim)
        for _halving in range(20):
            new_ll, new_grad, new_info = _breslow(beta + scale[:, None] * step, P, N, ds, D)
            # a step already below tol is accepted: its likelihood change is below rounding noise (which
            # exceeds 1e-12 once n is in the thousands and would halve such steps 20 times for nothing)
            worse = (new_ll < ll - 1e-12) & ~done & (np.max(np.abs(scale[:, None] * step), axis=1) >= tol)
            if not worse.any():
                break
            scale[worse] /= 2
        beta = beta + scale[:, None] * step
        ll, grad, info = new_ll, new_grad, new_info
        done |= np.max(np.abs(scale[:, None] * step), axis=1) < tol
        if done.all():
            break
    converged = done & np.all(np.abs(beta) < max_abs_coef, axis=1)
    with np.errstate(invalid="ignore"):
        vcov = np.linalg.inv(info + 1e-300 * eye)
    return {"coef": beta, "vcov": vcov, "loglik": ll, "converged": converged}


def fit_cox_batch(time, event, X, *, max_iter: int = 30, tol: float = 1e-9, max_abs_coef: float = 15.0):
    """Fit one Cox model (Breslow ties) per simulated trial, all trials at once.

    Works on designs with few distinct covariate rows (patterns), as the simulated trials are (group x arm):
    the risk-set sums are taken over the patterns, K terms per event, instead of over patients (see
    :func:`_breslow`), so an iteration costs about 30 operations per patient whatever ``p``.

    Parameters
    ----------
    time, event : array-like, shape (n_sim, n)
    X : array-like, shape (n_sim, n, p)
        At most :data:`MAX_PATTERNS` distinct rows over the chunk of trials fitted together.
    max_iter : int
        Newton-Raphson iterations (with step halving when the likelihood would fall).
    tol : float
        Convergence when the largest absolute change in a coefficient is below ``tol``.
    max_abs_coef : float
        A fit with ``|coef|`` beyond this (monotone likelihood, e.g. a subgroup without events) is marked
        as not converged.

    Returns
    -------
    dict
        ``coef`` (n_sim, p), ``vcov`` (n_sim, p, p), ``loglik`` (n_sim,), ``converged`` (n_sim,) bool.

    Raises
    ------
    ValueError
        On inconsistent shapes, or more than :data:`MAX_PATTERNS` covariate patterns.

    Examples
    --------
    >>> t, e, X = simulate_interaction_trials(3, n_patients=100, n_heterogeneous=50, n_treated=50,
    ...                                       event_fraction=0.7, hr_group=1.8, hr_arm=0.59,
    ...                                       median_reference_months=16.1, seed=1)
    >>> fit_cox_batch(t, e, X)["coef"].shape
    (3, 3)
    """
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    X = np.asarray(X, float)
    if X.ndim != 3 or X.shape[:2] != time.shape or event.shape != time.shape:
        raise ValueError("time and event must be (n_sim, n) and X (n_sim, n, p)")
    return _fit_prepared(*_prepare(time, event, X), max_iter=max_iter, tol=tol, max_abs_coef=max_abs_coef)


def compute_interaction_power(hr_interactions, *, n_sim: int, alpha: float, seed: int, **design) -> pd.DataFrame:
    """Power of the likelihood-ratio test of a heterogeneity x treatment interaction, by simulation.

    Parameters
    ----------
    hr_interactions : sequence of float
        True ratios of the arm HR in heterogeneous vs homogeneous patients; 1 gives the type I error.
    n_sim : int
        Simulated trials per scenario.
    alpha : float
        Two-sided significance level.
    seed : int
        Seed of the first scenario; scenario ``k`` uses ``seed + k``.
    **design
        Passed to :func:`simulate_interaction_trials` (``n_patients``, ``n_heterogeneous``, ``n_treated``,
        ``event_fraction``, ``hr_group``, ``hr_arm``, ``median_reference_months``).

    Returns
    -------
    pandas.DataFrame
        One row per scenario: ``hr_interaction``, ``hr_arm_homogeneous``, ``hr_arm_heterogeneous``,
        ``power`` (share of converged trials with LR p < alpha), ``power_mc_se`` (Monte Carlo standard
        error), ``mean_events``, ``median_hr_interaction_estimate``, ``share_converged``, ``n_sim``,
        ``censoring_median_months`` (median of the exponential censoring time, :func:`compute_censoring_rate`;
        infinite without censoring).

    Examples
    --------
    >>> design = dict(n_patients=100, n_heterogeneous=50, n_treated=50, event_fraction=0.7, hr_group=1.8,
    ...               hr_arm=0.59, median_reference_months=16.1)
    >>> compute_interaction_power([1.0], n_sim=50, alpha=0.05, seed=1, **design)["n_sim"].item()
    50
    """
    if n_sim < 1:
        raise ValueError("n_sim must be at least 1")
    rows = []
    for k, hr_int in enumerate(hr_interactions):
        t, e, X = simulate_interaction_trials(n_sim, hr_interaction=hr_int, seed=seed + k, **design)
        c = compute_censoring_rate(hr_interaction=hr_int, **design)
        P, cell, ds = _prepare(t, e, X)  # one sort for both models; the reduced model drops the product column
        full = _fit_prepared(P, cell, ds, max_iter=30, tol=1e-9, max_abs_coef=15.0)
        reduced = _fit_prepared(P[:, :2], cell, ds, max_iter=30, tol=1e-9, max_abs_coef=15.0)
        ok = full["converged"] & reduced["converged"]
        lr = np.maximum(2 * (full["loglik"] - reduced["loglik"]), 0.0)
        reject = stats.chi2.sf(lr, 1) < alpha
        power = float(reject[ok].mean()) if ok.any() else float("nan")
        rows.append({"hr_interaction": hr_int, "hr_arm_homogeneous": design["hr_arm"],
                     "hr_arm_heterogeneous": design["hr_arm"] * hr_int, "power": power,
                     "power_mc_se": float(np.sqrt(power * (1 - power) / max(ok.sum(), 1))),
                     "mean_events": float(e.sum(axis=1).mean()),
                     "median_hr_interaction_estimate": float(np.exp(np.median(full["coef"][ok, 2]))),
                     "share_converged": float(ok.mean()), "n_sim": n_sim,
                     "censoring_median_months": float(np.log(2) / c) if c > 0 else float("inf")})
    return pd.DataFrame(rows)
