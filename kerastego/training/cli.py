"""Command-line flags generated from TrainConfig: one declaration of every training
option (type, default, help, choices), read by bin/train and by the library."""
import dataclasses

from kerastego.training.trainer import TrainConfig

REQUIRED = ("train_data", "out_dir")


def _flag_fields():
    return [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("flag")]


def define_train_flags(flags):
    """Define one absl flag per TrainConfig option on the `absl.flags` module given,
    listed under the running binary's --help."""
    import sys
    where = dict(module_name=sys.argv[0])
    definers = {str: flags.DEFINE_string, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                bool: flags.DEFINE_bool}
    for f in _flag_fields():
        help_text, choices = f.metadata["help"], f.metadata["choices"]
        if choices:
            flags.DEFINE_enum(f.name, f.default, list(choices), help_text, **where)
        else:
            definers[f.type](f.name, f.default, help_text, **where)
    flags.mark_flags_as_required(list(REQUIRED))


def config_from_flags(flag_values):
    """The TrainConfig the parsed flags describe."""
    return TrainConfig(**{f.name: getattr(flag_values, f.name) for f in _flag_fields()})
