"""predict_split keeps one inference function per model: repeated validations of the
same model do not retrace, see the model's current weights, and never keep it alive."""
import gc
import importlib
import weakref

import numpy as np


def test_repeated_predictions_reuse_one_function_on_current_weights(small_dataset, tiny_model):
    import keras
    # the package exports a function named evaluate, so the module is fetched by name
    evaluate_module = importlib.import_module("kerastego.evaluation.evaluate")
    model = keras.models.load_model(tiny_model)
    pattern = str(small_dataset["records"] / "val-*")
    first, labels, ids = evaluate_module.predict_split(model, pattern, batch_pairs=4)
    predict = evaluate_module._predict_function(model, False)
    traces = predict.experimental_get_tracing_count()
    again, _, again_ids = evaluate_module.predict_split(model, pattern, batch_pairs=4)
    assert predict.experimental_get_tracing_count() == traces
    np.testing.assert_array_equal(first, again)
    assert again_ids == ids and len(first) == len(labels) > 0

    dense = model.layers[-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + np.array([-3.0, 3.0], bias.dtype)])   # favour "stego"
    shifted, _, _ = evaluate_module.predict_split(model, pattern, batch_pairs=4)
    assert np.all(shifted > first)

    alive = weakref.ref(model)
    del model, dense
    gc.collect()
    assert alive() is None
