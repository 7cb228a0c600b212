"""The tfmot baseline's tf-keras rebuild reads each layer type's twin from the pruning
handlers: the standard-layer models (spatial SRNet, CALPA-SRNet, with the training-quality
record a trained model carries) have a twin for every layer and rebuild with the same
outputs; a model with a frozen DCT stage is refused by layer name."""
import numpy as np
import pytest

from kerastego.models import build_model
from kerastego.models.quality import table_for_quality
from kerastego.models.record import with_record
from kerastego.pruning.handlers import tf_keras_twin


@pytest.fixture(scope="module")
def trained_like():
    model = build_model("calpa-srnet", (64, 64, 1), input_kind="spatial")
    return with_record(model, "srnet", [table_for_quality(75)])


def test_every_layer_of_a_standard_model_has_a_twin(trained_like):
    assert all(tf_keras_twin(layer) is not None for layer in trained_like.layers)
    assert tf_keras_twin(trained_like.get_layer("L2_conv_bn")).name == "BatchNormalization"
    hybrid = build_model("hybrid-type2", (64, 64, 1), input_kind="spatial")
    assert {layer.name for layer in hybrid.layers if tf_keras_twin(layer) is None} >= {"dct5x5", "qt0"}


def test_rebuilt_in_tf_keras_with_the_same_outputs(trained_like):
    pytest.importorskip("tf_keras", reason="tf-keras comes with the optional 'tfmot' extra")
    from kerastego.pruning.tfmot_baseline import to_tf_keras
    legacy = to_tf_keras(trained_like)
    x = np.random.default_rng(0).normal(100, 30, (2, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(legacy(x, training=False).numpy(), trained_like(x, training=False).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match=r"layer level_shift \(LevelShift\) has no tf-keras twin"):
        to_tf_keras(build_model("hybrid-type2", (64, 64, 1), input_kind="spatial"))
