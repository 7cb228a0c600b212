"""Training and inference images/s of hybrid Type1, SRNet and XuNet2, and achieved
GFLOP/s against this machine's measured float32 matmul peak.

    python benchmarks/train.py [--sizes 64,256] [--models hybrid-type1,srnet,xunet2]

Synthetic random coefficients stand in for data (speed does not depend on content);
the model takes int16 coefficients and decompresses in-graph, as in real use.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save  # noqa: E402
from kerastego.jobs.timing import bench_model, matmul_peak_gflops  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="hybrid-type1,srnet,xunet2")
    ap.add_argument("--sizes", default="64,256")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--train_steps", type=int, default=5)
    ap.add_argument("--infer_steps", type=int, default=5)
    ap.add_argument("--name", default="train")
    ap.add_argument("--mixed_precision", default="off", choices=["off", "bfloat16", "float16"])
    ap.add_argument("--jit_compile", action="store_true")
    args = ap.parse_args()
    # the peak in the precision the models compute in (bfloat16 matmuls under bfloat16)
    peak = matmul_peak_gflops(dtype="float32" if args.mixed_precision == "off" else args.mixed_precision)
    rows = []
    for size in map(int, args.sizes.split(",")):
        for name in args.models.split(","):
            r = bench_model(name, size, args.batch, args.train_steps, args.infer_steps, args.mixed_precision,
                            args.jit_compile)
            r["train_fraction_of_matmul_peak"] = round(r["train_gflops_per_s"] / peak, 3)
            print(r, flush=True)
            rows.append(r)
    save(args.name, {"matmul_peak_gflops": round(peak, 1), "peak_dtype": "float32" if args.mixed_precision == "off"
                     else args.mixed_precision, "rows": rows})


if __name__ == "__main__":
    main()
