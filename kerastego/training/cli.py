"""Command-line flags generated from TrainConfig (kerastego.options): one declaration of
every training option (type, default, help, choices), read by the train command and by
the library."""
from kerastego.options import define_flags
from kerastego.training.config import TrainConfig

REQUIRED = ("train_data", "out_dir")


def define_train_flags(flags):
    """One flag per TrainConfig option; train_data and out_dir are required."""
    define_flags(flags, TrainConfig, REQUIRED)
