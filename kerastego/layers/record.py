"""A record the model carries: the JPEG quantization table(s) of its training data.

A detector learns the statistics of one JPEG quality; on another quality its scores
are unreliable (measured: clean QF30 photos scored p ~ 1.0 "stego" with a QF75 model).
The tables live in an identity layer at the model's output because a .keras file has
no other place for metadata that survives save, load, export and pruning.
"""
import keras

from kerastego.layers.basic import FrozenLayer


@keras.saving.register_keras_serializable(package="kerastego")
class TrainingQuantTables(FrozenLayer):
    """Identity; its config holds the training data's 8x8 tables (lists of 64 numbers)."""

    def __init__(self, tables=(), **kwargs):
        super().__init__(**kwargs)
        self.tables = [[float(v) for v in t] for t in tables]

    def call(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "tables": self.tables}
