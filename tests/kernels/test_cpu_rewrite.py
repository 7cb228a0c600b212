"""The CPU rewrite: which layers it swaps, and that a rewritten model computes what the
stock model computes (outputs in training and inference, every gradient), and that
`stock` gives back the stock classes with the trained weights."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastego.kernels import cpu
from kerastego.kernels.conv import PointwiseConv2D, PointwiseStridedConv2D
from kerastego.kernels.paired_conv import ColumnPairConv2D, PairedInputGradConv2D
from kerastego.models import build_model, model_names

SIZE = {"hybrid": 256}   # the hybrid's pools take their CPU paths at 256x256; the others at 64


def _size(name):
    return SIZE.get(name.split("-")[0], 64)


def _inputs(size, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return {"coefficients": tf.constant(rng.integers(-8, 9, (batch, size, size)).astype(np.int16)),
            "quant_table": tf.constant(np.full((batch, 8, 8), 4.0, np.float32))}


def _outputs_and_gradients(model, x):
    with tf.GradientTape() as tape:
        p = model(x, training=True)
        loss = tf.reduce_sum(p * tf.constant([[0.3, 1.0]]))
    return p.numpy(), [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]


def _built(name):
    keras.utils.set_random_seed(0)
    return build_model(name, (_size(name), _size(name), 1), input_kind="coefficients")


@pytest.mark.parametrize("name", model_names())
def test_rewritten_model_computes_what_the_stock_model_does(name):
    model = _built(name)
    rewritten = cpu.rewrite(model)
    assert any(isinstance(layer, cpu.KERNEL_CLASSES) for layer in rewritten.layers)
    x = _inputs(_size(name))
    np.testing.assert_allclose(rewritten(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-6)
    (p, grads), (p_ref, grads_ref) = _outputs_and_gradients(rewritten, x), _outputs_and_gradients(model, x)
    np.testing.assert_allclose(p, p_ref, rtol=1e-5, atol=1e-6)
    # Sums in another order, through BatchNorms on a batch of 2: differences stay at float rounding of the
    # largest gradient (a conv's bias before a BatchNorm has a gradient of pure rounding noise). A wrong
    # gradient (a lost mask, an unflipped kernel) is of the order of the gradient itself.
    scale = max(float(np.abs(g).max()) for g in grads_ref)
    for g, g_ref, w in zip(grads, grads_ref, model.trainable_weights):
        np.testing.assert_allclose(g, g_ref, rtol=1e-3, atol=2e-3 * scale, err_msg=w.path)


@pytest.mark.parametrize("name", ["hybrid-type1", "srnet"])
def test_stock_gives_back_the_stock_classes_and_the_weights(name):
    model = _built(name)
    rewritten = cpu.rewrite(model)
    for w in rewritten.trainable_weights:   # as if trained
        w.assign(w + 0.01)
    back = cpu.stock(rewritten)
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in model.layers]
    for a, b in zip(back.get_weights(), rewritten.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert cpu.stock(model) is model and cpu.rewrite(rewritten).layers   # idempotent where nothing applies


def test_the_swaps_follow_the_hybrids_and_srnets_layers():
    hybrid, srnet = cpu.rewrite(_built("hybrid-type1")), cpu.rewrite(_built("srnet"))
    assert type(hybrid.get_layer("sub0_conv1")) is ColumnPairConv2D          # 8 filters, "valid"
    assert type(hybrid.get_layer("sub0_conv2")) is PairedInputGradConv2D     # reads 8 channels
    assert type(hybrid.get_layer("sub0_conv3")) is PointwiseConv2D           # 1x1
    assert type(srnet.get_layer("L9_short")) is PointwiseStridedConv2D       # 1x1 stride 2: the oneDNN crash
    assert type(srnet.get_layer("L1_conv")) is keras.layers.Conv2D           # reads 1 channel: no input gradient
    assert type(srnet.get_layer("L3_conv2")) is keras.layers.Conv2D          # reads 16


def test_the_rewrite_applies_under_tensorflow_on_cpus_only():
    assert keras.backend.backend() == "tensorflow" and not tf.config.list_logical_devices("GPU")
    assert cpu.wanted()
