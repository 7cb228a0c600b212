"""Mixed precision that keeps the stego signal: under a bfloat16 policy the frozen first
stage (and SRNet's/XuNet2's first block) compute in float32 and equal the float32
model exactly, the cover-minus-stego difference of a real pair reaches the first
bfloat16 layer, and the head's softmax is float32."""
import keras
import numpy as np
import pytest

from kerastego.jpeg_io import read_coefficients
from kerastego.models import build_model

# per model: the float32 boundary (its output must equal the float32 model's exactly)
# and the first layer that computes in bfloat16
BOUNDARY = {"hybrid-type1": ("qt0", "sub0_conv1"), "hybrid-type2": ("qt2", "sub2_conv1"),
            "hybrid-type1-noqt": ("dct5x5", "sub0_conv1"), "srnet": ("L1_conv_relu", "L2_conv"),
            "calpa-srnet": ("L1_conv_relu", "L2_conv"), "xunet2": ("B1_a_bn", "B1_b")}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A real 64x64 QF75 cover and its J-UNIWARD 0.4 stego."""
    import jpeglib
    from skimage import data
    from data_tools.embed import simulate
    path = str(tmp_path_factory.mktemp("pair") / "cover.jpg")
    jpeglib.from_spatial(np.ascontiguousarray(data.camera()[64:128, 64:128])[..., None]).write_spatial(path, qt=75)
    c, q, _ = read_coefficients(path)
    s = simulate("j-uniward", c, q, 0.4, seed=3)
    return {"coefficients": np.stack([c, s]), "quant_table": np.stack([q, q])}


def _pair_models(name):
    keras.utils.set_random_seed(0)
    fp32 = build_model(name, input_shape=(64, 64, 1), input_kind="coefficients")
    bf16 = build_model(name, input_shape=(64, 64, 1), input_kind="coefficients", mixed_precision="bfloat16")
    bf16.set_weights(fp32.get_weights())
    return fp32, bf16


@pytest.mark.parametrize("name", sorted(BOUNDARY))
def test_first_stage_is_float32_and_exact_under_bfloat16(name, pair):
    fp32, bf16 = _pair_models(name)
    boundary, first_bf16 = BOUNDARY[name]
    assert keras.mixed_precision.global_policy().name == "float32"     # the policy was only for building
    assert bf16.get_layer(first_bf16).compute_dtype == "bfloat16"
    assert bf16.get_layer(boundary).compute_dtype == "float32"
    assert bf16.get_layer("probabilities").compute_dtype == "float32"
    out = [np.asarray(keras.Model(m.inputs, m.get_layer(boundary).output)(pair)) for m in (fp32, bf16)]
    assert out[1].dtype == np.float32
    np.testing.assert_array_equal(out[0], out[1])
    assert bf16(pair).dtype == "float32"


@pytest.mark.parametrize("name", sorted(BOUNDARY))
def test_cover_minus_stego_reaches_the_first_bfloat16_layer(name, pair):
    _, bf16 = _pair_models(name)
    boundary, _ = BOUNDARY[name]
    x = np.asarray(keras.Model(bf16.inputs, bf16.get_layer(boundary).output)(pair), np.float32)
    diff32 = x[1] - x[0]
    as_bf16 = [np.asarray(keras.ops.cast(keras.ops.cast(v, "bfloat16"), "float32")) for v in x]
    diff16 = as_bf16[1] - as_bf16[0]
    assert np.count_nonzero(diff32) > 0                            # the stego signal is there (sparse after Q&T) ...
    assert np.corrcoef(diff16.ravel(), diff32.ravel())[0, 1] > 0.95  # ... and survives the cast


def test_bfloat16_training_runs_and_resumes(small_dataset, tmp_path, strategy):
    from kerastego.training import TrainConfig, train
    base = dict(train_data=str(small_dataset["records"] / "train-*"), val_data=str(small_dataset["records"] / "val-*"),
                out_dir=str(tmp_path / "bf16"), model="hybrid-type2", image_size=64, batch_pairs=4, steps=2,
                val_every=2, checkpoint_every=1, deterministic=True, verbose=0, mixed_precision="bfloat16")
    first = train(TrainConfig.of(**base), strategy=strategy)
    resumed = train(TrainConfig.of(**{**base, "steps": 3}), strategy=strategy)
    assert (first["steps"], resumed["resumed_from_step"], resumed["steps"]) == (2, 2, 3)
    model = keras.models.load_model(resumed["final_model"])
    assert model.get_layer("sub0_conv1").compute_dtype == "bfloat16"
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    with pytest.raises(ValueError, match="holds checkpoints of mixed_precision='bfloat16', not 'off'"):
        train(TrainConfig.of(**{**base, "steps": 4, "mixed_precision": "off"}), strategy=strategy)
