"""kerastego: deep-learning JPEG steganalysis in TensorFlow/Keras (hybrid framework,
SRNet, XuNet2, CALPA-NET), from JPEG coefficients to TensorFlow Serving."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
