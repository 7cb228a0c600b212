"""Latency (p50/p95) and throughput of an exported SavedModel's serving_default
signature at batch 1 and 32, loaded as TF Serving would load it.

    python benchmarks/serving.py [--model hybrid-type1] [--size 256]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save, work_folder  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="hybrid-type1")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args()
    import tensorflow as tf
    from kerastego.export import export_savedmodel
    from kerastego.jobs.timing import signature_latency
    from kerastego.models import build_model
    m = build_model(args.model, input_shape=(args.size, args.size, 1), input_kind="coefficients")
    with work_folder() as work:
        path = export_savedmodel(m, work, "bench")
        fn = tf.saved_model.load(path).signatures["serving_default"]
        rows = []
        for batch in (1, 32):
            rows.append(signature_latency(fn, args.size, batch, args.calls if batch == 1 else max(5, args.calls // 4)))
            print(rows[-1], flush=True)
    save("serving", {"model": args.model, "size": args.size, "rows": rows})


if __name__ == "__main__":
    main()
