"""Run a trained model in another precision than the one it was saved in.

Why: a model trained in float32 serves faster in bfloat16 on a GPU, and a model trained
in bfloat16 can be scored in float32. Either way the layers the builders pin to float32
(conventions.FLOAT32: the frozen first stage, the first block where the stego signal is a
fraction of a grey level, the softmax head) must stay float32. A saved model does not say
which layers were pinned when every layer is float32, so the pinned set is read from the
family's own builder under a bfloat16 policy: the builders stay the one place that decides.
"""
import functools

import keras

from kerastego.conventions import INPUT_KINDS
from kerastego.layers import DCTConv, QuantizeTruncate
from kerastego.layers.basic import FrozenLayer
from kerastego.models.record import recorded_family
from kerastego.models.registry import build_model, keras_policy, model_family, model_names

FROZEN_TYPES = (FrozenLayer, DCTConv, QuantizeTruncate)   # the frozen first stage: float32 whatever its name
_REFERENCE_SIZE = 64


def float32_layers(model):
    """Names of the layers of `model` that compute in float32 under any policy."""
    policies = {layer.name: layer.dtype_policy.name for layer in model.layers}
    frozen = {layer.name for layer in model.layers if isinstance(layer, FROZEN_TYPES)}
    if any(p != "float32" for p in policies.values()):   # saved under a policy: it says itself
        return frozen | {name for name, p in policies.items() if p == "float32"}
    return frozen | (_family_float32(recorded_family(model)) & set(policies))


@functools.lru_cache(maxsize=None)
def _family_float32(family):
    """The float32 layer names of the family's registered builds under bfloat16 (both inputs)."""
    names = set()
    for name in (n for n in model_names() if model_family(n) == family):
        for kind in INPUT_KINDS:
            ref = build_model(name, (_REFERENCE_SIZE, _REFERENCE_SIZE, 1), input_kind=kind,
                              mixed_precision="bfloat16")
            names |= {layer.name for layer in ref.layers if layer.dtype_policy.name == "float32"}
            keras.backend.clear_session(free_memory=False)
    return frozenset(names)


def with_precision(model, mixed_precision):
    """`model` computing under `mixed_precision` ("off", "bfloat16", "float16") with its
    pinned layers in float32; the same weights (variables stay float32). Returns `model`
    itself when its layers already compute so."""
    policy = keras_policy(mixed_precision)
    keep = float32_layers(model) if policy != "float32" else set()
    computing = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    want = {layer.name: ("float32" if layer.name in keep else policy) for layer in computing}
    if all(layer.dtype_policy.name == want[layer.name] for layer in computing):
        return model

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = want.get(layer.name, config.get("dtype"))
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def load_model(path, mixed_precision="off"):
    """kerastego.models.saving.load_model, then `with_precision` (float32 by default, whatever the
    policy the model was trained under)."""
    from kerastego.models.saving import load_model as load_saved
    return with_precision(load_saved(path), mixed_precision)
