"""Size table of registered models (CALPA's counting), for the demo and BUILD.md."""
from kerastego.models.registry import build_model
from kerastego.pruning.counting import count_conv_params, count_flops, count_kernel_weights


def size_table(names, input_shape=(256, 256, 1)):
    """Rows of (name, conv params, kernel weights, all Keras params, GFLOPs)."""
    rows = []
    for name in names:
        m = build_model(name, input_shape=input_shape)
        rows.append((name, count_conv_params(m), count_kernel_weights(m), m.count_params(),
                     count_flops(m) / 1e9))
    return rows


def format_size_table(rows, input_shape=(256, 256, 1)):
    head = f"{'model':<22}{'conv params':>14}{'kernel weights':>16}{'keras params':>14}{'GFLOPs':>9}"
    lines = [f"model sizes at {input_shape[0]}x{input_shape[1]} (CALPA formulas)", head, "-" * len(head)]
    for name, conv, kern, allp, gflops in rows:
        lines.append(f"{name:<22}{conv:>14,}{kern:>16,}{allp:>14,}{gflops:>9.3f}")
    return "\n".join(lines)
