"""A steady neighbour on one core, to see how a shared host weighs on a benchmark:

    python benchmarks/neighbour.py memory 75 &
    python benchmarks/train.py --models hybrid-type1 --configs off --windows 5 --paired

`memory` streams two 256 MB arrays back and forth (bandwidth-bound); `matmul` multiplies
1024 x 1024 matrices on one BLAS thread (compute-bound). With `--paired`, the share of
peak of each training window is measured against the matmul rate the neighbour left.
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import numpy as np  # noqa: E402


def main():
    kind, seconds = sys.argv[1], float(sys.argv[2])
    if kind not in ("memory", "matmul"):
        raise SystemExit(f"neighbour: kind must be memory or matmul, got {kind!r}")
    a, b = np.ones(32 * 2 ** 20), np.zeros(32 * 2 ** 20)
    m = np.random.default_rng(0).random((1024, 1024))
    end = time.time() + seconds
    while time.time() < end:
        if kind == "memory":
            np.copyto(b, a)
            np.copyto(a, b)
        else:
            m @ m


if __name__ == "__main__":
    main()
