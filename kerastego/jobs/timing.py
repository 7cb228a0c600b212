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
    timing = matmul_timer(n, repeat, dtype)
    return [timing() for _ in range(trials)]


def matmul_timer(n=2048, repeat=10, dtype="float32"):
    """A function that times `repeat` n x n matmuls once and returns their GFLOP/s (traced
    and warmed up here). Timed right before and after a training window, it gives the
    matmul rate the machine had at that moment: on a shared host, the share of peak of
    that window is then measured against the same neighbours as the peak."""
    import tensorflow as tf
    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    f = tf.function(lambda: tf.matmul(a, b))
    f().numpy()

    def timing():
        t = time.perf_counter()
        for _ in range(repeat):
            r = f()
        r.numpy()
        return 2 * n ** 3 * repeat / (time.perf_counter() - t) / 1e9
    return timing


WARMUP_CALLS = 10


def bench_model(name, size, batch, train_steps, infer_steps, mixed_precision="off", jit_compile=False,
                windows=1, probe=None, warmup=WARMUP_CALLS, cpu_kernels=True):
    """Training and inference images/s of a registered model on random coefficients.
    Training is timed in `windows` windows of `train_steps` steps; with `probe` (a
    `matmul_timer`), the matmul rate is timed before the first window and after each, and
    every window records its rate and the two probes around it. cpu_kernels: time the
    model as the trainer runs it on CPUs (kerastego.kernels.cpu), where that applies.

    `warmup` untimed calls of each function come first, not one: the steps after the
    trace still fault in the host allocator's memory (hybrid-type1 at batch 16, 256x256,
    2-core CPU: thousands of page faults in half of steps 1-10, under 100 after), which
    can slow the first timed window (docs/decisions/0002-benchmark-warmup.md)."""
    from kerastego.kernels import cpu
    from kerastego.models import build_model, count_flops
    model = build_model(name, input_shape=(size, size, 1), input_kind="coefficients",
                        mixed_precision=mixed_precision)
    rewritten = cpu_kernels and cpu.wanted()
    model = cpu.rewrite(model) if rewritten else model
    train_step, infer = _step_functions(model, size, batch, jit_compile)
    warmup = max(1, warmup)   # at least the call that traces
    for fn in (train_step, infer):
        _seconds_per_call(fn, warmup)
    probes = [probe()] if probe else []
    window_s = []
    for _ in range(windows):
        window_s.append(_seconds_per_call(train_step, train_steps))
        probes += [probe()] if probe else []
    train_s = sum(window_s) / windows
    infer_s = _seconds_per_call(infer, infer_steps)
    flops = count_flops(model)  # multiply-accumulates per image (CALPA's |FLOPs|)

    def gflops(seconds, passes):   # 2 flops per MAC; training ~3 forward passes (forward + two backward convolutions)
        return round(passes * 2 * flops * batch / seconds / 1e9, 2)

    row = {"model": name, "size": size, "batch": batch, "mixed_precision": mixed_precision,
           "jit_compile": jit_compile, "warmup_calls": warmup, "cpu_kernels": rewritten,
           "train_images_per_s": round(batch / train_s, 2), "infer_images_per_s": round(batch / infer_s, 2),
           "conv_macs_per_image": flops,
           "train_gflops_per_s": gflops(train_s, 3), "infer_gflops_per_s": gflops(infer_s, 1)}
    if windows > 1 or probe:
        row["train_windows"] = [
            {"images_per_s": round(batch / s, 2), "train_gflops_per_s": gflops(s, 3),
             **({"probe_gflops_before_after": [round(probes[i], 1), round(probes[i + 1], 1)]} if probe else {})}
            for i, s in enumerate(window_s)]
    return row


def _step_functions(model, size, batch, jit_compile):
    """A plain training step (SGD with momentum, the model's losses added) and an
    inference call, as tf.functions over one fixed batch of random int16 coefficients."""
    import keras
    import tensorflow as tf
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

    return train_step, tf.function(lambda: model(x, training=False), jit_compile=jit_compile)


def _seconds_per_call(fn, calls):
    """Mean seconds per call of `calls` calls, reading the result back once at the end."""
    t = time.perf_counter()
    for _ in range(calls):
        out = fn()
    out.numpy()
    return (time.perf_counter() - t) / calls


def inference_rate(model, batch, steps, jit=False):
    """Images/s of a built model's inference on random images of its input size."""
    import tensorflow as tf
    _, h, w, c = model.input.shape
    x = tf.constant(np.random.default_rng(0).normal(100, 30, (batch, h, w, c)).astype(np.float32))
    f = tf.function(lambda: model(x, training=False), jit_compile=jit)
    f().numpy()
    return batch / _seconds_per_call(f, steps)


def pipeline_rate(pattern, size, batch_pairs, batches, input_kind):
    """Images/s the training input pipeline delivers (after three warm-up batches)."""
    from kerastego.data import make_dataset
    it = iter(make_dataset(pattern, batch_pairs, training=True, image_size=size, input_kind=input_kind, seed=0))
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
