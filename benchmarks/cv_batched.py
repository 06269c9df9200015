"""Prototype: the ridge-penalty cross-validation with all folds solved together, against the package's loop.

Usage: ``python benchmarks/cv_batched.py [--n 100 400 1600] [--p 1 11] [--reps 20] [--seed 1]``

The package (:func:`sonimage_utils.survival.ridge_cox.cv_ridge_penalty`) fits each fold's training data in
turn (10 folds x 21 penalties, warm starts down the grid). Here the folds are stacked: every fold works on
the full data, sorted once, with weight 0 for its held-out rows. Cumulative risk-set sums over the full data
with zero weights equal those over the training rows exactly (adding 0.0 changes no bit), but the sums over
events (log likelihood, score) and the information's matrix product run over more rows in another blocking,
so the result differs in the last bits. Each fold keeps its own Newton iterations, step halving and
convergence test (a converged fold is frozen).

Printed per size: CPU of the loop and of the batch, the speed-up, the largest |difference| of the
cross-validated partial likelihood (CVPL) over the grid, and in how many resamples the chosen penalty
differs. This is an experiment, not the package: chapter 04's frozen model is chosen by the loop.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sonimage_utils.survival.ridge_cox import (DEFAULT_PENALTIES, _check_penalty, _loglik, _SortedCoxData,
                                               cv_ridge_penalty, make_folds)


def _fold_stats(data, M, B):
    """Log likelihood, score, information of each fold's training data at its coefficients ``B`` (K, p)."""
    X, last_ev, ev = data.X, data.last_ev, data.ev
    eta = X @ B.T  # (n, K)
    shift = np.where(M.T > 0, eta, -np.inf).max(axis=0)
    w = np.exp(eta - shift) * M.T  # held-out rows weigh 0
    s0 = np.cumsum(w, axis=0)[last_ev]  # (d, K)
    s1 = np.cumsum(w[:, :, None] * X[:, None, :], axis=0)[last_ev]  # (d, K, p)
    Mev = M.T[ev]  # (d, K): event in the fold's training data
    with np.errstate(divide="ignore"):
        logs0 = np.where(Mev > 0, np.log(s0), 0.0)
    loglik = np.sum(Mev * (eta[ev] - shift) - Mev * logs0, axis=0)
    a = s1 / np.where(s0 > 0, s0, 1.0)[:, :, None] * Mev[:, :, None]
    grad = (Mev.T @ X[ev]) - a.sum(axis=0)
    d = np.zeros((X.shape[0], M.shape[0]))
    np.add.at(d, last_ev, Mev / np.where(s0 > 0, s0, 1.0))
    c = np.cumsum(d[::-1], axis=0)[::-1]
    info = np.einsum("nk,np,nq->kpq", w * c, X, X) - np.einsum("dkp,dkq->kpq", a, a)
    return loglik, grad, info


def cv_batched(data, penalties, f, n_folds, seed, tol=1e-11, max_iter=50):
    n, p = data.X.shape
    grid = np.sort(np.asarray(penalties, dtype=float))[::-1]
    folds = make_folds(data.event, n_folds, seed)
    M = (folds[None, :] != np.arange(n_folds)[:, None]).astype(float)  # (K, n) training rows
    K = n_folds
    B = np.zeros((K, p))
    cvpl = np.zeros(grid.size)
    eye = np.eye(p)
    for g, lam in enumerate(grid):
        pen = lam * f
        ll, grad, info = _fold_stats(data, M, B)
        obj = ll - 0.5 * np.sum(pen * B**2, axis=1)
        done = np.zeros(K, bool)
        for _ in range(max_iter):
            gg = grad - pen * B
            H = info + np.diag(pen)
            step = np.linalg.solve(H, gg[..., None])[..., 0]
            done |= 0.5 * np.einsum("kp,kp->k", gg, step) < tol
            if done.all():
                break
            step[done] = 0.0
            for _h in range(30):
                new = B + step
                n_ll, n_grad, n_info = _fold_stats(data, M, new)
                n_obj = n_ll - 0.5 * np.sum(pen * new**2, axis=1)
                worse = (n_obj < obj - 1e-12 * np.abs(obj)) & ~done
                if not worse.any():
                    break
                step[worse] /= 2
            B, ll, grad, info, obj = new, n_ll, n_grad, n_info, n_obj
        cvpl[g] = sum(_loglik(data, B[k]) - ll[k] for k in range(K))
    order = np.argsort(grid)
    return grid[order], cvpl[order], float(grid[int(np.argmax(cvpl))])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100, 400, 1600])
    ap.add_argument("--p", type=int, nargs="+", default=[1, 11])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    print(f"{'n':>6s} {'p':>3s} {'loop s':>8s} {'batch s':>8s} {'speed-up':>8s} {'max|dCVPL|':>11s} {'penalty differs':>15s}")
    for n in args.n:
        for p in args.p:
            rng = np.random.default_rng(args.seed)
            t_loop = t_batch = 0.0
            max_diff, differ = 0.0, 0
            for r in range(args.reps):
                X = rng.normal(size=(n, p))
                t_ev = rng.exponential(20 * np.exp(-0.4 * X[:, 0]))
                t_c = rng.uniform(0, 60, n)
                tt, e = np.round(np.minimum(t_ev, t_c), 1) + 0.1, (t_ev <= t_c).astype(float)
                data = _SortedCoxData(X, tt, e)
                f = _check_penalty(1.0, None, p)
                c0 = time.process_time()
                ref = cv_ridge_penalty(data, None, None, DEFAULT_PENALTIES, n_folds=10, seed=r)
                c1 = time.process_time()
                _, cvpl, best = cv_batched(data, DEFAULT_PENALTIES, f, 10, r)
                c2 = time.process_time()
                t_loop += c1 - c0
                t_batch += c2 - c1
                max_diff = max(max_diff, float(np.max(np.abs(cvpl - ref.cvpl))))
                differ += best != ref.best_penalty
            print(f"{n:6d} {p:3d} {t_loop:8.2f} {t_batch:8.2f} {t_loop / t_batch:8.2f} {max_diff:11.2e} "
                  f"{differ:>8d} / {args.reps}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
