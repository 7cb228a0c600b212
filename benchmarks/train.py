"""Training and inference images/s of the detectors under float32, bfloat16 and XLA, and
achieved GFLOP/s against this machine's measured matmul peak.

    python benchmarks/train.py [--sizes 256] [--models hybrid-type1,srnet,calpa-srnet]
                               [--configs off,bfloat16,off+xla,bfloat16+xla] [--batch 32]
                               [--windows 5 --paired]
    python benchmarks/train.py --mixed_precision bfloat16 --jit_compile   # one configuration

Every configuration is measured in one run, so their ratios compare on a shared machine.
Under TensorFlow on CPUs the models run as the trainer runs them, with the CPU kernels
(kerastego.kernels.cpu); `--stock` times the stock layers instead.
Synthetic random coefficients stand in for data (speed does not depend on content); the
model takes int16 coefficients and decompresses in-graph, as in real use. The share of
peak is against the float32 matmul peak (the issue's CPU measure) and against the peak in
the configuration's own precision (the GPU measure: bfloat16 tensor cores).

On a shared host the peak (the best of five timings) may catch a quiet moment that the
longer training run does not. `--paired` times the float32 matmul rate before and after
each of `--windows` training windows, and gives each window's share against the mean of
the two probes around it: both sides measured against the same neighbours.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save  # noqa: E402
from kerastego.conventions import MIXED_PRECISION  # noqa: E402
from kerastego.jobs.timing import WARMUP_CALLS, bench_model, matmul_rates_gflops, matmul_timer  # noqa: E402


def parse_config(text):
    """"bfloat16+xla" -> ("bfloat16", True)."""
    precision, _, xla = text.partition("+")
    if precision not in MIXED_PRECISION or xla not in ("", "xla"):
        raise SystemExit(f"--configs: {text!r} is not <{'|'.join(MIXED_PRECISION)}>[+xla]")
    return precision, xla == "xla"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="hybrid-type1,srnet,calpa-srnet")
    ap.add_argument("--sizes", default="256")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--train_steps", type=int, default=5)
    ap.add_argument("--infer_steps", type=int, default=5)
    ap.add_argument("--configs", default="off,bfloat16,off+xla,bfloat16+xla")
    ap.add_argument("--mixed_precision", choices=MIXED_PRECISION, help="one precision instead of --configs")
    ap.add_argument("--jit_compile", action="store_true", help="with --mixed_precision (off by default): XLA")
    ap.add_argument("--windows", type=int, default=1, help="training windows of --train_steps steps")
    ap.add_argument("--paired", action="store_true", help="time the float32 matmul rate around each window")
    ap.add_argument("--warmup", type=int, default=WARMUP_CALLS,
                    help="untimed training steps (and inference calls) before the timed ones")
    ap.add_argument("--stock", action="store_true", help="time the stock layers, not the CPU kernels")
    ap.add_argument("--name", default="train")
    args = ap.parse_args()
    configs = [parse_config(c) for c in args.configs.split(",")]
    if args.mixed_precision or args.jit_compile:   # the trainer's own flags name one configuration
        configs = [(args.mixed_precision or "off", args.jit_compile)]
    precisions = sorted({"off"} | {c[0] for c in configs})
    timings = {p: [round(r, 1) for r in matmul_rates_gflops(dtype="float32" if p == "off" else p)]
               for p in precisions}
    peaks = {p: max(rates) for p, rates in timings.items()}   # the best timing: see matmul_rates_gflops
    print("matmul peak GFLOP/s:", peaks, "timings:", timings, flush=True)
    rows = []
    for size in map(int, args.sizes.split(",")):
        for name in args.models.split(","):
            for precision, xla in configs:
                r = bench_model(name, size, args.batch, args.train_steps, args.infer_steps, precision, xla,
                                args.windows, matmul_timer() if args.paired else None, args.warmup,
                                cpu_kernels=not args.stock)
                r["train_fraction_of_fp32_peak"] = round(r["train_gflops_per_s"] / peaks["off"], 3)
                r["train_fraction_of_matmul_peak"] = round(r["train_gflops_per_s"] / peaks[precision], 3)
                for w in r.get("train_windows", []) if args.paired else []:
                    w["fraction_of_paired_fp32_rate"] = round(
                        w["train_gflops_per_s"] / (sum(w["probe_gflops_before_after"]) / 2), 3)
                print(r, flush=True)
                rows.append(r)   # saved after every row: a crash (see BUILD.md on oneDNN) keeps the others
                save(args.name, {"matmul_peak_gflops": peaks, "matmul_timings_gflops": timings, "rows": rows})


if __name__ == "__main__":
    main()
