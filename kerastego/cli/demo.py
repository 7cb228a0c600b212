"""The end-to-end demo (make demo): bundled photos -> stego -> TFRecords -> train -> evaluate.
Every flag is a DemoConfig field (kerastego/jobs/demo.py)."""
from kerastego.cli import command
from kerastego.options import define_flags, from_flags


def define(flags):
    from kerastego.jobs.demo import DemoConfig
    define_flags(flags, DemoConfig)


def job(FLAGS, args):
    from kerastego.jobs.demo import DemoConfig, run_demo
    run_demo(from_flags(DemoConfig, FLAGS))


main = command(__name__, __doc__, define, job)
