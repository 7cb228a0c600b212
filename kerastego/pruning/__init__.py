"""CALPA-NET: channel-pruning-assisted architecture search (graph, criteria, search, rebuild).
Model definitions (CALPA-SRNet) and size counting live in kerastego.models."""
from kerastego.pruning.graph import ChannelGraph, Group
from kerastego.pruning.handlers import Handler, handler_for, register_handler
from kerastego.pruning.rebuild import masked_weights, rebuild, widths
from kerastego.pruning.search import SearchResult, aggr_avg_rates, search, uniform_keep

__all__ = ["ChannelGraph", "Group", "Handler", "handler_for", "register_handler", "masked_weights", "rebuild", "widths",
           "SearchResult", "aggr_avg_rates", "search", "uniform_keep"]
