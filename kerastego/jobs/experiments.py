"""Named experiments: a setting with a name to cite and re-run. Each name holds the
config of one command (TrainConfig for train, DemoConfig for demo, PruneConfig for
prune); `--experiment NAME` starts from it and the flags given on the command line
override its fields. The papers' setups name the settings SPEC.md gives; data paths are
always the user's."""
import dataclasses

from kerastego.jobs.demo import DemoConfig
from kerastego.jobs.prune import PruneConfig
from kerastego.training.config import TrainConfig

COMMANDS = {TrainConfig: "train", DemoConfig: "demo", PruneConfig: "prune"}


@dataclasses.dataclass(frozen=True)
class NamedExperiment:
    name: str
    command: str
    config: object
    about: str


_REGISTRY = {}


def register_experiment(name, config, about):
    """Register `config` (a TrainConfig, DemoConfig or PruneConfig) under `name`."""
    if name in _REGISTRY:
        raise ValueError(f"experiment {name!r} is already registered")
    if type(config) not in COMMANDS:
        raise TypeError(f"an experiment holds a TrainConfig, DemoConfig or PruneConfig, got {type(config).__name__}")
    _REGISTRY[name] = NamedExperiment(name, COMMANDS[type(config)], config, about)


def experiment_names(command=None):
    return sorted(n for n, e in _REGISTRY.items() if command in (None, e.command))


def experiment(name, command=None):
    """The NamedExperiment `name` (of `command`, when given); KeyError naming the choices."""
    found = _REGISTRY.get(name)
    if found is None or command not in (None, found.command):
        raise KeyError(f"unknown experiment {name!r} for {command or 'any command'}; registered: "
                       f"{', '.join(experiment_names(command)) or 'none'}")
    return found


register_experiment("demo", DemoConfig(), "make demo: bundled photos, 128x128 QF75 tiles, nsF5 0.4 with a "
                    "300-step warm-up at 1.0, hybrid-type1 for 1000 steps on a CPU")
register_experiment("zeng-hybrid-type1", TrainConfig.of(model="hybrid-type1", image_size=256),
                    "the hybrid paper's Type1 at 256x256 with its Caffe solver (SGD momentum 0.9, lr 1e-3 x0.9 "
                    "every 5000 steps, the family preset)")
register_experiment("zeng-hybrid-type2", TrainConfig.of(model="hybrid-type2", image_size=256),
                    "the hybrid paper's Type2 at 256x256, same solver")
register_experiment("tan-srnet", TrainConfig.of(model="srnet", image_size=256),
                    "SRNet as CALPA-NET trains it: Adamax 1e-3, 1e-4 after 400k steps, 16 pairs")
register_experiment("tan-calpa-srnet", TrainConfig.of(model="calpa-srnet", image_size=256),
                    "the authors' released CALPA-SRNet widths trained from scratch, SRNet's preset")
register_experiment("tan-calpa-search", PruneConfig(epsilon=0.05, sigma=0.05),
                    "CALPA-NET's Algorithm 1 with the paper's step epsilon = 5% and tolerance sigma = 5%")
