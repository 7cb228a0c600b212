"""The layers kerastego models are made of beyond stock Keras: the papers' first stage
(JPEG decompression, DCT banks, Q&T, |x|, truncation, Caffe pooling) and the model
record (format version, family, training quality). All are `keras.ops` (every Keras
backend) and registered for .keras saving."""
from kerastego.layers.basic import Abs, CaffeAvgPool2D, LevelShift, Truncate, caffe_pool_geometry
from kerastego.layers.dct import DCTConv, dct_basis
from kerastego.layers.jpeg import JpegDecompress, decompress, decompress_numpy, decompress_tf, idct_matrix
from kerastego.layers.quantize import QuantizeTruncate
from kerastego.layers.record import ModelRecord

__all__ = ["Abs", "CaffeAvgPool2D", "LevelShift", "Truncate", "caffe_pool_geometry", "DCTConv", "dct_basis",
           "JpegDecompress", "decompress", "decompress_numpy", "decompress_tf", "idct_matrix",
           "ModelRecord", "QuantizeTruncate"]
