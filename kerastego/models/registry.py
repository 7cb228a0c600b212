"""Model registry: binaries and configs name models instead of importing builders.

Each registered model carries its *family* ("hybrid", "srnet", "xunet2"): the
family picks the authors' training preset and input convention. An architecture
saved as Keras JSON (CALPA's slim_model.json) carries its family in the file
(`save_architecture`, with the format version); a model in memory gets it from its
structure (`infer_family`).
"""
import contextlib
import dataclasses
import functools
import json

from kerastego.conventions import ARCHITECTURE_RECORD, FORMAT_VERSION, KERAS_POLICY, LEVEL_SHIFT
from kerastego.models.calpa_srnet import build_calpa_srnet
from kerastego.models.hybrid import build_hybrid
from kerastego.models.srnet import build_srnet
from kerastego.models.xunet2 import build_xunet2
from kerastego.fileio import write_json

FAMILIES = tuple(LEVEL_SHIFT)
JSON_KEY = ARCHITECTURE_RECORD


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: callable
    family: str


_REGISTRY = {}


def register_model(name, builder, family):
    """Register `builder(input_shape=..., input_kind=..., **kwargs) -> keras.Model` under
    `name`; family ("hybrid", "srnet", "xunet2") picks its preset and input convention."""
    if name in _REGISTRY:
        raise ValueError(f"model name {name!r} is already registered")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    _REGISTRY[name] = ModelSpec(name, builder, family)


def model_names():
    return sorted(_REGISTRY)


def _is_architecture_file(name):
    return str(name).endswith(".json")


def infer_family(model):
    """The family of a built model from its layers: Q&T or a 3/5/8 DCT bank is the
    hybrid; a 4x4 DCT bank is XuNet2; SRNet's L12 block is SRNet (CALPA-shrunk or not)."""
    from kerastego.layers import DCTConv, QuantizeTruncate
    layers = {type(layer): layer for layer in model._flatten_layers()}
    names = {layer.name for layer in model._flatten_layers()}
    if QuantizeTruncate in layers or (DCTConv in layers and layers[DCTConv].size != 4):
        return "hybrid"
    if DCTConv in layers:
        return "xunet2"
    if "L12_conv2" in names:
        return "srnet"
    raise ValueError(f"model {model.name!r}: cannot tell its family (hybrid, srnet, xunet2) from its layers")


def model_family(name):
    """The family of a registered model name or of an architecture JSON file."""
    if _is_architecture_file(name):
        return _architecture_record(name)["family"]
    return _spec(name).family


def _spec(name):
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(model_names())}")
    return _REGISTRY[name]


def _architecture_record(path):
    """The architecture JSON at `path` with its kerastego record (format version, family)
    checked; ValueError naming the file otherwise."""
    from kerastego.former_format import check_layer_classes
    with open(path) as f:
        payload = json.load(f)
    check_layer_classes(payload, str(path))          # a former format names its converter first
    record = payload.get(JSON_KEY) if isinstance(payload, dict) else None
    version = record.get("format_version") if isinstance(record, dict) else None
    if version != FORMAT_VERSION or record.get("family") not in FAMILIES:
        raise ValueError(f"{path}: an architecture JSON of format {version} (this kerastego reads format "
                         f"{FORMAT_VERSION}, with the family recorded): write it again with save_architecture")
    return {**record, "payload": payload}


def _model_from_payload(payload, path):
    import keras
    from kerastego.former_format import check_layer_classes
    payload = {k: v for k, v in payload.items() if k != JSON_KEY}
    check_layer_classes(payload, str(path))
    return keras.models.model_from_json(json.dumps(payload))


def save_architecture(model, path, family=None):
    """Write the model's architecture as Keras JSON with its family recorded."""
    payload = json.loads(model.to_json())
    payload[JSON_KEY] = {"format_version": FORMAT_VERSION, "family": family or infer_family(model)}
    write_json(path, payload, indent=1)


def keras_policy(mixed_precision):
    """Keras' dtype policy name for "off", "bfloat16" or "float16"; ValueError otherwise."""
    if mixed_precision not in KERAS_POLICY:
        raise ValueError(f"mixed_precision must be one of {tuple(KERAS_POLICY)}, got {mixed_precision!r}")
    return KERAS_POLICY[mixed_precision]


@contextlib.contextmanager
def precision(mixed_precision):
    """Keras' global dtype policy for `mixed_precision` ("off", "bfloat16", "float16") while
    layers are built, then the previous one: layers keep the policy they were built with,
    and the float32 layers the builders pin (conventions.FLOAT32) stay float32."""
    policy = keras_policy(mixed_precision)
    import keras
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def build_model(name, input_shape=(256, 256, 1), input_kind="coefficients", mixed_precision="off", **kwargs):
    """Build a registered model by name, or an architecture saved as Keras JSON
    (e.g. CALPA's slim_model.json), with fresh weights, under a precision policy."""
    with precision(mixed_precision):
        return _build(name, input_shape, input_kind, **kwargs)


def _build(name, input_shape, input_kind, **kwargs):
    if _is_architecture_file(name):
        model = _model_from_payload(_architecture_record(name)["payload"], name)
        want = (int(input_shape[0]), int(input_shape[1]))
        got = tuple(int(d) for d in model.inputs[0].shape[1:3])
        if got != want:
            raise ValueError(f"{name}: architecture takes {got[0]}x{got[1]} inputs, not {want[0]}x{want[1]}")
        return model
    return _spec(name).builder(input_shape=tuple(input_shape), input_kind=input_kind, **kwargs)


def _hybrid(subnet, **defaults):
    @functools.wraps(build_hybrid)
    def builder(**kwargs):
        return build_hybrid(subnet=subnet, **{**defaults, **kwargs})
    return builder


register_model("hybrid-type1", _hybrid("type1", name="hybrid_type1"), "hybrid")
register_model("hybrid-type2", _hybrid("type2", name="hybrid_type2"), "hybrid")
register_model("hybrid-type1-signed", _hybrid("type1", qt_mode="signed", name="hybrid_type1_signed"), "hybrid")
# The paper's ablation: the same three subnets on raw DCT residuals (no Q&T).
register_model("hybrid-type1-noqt", _hybrid("type1", qt=(None, None, None), name="hybrid_type1_noqt"), "hybrid")
register_model("srnet", build_srnet, "srnet")
register_model("xunet2", build_xunet2, "xunet2")
register_model("calpa-srnet", build_calpa_srnet, "srnet")
