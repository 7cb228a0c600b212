"""CALPA-NET costs: vectorised vs naive (per-candidate) greedy ThiNet selection, and
inference images/s of CALPA-SRNet (published rates) vs SRNet.

    python benchmarks/calpa.py [--size 256] [--batch 16]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save  # noqa: E402
from kerastego.jobs.timing import inference_rate  # noqa: E402


def thinet_timing(samples, channels):
    from kerastego.pruning.criteria import thinet_removal_order
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "pruning"))
    from thinet_oracle import thinet_removal_order_naive
    x = np.random.default_rng(0).normal(size=(samples, channels))
    t = time.perf_counter()
    fast = thinet_removal_order(x)
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    slow = thinet_removal_order_naive(x)
    t_slow = time.perf_counter() - t
    assert fast == slow
    return {"samples": samples, "channels": channels, "vectorised_s": round(t_fast, 4), "naive_s": round(t_slow, 3),
            "speedup": round(t_slow / t_fast, 1)}


# SRNet's stages: L1-L2 (full resolution, never pruned by the published rates),
# L3-L7 (full resolution, 16 channels, lightly pruned), L8-L12 (pooled, wide, pruned hard).
STAGE_ENDS = (("L1-L2", "L2_conv_relu"), ("L3-L7", "L7_add"), ("L8-L12", None))


def stage_breakdown(models, batch, steps):
    """Per-stage milliseconds per image and |FLOPs| of SRNet and CALPA-SRNet, and the speed-up
    CALPA-SRNet would reach here if every stage's time scaled with its FLOPs."""
    import keras
    from kerastego.models import count_flops
    out = {}
    for name, m in models.items():
        prev_ms, prev_flops, stages = 0.0, 0, {}
        for stage, end in STAGE_ENDS:
            sub = m if end is None else keras.Model(m.input, m.get_layer(end).output)
            ms = 1000.0 / inference_rate(sub, batch, steps)
            flops = count_flops(sub)
            stages[stage] = {"ms_per_image": round(ms - prev_ms, 1), "flops": flops - prev_flops}
            prev_ms, prev_flops = ms, flops
        out[name] = stages
    s, c = out["srnet"], out["calpa-srnet"]
    scaled = sum(s[k]["ms_per_image"] * c[k]["flops"] / s[k]["flops"] for k in s)
    out["flops_proportional_speedup"] = round(sum(v["ms_per_image"] for v in s.values()) / scaled, 2)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args()
    thinet = [thinet_timing(2000, c) for c in (16, 64, 128)]
    for r in thinet:
        print(r, flush=True)
    from kerastego.models import build_model
    from kerastego.models import count_conv_params, count_flops
    models = {name: build_model(name, input_shape=(args.size, args.size, 1), input_kind="spatial")
              for name in ("srnet", "calpa-srnet")}
    s, c = models["srnet"], models["calpa-srnet"]
    srnet, calpa = inference_rate(s, args.batch, args.steps), inference_rate(c, args.batch, args.steps)
    srnet_xla, calpa_xla = (inference_rate(m, args.batch, args.steps, jit=True) for m in (s, c))
    stages = stage_breakdown(models, args.batch, args.steps)
    print(json.dumps(stages), flush=True)
    res = {"thinet": thinet, "size": args.size, "batch": args.batch,
           "srnet_infer_images_per_s": round(srnet, 2), "calpa_srnet_infer_images_per_s": round(calpa, 2),
           "speedup": round(calpa / srnet, 2),
           "xla": {"srnet_infer_images_per_s": round(srnet_xla, 2),
                   "calpa_srnet_infer_images_per_s": round(calpa_xla, 2),
                   "speedup": round(calpa_xla / srnet_xla, 2)},
           "stages": stages,
           "srnet_conv_params": count_conv_params(s), "calpa_srnet_conv_params": count_conv_params(c),
           "flops_ratio": round(count_flops(c) / count_flops(s), 3)}
    print(res)
    save("calpa", res)


if __name__ == "__main__":
    main()
