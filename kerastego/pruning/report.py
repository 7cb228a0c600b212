"""CALPA reports: widths and rates per layer, size before/after, the search trace,
as JSON and as a PNG of widths per layer (the paper's Fig. 1 style)."""

from kerastego.models.counting import count_conv_params, count_flops
from kerastego.pruning.rebuild import widths
from kerastego.fileio import write_json


def size_summary(model):
    return {"conv_params": count_conv_params(model), "flops": count_flops(model)}


def make_report(original, slim, result=None, extra=None):
    before, after = widths(original), widths(slim)
    report = {
        "layers": [{"layer": n, "original": before[n], "slim": after.get(n),
                    "shrinking_rate": after.get(n, 0) / before[n]}
                   for n in before],
        "original": size_summary(original),
        "slim": size_summary(slim),
    }
    report["params_ratio"] = report["slim"]["conv_params"] / report["original"]["conv_params"]
    report["flops_ratio"] = report["slim"]["flops"] / report["original"]["flops"]
    if result is not None:
        report.update(base_accuracy=result.base_accuracy, rates=result.rates, steps=result.steps,
                      skipped=[{"layer": n, "reason": r} for n, r in result.skipped],
                      search_seconds=round(result.seconds, 2))
    report.update(extra or {})
    return report


def plot_widths(report, path, title="CALPA widths per conv layer"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    layers = report["layers"]
    names = [l["layer"] for l in layers]
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names)), 4))
    x = range(len(names))
    ax.bar(x, [l["original"] for l in layers], color="#cccccc", label="original")
    ax.bar(x, [l["slim"] for l in layers], color="#1f77b4", label="slim")
    ax.set_yscale("log")
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_ylabel("output channels")
    o, s = report["original"], report["slim"]
    ax.set_title(f"{title}\nparams {o['conv_params']:,} -> {s['conv_params']:,}; FLOPs {o['flops']/1e9:.2f}e9 -> "
                 f"{s['flops']/1e9:.2f}e9", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(report, path):
    write_json(path, report, indent=2, default=float)
