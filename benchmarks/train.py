"""Training and inference images/s of hybrid Type1, SRNet and XuNet2, and achieved
GFLOP/s against this machine's measured float32 matmul peak.

    python benchmarks/train.py [--sizes 64,256] [--models hybrid-type1,srnet,xunet2]

Synthetic random coefficients stand in for data (speed does not depend on content);
the model takes int16 coefficients and decompresses in-graph, as in real use.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import save  # noqa: E402


def matmul_peak_gflops(n=2048, repeat=10):
    import tensorflow as tf
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda: tf.matmul(a, b))
    f().numpy()
    t = time.perf_counter()
    for _ in range(repeat):
        r = f()
    r.numpy()
    return 2 * n ** 3 * repeat / (time.perf_counter() - t) / 1e9


def bench_model(name, size, batch, train_steps, infer_steps):
    import keras
    import tensorflow as tf
    from kerastego.models import build_model
    from kerastego.models import count_flops
    model = build_model(name, input_shape=(size, size, 1), input_kind="coefficients")
    rng = np.random.default_rng(0)
    x = {"coefficients": tf.constant(rng.integers(-8, 9, (batch, size, size)).astype(np.int16)),
         "quant_table": tf.constant(np.full((batch, 8, 8), 4.0, np.float32))}
    y = tf.constant(np.tile([0, 1], batch // 2))
    opt = keras.optimizers.SGD(1e-3, momentum=0.9)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
            if model.losses:
                loss += tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    infer = tf.function(lambda: model(x, training=False))
    train_step().numpy()
    infer().numpy()
    t = time.perf_counter()
    for _ in range(train_steps):
        loss = train_step()
    loss.numpy()
    train_s = (time.perf_counter() - t) / train_steps
    t = time.perf_counter()
    for _ in range(infer_steps):
        out = infer()
    out.numpy()
    infer_s = (time.perf_counter() - t) / infer_steps
    flops = count_flops(model)  # multiply-accumulates per image (CALPA's |FLOPs|)
    return {"model": name, "size": size, "batch": batch,
            "train_images_per_s": round(batch / train_s, 2), "infer_images_per_s": round(batch / infer_s, 2),
            "conv_macs_per_image": flops,
            # 2 flops per MAC; training ~3x the forward pass (forward + two backward convolutions)
            "train_gflops_per_s": round(3 * 2 * flops * batch / train_s / 1e9, 2),
            "infer_gflops_per_s": round(2 * flops * batch / infer_s / 1e9, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="hybrid-type1,srnet,xunet2")
    ap.add_argument("--sizes", default="64,256")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--train_steps", type=int, default=5)
    ap.add_argument("--infer_steps", type=int, default=5)
    ap.add_argument("--name", default="train")
    args = ap.parse_args()
    peak = matmul_peak_gflops()
    rows = []
    for size in map(int, args.sizes.split(",")):
        for name in args.models.split(","):
            r = bench_model(name, size, args.batch, args.train_steps, args.infer_steps)
            r["train_fraction_of_matmul_peak"] = round(r["train_gflops_per_s"] / peak, 3)
            print(r, flush=True)
            rows.append(r)
    save(args.name, {"matmul_peak_gflops": round(peak, 1), "rows": rows})


if __name__ == "__main__":
    main()
