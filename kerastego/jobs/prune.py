"""The CALPA-NET job behind bin/prune: search a trained model, write the slim
architecture (a Keras JSON config anyone can build), AGGR/AVG baselines, the
finetuning baseline's initial weights, a report and a widths plot; optionally
train the slim architecture from scratch through the training library."""
import dataclasses
import os

import numpy as np

from kerastego.conventions import COEFFICIENTS
from kerastego.data import make_dataset
from kerastego.models import model_input, save_architecture
from kerastego.models.record import recorded_family
from kerastego.pruning.graph import ChannelGraph
from kerastego.pruning.rebuild import rebuild
from kerastego.pruning.report import make_report, plot_widths, write_report
from kerastego.pruning.search import aggr_avg_rates, search, uniform_keep
from kerastego.models.saving import load_model as load_saved_model
from kerastego.options import option


def load_validation(model, pattern, max_images=512, batch_pairs=32):
    """Validation images (as the model takes them) and labels, in memory."""
    kind, size = model_input(model)
    xs, ys = [], []
    for x, y in make_dataset(pattern, batch_pairs, training=False, image_size=size, input_kind=kind):
        xs.append(x)
        ys.append(y.numpy())
        if sum(len(v) for v in ys) >= max_images:
            break
    if kind == COEFFICIENTS:
        x = {k: np.concatenate([b[k].numpy() for b in xs])[:max_images] for k in xs[0]}
    else:
        x = np.concatenate([b.numpy() for b in xs])[:max_images]
    return x, np.concatenate(ys)[:max_images]


@dataclasses.dataclass
class PruneConfig:
    """Every setting of a CALPA-NET run; the prune command's flags are generated from it."""
    data: str = option(None, "TFRecord pattern of a standalone validation split.")
    out_dir: str = option(None, "Output folder.")
    model_dir: str = option(None, "A training out_dir (its best.keras, else final.keras is used).")
    model: str = option(None, "Or a trained .keras model file.")
    epsilon: float = option(0.05, "Rate step.")
    sigma: float = option(0.05, "Tolerated accuracy drop (fraction).")
    max_images: int = option(512, "Validation images used by the search.")
    samples: int = option(2000, "ThiNet sampled outputs per layer.")
    train_data: str = option(None, "Train the slim architecture from scratch on this pattern...")
    train_steps: int = option(0, "... for this many steps (0: do not train).")
    seed: int = option(0, "Seed of the ThiNet sampling (and of training).")
    train_kwargs: dict = option(None, "More TrainConfig fields for the training from scratch.", flag=False)


def model_file(cfg):
    """The model a PruneConfig names: --model, or model_dir's best.keras, else its final.keras."""
    if cfg.model_dir:
        best = os.path.join(cfg.model_dir, "best.keras")
        return best if os.path.exists(best) else os.path.join(cfg.model_dir, "final.keras")
    return cfg.model


def check_prune_config(cfg):
    """ValueError naming the first setting that cannot run."""
    if not (cfg.model or cfg.model_dir):
        raise ValueError("give --model_dir or --model")
    if cfg.train_steps and not cfg.train_data:
        raise ValueError("--train_steps needs --train_data")
    if not 0.0 < cfg.epsilon < 1.0:
        raise ValueError(f"--epsilon={cfg.epsilon}: the rate step must be in (0, 1)")
    if not 0.0 <= cfg.sigma <= 1.0:
        raise ValueError(f"--sigma={cfg.sigma}: the tolerated drop must be in [0, 1]")
    if min(cfg.max_images, cfg.samples) <= 0 or cfg.train_steps < 0:
        raise ValueError("--max_images and --samples must be positive, --train_steps not negative")
    if not os.path.exists(model_file(cfg)):
        raise ValueError(f"--model {model_file(cfg)}: no such file")


def run_prune(cfg):
    """Search the rates of the PruneConfig's model, write the slim architecture, its uniform
    baselines, a weight-copied slim model and the report (and train the slim one)."""
    out_dir, epsilon, sigma, seed, val_data = cfg.out_dir, cfg.epsilon, cfg.sigma, cfg.seed, cfg.data
    source, max_images, samples = model_file(cfg), cfg.max_images, cfg.samples
    train_data, train_steps, train_kwargs = cfg.train_data, cfg.train_steps, cfg.train_kwargs
    os.makedirs(out_dir, exist_ok=True)
    model = load_saved_model(source)
    x, y = load_validation(model, val_data, max_images)
    result = search(model, x, y, epsilon=epsilon, sigma=sigma, samples=samples, seed=seed)
    graph = ChannelGraph(model)
    family = recorded_family(model)   # the slim model trains with its family's preset and input convention
    slim = rebuild(model, result.keep, graph=graph)
    save_architecture(slim, os.path.join(out_dir, "slim_model.json"), family)
    rebuild(model, result.keep, copy_weights=True, graph=graph).save(os.path.join(out_dir, "finetune_init.keras"))
    uniform = aggr_avg_rates({k: v for k, v in result.rates.items()} or {"none": 0.0})
    for name, gamma in uniform.items():
        save_architecture(rebuild(model, uniform_keep(model, gamma, graph), graph=graph),
                          os.path.join(out_dir, f"{name}_model.json"), family)
    report = make_report(model, slim, result, extra={"epsilon": epsilon, "sigma": sigma, "uniform_rates": uniform,
                                                     "source_model": os.path.abspath(source)})
    write_report(report, os.path.join(out_dir, "report.json"))
    plot_widths(report, os.path.join(out_dir, "widths.png"))
    print(f"calpa: conv params {report['original']['conv_params']:,} -> {report['slim']['conv_params']:,} "
          f"({report['params_ratio']:.1%}), FLOPs {report['flops_ratio']:.1%}; "
          f"architecture in {out_dir}/slim_model.json")
    if train_steps:
        from kerastego.training import TrainConfig, train
        kind, size = model_input(model)
        cfg = TrainConfig.of(train_data=train_data, val_data=val_data,
                             out_dir=os.path.join(out_dir, "train_from_scratch"),
                             model=os.path.join(out_dir, "slim_model.json"), image_size=size, input_kind=kind,
                             steps=train_steps, seed=seed, **(train_kwargs or {}))
        report["train_from_scratch"] = train(cfg)
        write_report(report, os.path.join(out_dir, "report.json"))
    return report
