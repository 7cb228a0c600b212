"""A trained model computing in another precision (evaluate, detect and export's
--mixed_precision): the pinned float32 layers are the builders' own, the first stage stays
exact, the probabilities stay close, and a saved model keeps its weights."""
import keras
import numpy as np
import pytest

from kerastego.jpeg_io import read_coefficients
from kerastego.models import build_model
from kerastego.models.precision import float32_layers, load_model, with_precision
from kerastego.models.record import with_record


def _policies(model):
    return {layer.name: layer.dtype_policy.name for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)}


@pytest.fixture(scope="module")
def batch(real_jpegs):
    coefs, qts = zip(*[read_coefficients(p)[:2] for p in real_jpegs[:6]])
    return {"coefficients": np.stack(coefs), "quant_table": np.stack(qts)}


@pytest.mark.parametrize("name,kind", [("hybrid-type1", "coefficients"), ("hybrid-type2", "spatial"),
                                       ("srnet", "coefficients"), ("xunet2", "spatial"),
                                       ("calpa-srnet", "coefficients")])
def test_cast_model_has_the_policies_the_builder_gives(name, kind):
    fp32 = build_model(name, (64, 64, 1), input_kind=kind)
    bf16 = build_model(name, (64, 64, 1), input_kind=kind, mixed_precision="bfloat16")
    assert _policies(with_precision(fp32, "bfloat16")) == _policies(bf16)
    assert set(_policies(with_precision(bf16, "off")).values()) == {"float32"}
    assert with_precision(fp32, "off") is fp32        # nothing to change: no copy


def test_bfloat16_inference_keeps_the_first_stage_exact(batch):
    keras.utils.set_random_seed(2)
    fp32 = build_model("srnet", (64, 64, 1), input_kind="coefficients")
    bf16 = with_precision(fp32, "bfloat16")
    first = [keras.Model(m.inputs, m.get_layer("L1_conv_relu").output)(batch) for m in (fp32, bf16)]
    np.testing.assert_array_equal(np.asarray(first[0]), np.asarray(first[1]))
    p32, p16 = np.asarray(fp32(batch)), np.asarray(bf16(batch))
    assert p16.dtype == np.float32 and bf16.get_layer("L2_conv").compute_dtype == "bfloat16"
    np.testing.assert_allclose(p16, p32, atol=0.03)
    assert not np.array_equal(p16, p32)                # it did compute in bfloat16


def test_a_saved_model_with_its_record_keeps_pinned_layers(batch, tmp_path):
    keras.utils.set_random_seed(4)
    model = with_record(build_model("calpa-srnet", (64, 64, 1), input_kind="coefficients"), "srnet",
                        [batch["quant_table"][0]])
    model.save(tmp_path / "m.keras")
    cast = load_model(str(tmp_path / "m.keras"), "float16")
    assert {"L1_conv", "L1_conv_bn", "probabilities", "kerastego_record"} <= float32_layers(cast)
    assert cast.get_layer("L2_conv").compute_dtype == "float16"
    for a, b in zip(cast.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(cast(batch)), np.asarray(model(batch)), atol=0.03)


def test_detect_and_evaluate_take_the_precision(batch, small_dataset, tmp_path):
    from kerastego.evaluation.evaluate import evaluate, predict_split
    from kerastego.jobs.detect import ModelPathError, load_detector
    keras.utils.set_random_seed(5)
    model = build_model("hybrid-type2", (64, 64, 1), input_kind="coefficients")
    model.save(tmp_path / "m.keras")
    detector = load_detector(str(tmp_path / "m.keras"), "bfloat16")
    assert detector.model.get_layer("sub0_conv1").compute_dtype == "bfloat16"
    np.testing.assert_allclose(detector(batch["coefficients"], batch["quant_table"]),
                               np.asarray(model(batch))[:, 1], atol=0.03)
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ModelPathError, match="precision it was exported with"):
        load_detector(str(tmp_path / "sm"), "bfloat16")
    pattern = str(small_dataset["records"] / "test-*")
    reports = [evaluate([str(tmp_path / "m.keras")], pattern, names=["m"], mixed_precision=mp)["models"]["m"]
               for mp in ("off", "bfloat16")]
    p32, _, _ = predict_split(model, pattern, 8)
    p16, _, _ = predict_split(with_precision(model, "bfloat16"), pattern, 8)
    assert reports[0]["n"] == reports[1]["n"] == len(p32)
    np.testing.assert_allclose(p16, p32, atol=0.03)
