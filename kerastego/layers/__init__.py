"""Custom Keras layers of kerastego, all registered for .keras saving."""
from kerastego.layers.basic import Abs, CaffeAvgPool2D, LevelShift, Truncate, caffe_pool_geometry
from kerastego.layers.dct import DCTConv, dct_basis
from kerastego.layers.conv import PointwiseConv2D, PointwiseStridedConv2D
from kerastego.layers.paired_conv import ColumnPairConv2D, PairedInputGradConv2D
from kerastego.layers.normalization import FusedBatchNormalization
from kerastego.layers.jpeg import JpegDecompress, decompress_numpy, decompress_tf, idct_matrix
from kerastego.layers.quantize import QuantizeTruncate
from kerastego.layers.record import TrainingQuantTables

__all__ = ["Abs", "CaffeAvgPool2D", "LevelShift", "Truncate", "caffe_pool_geometry", "ColumnPairConv2D", "DCTConv",
           "dct_basis", "FusedBatchNormalization", "PairedInputGradConv2D", "PointwiseConv2D",
           "PointwiseStridedConv2D", "JpegDecompress", "decompress_numpy", "decompress_tf", "idct_matrix",
           "QuantizeTruncate", "TrainingQuantTables"]
