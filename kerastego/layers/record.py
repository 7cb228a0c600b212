"""The record a saved model carries: kerastego's format version, the model's family and
the JPEG quantization table(s) of its training data.

A detector learns the statistics of one JPEG quality; on another quality its scores
are unreliable (measured: clean QF30 photos scored p ~ 1.0 "stego" with a QF75 model).
The family picks the authors' preset and input convention when the model is pruned,
fine-tuned or run in another precision. The record lives in an identity layer at the
model's output because a .keras file has no other place for metadata that survives
save, load, export and pruning.
"""
import keras

from kerastego.conventions import FORMAT_VERSION
from kerastego.layers.basic import FrozenLayer


@keras.saving.register_keras_serializable(package="kerastego")
class ModelRecord(FrozenLayer):
    """Identity; its config holds format_version, family and the training data's 8x8
    tables (lists of 64 numbers). A record of another format version is refused."""

    def __init__(self, family=None, tables=(), format_version=FORMAT_VERSION, **kwargs):
        if format_version != FORMAT_VERSION:
            raise ValueError(f"a kerastego model of format {format_version} (this kerastego reads format "
                             f"{FORMAT_VERSION})")
        super().__init__(**kwargs)
        self.family, self.format_version = family, format_version
        self.tables = [[float(v) for v in t] for t in tables]

    def call(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "family": self.family, "tables": self.tables,
                "format_version": self.format_version}
