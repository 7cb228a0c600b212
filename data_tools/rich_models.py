"""Rich-model baselines: DCTR and GFR features with the FLD ensemble (sealwatch;
optional extra `baselines`, which pulls torch).

Why here and not in kerastego: torch and TensorFlow crash when loaded into one process
("LLVM ERROR: ... registered more than once"), and importing anything under kerastego
loads TensorFlow (the package registers its Keras layers). Feature workers and the
ensemble run in processes of their own that import this module, so it must stay
TensorFlow-free: it imports only numpy, sealwatch and data_tools.
"""
import functools
import hashlib
import multiprocessing as mp
import os
import time

import numpy as np

_GFR = {}


def gfr_fast(path, num_rotations=32, T=4, steps=(2, 4, 6, 8)):
    """sealwatch's GFR (original DDE variant, QF75 steps) with the per-image work vectorised:
    the 256 Gabor kernels are built once per process, and the 25 merged histograms of each
    filter output come from one bincount over (row mod 8, col mod 8, value) instead of 64
    np.histogram calls (2/3 of sealwatch's time here). Same numbers as
    sealwatch.gfr.extract_from_file(path, qf=75); every run checks that first."""
    import scipy.signal
    from sealwatch import dctr, tools
    from sealwatch.gfr import _gfr
    if "kernels" not in _GFR:
        rotations = np.arange(num_rotations) * np.pi / num_rotations
        _GFR["kernels"] = [(p, s, r, _gfr.compute_gabor_kernel(sigma, theta, phi, 0.5))
                           for p, phi in enumerate((0, np.pi / 2)) for s, sigma in enumerate((0.5, 0.75, 1, 1.25))
                           for r, theta in enumerate(rotations)]
        merged = dctr._dctr.get_symmetric_histogram_coordinates()
        m = np.zeros((len(merged), 64))
        for h, coords in enumerate(merged):
            for row, col in coords:
                m[h, row * 8 + col] = 1
        _GFR["merge"] = m
    img = tools.jpeg.decompress_from_file(path)
    merge = _GFR["merge"]
    inter = np.zeros((2, 4, num_rotations, len(merge), T + 1))
    pos = None
    for p, s, r, kernel in _GFR["kernels"]:
        q = np.abs(tools.matlab.round(scipy.signal.fftconvolve(img, kernel, mode="valid") / steps[s]))
        q = np.minimum(q, T).astype(np.int64)
        if pos is None:
            h, w = q.shape
            pos = ((np.arange(h) % 8)[:, None] * 8 + (np.arange(w) % 8)[None, :]) * (T + 1)
        counts = np.bincount((pos + q).ravel(), minlength=64 * (T + 1)).reshape(64, T + 1)
        sub = merge @ counts
        with np.errstate(invalid="ignore", divide="ignore"):
            inter[p, s, r] = sub / sub.sum(axis=1, keepdims=True)
    out = np.zeros((2, 4, num_rotations // 2 + 1, len(merge), T + 1))
    out[:, :, 0] = inter[:, :, 0]
    out[:, :, -1] = inter[:, :, num_rotations // 2]
    k = np.arange(1, num_rotations // 2)
    out[:, :, k] = (inter[:, :, k] + inter[:, :, -k]) / 2
    return out


def check_gfr_fast(paths):
    import sealwatch
    for path in paths:
        ref = np.asarray(sealwatch.gfr.extract_from_file(path, qf=75))
        np.testing.assert_allclose(gfr_fast(path), ref, rtol=1e-12, atol=1e-12, equal_nan=True,
                                   err_msg=f"gfr_fast differs from sealwatch on {path}")


def features(kind, path):
    import sealwatch
    if kind == "dctr":
        f = sealwatch.dctr.extract_from_file(path, qf=75)
    else:
        f = gfr_fast(path)
    if isinstance(f, dict):
        return np.concatenate([np.asarray(v, np.float32).ravel() for v in f.values()])
    return np.asarray(f, np.float32).ravel()


def feature_matrix(kind, paths, cache_dir, workers=None):
    """Features of `paths`, cached under a name derived from the path list, so the cover
    features computed for one algorithm are reused by the others."""
    digest = hashlib.sha1("\n".join(os.path.abspath(p) for p in paths).encode()).hexdigest()[:16]
    cache = os.path.join(cache_dir, f"features_{kind}_{digest}.npy")
    if os.path.exists(cache):
        return np.load(cache), cache
    from data_tools.parallel import run_local
    # isolate: sealwatch loads torch, which must not meet the caller's TensorFlow
    x = np.stack(list(run_local(functools.partial(features, kind), paths, workers, desc=f"{kind} features",
                                isolate=True,
                                ordered=True)))
    np.save(cache + ".tmp.npy", x)
    os.replace(cache + ".tmp.npy", cache)
    return x, cache


def _fld(paths, seed):
    """FLD ensemble fit and test scores; runs in its own process (torch, pulled in by
    sealwatch, and TensorFlow crash when loaded into one process here)."""
    from sealwatch.ensemble_classifier.fld_ensemble_trainer import FldEnsembleTrainer
    tc, ts, xc, xs = (np.load(p) for p in paths)
    ensemble, _ = FldEnsembleTrainer(tc, ts, seed=seed, verbose=0).train()
    return np.concatenate([ensemble.predict_confidence(xc), ensemble.predict_confidence(xs)])


def rich_model_scores(kind, train_pairs, test_pairs, cache_dir, seed=0, workers=None):
    """FLD ensemble on `kind` ("dctr" or "gfr") features: fit on the (cover, stego) path
    pairs of train_pairs, score test_pairs. Returns (stego scores in [0, 1] for the
    test covers then the test stegos, labels, seconds)."""
    t = time.time()
    if kind == "gfr":
        with mp.get_context("spawn").Pool(1) as pool:
            pool.apply(check_gfr_fast, ([train_pairs[0][0], train_pairs[0][1], test_pairs[-1][1]],))
    paths = [feature_matrix(kind, [pair[side] for pair in pairs], cache_dir, workers)[1]
             for pairs in (train_pairs, test_pairs) for side in (0, 1)]
    with mp.get_context("spawn").Pool(1) as pool:
        confidence = pool.apply(_fld, (paths, seed))
    labels = np.concatenate([np.zeros(len(test_pairs)), np.ones(len(test_pairs))])
    return (confidence + 1) / 2, labels, time.time() - t
