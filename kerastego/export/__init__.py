"""SavedModel export for TensorFlow Serving and its models.config."""
from kerastego.export.savedmodel import export_savedmodel, saved_model_ops, unservable_ops
from kerastego.export.serving_config import models_config, parse_models_config, write_models_config

__all__ = ["export_savedmodel", "saved_model_ops", "unservable_ops", "models_config", "parse_models_config",
           "write_models_config"]
