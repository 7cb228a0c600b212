import keras
import numpy as np
import pytest

from kerastego.models import build_srnet, count_conv_params
from kerastego.pruning import ChannelGraph, aggr_avg_rates, rebuild, search, uniform_keep, widths
from kerastego.pruning.report import make_report, plot_widths


def _trained_small_srnet():
    """A narrow SRNet trained briefly on a task it can learn: bright vs dark textures."""
    keras.utils.set_random_seed(0)
    widths = {"L1_conv": 8, "L2_conv": 6, **{f"L{n}_conv1": 6 for n in range(3, 8)},
              **{f"L{n}_conv2": 6 for n in range(3, 8)},
              "L8_conv1": 8, "L8_conv2": 8, "L8_short": 8, "L9_conv1": 8, "L9_conv2": 8, "L9_short": 8,
              "L10_conv1": 8, "L10_conv2": 8, "L10_short": 8, "L11_conv1": 8, "L11_conv2": 8, "L11_short": 8,
              "L12_conv1": 12, "L12_conv2": 12}
    m = build_srnet((16, 16, 1), widths=widths, input_kind="spatial")
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 80)
    x = rng.normal(0, 1, (160, 16, 16, 1)).astype("float32") * (1 + y[:, None, None, None])
    m.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, batch_size=16, epochs=6, verbose=0)
    return m, x, y


def test_search_respects_tolerance_and_slim_model_reproduces_accuracy(tmp_path):
    m, x, y = _trained_small_srnet()
    res = search(m, x, y, epsilon=0.25, sigma=0.05, batch=40, samples=300, verbose=0)
    assert res.base_accuracy > 0.8
    accepted = [s for s in res.steps if s["accepted"]]
    for s in accepted:
        assert res.base_accuracy - s["accuracy"] <= 0.05 + 1e-9
    for g, gamma in res.rates.items():
        assert gamma in (0.0, 0.25, 0.5, 0.75)
        tried = [s for s in res.steps if s["group"] == g]
        if tried and not tried[-1]["accepted"]:
            assert gamma == pytest.approx(tried[-1]["gamma"] - 0.25)   # rolled back one step
    graph = ChannelGraph(m)
    slim = rebuild(m, res.keep, copy_weights=True, graph=graph)
    acc = float(np.mean(np.argmax(slim.predict(x, verbose=0), -1) == y))
    last = accepted[-1]["accuracy"] if accepted else res.base_accuracy
    assert acc == pytest.approx(last, abs=1e-9)   # the search's masked accuracy is the slim model's
    assert count_conv_params(slim) < count_conv_params(m)
    # the search restored the trained weights
    assert float(np.mean(np.argmax(m.predict(x, verbose=0), -1) == y)) == pytest.approx(res.base_accuracy)
    fresh = rebuild(m, res.keep, graph=graph)
    assert widths(fresh) == widths(slim)
    report = make_report(m, slim, res)
    plot_widths(report, tmp_path / "widths.png")
    assert (tmp_path / "widths.png").stat().st_size > 1000 and report["params_ratio"] < 1


def test_uniform_baselines():
    m = build_srnet((16, 16, 1), input_kind="spatial")
    r = aggr_avg_rates({"a": 0.1, "b": 0.5, "c": 0.6})
    assert r["aggr"] == 0.1 and r["avg"] == pytest.approx(0.4)
    keep = uniform_keep(m, 0.5)
    slim = rebuild(m, keep)
    assert widths(slim)["L1_conv"] == 32 and widths(slim)["L12_conv1"] == 256
