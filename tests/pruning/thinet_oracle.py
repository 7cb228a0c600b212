"""The greedy ThiNet selection written the slow, obvious way: the objective evaluated from
scratch for every candidate. The oracle the vectorised kerastego.pruning.criteria.
thinet_removal_order is tested (and, in benchmarks/calpa.py, timed) against."""
import numpy as np


def thinet_removal_order_naive(x, count=None):
    """Channels in the order greedy ThiNet removes them (count of them; all by default)."""
    x = np.asarray(x, dtype=np.float64)
    c = x.shape[1]
    count = c if count is None else count
    removed = []
    for _ in range(count):
        best, best_val = None, np.inf
        for j in range(c):
            if j in removed:
                continue
            val = float(np.sum(np.sum(x[:, removed + [j]], axis=1) ** 2))
            if val < best_val:
                best, best_val = j, val
        removed.append(best)
    return removed
