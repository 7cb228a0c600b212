"""PNG plots people would rather see than read: ROC curves."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from kerastego.evaluation.metrics import roc_auc, roc_curve  # noqa: E402


def plot_roc(curves, path, title="ROC"):
    """curves: {label: (scores, labels)}."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (scores, labels) in curves.items():
        pfa, pd, _ = roc_curve(scores, labels)
        ax.plot(pfa, pd, label=f"{name} (AUC {roc_auc(scores, labels):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("P_FA (false alarm)")
    ax.set_ylabel("P_D (detection)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
