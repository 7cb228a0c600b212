"""The training loop: any registered model on the pair TFRecord pipeline, under a
distribution strategy, with validation, best-model keeping, TensorBoard logs and
checkpoints that resume at the same step *and the same data position*.

The parts, each in its own module and each given its section of the TrainConfig
(kerastego.training.config): the task (model, inputs, pair-preserving step), the
checkpointed state and its compatibility checks, the best-model keeper, the inference
weights (moving average, precise BatchNorm) and the history. The Trainer here builds
them and runs the loop that calls them.
"""
import math
import os
import sys
import time

import keras
import tensorflow as tf

from kerastego.conventions import FORMAT_VERSION
from kerastego.fileio import FolderLock, read_versioned_json, write_json
from kerastego.models.saving import load_model
from kerastego.options import flat
from kerastego.training.best import BestKeeper
from kerastego.training.config import TrainConfig, check_config, resolve_preset
from kerastego.training.distribute import choose_strategy, is_chief
from kerastego.training.history import History
from kerastego.training.inference_weights import inference_weights
from kerastego.training.state import ResumeRefused, TrainState, restore
from kerastego.training.task import StegoTask

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "check_config", "data_warnings", "resolve_preset",
           "train", "validate"]


def validate(model, pattern, batch_pairs, jit_compile=False):
    """Accuracy (threshold 0.5), P_E and the P_E threshold on the whole validation split."""
    from kerastego.evaluation.evaluate import predict_split
    from kerastego.evaluation.metrics import accuracy, best_threshold, p_e
    p, y, _ = predict_split(model, pattern, batch_pairs, jit_compile=jit_compile)
    return {"accuracy": accuracy(p, y), "p_e": p_e(p, y), "threshold": best_threshold(p, y)}


def data_warnings(data):
    """What would make validation lie: shards matched twice, mixed datasets, validation
    sharing shards or source photos with training (kerastego.data.leakage)."""
    from kerastego.data.leakage import overlap_warnings, shard_warnings
    found = shard_warnings("train_data", data.train)
    if data.val:
        found += shard_warnings("val_data", data.val)
        found += overlap_warnings("train_data", data.train, "val_data", data.val)
    return found


RUN_KEYS = ("model", "image_size", "input_kind", "batch_pairs", "mixed_precision")   # what a checkpoint is tied to
NOTED_KEYS = ("train_data", "learning_rate")   # may change on a resume (a curriculum), never silently


def check_resume(cfg, preset):
    """A resume must train what the checkpoints hold: refuse another model, image size,
    input kind or batch, naming both values; record them for the next resume."""
    out_dir = cfg.runtime.out_dir
    path = os.path.join(out_dir, "run.json")
    now = {"format_version": FORMAT_VERSION, "model": cfg.model.name, "image_size": cfg.model.image_size,
           "input_kind": cfg.model.input_kind, "batch_pairs": preset.batch_pairs,
           "mixed_precision": cfg.model.mixed_precision, "train_data": cfg.data.train,
           "learning_rate": preset.values[0] if preset.boundaries else preset.learning_rate}
    if os.path.exists(path) and os.path.isdir(os.path.join(out_dir, "checkpoints")):
        before = read_versioned_json(path, "a run record")
        for key in RUN_KEYS:
            if key in before and before[key] != now[key]:
                raise ResumeRefused(f"{out_dir} holds checkpoints of {key}={before[key]!r}, not {now[key]!r}: "
                                 f"resume with {key}={before[key]!r}, or train into a new out_dir")
        for key in NOTED_KEYS:
            if key in before and before[key] != now[key]:
                print(f"train: WARNING resuming checkpoints trained with {key}={before[key]!r} with "
                      f"{key}={now[key]!r}", file=sys.stderr)
    write_json(path, now)


def train(cfg, strategy=None):
    """Train (or resume) per cfg (a TrainConfig); returns the summary dict also written to
    summary.json. The chief holds out_dir's lock (FolderLock): a second training into it
    is refused."""
    check_config(cfg)
    os.makedirs(cfg.runtime.out_dir, exist_ok=True)
    strategy = strategy or choose_strategy()
    if not is_chief(strategy):
        return Trainer(cfg, strategy).run()
    with FolderLock(cfg.runtime.out_dir, "train"):
        return Trainer(cfg, strategy).run()


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


class Trainer:
    """One training run of `cfg` under `strategy`: builds the task, the checkpointed
    state, the keeper and the history, resumes from the latest checkpoint, and runs the
    loop to the schedule's last step (run)."""

    def __init__(self, cfg, strategy):
        self.cfg, self.strategy = cfg, strategy
        self.runtime, self.selection = cfg.runtime, cfg.selection
        self.preset = resolve_preset(cfg)
        check_resume(cfg, self.preset)
        self.warnings = data_warnings(cfg.data)
        for warning in self.warnings:
            print(f"train: WARNING {warning}", file=sys.stderr)
        self.task = StegoTask(cfg.model, cfg.data, cfg.selection, self.preset, strategy, cfg.runtime.seed)
        keras.utils.set_random_seed(cfg.runtime.seed)
        with strategy.scope():
            self.model, self.optimizer = self.task.build()
            self.state = TrainState(cfg.selection.select_by)
        self.keeper = BestKeeper(cfg.selection.select_by, self.state)
        iterator = iter(self.task.dataset(cfg.runtime.seed, cfg.data.deterministic))
        self.objects = self.state.objects(self.model, self.optimizer, iterator)
        self.manager, resumed = self._start()
        self.history = History(cfg.runtime.out_dir, self.task.chief, self.preset.steps, cfg.runtime.verbose,
                               self.state.current_step if resumed else None)

    def _path(self, name):
        return os.path.join(self.runtime.out_dir, name)

    def _start(self):
        """The checkpoint manager, after resuming from its latest checkpoint (True) or
        starting fresh, from init_from's weights when given (False)."""
        ckpt_dir = self._path("checkpoints")
        manager = tf.train.CheckpointManager(tf.train.Checkpoint(**self.objects),
                                             ckpt_dir if self.task.chief else os.path.join(ckpt_dir, "worker-tmp"),
                                             max_to_keep=self.runtime.keep_checkpoints)
        verbose = self.runtime.verbose
        if manager.latest_checkpoint:
            restore(manager.latest_checkpoint, self.objects, self.selection.select_by)
            if verbose:
                print(f"train: resumed from {manager.latest_checkpoint} at step {self.state.current_step}")
            return manager, True
        if self.cfg.model.init_from:
            self.model.set_weights(load_model(self.cfg.model.init_from).get_weights())
            if verbose:
                print(f"train: curriculum start from {self.cfg.model.init_from}")
        return manager, False

    def run(self):
        """Train to the last step, save final.keras (inference weights) and return the summary."""
        start_step, t0 = self.state.current_step, time.time()
        self._loop(self.preset.steps)
        elapsed = time.time() - t0
        if self.task.chief:
            with inference_weights(self.model, self.optimizer, self.task.bn_batches()):
                self.task.save(self._path("final.keras"))
        self.history.close(self.runtime.out_dir)
        return self._summary(start_step, elapsed)

    def steps_this_call(self, step, total):
        """Steps the next call runs: at most steps_per_loop, and never past the next log,
        validation or checkpoint step, so those happen at exactly the same steps."""
        r = self.runtime
        every = [r.log_every, r.checkpoint_every] + ([self.selection.val_every] if self.cfg.data.val else [])
        return min([r.steps_per_loop, total - step] + [e - step % e for e in every])

    def _loop(self, total):
        """Train to `total` steps: log, validate and checkpoint on their schedules; stop at the
        first non-finite loss (TrainingDiverged)."""
        r, state = self.runtime, self.state
        train_steps = self.task.train_steps_fn(r.jit_compile)
        running = [0.0, 0.0, 0]          # loss sum, accuracy sum, steps since the last log
        self._t_saved = time.time()
        while state.current_step < total:
            n = self.steps_this_call(state.current_step, total)
            loss_sum, acc_sum, loss, acc = train_steps(self.objects["iterator"], tf.constant(n, tf.int64))
            _stop_if_diverged(loss_sum, state.current_step + 1, state.current_step + n, self.manager)
            state.step.assign_add(n)
            s = state.current_step
            running = [running[0] + float(loss_sum), running[1] + float(acc_sum), running[2] + n]
            values = [("loss", float(loss)), ("acc", float(acc))]
            if s % r.log_every == 0 or s == total:
                self.history.log_train(s, running[0] / running[2], running[1] / running[2],
                                       float(self.optimizer.learning_rate))
                running = [0.0, 0.0, 0]
            if self.cfg.data.val and (s % self.selection.val_every == 0 or s == total):
                val = self._validate_and_keep(s)
                values += [("val_acc", val["accuracy"]), ("val_pe", val["p_e"])]
                self.history.log_validation(s, val)
            if s % r.checkpoint_every == 0 or s == total:
                self._checkpoint(s)
            self.history.progress(s, values)

    def _checkpoint(self, step):
        now = time.time()
        self.state.train_seconds.assign_add(now - self._t_saved)
        self._t_saved = now
        self.manager.save(checkpoint_number=step)

    def _validate_and_keep(self, step):
        """Validate with the inference weights; save best.keras when the score improves."""
        with inference_weights(self.model, self.optimizer, self.task.bn_batches()):
            val = validate(self.model, self.cfg.data.val, self.preset.batch_pairs, self.runtime.jit_compile)
            improved = self.keeper.improves(val)
            if improved and self.task.chief:
                self.task.save(self._path("best.keras"))
        if improved:
            self.keeper.record(val, step)
        return val

    def _summary(self, start_step, elapsed):
        task, state = self.task, self.state
        steps_run = state.current_step - start_step
        summary = {
            "model": self.cfg.model.name, "steps": state.current_step, "steps_this_run": steps_run,
            "resumed_from_step": start_step, "global_batch_images": task.global_images, "replicas": task.replicas,
            "cpu_kernels": task.cpu_kernels, "data_warnings": list(self.warnings),
            **self.keeper.summary(),
            "seconds_this_run": round(elapsed, 2), "seconds_total": round(float(state.train_seconds.numpy()), 2),
            "train_images_per_second": round(steps_run * task.global_images / elapsed, 2) if steps_run else None,
            "final_model": self._path("final.keras"),
            "best_model": self._path("best.keras") if self.cfg.data.val else None,
            "config": flat(self.cfg),
        }
        if task.chief:
            write_json(self._path("summary.json"), summary, indent=2)
        return summary
