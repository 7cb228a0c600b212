"""The binaries as importable commands: each `kerastego/cli/<name>.py` has `define(flags)`
(its flags), `job(FLAGS, args)` (the work, returning the exit status) and
`main = command(...)`, so `main(["scan", "--model=m.keras", ...])` runs it in-process and
the console script `scan` is the same function. Every command parses into flags of its
own (absl FlagValues), so several can run in one process.

Shared rules: a flag that does not parse, or a usage error, is one line on stderr and
exit status 2 (absl's own app.run exits 1); --help prints the command's docstring and
its flags; --flagfile works as in absl."""
import functools
import os
import sys

COMMANDS = ("convert_model", "demo", "detect", "embed", "evaluate", "export", "import_checkpoint", "make_covers",
            "make_tfrecords", "prune", "scan", "tfmot_baseline", "train")
HELP_FLAGS = ("--help", "-h", "--helpfull", "-?")


class FlagDefiner:
    """absl.flags as `define(flags)` sees it: every DEFINE_* and mark_* call goes to one
    FlagValues instead of absl's global FLAGS."""

    def __init__(self, flag_values):
        self.flag_values = flag_values

    def __getattr__(self, name):
        from absl import flags
        found = getattr(flags, name)
        if name.startswith(("DEFINE", "mark_")):
            return functools.partial(found, flag_values=self.flag_values)
        return found


def flag_values(define):
    """A fresh FlagValues holding the flags `define` declares."""
    from absl import flags
    values = flags.FlagValues()
    define(FlagDefiner(values))
    return values


def _parse(name, values, argv, known_only):
    """The arguments left after the flags, or SystemExit(2) with one line naming the problem."""
    from absl import flags
    try:
        return values(argv, known_only=known_only)
    except flags.Error as e:
        print(f"{name}: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def command(module_name, doc, define, job, known_only=False):
    """main(argv=None) -> exit status of a command (argv[0] is the program name; None: sys.argv).
    With `known_only`, flags the command does not define stay in job's args (scan hands
    them to Apache Beam)."""
    name = module_name.rsplit(".", 1)[-1]

    def main(argv=None):
        argv = list(sys.argv if argv is None else argv)
        values = flag_values(define)
        if any(a in HELP_FLAGS for a in argv[1:]):
            print(f"{doc.strip()}\n\nflags:\n{values.get_help()}")
            return 0
        try:
            args = _parse(name, values, argv, known_only)
        except SystemExit as e:
            return e.code
        from absl import app
        try:
            return job(values, args) or 0
        except app.UsageError as e:
            print(f"{name}: {e}", file=sys.stderr)
            return e.exitcode if e.exitcode is not None else 2
    main.__doc__ = doc
    return main


def script(module_name):
    """The body of bin/<name>: run the command with the process's argv and exit with its status."""
    import importlib
    module = importlib.import_module(f"kerastego.cli.{module_name}")
    sys.argv[0] = os.path.basename(sys.argv[0])
    sys.exit(module.main())


def define_experiment_flag(flags):
    flags.DEFINE_string("experiment", None, "Start from this named experiment's settings "
                        "(kerastego.jobs.experiments); the flags given override them.")


def experiment_config(FLAGS, cls, command_name):
    """The `cls` config of the parsed flags, on top of --experiment's when given; a name
    that is not registered for the command is a usage error listing the names."""
    from absl import app
    from kerastego.options import from_flags
    base = None
    if FLAGS.experiment:
        from kerastego.jobs.experiments import experiment
        try:
            base = experiment(FLAGS.experiment, command_name).config
        except KeyError as e:
            raise app.UsageError(f"--experiment: {e.args[0]}", exitcode=2) from None
    return from_flags(cls, FLAGS, base)
