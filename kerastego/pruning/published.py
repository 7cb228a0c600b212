"""CALPA-SRNet from the authors' released rates (SPEC section 5), without a search.

In that configuration a block's ThiNet rate prunes the output of the block's first
conv, and its l1 rate prunes the block's second conv together with its shortcut.
SPEC lists no rate for L12's second conv; gamma 0.90 is used there because it
reproduces the width 51 of the paper's Fig. 1 (512 * 0.10, rounded down).
"""
from kerastego.models.srnet import build_srnet, default_widths
from kerastego.pruning.search import kept_count

THINET_RATES = {3: 0.10, 4: 0.50, 5: 0.50, 6: 0.40, 7: 0.05, 8: 0.15, 9: 0.75, 10: 0.85, 11: 0.90, 12: 0.95}
L1_RATES = {8: 0.10, 9: 0.70, 10: 0.85, 11: 0.90}
L12_SECOND_CONV_RATE = 0.90


def published_rates():
    """Layer name -> gamma for the released sigma = 5% configuration."""
    rates = {f"L{n}_conv1": g for n, g in THINET_RATES.items()}
    for n, g in L1_RATES.items():
        rates[f"L{n}_conv2"] = g
        rates[f"L{n}_short"] = g
    rates["L12_conv2"] = L12_SECOND_CONV_RATE
    return rates


def calpa_srnet_widths(rates=None):
    base = default_widths()
    return {name: kept_count(base[name], g) for name, g in (rates or published_rates()).items()}


def build_calpa_srnet(input_shape=(256, 256, 1), input_kind="spatial", rates=None, name="calpa_srnet"):
    """SRNet with the widths the published rates give (fresh weights: train from scratch)."""
    return build_srnet(input_shape, widths=calpa_srnet_widths(rates), input_kind=input_kind, name=name)
