"""CALPA-SRNet: SRNet with the widths CALPA-NET's rates give (SPEC section 5).

The default rates are the authors' released configuration for SRNet, J-UNIWARD 0.4,
QF75, sigma = 5% (`srnet_juniward_04_threshold05.cfg`), which is also what their
released trained checkpoint has: `read_rates_cfg` reads any rates file of that format.
A block's ThiNet rate prunes the output of its first conv; its l1 rate prunes its
second conv together with the shortcut (L8..L11) or L12's second conv.

Variant: the paper's Fig. 1 draws L12's second conv with 51 channels (gamma 0.90);
the released cfg and checkpoint have 25 (gamma 0.95).
`build_calpa_srnet(rates=fig1_rates())` builds the figure's variant.
"""
import configparser

import numpy as np

from kerastego.models.srnet import build_srnet, default_widths

# [Thinet_rate] and [L1_rate] of the released cfg, by SRNet layer number
RELEASED_THINET = {3: 0.10, 4: 0.50, 5: 0.50, 6: 0.40, 7: 0.05, 8: 0.15, 9: 0.75, 10: 0.85, 11: 0.90, 12: 0.95}
RELEASED_L1 = {8: 0.10, 9: 0.70, 10: 0.85, 11: 0.90, 12: 0.95}
FIG1_L12_SECOND_CONV = 0.90


def kept_count(width, gamma):
    """Channels kept at rate gamma: K * (1 - gamma), rounded down, at least one
    (the authors' int(base * (1 - gamma)))."""
    return max(1, int(np.floor(width * (1.0 - gamma) + 1e-9)))


def rates_by_layer(thinet, l1):
    """Conv layer name -> gamma from per-block ThiNet and l1 rates (block number -> gamma)."""
    rates = {f"L{n}_conv1": float(g) for n, g in thinet.items()}
    for n, g in l1.items():
        if n == 12:
            rates["L12_conv2"] = float(g)
        else:
            rates[f"L{n}_conv2"] = rates[f"L{n}_short"] = float(g)
    unknown = set(rates) - set(default_widths())
    if unknown:
        raise ValueError(f"rates name layers SRNet does not have: {sorted(unknown)}")
    return rates


def published_rates():
    """Conv layer name -> gamma of the released sigma = 5% configuration."""
    return rates_by_layer(RELEASED_THINET, RELEASED_L1)


def fig1_rates():
    """The released rates with L12's second conv at the paper's Fig. 1 width (51)."""
    return {**published_rates(), "L12_conv2": FIG1_L12_SECOND_CONV}


def read_rates_cfg(path):
    """Conv layer name -> gamma from an authors' rates file ([Thinet_rate] and [L1_rate],
    keys layer3..layer12; the [*_acc] sections are search logs and are ignored)."""
    parser = configparser.ConfigParser()
    if not parser.read(path):
        raise FileNotFoundError(f"{path}: rates file not found")
    sections = {}
    for section in ("Thinet_rate", "L1_rate"):
        if section not in parser:
            raise ValueError(f"{path}: no [{section}] section (an authors' CALPA rates file has "
                             "[Thinet_rate] and [L1_rate])")
        block = {}
        for key, value in parser[section].items():
            if not key.startswith("layer") or not key[5:].isdigit():
                raise ValueError(f"{path}: [{section}] {key}: expected layer3..layer12")
            gamma = float(value)
            if not 0.0 <= gamma < 1.0:
                raise ValueError(f"{path}: [{section}] {key} = {value}: a pruning rate is in [0, 1)")
            block[int(key[5:])] = gamma
        sections[section] = block
    try:
        return rates_by_layer(sections["Thinet_rate"], sections["L1_rate"])
    except (KeyError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from e


def calpa_srnet_widths(rates=None):
    """Output channels per pruned conv for `rates` (default: the released ones)."""
    base = default_widths()
    return {name: kept_count(base[name], g) for name, g in (rates or published_rates()).items()}


def build_calpa_srnet(input_shape=(256, 256, 1), input_kind="coefficients", rates=None, name="calpa_srnet"):
    """SRNet with the widths the rates give (fresh weights: CALPA trains from scratch).
    rates: layer name -> gamma, or the path of an authors' .cfg rates file."""
    if isinstance(rates, str):
        rates = read_rates_cfg(rates)
    return build_srnet(input_shape, widths=calpa_srnet_widths(rates), input_kind=input_kind, name=name)
