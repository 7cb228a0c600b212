"""Unstructured magnitude pruning with tensorflow-model-optimization, for comparison
with CALPA's real shrinking. tfmot only works with legacy tf-keras and sets
TF_USE_LEGACY_KERAS=1 for the whole process when imported, so this module is run
only by bin/tfmot_baseline in a process of its own and is never imported by the
rest of the package.

The Keras 3 model is rebuilt layer by layer in tf-keras (standard layers only:
the spatial-input SRNet family) and its weights moved with get/set_weights.
"""
import json
import time

import numpy as np

from kerastego.fileio import write_json


def to_tf_keras(model):
    """Rebuild a Keras 3 functional model of standard layers in tf-keras, same weights."""
    import tf_keras
    from kerastego.pruning.handlers import IDENTITY, tf_keras_twin
    tensors = {}
    for layer in model.layers:
        twin = tf_keras_twin(layer)
        if twin is None:
            raise ValueError(f"tfmot baseline: layer {layer.name} ({layer.__class__.__name__}) has no tf-keras "
                             "twin (pruning.handlers); use a standard-layer model such as 'srnet' or "
                             "'calpa-srnet' with spatial input")
        kind = twin.name
        if kind == "InputLayer":
            tensors[layer.name] = tf_keras.Input(tuple(layer.output.shape[1:]), name=layer.name)
            continue
        if kind == IDENTITY:        # e.g. the model record: nothing to compute
            tensors[layer.name] = tensors[layer._inbound_nodes[0].parent_nodes[0].operation.name]
            continue
        cfg = layer.get_config()
        kwargs = {k: cfg[k] for k in twin.keys if k in cfg}
        new = getattr(tf_keras.layers, kind)(name=layer.name, **kwargs)
        parents = [p.operation.name for p in layer._inbound_nodes[0].parent_nodes]
        inputs = [tensors[p] for p in parents]
        tensors[layer.name] = new(inputs if kind in ("Add", "Concatenate") else inputs[0])
        new.set_weights(layer.get_weights())
    out = tf_keras.Model(tensors[model.inputs[0]._keras_history[0].name],
                         tensors[model.outputs[0]._keras_history[0].name])
    return out


def run(model_path, data_pattern, out_path, sparsity, finetune_steps=20, batch_pairs=8, speed_batch=16):
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras
    from kerastego.data import make_dataset
    from kerastego.models.counting import count_conv_params, count_flops
    from kerastego.models.saving import load_model as load_saved_model

    src = load_saved_model(model_path)
    size = int(src.inputs[0].shape[1])
    legacy = to_tf_keras(src)
    x0 = np.random.default_rng(0).normal(100, 30, (2, size, size, 1)).astype(np.float32)
    np.testing.assert_allclose(legacy(x0, training=False).numpy(), src(x0, training=False).numpy(), atol=1e-4)

    schedule = tfmot.sparsity.keras.ConstantSparsity(sparsity, begin_step=0, frequency=1)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(legacy, pruning_schedule=schedule)
    pruned.compile(tf_keras.optimizers.SGD(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])
    ds = make_dataset(data_pattern, batch_pairs, training=True, image_size=size, input_kind="spatial", seed=0)
    pruned.fit(ds, steps_per_epoch=finetune_steps, epochs=1, verbose=0,
               callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    stripped = tfmot.sparsity.keras.strip_pruning(pruned)

    conv_kernels = [l.kernel.numpy() for l in stripped.layers if isinstance(l, tf_keras.layers.Conv2D)]
    nonzero = int(sum(np.count_nonzero(k) for k in conv_kernels))

    def rate(m):
        x = tf.constant(np.random.default_rng(1).normal(100, 30, (speed_batch, size, size, 1)).astype(np.float32))
        f = tf.function(lambda: m(x, training=False))
        f().numpy()
        t = time.perf_counter()
        for _ in range(3):
            r = f()
        r.numpy()
        return 3 * speed_batch / (time.perf_counter() - t)

    result = {
        "model": model_path, "target_sparsity": sparsity,
        "conv_params_dense": count_conv_params(src), "conv_params_nonzero_after_tfmot": nonzero,
        "flops_dense_kernels": count_flops(src),
        "note": "tfmot keeps dense kernels: FLOPs and speed are those of the unpruned model",
        "images_per_s_original": round(rate(legacy), 2), "images_per_s_tfmot_stripped": round(rate(stripped), 2),
    }
    write_json(out_path, result, indent=2)
    print(json.dumps(result, indent=2))
    return result
