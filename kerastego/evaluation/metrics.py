"""Steganalysis detection metrics on stego scores (label 1 = stego, 0 = cover)."""
import numpy as np


def _check(scores, labels):
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(int).ravel()
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    if not (np.any(y == 0) and np.any(y == 1)):
        raise ValueError("metrics need both cover (0) and stego (1) samples")
    return s, y


def roc_curve(scores, labels):
    """(P_FA, P_D, thresholds) for 'stego if score >= t', from t = +inf down to -inf."""
    s, y = _check(scores, labels)
    thresholds = np.concatenate([[np.inf], np.unique(s)[::-1], [-np.inf]])
    covers, stegos = s[y == 0], s[y == 1]
    cs, ss = np.sort(covers), np.sort(stegos)
    pfa = 1.0 - np.searchsorted(cs, thresholds, side="left") / cs.size
    pd = 1.0 - np.searchsorted(ss, thresholds, side="left") / ss.size
    return pfa, pd, thresholds


def accuracy(scores, labels, threshold=0.5):
    s, y = _check(scores, labels)
    return float(np.mean((s >= threshold) == (y == 1)))


def p_e(scores, labels):
    """min over thresholds of (P_FA + P_MD) / 2."""
    pfa, pd, _ = roc_curve(scores, labels)
    return float(np.min((pfa + (1.0 - pd)) / 2.0))


def best_threshold(scores, labels):
    """The threshold (stego if score >= t) reaching P_E; pick it on validation data and
    apply it to test data, since a model's 0.5 point can drift with BatchNorm statistics."""
    pfa, pd, thresholds = roc_curve(scores, labels)
    i = int(np.argmin((pfa + (1.0 - pd)) / 2.0))
    return float(np.clip(thresholds[i], -1e30, 1e30))


def pfa_at_pd(scores, labels, pd_target):
    """Smallest false-alarm rate among thresholds that detect at least pd_target of stegos."""
    pfa, pd, _ = roc_curve(scores, labels)
    ok = pd >= pd_target - 1e-12
    return float(np.min(pfa[ok]))


def roc_auc(scores, labels):
    """Area under the ROC curve (ties count one half)."""
    s, y = _check(scores, labels)
    pos, neg = s[y == 1], s[y == 0]
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(order.size)
    allv = np.concatenate([pos, neg])[order]
    # average ranks over ties
    i = 0
    r = np.arange(1, allv.size + 1, dtype=np.float64)
    while i < allv.size:
        j = i
        while j + 1 < allv.size and allv[j + 1] == allv[i]:
            j += 1
        r[i:j + 1] = (i + j + 2) / 2.0
        i = j + 1
    ranks[order] = r
    return float((ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2.0) / (pos.size * neg.size))


def summarize(scores, labels, threshold=None):
    """The measures the papers report, as a dict; with `threshold` (e.g. chosen on
    validation data) also the accuracy at that threshold."""
    out = {
        "n": int(np.asarray(labels).size),
        "accuracy": accuracy(scores, labels),
        "p_e": p_e(scores, labels),
        "pfa_at_pd30": pfa_at_pd(scores, labels, 0.3),
        "pfa_at_pd50": pfa_at_pd(scores, labels, 0.5),
        "pfa_at_pd70": pfa_at_pd(scores, labels, 0.7),
        "auc": roc_auc(scores, labels),
    }
    if threshold is not None:
        out["threshold"] = float(threshold)
        out["accuracy_at_threshold"] = accuracy(scores, labels, threshold)
    return out
