"""Model registry: binaries and configs name models instead of importing builders."""
import functools

from kerastego.models.hybrid import build_hybrid
from kerastego.models.srnet import build_srnet
from kerastego.models.xunet2 import build_xunet2

_REGISTRY = {}


def register_model(name, builder):
    """Register `builder(input_shape=..., input_kind=..., **kwargs) -> keras.Model` under `name`."""
    if name in _REGISTRY:
        raise ValueError(f"model name {name!r} is already registered")
    _REGISTRY[name] = builder


def model_names():
    return sorted(_REGISTRY)


def build_model(name, input_shape=(256, 256, 1), input_kind="spatial", **kwargs):
    """Build a registered model by name, or an architecture saved as Keras JSON
    (e.g. CALPA's slim_model.json), with fresh weights."""
    if str(name).endswith(".json"):
        import keras
        with open(name) as f:
            model = keras.models.model_from_json(f.read())
        want = (int(input_shape[0]), int(input_shape[1]))
        got = tuple(int(d) for d in model.inputs[0].shape[1:3])
        if got != want:
            raise ValueError(f"{name}: architecture takes {got[0]}x{got[1]} inputs, not {want[0]}x{want[1]}")
        return model
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(model_names())}")
    return _REGISTRY[name](input_shape=tuple(input_shape), input_kind=input_kind, **kwargs)


def _hybrid(subnet, **defaults):
    @functools.wraps(build_hybrid)
    def builder(**kwargs):
        return build_hybrid(subnet=subnet, **{**defaults, **kwargs})
    return builder


register_model("hybrid-type1", _hybrid("type1", name="hybrid_type1"))
register_model("hybrid-type2", _hybrid("type2", name="hybrid_type2"))
register_model("hybrid-type1-signed", _hybrid("type1", qt_mode="signed", name="hybrid_type1_signed"))
# The paper's ablation: the same three subnets on raw DCT residuals (no Q&T).
register_model("hybrid-type1-noqt", _hybrid("type1", qt=(None, None, None), name="hybrid_type1_noqt"))
register_model("srnet", build_srnet)
register_model("xunet2", build_xunet2)


def _calpa_srnet(**kwargs):
    from kerastego.pruning.published import build_calpa_srnet
    return build_calpa_srnet(**kwargs)


register_model("calpa-srnet", _calpa_srnet)
