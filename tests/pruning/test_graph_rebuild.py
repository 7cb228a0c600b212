
import keras
import numpy as np
import pytest
from keras import layers

from kerastego.pruning.criteria import l1_removal_order, thinet_contributions, thinet_removal_order
from kerastego.pruning.graph import ChannelGraph
from kerastego.pruning.rebuild import masked_weights, rebuild, widths


def tiny_model():
    """Direct shortcut (a, b1), transformed shortcut (s, c2), a concatenation and a dense head."""
    x = keras.Input((16, 16, 1), name="image")
    a = layers.Conv2D(6, 3, padding="same", name="a")(x)
    a = layers.ReLU(name="a_relu")(layers.BatchNormalization(name="a_bn")(a))
    b0 = layers.ReLU(name="b0_relu")(layers.Conv2D(5, 3, padding="same", name="b0")(a))
    b1 = layers.BatchNormalization(name="b1_bn")(layers.Conv2D(6, 3, padding="same", name="b1")(b0))
    r = layers.Add(name="add1")([a, b1])
    s = layers.Conv2D(8, 1, strides=2, name="s")(r)
    c1 = layers.ReLU(name="c1_relu")(layers.Conv2D(7, 3, padding="same", name="c1")(r))
    c2 = layers.Conv2D(8, 3, padding="same", name="c2")(c1)
    c2 = layers.AveragePooling2D(3, 2, padding="same", name="c_pool")(c2)
    r2 = layers.Add(name="add2")([s, c2])
    d = layers.Conv2D(4, 3, padding="same", name="d")(r2)
    cat = layers.Concatenate(name="cat")([r2, d])
    e = layers.Conv2D(5, 3, padding="same", name="e")(cat)
    f = layers.Flatten(name="flat")(layers.AveragePooling2D(4, name="e_pool")(layers.ReLU(name="e_relu")(e)))
    out = layers.Dense(2, activation="softmax", name="out")(f)
    return keras.Model(x, out)


def test_groups_found():
    m = tiny_model()
    g = {grp.decider: grp for grp in ChannelGraph(m).groups()}
    assert set(g) == {"a", "b0", "c1", "c2", "d", "e"}
    assert g["a"].producers == ["a", "b1"] and g["a"].criterion == "l1"        # direct shortcut
    assert set(g["c2"].producers) == {"s", "c2"} and g["c2"].decider == "c2"   # transformed: main branch decides
    assert g["b0"].criterion == "thinet" and g["b0"].consumers == ["b1"]
    assert g["d"].consumers == ["e"] and g["c2"].consumers == ["d", "e"]       # through the concatenation
    assert g["e"].consumers == ["out"] and g["e"].criterion == "l1"            # no conv after it
    assert all(grp.prunable for grp in g.values())


def _keep(m, spec):
    graph = ChannelGraph(m)
    by = {grp.decider: grp for grp in graph.groups()}
    return graph, {by[k].gid: v for k, v in spec.items()}


def test_copied_slim_model_equals_masked_original(tmp_path):
    m = tiny_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 16, 16, 1)).astype("float32")
    m(x, training=True)  # move BN statistics off their defaults
    for layer in m.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.get_weights()])
    graph, keep = _keep(m, {"a": [0, 2, 5], "b0": [1, 3], "c2": [0, 1, 4, 6, 7], "d": [2], "e": [0, 1, 4]})
    slim = rebuild(m, keep, copy_weights=True, graph=graph)
    assert widths(slim) == {"a": 3, "b0": 2, "b1": 3, "s": 5, "c1": 7, "c2": 5, "d": 1, "e": 3}
    original = [w.copy() for w in m.get_weights()]
    for name, w in masked_weights(m, keep, graph).items():
        m.get_layer(name).set_weights(w)
    np.testing.assert_allclose(slim.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    m.set_weights(original)
    fresh = rebuild(m, keep, graph=graph)
    assert widths(fresh) == widths(slim)
    slim.save(tmp_path / "slim.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "slim.keras").predict(x, verbose=0),
                               slim.predict(x, verbose=0), rtol=1e-6)


def test_unknown_layer_reported_not_skipped():
    @keras.saving.register_keras_serializable(package="test")
    class Mystery(layers.Layer):
        def call(self, x):
            return x * 2

    x = keras.Input((8, 8, 1))
    a = layers.Conv2D(4, 3, padding="same", name="a")(x)
    y = layers.Conv2D(3, 3, padding="same", name="b")(Mystery(name="mystery")(a))
    m = keras.Model(x, layers.Dense(2, name="out")(layers.Flatten()(y)))
    graph = ChannelGraph(m)
    assert any(n == "mystery" for n, _ in graph.unsupported)
    g = {grp.decider: grp for grp in graph.groups()}
    assert not g["a"].prunable and g["b"].prunable

    # a new layer type is one registration: per-channel, so channels pass through it
    from kerastego.pruning.handlers import _HANDLERS, PassThrough, register_handler
    register_handler(Mystery, PassThrough())
    try:
        graph = ChannelGraph(m)
        assert graph.unsupported == [] and {grp.decider: grp for grp in graph.groups()}["a"].prunable
        slim = rebuild(m, {graph.root_of("a"): [0, 2]}, copy_weights=True, graph=graph)
        assert widths(slim) == {"a": 2, "b": 3}
    finally:
        _HANDLERS.pop(Mystery)


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_thinet_equals_brute_force_greedy(seed):
    x = np.random.default_rng(seed).normal(size=(40, 7))
    from thinet_oracle import thinet_removal_order_naive
    assert thinet_removal_order(x) == thinet_removal_order_naive(x)


def test_thinet_greedy_is_optimal_for_first_pick_and_contributions_sum_to_output():
    rng = np.random.default_rng(3)
    act = rng.normal(size=(2, 6, 6, 4)).astype("float32")
    kernel = rng.normal(size=(3, 3, 4, 5)).astype("float32")
    x = thinet_contributions(act, kernel, samples=50, seed=1)
    conv = layers.Conv2D(5, 3, padding="same", use_bias=False)
    conv.build((None, 6, 6, 4))
    conv.set_weights([kernel])
    out = conv(act).numpy()
    r = np.random.default_rng(1)   # the same draws as inside thinet_contributions
    img, ys, xs, ks = r.integers(0, 2, 50), r.integers(0, 6, 50), r.integers(0, 6, 50), r.integers(0, 5, 50)
    np.testing.assert_allclose(x.sum(axis=1), out[img, ys, xs, ks], rtol=1e-4, atol=1e-4)
    best = min(range(4), key=lambda j: np.sum(x[:, j] ** 2))
    assert thinet_removal_order(x, 1) == [best]


def test_l1_order():
    k = np.zeros((3, 3, 2, 4))
    for j, v in enumerate([3.0, 1.0, 2.0, 0.5]):
        k[..., j] = v
    assert l1_removal_order(k) == [3, 1, 2, 0]


def test_hybrid_flatten_concat_head_rebuilds_exactly():
    from kerastego.models import build_model
    m = build_model("hybrid-type1", input_shape=(256, 256, 1), input_kind="spatial")   # 2x2 positions per subnet
    graph = ChannelGraph(m)
    g = {grp.decider: grp for grp in graph.groups()}
    assert g["sub0_conv1"].criterion == "thinet" and g["sub0_conv3"].consumers == ["fc1"]
    assert all(grp.prunable for grp in g.values()) and not graph.unsupported
    keep = {g["sub1_conv3"].gid: list(range(0, 128, 3)), g["sub0_conv1"].gid: [0, 2, 4, 6]}
    rng = np.random.default_rng(0)
    x = rng.normal(100, 30, (1, 256, 256, 1)).astype("float32")
    slim = rebuild(m, keep, copy_weights=True, graph=graph)
    for name, w in masked_weights(m, keep, graph).items():
        m.get_layer(name).set_weights(w)
    np.testing.assert_allclose(slim.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert slim.get_layer("fc1").kernel.shape[0] == 4 * (128 + 43 + 128)
