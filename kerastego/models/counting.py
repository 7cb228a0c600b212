"""Model size with CALPA-NET's formulas: |params| = in x k x k x out (conv weights
only), |FLOPs| = output height x width x |params|."""
import keras

from kerastego.layers import DCTConv


def iter_layers(model):
    """All layers, descending into nested models."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from iter_layers(layer)
        else:
            yield layer


def conv_params(layer):
    """Kernel weights of one convolution layer (0 for other layers)."""
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, DCTConv)):
        shape = layer.kernel.shape
        return int(shape[0] * shape[1] * shape[2] * shape[3])
    return 0


def count_conv_params(model):
    """Convolution kernel weights, frozen DCT banks included (no bias, no BN)."""
    return sum(conv_params(layer) for layer in iter_layers(model))


def count_flops(model):
    """Sum over conv layers of output H x W x kernel weights (CALPA's |FLOPs|)."""
    total = 0
    for layer in iter_layers(model):
        p = conv_params(layer)
        if p:
            _, h, w, _ = layer.output.shape
            total += int(h) * int(w) * p
    return total


def count_kernel_weights(model):
    """Conv and dense kernel weights (the hybrid paper's Table II count)."""
    dense = sum(int(layer.kernel.shape[0] * layer.kernel.shape[1])
                for layer in iter_layers(model) if isinstance(layer, keras.layers.Dense))
    return count_conv_params(model) + dense
