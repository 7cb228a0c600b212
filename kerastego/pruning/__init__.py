"""CALPA-NET: channel-pruning-assisted architecture search, and model size counting."""
from kerastego.pruning.counting import count_conv_params, count_flops, count_kernel_weights, iter_layers

__all__ = ["count_conv_params", "count_flops", "count_kernel_weights", "iter_layers"]
