"""The training configuration: a tree of five sections (model, data, schedule, selection,
runtime), each read by the part of the trainer it configures. One declaration: bin/train's
flags are generated from it, one flag per option under its flat name (`--train_data`,
`--select_by`), and `TrainConfig.of(**flat_names)` builds one in code."""
import dataclasses
import os

from kerastego.conventions import INPUT_KINDS, MIXED_PRECISION, SELECT_RULES
from kerastego.options import make, option, section
from kerastego.training.presets import preset_for_model


@dataclasses.dataclass
class ModelOptions:
    """What is trained: the architecture, its input, its numbers and where it starts."""
    name: str = option("hybrid-type1", "Registered model name (kerastego.models.model_names()) or an "
                       "architecture .json (CALPA's slim_model.json).", name="model")
    image_size: int = option(256, "Input size (256 as in the papers; 64 on a CPU).")
    input_kind: str = option("coefficients", "Model input.", choices=INPUT_KINDS)
    init_from: str = option(None, "Curriculum: start from this trained .keras model (e.g. a larger payload).")
    mixed_precision: str = option("off", "Train in bfloat16 or float16 (loss-scaled); the frozen first stage, "
                                  "the first block where its output is not integers, and the softmax head "
                                  "stay float32.", choices=MIXED_PRECISION)
    sync_bn: bool = option(False, "Synchronised BatchNorm across replicas.")
    cpu_kernels: bool = option(True, "On CPUs under the TensorFlow backend, train with kerastego's CPU kernels "
                               "(kerastego.kernels.cpu: same outputs and gradients, faster); saved models "
                               "hold the stock layers either way.")
    kwargs: dict = option(None, "More build_model arguments.", flag=False, name="model_kwargs")


@dataclasses.dataclass
class DataOptions:
    """The pair TFRecords and how they are read."""
    train: str = option(None, "TFRecord pattern of the training split.", name="train_data")
    val: str = option(None, "TFRecord pattern of a standalone validation split (best model is kept).",
                      name="val_data")
    deterministic: bool = option(False, "Deterministic data order (slower input).")
    shuffle_buffer: int = option(512, "Shuffle buffer in pairs (saved in checkpoints).")
    augment: bool = option(True, "Random exact rot90/flip per pair.")


@dataclasses.dataclass
class ScheduleOptions:
    """The optimizer and its schedule; unset options come from the model family's preset."""
    batch_pairs: int = option(None, "Global batch in cover/stego pairs (2x images); preset if unset.")
    steps: int = option(None, "Total training steps; preset if unset.")
    optimizer: str = option(None, "Override the preset optimizer.", choices=("sgd", "adamax", "adam"))
    learning_rate: float = option(None, "Override the preset learning rate.")
    momentum: float = option(None, "Override the preset momentum.")
    decay_every: int = option(None, "Override: steps between learning-rate decays.")
    decay_rate: float = option(None, "Override: learning-rate multiplier per decay.")


@dataclasses.dataclass
class SelectionOptions:
    """Which weights are validated and kept as best.keras."""
    select_by: str = option("accuracy", "best.keras: highest validation accuracy at threshold 0.5 (the papers') "
                            "or lowest P_E.", choices=SELECT_RULES)
    val_every: int = option(1000, "Validate every N steps.")
    ema_momentum: float = option(None, "Validate and save an exponential moving average of the weights "
                                 "(e.g. 0.99); off by default, as in the papers.")
    precise_bn_batches: int = option(0, "Before each validation and save, re-estimate BatchNorm statistics as "
                                     "the average over this many training batches (0: off, as in the papers).")


@dataclasses.dataclass
class RuntimeOptions:
    """Where the run writes, how often, how it computes and how it is seeded."""
    out_dir: str = option(None, "Output: checkpoints, logs (TensorBoard), best/final .keras, summary.")
    seed: int = option(0, "Seed for weights and data order.")
    checkpoint_every: int = option(500, "Checkpoint every N steps.")
    keep_checkpoints: int = option(2, "Checkpoints kept on disk (more: snapshots to compare or ensemble).")
    log_every: int = option(20, "Log training metrics (TensorBoard, history.jsonl) every N steps.")
    jit_compile: bool = option(False, "Compile each training and validation step with XLA.")
    steps_per_loop: int = option(1, "Training steps per host call (a tf.range loop on the device); logs, "
                                 "validations and checkpoints still happen at their exact steps.")
    verbose: int = option(1, "Progress bar.", flag=False)


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run needs, by section."""
    model: ModelOptions = section(ModelOptions)
    data: DataOptions = section(DataOptions)
    schedule: ScheduleOptions = section(ScheduleOptions)
    selection: SelectionOptions = section(SelectionOptions)
    runtime: RuntimeOptions = section(RuntimeOptions)

    @classmethod
    def of(cls, **options):
        """A TrainConfig from flat option names: TrainConfig.of(train_data=..., out_dir=..., steps=...)."""
        return make(cls, **options)


def resolve_preset(cfg):
    """The preset of the model's family with the schedule's overrides."""
    p = preset_for_model(cfg.model.name)
    schedule = cfg.schedule
    for field in dataclasses.fields(schedule):
        value = getattr(schedule, field.name)
        if value is not None:
            setattr(p, field.name, value)
    if schedule.learning_rate is not None and p.boundaries:
        # keep the preset's shape (e.g. /10 at the boundary) around the new base rate
        scale = schedule.learning_rate / p.values[0]
        p.values = tuple(v * scale for v in p.values)
    return p


def check_config(cfg):
    """Refuse a configuration that cannot train, before any work: one line naming the
    option and the problem (bin/train turns it into exit status 2)."""
    from kerastego.data import DataError, list_shards
    for name, value in (("train_data", cfg.data.train), ("out_dir", cfg.runtime.out_dir)):
        if not value:
            raise ValueError(f"{name} is required")
    _check_numbers(cfg)
    if cfg.selection.select_by not in SELECT_RULES:
        raise ValueError(f"select_by must be one of {SELECT_RULES}, got {cfg.selection.select_by!r}")
    if cfg.model.mixed_precision not in MIXED_PRECISION:
        raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {cfg.model.mixed_precision!r}")
    if cfg.model.mixed_precision == "float16" and cfg.selection.ema_momentum is not None:
        raise ValueError("ema_momentum with mixed_precision=float16: the loss-scaled optimizer keeps no average")
    if cfg.model.init_from:
        _check_init_from(cfg.model)
    for name, pattern in (("train_data", cfg.data.train), ("val_data", cfg.data.val)):
        if pattern:
            try:
                list_shards(pattern)
            except DataError as e:
                raise ValueError(f"{name}: {e}") from e


def _check_numbers(cfg):
    positive = {"batch_pairs": cfg.schedule.batch_pairs, "steps": cfg.schedule.steps,
                "image_size": cfg.model.image_size, "val_every": cfg.selection.val_every,
                "checkpoint_every": cfg.runtime.checkpoint_every, "log_every": cfg.runtime.log_every,
                "keep_checkpoints": cfg.runtime.keep_checkpoints, "steps_per_loop": cfg.runtime.steps_per_loop}
    for name, value in positive.items():
        if value is not None and value <= 0:
            raise ValueError(f"{name}={value}: must be positive")
    if cfg.schedule.learning_rate is not None and cfg.schedule.learning_rate < 0:
        raise ValueError(f"learning_rate={cfg.schedule.learning_rate}: must not be negative")
    if cfg.model.image_size % 8:
        raise ValueError(f"image_size={cfg.model.image_size}: must be a multiple of 8 (JPEG blocks)")
    if cfg.selection.precise_bn_batches < 0:
        raise ValueError(f"precise_bn_batches={cfg.selection.precise_bn_batches}: must be 0 (off) or positive")


def _check_init_from(model):
    """--init_from must be a model of the family being trained (its weights are copied)."""
    from kerastego.models import model_family
    from kerastego.models.record import recorded_family
    from kerastego.models.saving import load_model
    if not os.path.exists(model.init_from):
        raise ValueError(f"init_from={model.init_from}: no such file")
    want, got = model_family(model.name), recorded_family(load_model(model.init_from))
    if want != got:
        raise ValueError(f"init_from={model.init_from}: a {got} model, and {model.name} is a {want} model: "
                         "start from a model of the same family")
