"""Training: presets from the papers, the TensorFlow trainer (distribution strategies,
the resumable loop: task, checkpointed state, best-model keeper, inference weights,
history) and the backend-neutral `native` path (model.fit on pair batches).

Names load on first use, so `kerastego.training.native` imports no TensorFlow."""
import importlib

_WHERE = {"choose_strategy": "distribute", "with_synchronized_bn": "distribute", "PRESETS": "presets",
          "Preset": "presets", "make_optimizer": "presets", "preset_for_model": "presets",
          "TrainConfig": "config", "Trainer": "trainer", "train": "trainer", "validate": "trainer",
          "PairBatches": "native", "fit_pairs": "native", "read_pairs": "native"}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'kerastego.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"kerastego.training.{_WHERE[name]}"), name)
