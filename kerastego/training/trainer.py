"""The training loop: any registered model on the pair TFRecord pipeline, under a
distribution strategy, with validation, best-model keeping, TensorBoard logs and
checkpoints that resume at the same step *and the same data position*.

The parts, each in its own module: the task (model, inputs, pair-preserving step),
the checkpointed state and its compatibility checks, the best-model keeper, the
inference weights (moving average, precise BatchNorm) and the history. This module
holds the configuration (one declaration: bin/train's flags are generated from it)
and the loop that calls the parts.
"""
import dataclasses
import math
import os
import sys
import time

import keras
import tensorflow as tf

from kerastego.conventions import FORMAT_VERSION, INPUT_KINDS, MIXED_PRECISION, SELECT_RULES
from kerastego.training.best import BestKeeper
from kerastego.fileio import FolderLock, read_versioned_json, write_json
from kerastego.options import option
from kerastego.training.distribute import choose_strategy, is_chief
from kerastego.training.history import History
from kerastego.training.inference_weights import inference_weights
from kerastego.training.presets import preset_for_model
from kerastego.training.state import TrainState, restore
from kerastego.training.task import StegoTask
from kerastego.models.saving import load_model as load_saved_model


@dataclasses.dataclass
class TrainConfig:
    train_data: str = option(None, "TFRecord pattern of the training split.")
    out_dir: str = option(None, "Output: checkpoints, logs (TensorBoard), best/final .keras, summary.")
    model: str = option("hybrid-type1", "Registered model name (kerastego.models.model_names()) or an "
                        "architecture .json (CALPA's slim_model.json).")
    val_data: str = option(None, "TFRecord pattern of a standalone validation split (best model is kept).")
    image_size: int = option(256, "Input size (256 as in the papers; 64 on a CPU).")
    input_kind: str = option("coefficients", "Model input.", choices=INPUT_KINDS)
    batch_pairs: int = option(None, "Global batch in cover/stego pairs (2x images); preset if unset.")
    steps: int = option(None, "Total training steps; preset if unset.")
    val_every: int = option(1000, "Validate every N steps.")
    checkpoint_every: int = option(500, "Checkpoint every N steps.")
    log_every: int = option(20, "Log training metrics (TensorBoard, history.jsonl) every N steps.")
    optimizer: str = option(None, "Override the preset optimizer.", choices=("sgd", "adamax", "adam"))
    learning_rate: float = option(None, "Override the preset learning rate.")
    momentum: float = option(None, "Override the preset momentum.")
    decay_every: int = option(None, "Override: steps between learning-rate decays.")
    decay_rate: float = option(None, "Override: learning-rate multiplier per decay.")
    seed: int = option(0, "Seed for weights and data order.")
    deterministic: bool = option(False, "Deterministic data order (slower input).")
    shuffle_buffer: int = option(512, "Shuffle buffer in pairs (saved in checkpoints).")
    augment: bool = option(True, "Random exact rot90/flip per pair.")
    sync_bn: bool = option(False, "Synchronised BatchNorm across replicas.")
    init_from: str = option(None, "Curriculum: start from this trained .keras model (e.g. a larger payload).")
    select_by: str = option("accuracy", "best.keras: highest validation accuracy at threshold 0.5 (the papers') "
                            "or lowest P_E.", choices=SELECT_RULES)
    keep_checkpoints: int = option(2, "Checkpoints kept on disk (more: snapshots to compare or ensemble).")
    ema_momentum: float = option(None, "Validate and save an exponential moving average of the weights "
                                 "(e.g. 0.99); off by default, as in the papers.")
    precise_bn_batches: int = option(0, "Before each validation and save, re-estimate BatchNorm statistics as "
                                     "the average over this many training batches (0: off, as in the papers).")
    jit_compile: bool = option(False, "Compile each training and validation step with XLA.")
    mixed_precision: str = option("off", "Train in bfloat16 or float16 (loss-scaled); the frozen first stage, "
                                  "the first block where its output is not integers, and the softmax head "
                                  "stay float32.", choices=MIXED_PRECISION)
    cpu_kernels: bool = option(True, "On CPUs under the TensorFlow backend, train with kerastego's CPU kernels "
                               "(kerastego.kernels.cpu: same outputs and gradients, faster); saved models "
                               "hold the stock layers either way.")
    steps_per_loop: int = option(1, "Training steps per host call (a tf.range loop on the device); logs, "
                                 "validations and checkpoints still happen at their exact steps.")
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    verbose: int = option(1, "Progress bar.", flag=False)


def resolve_preset(cfg):
    """The preset of the model's family with cfg's overrides."""
    p = preset_for_model(cfg.model)
    for field in ("optimizer", "learning_rate", "momentum", "decay_every", "decay_rate", "batch_pairs", "steps"):
        value = getattr(cfg, field)
        if value is not None:
            setattr(p, field, value)
    if cfg.learning_rate is not None and p.boundaries:
        # keep the preset's shape (e.g. /10 at the boundary) around the new base rate
        scale = cfg.learning_rate / p.values[0]
        p.values = tuple(v * scale for v in p.values)
    return p


def validate(model, pattern, batch_pairs, jit_compile=False):
    """Accuracy (threshold 0.5), P_E and the P_E threshold on the whole validation split."""
    from kerastego.evaluation.evaluate import predict_split
    from kerastego.evaluation.metrics import accuracy, best_threshold, p_e
    p, y, _ = predict_split(model, pattern, batch_pairs, jit_compile=jit_compile)
    return {"accuracy": accuracy(p, y), "p_e": p_e(p, y), "threshold": best_threshold(p, y)}


def check_config(cfg):
    """Refuse a configuration that cannot train, before any work: one line naming the
    option and the problem (bin/train turns it into exit status 2)."""
    from kerastego.data import DataError, list_shards
    for name in ("train_data", "out_dir"):
        if not getattr(cfg, name):
            raise ValueError(f"{name} is required")
    positive = {"batch_pairs": cfg.batch_pairs, "steps": cfg.steps, "image_size": cfg.image_size,
                "val_every": cfg.val_every, "checkpoint_every": cfg.checkpoint_every, "log_every": cfg.log_every,
                "keep_checkpoints": cfg.keep_checkpoints, "steps_per_loop": cfg.steps_per_loop}
    for name, value in positive.items():
        if value is not None and value <= 0:
            raise ValueError(f"{name}={value}: must be positive")
    if cfg.learning_rate is not None and cfg.learning_rate < 0:
        raise ValueError(f"learning_rate={cfg.learning_rate}: must not be negative")
    if cfg.image_size % 8:
        raise ValueError(f"image_size={cfg.image_size}: must be a multiple of 8 (JPEG blocks)")
    if cfg.precise_bn_batches < 0:
        raise ValueError(f"precise_bn_batches={cfg.precise_bn_batches}: must be 0 (off) or positive")
    if cfg.select_by not in SELECT_RULES:
        raise ValueError(f"select_by must be one of {SELECT_RULES}, got {cfg.select_by!r}")
    if cfg.mixed_precision not in MIXED_PRECISION:
        raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {cfg.mixed_precision!r}")
    if cfg.mixed_precision == "float16" and cfg.ema_momentum is not None:
        raise ValueError("ema_momentum with mixed_precision=float16: the loss-scaled optimizer keeps no average")
    if cfg.init_from and not os.path.exists(cfg.init_from):
        raise ValueError(f"init_from={cfg.init_from}: no such file")
    if cfg.init_from:
        _check_init_family(cfg)
    for name in ("train_data", "val_data"):
        if getattr(cfg, name):
            try:
                list_shards(getattr(cfg, name))
            except DataError as e:
                raise ValueError(f"{name}: {e}") from e


def _check_init_family(cfg):
    """--init_from must be a model of the family being trained (its weights are copied)."""
    from kerastego.models import infer_family, model_family
    want, got = model_family(cfg.model), infer_family(load_saved_model(cfg.init_from))
    if want != got:
        raise ValueError(f"init_from={cfg.init_from}: a {got} model, and {cfg.model} is a {want} model: "
                         "start from a model of the same family")


RUN_KEYS = ("model", "image_size", "input_kind", "batch_pairs", "mixed_precision")   # what a checkpoint is tied to
NOTED_KEYS = ("train_data", "learning_rate")   # may change on a resume (a curriculum), never silently


def _check_resume(cfg, preset):
    """A resume must train what the checkpoints hold: refuse another model, image size,
    input kind or batch, naming both values; record them for the next resume."""
    path = os.path.join(cfg.out_dir, "run.json")
    now = {"format_version": FORMAT_VERSION, "model": cfg.model, "image_size": cfg.image_size,
           "input_kind": cfg.input_kind,
           "batch_pairs": preset.batch_pairs, "mixed_precision": cfg.mixed_precision,
           "train_data": cfg.train_data, "learning_rate": preset.values[0] if preset.boundaries else
           preset.learning_rate}
    if os.path.exists(path) and os.path.isdir(os.path.join(cfg.out_dir, "checkpoints")):
        before = read_versioned_json(path, "a run record")
        for key in RUN_KEYS:
            if key in before and before[key] != now[key]:
                raise ValueError(f"{cfg.out_dir} holds checkpoints of {key}={before[key]!r}, not {now[key]!r}: "
                                 f"resume with {key}={before[key]!r}, or train into a new out_dir")
        for key in NOTED_KEYS:
            if key in before and before[key] != now[key]:
                print(f"train: WARNING resuming checkpoints trained with {key}={before[key]!r} with "
                      f"{key}={now[key]!r}", file=sys.stderr)
    write_json(path, now)


def _start(cfg, objects, chief):
    """The checkpoint manager, after resuming from its latest checkpoint (True) or
    starting fresh, from init_from's weights when given (False)."""
    ckpt_dir = os.path.join(cfg.out_dir, "checkpoints")
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(**objects),
                                         ckpt_dir if chief else os.path.join(ckpt_dir, "worker-tmp"),
                                         max_to_keep=cfg.keep_checkpoints)
    if manager.latest_checkpoint:
        restore(manager.latest_checkpoint, objects, cfg.select_by)
        if cfg.verbose:
            print(f"train: resumed from {manager.latest_checkpoint} at step {int(objects['step'].numpy())}")
        return manager, True
    if cfg.init_from:
        objects["model"].set_weights(load_saved_model(cfg.init_from).get_weights())
        if cfg.verbose:
            print(f"train: curriculum start from {cfg.init_from}")
    return manager, False


def train(cfg, strategy=None):
    """Train (or resume) per cfg; returns the summary dict also written to summary.json.
    The chief holds out_dir's lock (FolderLock): a second training into it is refused."""
    check_config(cfg)
    os.makedirs(cfg.out_dir, exist_ok=True)
    strategy = strategy or choose_strategy()
    if not is_chief(strategy):
        return _train(cfg, strategy)
    with FolderLock(cfg.out_dir, "train"):
        return _train(cfg, strategy)


def data_warnings(cfg):
    """What would make validation lie: shards matched twice, mixed datasets, validation
    sharing shards or source photos with training (kerastego.data.leakage)."""
    from kerastego.data.leakage import overlap_warnings, shard_warnings
    found = shard_warnings("train_data", cfg.train_data)
    if cfg.val_data:
        found += shard_warnings("val_data", cfg.val_data)
        found += overlap_warnings("train_data", cfg.train_data, "val_data", cfg.val_data)
    return found


def _train(cfg, strategy):
    preset = resolve_preset(cfg)
    _check_resume(cfg, preset)
    warnings = data_warnings(cfg)
    for warning in warnings:
        print(f"train: WARNING {warning}", file=sys.stderr)
    task = StegoTask(cfg, preset, strategy)
    keras.utils.set_random_seed(cfg.seed)
    with strategy.scope():
        model, optimizer = task.build()
        state = TrainState(cfg.select_by)
    keeper = BestKeeper(cfg.select_by, state)
    objects = state.objects(model, optimizer, iter(task.dataset(cfg.seed, cfg.deterministic)))
    manager, resumed = _start(cfg, objects, task.chief)
    history = History(cfg.out_dir, task.chief, preset.steps, cfg.verbose,
                      state.current_step if resumed else None)
    start_step, t0 = state.current_step, time.time()
    _loop(cfg, task, state, keeper, history, manager, objects["iterator"], preset.steps)
    elapsed = time.time() - t0
    if task.chief:
        with inference_weights(model, optimizer, task.bn_batches()):
            task.save(os.path.join(cfg.out_dir, "final.keras"))
    history.close(cfg.out_dir)
    return _summary(cfg, task, state, keeper, start_step, elapsed, warnings)


def _steps_this_call(cfg, step, total):
    """Steps the next call runs: at most steps_per_loop, and never past the next log,
    validation or checkpoint step, so those happen at exactly the same steps."""
    every = [cfg.log_every, cfg.checkpoint_every] + ([cfg.val_every] if cfg.val_data else [])
    return min([cfg.steps_per_loop, total - step] + [e - step % e for e in every])


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; nothing after the last finite checkpoint is saved."""


def _stop_if_diverged(loss_sum, first, last, manager):
    """Raise TrainingDiverged, naming the steps and what is kept, when the loss of steps
    first..last is not finite: no checkpoint, best or final model is written from here."""
    value = float(loss_sum)
    if math.isfinite(value):
        return
    kept = manager.latest_checkpoint or "none (no checkpoint was written before)"
    steps = f"step {last}" if first == last else f"steps {first}-{last}"
    raise TrainingDiverged(f"the training loss is {value} at {steps}: stopped (lower the learning rate); "
                           f"last finite checkpoint: {kept}; best.keras, if any, is from before")


def _loop(cfg, task, state, keeper, history, manager, iterator, total):
    """Train to `total` steps: log, validate and checkpoint on their schedules; stop at the
    first non-finite loss (TrainingDiverged)."""
    train_steps = task.train_steps_fn(cfg.jit_compile)
    running = [0.0, 0.0, 0]          # loss sum, accuracy sum, steps since the last log
    t_saved = time.time()
    while state.current_step < total:
        n = _steps_this_call(cfg, state.current_step, total)
        loss_sum, acc_sum, loss, acc = train_steps(iterator, tf.constant(n, tf.int64))
        _stop_if_diverged(loss_sum, state.current_step + 1, state.current_step + n, manager)
        state.step.assign_add(n)
        s = state.current_step
        running = [running[0] + float(loss_sum), running[1] + float(acc_sum), running[2] + n]
        values = [("loss", float(loss)), ("acc", float(acc))]
        if s % cfg.log_every == 0 or s == total:
            history.log_train(s, running[0] / running[2], running[1] / running[2],
                              float(task.optimizer.learning_rate))
            running = [0.0, 0.0, 0]
        if cfg.val_data and (s % cfg.val_every == 0 or s == total):
            val = _validate_and_keep(cfg, task, keeper, s)
            values += [("val_acc", val["accuracy"]), ("val_pe", val["p_e"])]
            history.log_validation(s, val)
        if s % cfg.checkpoint_every == 0 or s == total:
            now = time.time()
            state.train_seconds.assign_add(now - t_saved)
            t_saved = now
            manager.save(checkpoint_number=s)
        history.progress(s, values)


def _validate_and_keep(cfg, task, keeper, step):
    """Validate with the inference weights; save best.keras when the score improves."""
    with inference_weights(task.model, task.optimizer, task.bn_batches()):
        val = validate(task.model, cfg.val_data, task.preset.batch_pairs, cfg.jit_compile)
        improved = keeper.improves(val)
        if improved and task.chief:
            task.save(os.path.join(cfg.out_dir, "best.keras"))
    if improved:
        keeper.record(val, step)
    return val


def _summary(cfg, task, state, keeper, start_step, elapsed, warnings=()):
    steps_run = state.current_step - start_step
    summary = {
        "model": cfg.model, "steps": state.current_step, "steps_this_run": steps_run,
        "resumed_from_step": start_step, "global_batch_images": task.global_images, "replicas": task.replicas,
        "cpu_kernels": task.cpu_kernels, "data_warnings": list(warnings),
        **keeper.summary(),
        "seconds_this_run": round(elapsed, 2), "seconds_total": round(float(state.train_seconds.numpy()), 2),
        "train_images_per_second": round(steps_run * task.global_images / elapsed, 2) if steps_run else None,
        "final_model": os.path.join(cfg.out_dir, "final.keras"),
        "best_model": os.path.join(cfg.out_dir, "best.keras") if cfg.val_data else None,
        "config": dataclasses.asdict(cfg),
    }
    if task.chief:
        write_json(os.path.join(cfg.out_dir, "summary.json"), summary, indent=2)
    return summary
