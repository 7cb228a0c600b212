"""Training: presets from the papers, distribution strategies, the resumable loop
(task, checkpointed state, best-model keeper, inference weights, history)."""
from kerastego.training.distribute import choose_strategy, with_synchronized_bn
from kerastego.training.presets import PRESETS, Preset, make_optimizer, preset_for_model
from kerastego.training.trainer import TrainConfig, train, validate

__all__ = ["choose_strategy", "with_synchronized_bn", "PRESETS", "Preset", "make_optimizer",
           "preset_for_model", "TrainConfig", "train", "validate"]
