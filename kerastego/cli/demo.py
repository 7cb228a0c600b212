"""The end-to-end demo (make demo): bundled photos -> stego -> TFRecords -> train -> evaluate.
Every flag is a DemoConfig field (kerastego/jobs/demo.py)."""
from kerastego.cli import command, define_experiment_flag, experiment_config
from kerastego.options import define_flags


def define(flags):
    from kerastego.jobs.demo import DemoConfig
    define_flags(flags, DemoConfig)
    define_experiment_flag(flags)


def job(FLAGS, args):
    from kerastego.jobs.demo import DemoConfig, run_demo
    run_demo(experiment_config(FLAGS, DemoConfig, "demo"))


main = command(__name__, __doc__, define, job)
