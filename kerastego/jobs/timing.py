"""Timing loops the benchmarks share: the machine's matmul peak, a model's training and
inference images/s, and a built model's inference rate. Every loop warms up (traces)
first and reads the result back once at the end, so host waits are not counted per call.
"""
import time

import numpy as np


def matmul_rates_gflops(n=2048, repeat=10, dtype="float32", trials=5):
    """GFLOP/s of `trials` timings of `repeat` n x n matmuls each, in order. The peak is
    the best of them: what the machine can do; on a shared machine one timing can land
    on a busy moment (one such run measured 409.5 against 465 in the runs around it,
    and put SRNet above 100%)."""
    import tensorflow as tf
    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    f = tf.function(lambda: tf.matmul(a, b))
    f().numpy()
    rates = []
    for _ in range(trials):
        t = time.perf_counter()
        for _ in range(repeat):
            r = f()
        r.numpy()
        rates.append(2 * n ** 3 * repeat / (time.perf_counter() - t) / 1e9)
    return rates


def bench_model(name, size, batch, train_steps, infer_steps, mixed_precision="off", jit_compile=False):
    import keras
    import tensorflow as tf
    from kerastego.models import build_model, count_flops
    model = build_model(name, input_shape=(size, size, 1), input_kind="coefficients",
                        mixed_precision=mixed_precision)
    rng = np.random.default_rng(0)
    x = {"coefficients": tf.constant(rng.integers(-8, 9, (batch, size, size)).astype(np.int16)),
         "quant_table": tf.constant(np.full((batch, 8, 8), 4.0, np.float32))}
    y = tf.constant(np.tile([0, 1], batch // 2))
    opt = keras.optimizers.SGD(1e-3, momentum=0.9)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function(jit_compile=jit_compile)
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
            if model.losses:
                loss += tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    infer = tf.function(lambda: model(x, training=False), jit_compile=jit_compile)
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
    return {"model": name, "size": size, "batch": batch, "mixed_precision": mixed_precision,
            "jit_compile": jit_compile,
            "train_images_per_s": round(batch / train_s, 2), "infer_images_per_s": round(batch / infer_s, 2),
            "conv_macs_per_image": flops,
            # 2 flops per MAC; training ~3x the forward pass (forward + two backward convolutions)
            "train_gflops_per_s": round(3 * 2 * flops * batch / train_s / 1e9, 2),
            "infer_gflops_per_s": round(2 * flops * batch / infer_s / 1e9, 2)}


def inference_rate(model, batch, steps, jit=False):
    """Images/s of a built model's inference on random images of its input size."""
    import tensorflow as tf
    _, h, w, c = model.input.shape
    x = tf.constant(np.random.default_rng(0).normal(100, 30, (batch, h, w, c)).astype(np.float32))
    f = tf.function(lambda: model(x, training=False), jit_compile=jit)
    f().numpy()
    t = time.perf_counter()
    for _ in range(steps):
        out = f()
    out.numpy()
    return batch * steps / (time.perf_counter() - t)


def pipeline_rate(pattern, size, batch_pairs, batches, output):
    """Images/s the training input pipeline delivers (after three warm-up batches)."""
    from kerastego.data import make_dataset
    it = iter(make_dataset(pattern, batch_pairs, training=True, image_size=size, output=output, seed=0))
    for _ in range(3):
        next(it)
    t = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * 2 * batch_pairs / (time.perf_counter() - t)


def jpeg_rate(paths):
    """Images/s of a naive loader: one file at a time, coefficients read and decompressed in numpy."""
    from kerastego.jpeg_io import read_coefficients
    from kerastego.layers import decompress_numpy
    t = time.perf_counter()
    for path in paths:
        c, q, _ = read_coefficients(path)
        decompress_numpy(c, q)
    return len(paths) / (time.perf_counter() - t)


def signature_latency(fn, size, batch, calls, seed=0):
    """p50/p95 milliseconds and images/s of a serving_default signature on random coefficients."""
    import tensorflow as tf
    rng = np.random.default_rng(seed)
    c = tf.constant(rng.integers(-8, 9, (batch, size, size)).astype(np.int16))
    q = tf.constant(np.full((batch, 8, 8), 4.0, np.float32))
    for _ in range(3):
        fn(coefficients=c, quant_table=q)["probability"].numpy()
    lat = []
    for _ in range(calls):
        t = time.perf_counter()
        fn(coefficients=c, quant_table=q)["probability"].numpy()
        lat.append(time.perf_counter() - t)
    lat = np.array(lat) * 1000
    return {"batch": batch, "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "images_per_s": round(batch / (np.mean(lat) / 1000), 1)}
