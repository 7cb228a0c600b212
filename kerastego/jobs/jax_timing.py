"""Timing loops on the JAX backend (no TensorFlow): the device's matmul peak, and a
model's training and inference images/s, by Keras' stateless API under jax.jit, and
end to end through model.fit on pair batches (kerastego.training.native).

Every loop compiles and warms up first and waits for the device once at the end, so
dispatch is not counted per call.
"""
import time

import numpy as np


def _block(tree):
    import jax
    return jax.block_until_ready(tree)


def matmul_tflops(n, dtype, repeat=10, trials=5):
    """The best of `trials` timings of `repeat` n x n matmuls, in TFLOP/s."""
    import jax
    import jax.numpy as jnp
    keys = jax.random.split(jax.random.PRNGKey(0))
    a, b = (jax.random.normal(k, (n, n), jnp.float32).astype(dtype) for k in keys)
    f = jax.jit(lambda a, b: a @ b)
    _block(f(a, b))
    best = 0.0
    for _ in range(trials):
        t = time.perf_counter()
        for _ in range(repeat):
            out = f(a, b)
        _block(out)
        best = max(best, 2 * n ** 3 * repeat / (time.perf_counter() - t) / 1e12)
    return best


def random_coefficients(batch, size, seed=0):
    """A model input of random int16 coefficients and a flat QF~75 table."""
    rng = np.random.default_rng(seed)
    return {"coefficients": rng.integers(-8, 9, (batch, size, size)).astype(np.int16),
            "quant_table": np.full((batch, 8, 8), 4.0, np.float32)}


def stateless_steps(model, learning_rate=1e-3):
    """(state, train_step, infer) for `model` under jax.jit: train_step(state, x, y) ->
    (loss, state) is one SGD-with-momentum step with the model's own losses added;
    infer(state, x) -> probabilities."""
    import jax
    import keras
    optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def loss_and_frozen(trainable, frozen, x, y):
        p, frozen, losses = model.stateless_call(trainable, frozen, x, training=True, return_losses=True)
        return loss_fn(y, p) + sum(losses), frozen

    gradient = jax.value_and_grad(loss_and_frozen, has_aux=True)

    @jax.jit
    def train_step(state, x, y):
        trainable, frozen, slots = state
        (loss, frozen), grads = gradient(trainable, frozen, x, y)
        trainable, slots = optimizer.stateless_apply(slots, grads, trainable)
        return loss, (trainable, frozen, slots)

    @jax.jit
    def infer(state, x):
        return model.stateless_call(state[0], state[1], x, training=False)[0]

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    return state, train_step, infer


def model_rates(model, batch, steps, warmup=3):
    """Training and inference images/s of `model` on one device-resident batch."""
    import jax
    size = int(model.inputs[0].shape[1])
    x = jax.device_put(random_coefficients(batch, size))
    y = jax.device_put(np.tile(np.array([0, 1], np.int32), batch // 2))
    state, train_step, infer = stateless_steps(model)
    for _ in range(warmup):
        loss, state = train_step(state, x, y)
        _block(infer(state, x))
    _block(loss)
    t = time.perf_counter()
    for _ in range(steps):
        loss, state = train_step(state, x, y)
    _block(loss)
    train_s = (time.perf_counter() - t) / steps
    t = time.perf_counter()
    for _ in range(steps):
        p = infer(state, x)
    _block(p)
    infer_s = (time.perf_counter() - t) / steps
    if not np.isfinite(float(loss)):
        raise FloatingPointError(f"{model.name}: training loss {float(loss)} is not finite")
    return batch / train_s, batch / infer_s


def fit_rate(model, batch, steps):
    """Images/s of model.fit on pair batches of random coefficients (host to device
    every step, as real training), after one compiling epoch."""
    from kerastego.training.native import PairBatches, fit_pairs
    size = int(model.inputs[0].shape[1])
    pairs = batch // 2
    covers, stegos = random_coefficients(pairs, size, 1), random_coefficients(pairs, size, 2)
    batches = PairBatches(covers, stegos, pairs, seed=0)
    fit_pairs(model, batches, epochs=1, steps_per_epoch=1, jit_compile=True)
    t = time.perf_counter()
    model.fit(batches, epochs=steps, verbose=0)
    return batch * steps / (time.perf_counter() - t)
