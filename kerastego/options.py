"""Options declared once: a dataclass field carries its default, help text and choices,
and a command's absl flags and the config its job runs are generated from the dataclass
(TrainConfig, DemoConfig, PruneConfig), so no binary mirrors a job's signature by hand."""
import dataclasses
import sys


def option(default, help, choices=None, flag=True):
    """A config field with the help text (and choices) its command-line flag shows;
    flag=False keeps it out of the command line (a library-only setting)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


def flag_fields(cls):
    """The fields of the dataclass `cls` that are command-line flags."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("flag")]


def define_flags(flags, cls, required=()):
    """One absl flag per flag field of `cls` on `flags` (absl.flags or a
    kerastego.cli.FlagDefiner), listed under the running binary's --help."""
    where = dict(module_name=sys.argv[0])
    definers = {str: flags.DEFINE_string, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                bool: flags.DEFINE_bool}
    for f in flag_fields(cls):
        help_text, choices = f.metadata["help"], f.metadata["choices"]
        if choices:
            flags.DEFINE_enum(f.name, f.default, list(choices), help_text, **where)
        else:
            definers[f.type](f.name, f.default, help_text, **where)
    if required:
        flags.mark_flags_as_required(list(required))


def from_flags(cls, flag_values, base=None):
    """The `cls` config the parsed flags describe; with `base` (a `cls` config, e.g. a named
    experiment's), only the flags given on the command line replace its fields."""
    fields = flag_fields(cls)
    if base is None:
        return cls(**{f.name: getattr(flag_values, f.name) for f in fields})
    return dataclasses.replace(base, **{f.name: getattr(flag_values, f.name) for f in fields
                                        if flag_values[f.name].present})
