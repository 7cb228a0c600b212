"""DCT basis banks and the frozen convolution that applies them.

The banks are the hand-crafted first stage of the hybrid framework (5x5, 3x3),
of DCTR (8x8) and of XuNet2 (4x4). They are fixed by formula, so the layer
rebuilds them from its config and never trains them.
"""
import numpy as np
import keras
from keras import ops


def dct_basis(size):
    """Return the size x size DCT bank as a conv kernel (size, size, 1, size*size).

    Channel index k*size + l (row frequency major); kernel[m, n] is row m, column n.
    """
    if size not in (3, 4, 5, 8):
        raise ValueError(f"dct_basis: size must be 3, 4, 5 or 8, got {size!r}")
    n = size
    idx = np.arange(n)
    if size in (3, 5):
        # Hybrid-framework family: w_0 = 1, w_k = sqrt(2), divided by N.
        w = np.where(idx == 0, 1.0, np.sqrt(2.0))
        scale = np.outer(w, w) / n
    elif size == 8:
        # DCTR normalisation: (w_k w_l / 4), w_0 = 1/sqrt(2), w_k = 1.
        w = np.where(idx == 0, 1.0 / np.sqrt(2.0), 1.0)
        scale = np.outer(w, w) / 4.0
    else:
        # XuNet2 4x4 orthonormal: u_0 = sqrt(1/4), u_k = sqrt(2/4).
        u = np.where(idx == 0, np.sqrt(1.0 / n), np.sqrt(2.0 / n))
        scale = np.outer(u, u)
    # cosines[k, m] = cos(pi * k * (2m + 1) / (2N))
    cosines = np.cos(np.pi * np.outer(idx, 2 * idx + 1) / (2 * n))
    # bank[k, l, m, n] = scale[k, l] * cos_k(m) * cos_l(n)
    bank = scale[:, :, None, None] * cosines[:, None, :, None] * cosines[None, :, None, :]
    kernel = bank.reshape(n * n, n, n).transpose(1, 2, 0)[:, :, None, :]
    return kernel.astype(np.float64)


@keras.saving.register_keras_serializable(package="kerastego")
class DCTConv(keras.layers.Layer):
    """Convolution with a fixed DCT bank; never trainable, whatever `trainable` is set to.

    padding="same" keeps the image size (Caffe pad = size // 2 for odd sizes);
    "valid" is XuNet2's choice.
    """

    def __init__(self, size=5, padding="same", **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(trainable=False, **kwargs)
        self.size = int(size)
        self.padding = padding
        if padding not in ("same", "valid"):
            raise ValueError(f"DCTConv: padding must be 'same' or 'valid', got {padding!r}")

    @property
    def trainable(self):
        return False

    @trainable.setter
    def trainable(self, value):
        # A frozen stage: ignore model.trainable = True and friends.
        self._trainable = False

    def build(self, input_shape):
        if input_shape[-1] != 1:
            raise ValueError(f"DCTConv expects one (luminance) channel, got shape {input_shape}")
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.size, self.size, 1, self.size * self.size),
            initializer=keras.initializers.Constant(dct_basis(self.size).astype("float32")),
            trainable=False,
        )

    def call(self, x):
        if self.padding == "same" and self.size % 2 == 1:
            p = self.size // 2
            x = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
            pad = "valid"
        else:
            pad = self.padding
        return ops.conv(x, ops.cast(self.kernel, x.dtype), strides=1, padding=pad)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        if self.padding == "valid":
            h = None if h is None else h - self.size + 1
            w = None if w is None else w - self.size + 1
        return (b, h, w, self.size * self.size)

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)
        config.update(size=self.size, padding=self.padding)
        return config
