"""The GPU check: training and inference images/s of hybrid-type1, SRNet and CALPA-SRNet
in float32 and bfloat16 (first stage float32) on the Keras JAX backend, with no TensorFlow.

    KERAS_BACKEND=jax python benchmarks/gpu_check.py            # 256x256, batch 64: the check
    KERAS_BACKEND=jax python benchmarks/gpu_check.py --size 32 --batch 4 --steps 2 --matmul_size 256

It prints one row per model and precision and writes benchmarks/results/gpu_check.json:
stateless-API rates on a device-resident batch (the model's own speed), the model.fit rate
on pair batches from the host (kerastego.training.native), each row's share of the
device's measured bf16 matmul peak (3 x the forward multiply-adds, 2 flops each),
CALPA-SRNet's speed-up over SRNet, the JAX/CUDA/cuDNN versions and the goals. BUILD.md
says how to carry keras to a machine that has JAX but no Keras.
"""
import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save  # noqa: E402

MODELS = ("hybrid-type1", "srnet", "calpa-srnet")
PRECISIONS = ("off", "bfloat16")
GOALS = {"srnet_bf16_train_images_per_s": 4000, "calpa_srnet_over_srnet_inference": 2.5}


def jax_machine():
    """The device and the versions of JAX, jaxlib, Keras and (on a GPU) CUDA and cuDNN."""
    import jax
    import jaxlib
    import keras
    device = jax.devices()[0]
    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "device": device.device_kind,
            "device_platform": device.platform, "devices": jax.device_count(), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "keras": keras.__version__, "keras_backend": keras.backend.backend()}
    try:
        from jax._src.lib import cuda_versions
        info["cuda_runtime"] = cuda_versions.cuda_runtime_get_version()
        info["cudnn"] = cuda_versions.cudnn_get_version()
    except (ImportError, AttributeError, RuntimeError):   # a CPU-only jaxlib has no CUDA to name
        pass
    return info


def significant(value, digits=3):
    """`value` to `digits` significant figures, so a small CPU's matmul peak (a few
    GFLOP/s) stays non-zero: the rows' peak shares divide by it."""
    return float(f"{value:.{digits}g}")


def measure(name, precision, args, peak_tflops):
    import keras
    from kerastego.jobs.jax_timing import fit_rate, model_rates
    from kerastego.models import build_model, count_flops
    model = build_model(name, (args.size, args.size, 1), input_kind="coefficients", mixed_precision=precision)
    train, infer = model_rates(model, args.batch, args.steps)
    fit = fit_rate(model, args.batch, args.fit_steps) if args.fit_steps else None
    macs = count_flops(model)
    keras.backend.clear_session()
    row = {"model": name, "size": args.size, "batch": args.batch, "mixed_precision": precision,
           "train_images_per_s": round(train, 1), "infer_images_per_s": round(infer, 1),
           "fit_images_per_s": fit and round(fit, 1), "conv_macs_per_image": macs,
           "train_share_of_bf16_peak": round(3 * 2 * macs * train / 1e12 / peak_tflops, 4),
           "infer_share_of_bf16_peak": round(2 * macs * infer / 1e12 / peak_tflops, 4)}
    print(row, flush=True)
    return row


def summary(rows, on_gpu):
    """CALPA-SRNet's speed-up over SRNet per precision, and the goals (judged on a GPU only)."""
    by = {(r["model"], r["mixed_precision"]): r for r in rows}
    speedups = {p: {k: round(by["calpa-srnet", p][k] / by["srnet", p][k], 2)
                    for k in ("train_images_per_s", "infer_images_per_s")}
                for p in PRECISIONS if ("calpa-srnet", p) in by and ("srnet", p) in by}
    out = {"calpa_srnet_over_srnet": speedups}
    if on_gpu and ("srnet", "bfloat16") in by and "bfloat16" in speedups:
        got = {"srnet_bf16_train_images_per_s": by["srnet", "bfloat16"]["train_images_per_s"],
               "calpa_srnet_over_srnet_inference": speedups["bfloat16"]["infer_images_per_s"]}
        out["goals"] = {k: {"goal": GOALS[k], "measured": v, "met": v >= GOALS[k]} for k, v in got.items()}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--precisions", default=",".join(PRECISIONS), help="off (float32) and/or bfloat16")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30, help="timed steps (and inference calls) per row")
    ap.add_argument("--fit_steps", type=int, default=20, help="timed model.fit steps per row (0: no fit row)")
    ap.add_argument("--matmul_size", type=int, default=8192)
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/gpu_check.json)")
    args = ap.parse_args()
    import keras
    if keras.backend.backend() != "jax":
        raise SystemExit(f"gpu_check: runs on the JAX backend (KERAS_BACKEND=jax), not {keras.backend.backend()}")
    import jax.numpy as jnp
    from kerastego.jobs.jax_timing import matmul_tflops
    machine = jax_machine()
    peaks = {name: significant(matmul_tflops(args.matmul_size, dtype))
             for name, dtype in (("bfloat16", jnp.bfloat16), ("float32", jnp.float32))}
    print("machine:", machine, "matmul peak TFLOP/s:", peaks, flush=True)
    rows = [measure(name, precision, args, peaks["bfloat16"])
            for name in args.models.split(",") for precision in args.precisions.split(",")]
    results = {"matmul_peak_tflops": peaks, "rows": rows, **summary(rows, machine["device_platform"] == "gpu")}
    print(results.get("calpa_srnet_over_srnet"), results.get("goals"), flush=True)
    save("gpu_check", results, machine_info=machine, path=args.out)
    if "tensorflow" in sys.modules:
        raise SystemExit("gpu_check: TensorFlow was imported; the check must run without it")


if __name__ == "__main__":
    main()
