"""CALPA-NET: channel-pruning-assisted architecture search, and model size counting."""
from kerastego.pruning.counting import count_conv_params, count_flops, count_kernel_weights, iter_layers
from kerastego.pruning.graph import ChannelGraph, Group
from kerastego.pruning.published import build_calpa_srnet, calpa_srnet_widths, published_rates
from kerastego.pruning.rebuild import masked_weights, rebuild, widths
from kerastego.pruning.search import SearchResult, aggr_avg_rates, kept_count, search, uniform_keep

__all__ = ["count_conv_params", "count_flops", "count_kernel_weights", "iter_layers", "ChannelGraph", "Group",
           "build_calpa_srnet", "calpa_srnet_widths", "published_rates", "masked_weights", "rebuild", "widths",
           "SearchResult", "aggr_avg_rates", "kept_count", "search", "uniform_keep"]
