"""Latency (p50/p95) and throughput of an exported SavedModel's serving_default
signature at batch 1 and 32, loaded as TF Serving would load it.

    python benchmarks/serving.py [--model hybrid-type1] [--size 256]
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import save  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="hybrid-type1")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args()
    import tensorflow as tf
    from kerastego.export import export_savedmodel
    from kerastego.models import build_model
    m = build_model(args.model, input_shape=(args.size, args.size, 1), input_kind="coefficients")
    path = export_savedmodel(m, tempfile.mkdtemp(), "bench")
    fn = tf.saved_model.load(path).signatures["serving_default"]
    rng = np.random.default_rng(0)
    rows = []
    for batch in (1, 32):
        c = tf.constant(rng.integers(-8, 9, (batch, args.size, args.size)).astype(np.int16))
        q = tf.constant(np.full((batch, 8, 8), 4.0, np.float32))
        for _ in range(3):
            fn(coefficients=c, quant_table=q)["probability"].numpy()
        lat = []
        for _ in range(args.calls if batch == 1 else max(5, args.calls // 4)):
            t = time.perf_counter()
            fn(coefficients=c, quant_table=q)["probability"].numpy()
            lat.append(time.perf_counter() - t)
        lat = np.array(lat) * 1000
        rows.append({"batch": batch, "p50_ms": round(float(np.percentile(lat, 50)), 2),
                     "p95_ms": round(float(np.percentile(lat, 95)), 2),
                     "images_per_s": round(batch / (np.mean(lat) / 1000), 1)})
        print(rows[-1], flush=True)
    save("serving", {"model": args.model, "size": args.size, "rows": rows})


if __name__ == "__main__":
    main()
