"""The benchmarks' timing loops: a paired share of peak must pair each training window
with the matmul timings taken right before and right after it, in order."""
import itertools

import pytest

from kerastego.jobs.timing import bench_model


def test_each_window_gets_the_probes_around_it():
    ticks = itertools.count(100.0)   # a probe whose every call returns a new value, in order
    row = bench_model("hybrid-type1", 32, 2, train_steps=1, infer_steps=1, windows=3, probe=lambda: next(ticks))
    windows = row["train_windows"]
    assert [w["probe_gflops_before_after"] for w in windows] == [[100.0, 101.0], [101.0, 102.0], [102.0, 103.0]]
    rates = [w["images_per_s"] for w in windows]
    assert all(r > 0 for r in rates)
    # the row's rate is over all windows: between the slowest and the fastest window
    assert min(rates) - 0.01 <= row["train_images_per_s"] <= max(rates) + 0.01
    # both figures are rounded to 2 decimals: the images/s rounding (up to 0.005) carries into the
    # product, whatever the rate the machine gives (a busy machine's 2.0078 img/s is written 2.01)
    per_image = 3 * 2 * row["conv_macs_per_image"] / 1e9
    assert row["train_gflops_per_s"] == pytest.approx(row["train_images_per_s"] * per_image,
                                                      abs=0.005 * per_image + 0.005 + 1e-9)


def test_one_window_without_probe_keeps_the_old_row():
    row = bench_model("hybrid-type1", 32, 2, train_steps=1, infer_steps=1)
    assert "train_windows" not in row and row["train_images_per_s"] > 0


def test_warmup_calls_come_before_the_timed_ones(monkeypatch):
    """The first window must not carry the allocator's warm-up: `warmup` untimed calls of
    the training step run before any probe or window, then exactly the timed ones."""
    import tensorflow as tf

    from kerastego.jobs import timing
    calls = []

    def counting(kind):
        return lambda: calls.append(kind) or tf.constant(0.0)

    monkeypatch.setattr(timing, "_step_functions", lambda *a: (counting("train"), counting("infer")))
    timing.bench_model("hybrid-type1", 32, 2, train_steps=3, infer_steps=2, windows=2, warmup=4,
                       probe=lambda: calls.append("probe") or 1.0)
    assert calls == ["train"] * 4 + ["infer"] * 4 + ["probe"] + ["train"] * 3 + ["probe"] \
        + ["train"] * 3 + ["probe"] + ["infer"] * 2
