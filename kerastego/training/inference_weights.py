"""The weights a model is validated and saved with: optionally the optimizer's moving
average of the weights, and BatchNorm statistics re-estimated over fixed training
batches. Both are swapped in for the duration and swapped back, so training goes
on exactly as without validations."""
import contextlib

import keras


@contextlib.contextmanager
def averaged_weights(model, optimizer):
    """Swap the optimizer's moving average of the weights into the model for the
    duration (validation, saving), then put the trained weights back. Why: with a
    small noisy batch the decision threshold of single SGD iterates drifts from one
    validation to the next; the average drifts far less. No-op without EMA."""
    if not getattr(optimizer, "use_ema", False):
        yield
        return
    weights = model.trainable_variables
    saved = [w.numpy() for w in weights]
    optimizer._overwrite_model_variables_with_average_value(weights)   # Keras' own swap (as fit's end)
    try:
        yield
    finally:
        for w, value in zip(weights, saved):
            w.assign(value)


@contextlib.contextmanager
def precise_bn(model, batches):
    """Re-estimate every BatchNorm layer's moving mean and variance as the plain
    average over `batches` (training-mode forward passes, no weight change) for the
    duration, then put the running statistics back so training goes on unchanged.
    Why: with momentum 0.95 the moving statistics follow the last ~20 small
    batches; the stego signal is a small shift, so the decision at 0.5 drifts from
    one checkpoint to the next (measured: held-out accuracy 0.51-0.67 across three
    checkpoints of one run, 0.62-0.63 with precise statistics; BUILD.md)."""
    bns = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    if not batches or not bns:
        yield
        return
    saved = [(bn.moving_mean.numpy(), bn.moving_variance.numpy(), bn.momentum) for bn in bns]
    try:
        for k, x in enumerate(batches()):
            for bn in bns:
                bn.momentum = k / (k + 1.0)       # running plain average of the batch statistics
            model(x, training=True)
        for bn, (_, _, momentum) in zip(bns, saved):
            bn.momentum = momentum
        yield
    finally:
        for bn, (mean, var, momentum) in zip(bns, saved):
            bn.moving_mean.assign(mean)
            bn.moving_variance.assign(var)
            bn.momentum = momentum


def inference_weights(model, optimizer, bn_batches=None):
    """Context: the weights as validated and saved (moving average when the optimizer
    keeps one, re-estimated BatchNorm statistics when bn_batches is given)."""
    stack = contextlib.ExitStack()
    stack.enter_context(averaged_weights(model, optimizer))
    stack.enter_context(precise_bn(model, bn_batches))
    return stack
