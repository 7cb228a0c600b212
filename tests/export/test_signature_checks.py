"""The exported signatures check what a client sends: quant tables, rank and size, each named."""

import numpy as np
import pytest



def test_exported_signature_refuses_a_zero_quant_table(tmp_path, tiny_model):
    import tensorflow as tf
    from kerastego.export import export_savedmodel
    path = export_savedmodel(tiny_model, str(tmp_path / "serving"))
    fn = tf.saved_model.load(path).signatures["serving_default"]
    c = tf.zeros((2, 64, 64), tf.int16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="quant_table must be finite and positive"):
        fn(coefficients=c, quant_table=tf.zeros((2, 8, 8)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        fn(coefficients=c, quant_table=tf.ones((3, 8, 8)))
    assert np.all(np.isfinite(fn(coefficients=c, quant_table=tf.ones((2, 8, 8)))["probability"].numpy()))


def test_exported_signature_names_a_wrong_rank_or_size(tmp_path, tiny_model):
    """The signatures take any shape and check it in-graph, so a serving client reads which
    input is wrong and why (not a placeholder's shape error)."""
    import tensorflow as tf
    from kerastego.export import export_savedmodel
    loaded = tf.saved_model.load(export_savedmodel(tiny_model, str(tmp_path / "serving")))
    fn, q = loaded.signatures["serving_default"], tf.ones((1, 8, 8))
    assert int(loaded.input_size.numpy()) == 64
    cases = [(tf.zeros((64, 64), tf.int16), q, r"coefficients must be \[batch, 64, 64\] \(rank 3\)"),
             (tf.zeros((1, 60, 64), tf.int16), q, "height and width must be multiples of 8"),
             (tf.zeros((1, 128, 128), tf.int16), q, "this model takes 64x64 coefficients: tile larger images"),
             (tf.zeros((1, 64, 64), tf.int16), tf.ones((1, 4, 4)), r"quant_table must be \[batch, 8, 8\]")]
    for c, qt, message in cases:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            fn(coefficients=c, quant_table=qt)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image must be \[batch, 64, 64, 1\]"):
        loaded.signatures["spatial"](image=tf.zeros((1, 64, 64, 3)))
