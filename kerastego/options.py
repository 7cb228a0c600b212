"""Options declared once: a dataclass field carries its default, help text and choices,
and a command's absl flags and the config its job runs are generated from the dataclass
(TrainConfig, DemoConfig, PruneConfig), so no binary mirrors a job's signature by hand.

A config may be a tree: a field whose default is a dataclass (`section`) groups options,
and each part of a job receives its own section. Every leaf has one flat name, unique in
the tree, which is its command-line flag and its keyword in `make` and `replace`."""
import dataclasses
import sys


def option(default, help, choices=None, flag=True, name=None):
    """A config field with the help text (and choices) its command-line flag shows;
    flag=False keeps it out of the command line (a library-only setting); `name` is its
    flat name when that differs from the field's (e.g. data.train is `train_data`)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "flag": flag,
                                                         "name": name})


def section(cls):
    """A field holding the section `cls` (a dataclass of options) with its defaults."""
    return dataclasses.field(default_factory=cls, metadata={"section": cls})


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One option of a config tree: where it sits (`path`, field names from the root),
    its flat name and its dataclass field."""
    path: tuple
    name: str
    field: dataclasses.Field


def leaves(cls, path=()):
    """Every option of the config class `cls`, sections walked in order."""
    found = []
    for f in dataclasses.fields(cls):
        if "section" in f.metadata:
            found += leaves(f.metadata["section"], path + (f.name,))
        else:
            found.append(Leaf(path + (f.name,), f.metadata.get("name") or f.name, f))
    return found


def flag_fields(cls):
    """The options of `cls` that are command-line flags."""
    return [leaf for leaf in leaves(cls) if leaf.field.metadata.get("flag")]


def make(cls, **options):
    """A `cls` config from flat option names (the rest at their defaults)."""
    return replace(cls(), **options)


def replace(config, **options):
    """`config` with the options named by their flat names replaced (a new tree); an
    unknown name raises TypeError naming it."""
    by_name = {leaf.name: leaf for leaf in leaves(type(config))}
    unknown = sorted(set(options) - set(by_name))
    if unknown:
        raise TypeError(f"{type(config).__name__} has no option {', '.join(unknown)}")
    return _replaced(config, [(by_name[name].path, value) for name, value in options.items()])


def _replaced(value, parts):
    """`value` with each (path, new) of `parts` set (a path of () is `value` itself)."""
    if len(parts) == 1 and not parts[0][0]:
        return parts[0][1]
    children = {}
    for path, new in parts:
        children.setdefault(path[0], []).append((path[1:], new))
    return dataclasses.replace(value, **{name: _replaced(getattr(value, name), p) for name, p in children.items()})


def flat(config):
    """{flat name: value} of every option of `config` (what summary.json records)."""
    values = {}
    for leaf in leaves(type(config)):
        value = config
        for part in leaf.path:
            value = getattr(value, part)
        values[leaf.name] = value
    return values


def define_flags(flags, cls, required=()):
    """One absl flag per flag option of `cls` on `flags` (absl.flags or a
    kerastego.cli.FlagDefiner), listed under the running binary's --help."""
    where = dict(module_name=sys.argv[0])
    definers = {str: flags.DEFINE_string, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                bool: flags.DEFINE_bool}
    for leaf in flag_fields(cls):
        f = leaf.field
        help_text, choices = f.metadata["help"], f.metadata["choices"]
        if choices:
            flags.DEFINE_enum(leaf.name, f.default, list(choices), help_text, **where)
        else:
            definers[f.type](leaf.name, f.default, help_text, **where)
    if required:
        flags.mark_flags_as_required(list(required))


def from_flags(cls, flag_values, base=None):
    """The `cls` config the parsed flags describe; with `base` (a `cls` config, e.g. a named
    experiment's), only the flags given on the command line replace its options."""
    names = [leaf.name for leaf in flag_fields(cls)]
    if base is None:
        return make(cls, **{n: getattr(flag_values, n) for n in names})
    return replace(base, **{n: getattr(flag_values, n) for n in names if flag_values[n].present})
