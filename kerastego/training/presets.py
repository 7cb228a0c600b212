"""The papers' training protocols as presets; every field can be overridden."""
import dataclasses

import keras

from kerastego.models import model_family


@dataclasses.dataclass
class Preset:
    optimizer: str            # "sgd" or "adamax"
    learning_rate: float
    momentum: float = 0.0
    decay_every: int = 0      # steps between learning-rate decays (staircase); 0 = none
    decay_rate: float = 1.0   # multiplier at each decay
    boundaries: tuple = ()    # piecewise-constant alternative: step boundaries ...
    values: tuple = ()        # ... and the rates between them
    batch_pairs: int = 32     # global batch = 2 * batch_pairs images
    steps: int = 200_000


# one preset per model family (kerastego.models.registry.FAMILIES)
PRESETS = {
    # Zeng et al.: SGD momentum 0.9, lr 1e-3 x0.9 every 5000 iterations, batch 64, 200k iterations
    # (weight decay 5e-4 sits on the model's FC kernels, as Caffe's decay_mult does).
    "hybrid": Preset("sgd", 1e-3, momentum=0.9, decay_every=5000, decay_rate=0.9, batch_pairs=32, steps=200_000),
    # SRNet: Adamax 1e-3, 1e-4 after 400k iterations, batch 32 (16 pairs), 500k iterations.
    "srnet": Preset("adamax", 1e-3, boundaries=(400_000,), values=(1e-3, 1e-4), batch_pairs=16, steps=500_000),
    # XuNet2: SGD momentum 0.9, lr 1e-3 decreased 10% every 5000 iterations, batch 32.
    "xunet2": Preset("sgd", 1e-3, momentum=0.9, decay_every=5000, decay_rate=0.9, batch_pairs=16, steps=200_000),
}


def preset_for_model(model):
    """A copy of the preset of a registered model's (or architecture JSON's) family."""
    return dataclasses.replace(PRESETS[model_family(model)])


def learning_rate_schedule(p):
    if p.boundaries:
        return keras.optimizers.schedules.PiecewiseConstantDecay(list(p.boundaries), list(p.values))
    if p.decay_every:
        return keras.optimizers.schedules.ExponentialDecay(p.learning_rate, p.decay_every, p.decay_rate,
                                                           staircase=True)
    return p.learning_rate


def make_optimizer(p, ema_momentum=None):
    """The preset's optimizer; with ema_momentum it also keeps an exponential moving
    average of the weights (read by kerastego.training.trainer.averaged_weights)."""
    lr = learning_rate_schedule(p)
    ema = dict(use_ema=True, ema_momentum=ema_momentum) if ema_momentum is not None else {}
    if p.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=p.momentum, **ema)
    if p.optimizer == "adamax":
        return keras.optimizers.Adamax(lr, **ema)
    if p.optimizer == "adam":
        return keras.optimizers.Adam(lr, **ema)
    raise ValueError(f"unknown optimizer {p.optimizer!r} (sgd, adamax, adam)")
