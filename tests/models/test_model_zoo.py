import numpy as np
import pytest
import tensorflow as tf
import keras

from kerastego.models import build_hybrid, build_model, model_names
from kerastego.models import count_conv_params, count_flops, count_kernel_weights


def features(model):
    return [l.output.shape[-1] for l in model.layers if l.name.endswith("_features")]


def test_srnet_size_matches_calpa_paper():
    m = build_model("srnet", input_kind="spatial")
    assert count_conv_params(m) == 4_770_624
    assert count_flops(m) == pytest.approx(5.95e9, rel=0.005)


def test_hybrid_type1_size_matches_table2():
    m = build_model("hybrid-type1", input_kind="spatial")
    assert count_kernel_weights(m) == 1_664_025
    assert count_conv_params(m) == 625 + 3 * 11_400
    assert features(m) == [512, 512, 512]


def test_hybrid_type2_features():
    assert features(build_model("hybrid-type2", input_kind="spatial")) == [512, 512, 512]


def test_hybrid_512_uses_stride4_and_keeps_512_features():
    m = build_model("hybrid-type1", input_shape=(512, 512, 1), input_kind="spatial")
    assert features(m) == [512, 512, 512]


def test_registry_lists_and_rejects():
    assert {"hybrid-type1", "hybrid-type2", "srnet", "xunet2"} <= set(model_names())
    with pytest.raises(KeyError, match="unknown model"):
        build_model("nope", input_kind="spatial")
    with pytest.raises(ValueError, match="multiples of 8"):
        build_model("srnet", input_shape=(60, 60, 1), input_kind="spatial")


def test_custom_subnet_callable():
    def tiny(x, prefix):
        x = keras.layers.Conv2D(4, 3, name=f"{prefix}_c")(x)
        return keras.layers.GlobalAveragePooling2D(name=f"{prefix}_features")(x)

    m = build_hybrid((32, 32, 1), subnet=tiny, qt=((8, 1), (8, None)), input_kind="spatial")
    assert features(m) == [4, 4]
    assert m(np.zeros((2, 32, 32, 1), "float32")).shape == (2, 2)


def _grads(model, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(model(x, training=True)[:, 1])
    return tape.gradient(loss, [x] + model.trainable_weights, unconnected_gradients="zero")


def test_qt_blocks_gradient_to_dct_stage_but_not_subnets():
    x = tf.constant(np.random.default_rng(1).normal(100, 30, (2, 32, 32, 1)).astype("float32"))
    m = build_model("hybrid-type1", input_shape=(32, 32, 1), input_kind="spatial")
    gx, *gw = _grads(m, x)
    assert np.all(gx.numpy() == 0.0)
    sub_conv = [g for g, w in zip(gw, m.trainable_weights) if "sub0_conv1" in w.path]
    assert sub_conv and np.any(sub_conv[0].numpy() != 0)
    # Control: without Q&T the same input gradient is not zero.
    gx_noqt = _grads(build_model("hybrid-type1-noqt", input_shape=(32, 32, 1), input_kind="spatial"), x)[0]
    assert np.any(gx_noqt.numpy() != 0)


# one model per builder (the other registered names are variants of these builders)
BUILDERS = ["hybrid-type1", "hybrid-type2", "srnet", "xunet2"]


@pytest.mark.parametrize("name", BUILDERS)
def test_mirrored_strategy_trains_every_model(name, strategy):
    assert strategy.num_replicas_in_sync == 2
    rng = np.random.default_rng(0)
    x = rng.normal(100, 40, (8, 32, 32, 1)).astype("float32")
    y = np.array([0, 1] * 4)
    with strategy.scope():
        m = build_model(name, input_shape=(32, 32, 1), input_kind="spatial")
        m.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    before = [w.numpy().copy() for w in m.trainable_weights]
    hist = m.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))
    assert any(np.any(a != w.numpy()) for a, w in zip(before, m.trainable_weights))


@pytest.mark.parametrize("name", ["hybrid-type1", "xunet2"])
def test_import_kerastego_alone_is_enough_to_load_a_saved_model(name, tmp_path):
    """A fresh process that imports nothing of kerastego but the package loads a model
    full of its custom layers (JpegDecompress, DCTConv, QuantizeTruncate, CaffeAvgPool2D...)."""
    import subprocess
    import sys
    path = str(tmp_path / f"{name}.keras")
    build_model(name, input_shape=(64, 64, 1), input_kind="coefficients").save(path)
    code = (f"import sys, keras, kerastego\n"
            f"m = keras.models.load_model({path!r})\n"
            f"print(sorted(k for k in sys.modules if k.startswith('kerastego.')))\n"
            f"print(len(m.layers))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    loaded = r.stdout.strip().splitlines()
    assert "kerastego.models" not in loaded[-2] and int(loaded[-1]) > 10
