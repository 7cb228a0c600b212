import numpy as np
import pytest
import keras

from kerastego.layers import DCTConv, dct_basis


def spec_family(n, k, l, m, nn):
    # SPEC section 2: B(k,l)[m,n] = (w_k w_l / N) cos(pi k (2m+1)/2N) cos(pi l (2n+1)/2N)
    w = lambda i: 1.0 if i == 0 else np.sqrt(2.0)  # noqa: E731
    return (w(k) * w(l) / n) * np.cos(np.pi * k * (2 * m + 1) / (2 * n)) * np.cos(np.pi * l * (2 * nn + 1) / (2 * n))


@pytest.mark.parametrize("n", [3, 5])
def test_hybrid_family_matches_spec_formula(n):
    bank = dct_basis(n)
    assert bank.shape == (n, n, 1, n * n)
    for k in range(n):
        for l in range(n):
            for m in range(n):
                for nn in range(n):
                    assert bank[m, nn, 0, k * n + l] == pytest.approx(spec_family(n, k, l, m, nn), abs=1e-12)


def test_dctr_8x8_formula_and_orthonormal():
    bank = dct_basis(8)
    w = lambda i: 1 / np.sqrt(2) if i == 0 else 1.0  # noqa: E731
    k, l, m, n = 3, 5, 2, 7
    expect = w(k) * w(l) / 4 * np.cos(np.pi * k * (2 * m + 1) / 16) * np.cos(np.pi * l * (2 * n + 1) / 16)
    assert bank[m, n, 0, k * 8 + l] == pytest.approx(expect, abs=1e-12)
    flat = bank.reshape(64, 64)
    np.testing.assert_allclose(flat.T @ flat, np.eye(64), atol=1e-12)


def test_xunet2_4x4_orthonormal():
    bank = dct_basis(4)
    flat = bank.reshape(16, 16)
    np.testing.assert_allclose(flat.T @ flat, np.eye(16), atol=1e-12)
    assert bank[0, 0, 0, 0] == pytest.approx(0.25)


def test_bad_size_rejected():
    with pytest.raises(ValueError, match="size"):
        dct_basis(6)


def test_dct_conv_stays_frozen_and_matches_numpy():
    inp = keras.Input((16, 16, 1))
    layer = DCTConv(5, name="dct")
    model = keras.Model(inp, layer(inp))
    model.trainable = True
    layer.trainable = True
    assert layer.trainable_weights == [] and model.trainable_weights == []
    assert len(layer.non_trainable_weights) == 1
    x = np.random.default_rng(0).normal(size=(1, 16, 16, 1)).astype("float32")
    y = model(x).numpy()
    xp = np.pad(x[0, :, :, 0], 2)
    bank = dct_basis(5)
    ch = 7
    expect = sum(bank[m, n, 0, ch] * xp[5 + m, 6 + n] for m in range(5) for n in range(5))
    assert y[0, 5, 6, ch] == pytest.approx(expect, rel=1e-4, abs=1e-5)


def test_dct_conv_rejects_colour():
    with pytest.raises(ValueError, match="one"):
        DCTConv(5)(keras.Input((16, 16, 3)))
