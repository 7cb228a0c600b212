"""kerastego: deep-learning JPEG steganalysis in TensorFlow/Keras (hybrid framework,
SRNet, XuNet2, CALPA-NET), from JPEG coefficients to TensorFlow Serving.

Importing the package registers every custom layer, so `import kerastego` is enough
for `keras.models.load_model` of any saved kerastego model. It runs on the Keras backend
the user chose (KERAS_BACKEND or keras.json) and imports TensorFlow only where a part
that is TensorFlow by nature is used (tf.data, TFRecords, the distributed trainer,
SavedModel export, TF Serving).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from kerastego import layers  # noqa: E402,F401  (registers the custom layers for loading)
