"""The CALPA-NET job behind bin/prune: search a trained model, write the slim
architecture (a Keras JSON config anyone can build), AGGR/AVG baselines, the
finetuning baseline's initial weights, a report and a widths plot; optionally
train the slim architecture from scratch through the training library."""
import os

import numpy as np

from kerastego.conventions import COEFFICIENTS
from kerastego.data import make_dataset
from kerastego.models import infer_family, model_input, save_architecture
from kerastego.pruning.graph import ChannelGraph
from kerastego.pruning.rebuild import rebuild
from kerastego.pruning.report import make_report, plot_widths, write_report
from kerastego.pruning.search import aggr_avg_rates, search, uniform_keep
from kerastego.models.saving import load_model as load_saved_model


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


def run_prune(model_path, val_data, out_dir, epsilon=0.05, sigma=0.05, max_images=512, samples=2000,
              train_data=None, train_steps=0, train_kwargs=None, seed=0):
    os.makedirs(out_dir, exist_ok=True)
    model = load_saved_model(model_path)
    x, y = load_validation(model, val_data, max_images)
    result = search(model, x, y, epsilon=epsilon, sigma=sigma, samples=samples, seed=seed)
    graph = ChannelGraph(model)
    family = infer_family(model)   # the slim model trains with its family's preset and input convention
    slim = rebuild(model, result.keep, graph=graph)
    save_architecture(slim, os.path.join(out_dir, "slim_model.json"), family)
    rebuild(model, result.keep, copy_weights=True, graph=graph).save(os.path.join(out_dir, "finetune_init.keras"))
    uniform = aggr_avg_rates({k: v for k, v in result.rates.items()} or {"none": 0.0})
    for name, gamma in uniform.items():
        save_architecture(rebuild(model, uniform_keep(model, gamma, graph), graph=graph),
                          os.path.join(out_dir, f"{name}_model.json"), family)
    report = make_report(model, slim, result, extra={"epsilon": epsilon, "sigma": sigma, "uniform_rates": uniform,
                                                     "source_model": os.path.abspath(model_path)})
    write_report(report, os.path.join(out_dir, "report.json"))
    plot_widths(report, os.path.join(out_dir, "widths.png"))
    print(f"calpa: conv params {report['original']['conv_params']:,} -> {report['slim']['conv_params']:,} "
          f"({report['params_ratio']:.1%}), FLOPs {report['flops_ratio']:.1%}; "
          f"architecture in {out_dir}/slim_model.json")
    if train_steps:
        from kerastego.training import TrainConfig, train
        kind, size = model_input(model)
        cfg = TrainConfig(train_data=train_data, val_data=val_data, out_dir=os.path.join(out_dir, "train_from_scratch"),
                          model=os.path.join(out_dir, "slim_model.json"), image_size=size, input_kind=kind,
                          steps=train_steps, seed=seed, **(train_kwargs or {}))
        report["train_from_scratch"] = train(cfg)
        write_report(report, os.path.join(out_dir, "report.json"))
    return report
