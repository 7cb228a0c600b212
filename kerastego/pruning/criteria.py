"""Channel ranking criteria of CALPA-NET: ThiNet (greedy, on the next conv's
reconstruction) and l1-norm of filters. Each returns a *removal order*: the first
r channels are the ones to remove at rate r / K, so Algorithm 1 ranks once per layer."""
import numpy as np


def l1_removal_order(kernel):
    """Filters of a conv kernel (kh, kw, in, out), smallest l1-norm first."""
    norms = np.abs(np.asarray(kernel)).reshape(-1, kernel.shape[-1]).sum(axis=0)
    return [int(i) for i in np.argsort(norms, kind="stable")]


def thinet_contributions(activations, kernel, strides=1, padding="same", samples=1000, channels=None, seed=0):
    """x[t, j]: contribution of input channel j to sampled output t of the next conv.

    activations: (m, H, W, C) input of the next conv; kernel: its (kh, kw, C, out).
    Sampled outputs are (image, row, column, output channel) drawn uniformly.
    channels: the input-channel positions to score (default: all C).
    """
    a = np.asarray(activations, dtype=np.float32)
    w = np.asarray(kernel, dtype=np.float32)
    m, h, wd, c = a.shape
    kh, kw = w.shape[:2]
    s = int(strides if np.isscalar(strides) else strides[0])
    if padding == "same":
        oh, ow = -(-h // s), -(-wd // s)
        ph, pw = max((oh - 1) * s + kh - h, 0), max((ow - 1) * s + kw - wd, 0)
        a = np.pad(a, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)])
    else:
        oh, ow = (h - kh) // s + 1, (wd - kw) // s + 1
    rng = np.random.default_rng(seed)
    img = rng.integers(0, m, samples)
    ys, xs = rng.integers(0, oh, samples) * s, rng.integers(0, ow, samples) * s
    ks = rng.integers(0, w.shape[-1], samples)
    rows = ys[:, None] + np.arange(kh)[None, :]          # (n, kh)
    cols = xs[:, None] + np.arange(kw)[None, :]          # (n, kw)
    patches = a[img[:, None, None], rows[:, :, None], cols[:, None, :], :]   # (n, kh, kw, C)
    weights = np.moveaxis(w[..., ks], -1, 0)            # (n, kh, kw, C)
    x = np.einsum("nhwc,nhwc->nc", patches, weights)
    return x if channels is None else x[:, channels]


def thinet_removal_order(x, count=None):
    """Greedy ThiNet selection, vectorised: the removed set T grows one channel at a
    time, each time the channel minimising sum_t (sum_{j in T} x[t, j])^2.

    With s the running sum over T, the objective for candidate j is
    |s|^2 + 2 s.x_j + |x_j|^2, so one matrix-vector product scores every candidate.
    """
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    count = c if count is None else count
    sq = np.einsum("nc,nc->c", x, x)
    s = np.zeros(n)
    left = np.ones(c, bool)
    order = []
    for _ in range(count):
        score = 2.0 * (s @ x) + sq
        score[~left] = np.inf
        j = int(np.argmin(score))
        order.append(j)
        left[j] = False
        s += x[:, j]
    return order
