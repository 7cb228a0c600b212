"""Benchmark tables rendered from benchmarks/results/*.json, each with the date, the
machine and the command of its run, into the blocks of BUILD.md (and README.md) marked

    <!-- report:NAME -->
    ...
    <!-- /report:NAME -->

    python benchmarks/report.py            # rewrite the blocks
    python benchmarks/report.py --check    # exit 1 when a block differs from its JSON

tests/benchmarks/test_report.py runs the check, so a table never drifts from its results.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOCUMENTS = ("BUILD.md", "README.md")
BLOCK = re.compile(r"(<!-- report:([\w-]+) -->\n)(.*?)(<!-- /report:\2 -->)", re.S)


def load(name):
    with open(os.path.join(HERE, "results", f"{name}.json")) as f:
        return json.load(f)


def machine(info):
    cores = f"{info.get('cpu_count')}-core {info.get('processor')} CPU"
    gpu = f", {info['gpu_name']}" if info.get("gpu_name") else (", no GPU" if not info.get("gpus") else "")
    if "device_platform" in info:          # a JAX benchmark names the device it computed on
        gpu = f", {info['device']} ({info['devices']})" if info["device_platform"] == "gpu" else ", no GPU"
    versions = ", ".join(f"{k} {info[k]}" for k in ("tensorflow", "keras", "jax") if k in info)
    return f"{cores}{gpu}" + (f"; {versions}" if versions else "")


def provenance(payload, name=None):
    """The line under every table: when, where, how to re-run it, and its file."""
    name = name or payload.get("benchmark")
    where = machine(payload["machine"]) if "machine" in payload else "machine not recorded"
    return f"{payload.get('date', 'date not recorded')}, {where}; `{payload.get('command')}`; " \
           f"`benchmarks/results/{name}.json`."


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def scan_table(payload):
    """Files/s of each way to score a corpus and its ratio to the model's bare rate."""
    rows = []
    for r in payload["results"]["rows"]:
        ways = [_way_cell(r, m) for m in ("detect", "scan", "scan_one_reader", "beam", "grpc")]
        rows.append([r["model"], r["files"], _bare_cell(r), *ways,
                     f"{r['start_up_s']:.1f}", f"{r['beam_start_up_s']:.1f}"])
    header = ["model", "files", "bare files/s", "detect", "local scan", "local scan, 1 reader", "Beam DirectRunner",
              "gRPC stand-in",
              "scan start-up s", "Beam start-up s"]
    goals = ", ".join(f"{m} >= {g}x" for m, g in payload["results"]["goals"].items())
    return f"{table(header, rows)}\n\nGoals: {goals} the bare rate. {provenance(payload)}"


def scan_local_table(payload):
    """The scan under one Keras backend and device, with no TensorFlow-only part."""
    readers = payload["results"]["readers"]
    rows = [[r["model"], r["files"], _bare_cell(r),
             *(_way_cell(r, m) for m in ("detect", "scan", "scan_readers")),
             f"{r['start_up_s']:.1f}"] for r in payload["results"]["rows"]]
    header = ["model", "files", "bare files/s", "detect", "local scan", f"local scan, {readers} readers",
              "scan start-up s"]
    backend = payload["machine"].get("keras_backend", "tensorflow")
    return f"{table(header, rows)}\n\nKeras backend {backend}. Goal: scan >= {payload['results']['goals']['scan']}x " \
           f"the bare rate. {provenance(payload)}"


def _way_cell(row, way):
    """Files/s of one way to scan and its ratio to the bare rate."""
    return f"{row[f'{way}_files_per_s']:.2f} ({row[f'{way}_ratio']:.3f}x)"


def _bare_cell(row):
    """The bare rate (the mean of the rates before and after the local scan), both rates and the batch."""
    return (f"{row['bare_files_per_s']:.2f} ({row['bare_files_per_s_before']:.2f} then "
            f"{row['bare_files_per_s_after']:.2f}, batch {row['best_batch']})")


def cpu_rewrite_table(payload):
    """Training speed of the device-neutral models with the CPU rewrite against the former builders."""
    result = payload["results"]
    rows = [[name, ", ".join(map(str, s["old_train_images_per_s"])), ", ".join(map(str, s["new_train_images_per_s"])),
             f"{s['new_over_old_mean']:.3f}x ({min(s['new_over_old_per_round']):.3f}-"
             f"{max(s['new_over_old_per_round']):.3f})"] for name, s in result["summary"].items()]
    header = ["model", f"former builders ({result['old']}) img/s", f"rewrite ({result['new']}) img/s",
              "rewrite / former"]
    return f"{table(header, rows)}\n\n{provenance(payload)}"


def _metrics(m, keys=("accuracy", "p_e", "auc")):
    return [f"{m[k]:.4f}" if isinstance(m[k], float) else m[k] for k in keys]


def authors_model_table(payload):
    rows = [[r["covers"], f"{r['algorithm']} {r['payload']}", r["pairs"], *_metrics(r), r["evaluate_seconds"]]
            for r in payload["results"]["rows"]]
    header = ["covers", "stego", "pairs", "accuracy", "P_E", "AUC", "evaluate s"]
    return f"{table(header, rows)}\n\n{provenance(payload)}"


def transfer_table(payload):
    rows = [[r["target"], method, f"{m['p_e']:.3f}", f"{m['auc']:.3f}", f"{m['accuracy']:.3f}", m["pairs"],
             round(m["seconds"])] for r in payload["results"]["rows"] for method, m in r.items() if method != "target"]
    header = ["target", "method", "P_E", "AUC", "accuracy (0.5)", "test pairs", "seconds"]
    return f"{table(header, rows)}\n\n{provenance(payload)}"


def train_table(payload):
    """Training and inference rates with their share of the matmul peak measured in the same run."""
    result = payload["results"]
    peak = result["matmul_peak_gflops"]
    rows = []
    for r in result["rows"]:
        precision = r["mixed_precision"]
        label = {"off": "float32"}.get(precision, precision) + (" + XLA" if r["jit_compile"] else "")
        paired = [w["fraction_of_paired_fp32_rate"] for w in r.get("train_windows", [])]
        rows.append([r["model"], label, r["train_images_per_s"], r["infer_images_per_s"], r["train_gflops_per_s"],
                     f"{r['train_gflops_per_s'] / peak['off']:.1%}",
                     f"{min(paired):.1%}-{max(paired):.1%}" if paired else "",
                     f"{r['train_gflops_per_s'] / peak.get(precision, peak['off']):.1%}"])
    header = ["model (256x256)", "precision", "train img/s", "inference img/s", "train GFLOP/s", "share of fp32 peak",
              "paired windows (fp32)", "share of same-precision peak"]
    peaks = ", ".join(f"{'float32' if k == 'off' else k} {v}" for k, v in peak.items())
    return f"{table(header, rows)}\n\nMatmul peak (GFLOP/s, best of five in the run): {peaks}. {provenance(payload)}"


def train_runs_table(payload):
    """The hybrid's share of the float32 peak over repeated runs, per group of runs."""
    groups = {}
    for run in payload["results"]:
        r = run["row"]
        groups.setdefault(run["group"], []).append(r["train_gflops_per_s"] / run["matmul_peak_gflops"])
    rows = [[g, len(v), f"{min(v):.1%}-{max(v):.1%}", sum(x >= 0.4 for x in v)] for g, v in groups.items()]
    return f"{table(['runs', 'count', 'share of fp32 peak', 'at 40% or more'], rows)}\n\n{provenance(payload)}"


def pipeline_table(payload):
    r = payload["results"]
    names = {"tfrecord_coefficients": "TFRecords, int16 coefficients",
             "tfrecord_gzip_coefficients": "TFRecords (GZIP), int16 coefficients",
             "tfrecord_spatial": "TFRecords, decompressed in the pipeline", "tfrecord_gzip_spatial":
             "TFRecords (GZIP), decompressed in the pipeline", "jpeg_files_one_by_one":
             "JPEG files one by one (numpy decompression)", "hybrid_type1_train_images_per_s":
             "hybrid-type1 training, same run"}
    rows = [[label, f"{r[key]:,.1f}"] for key, label in names.items()]
    return (f"{table(['source', 'images/s'], rows)}\n\nPipeline over training: {r['pipeline_over_training_ratio']}x "
            f"(GZIP {r['gzip_pipeline_over_training_ratio']}x). {provenance(payload)}")


def calpa_table(payload):
    r = payload["results"]
    thinet = [[t["channels"], f"{t['vectorised_s']} s", f"{t['naive_s']} s", f"{t['speedup']}x"] for t in r["thinet"]]
    speed = [["TF graph", r["srnet_infer_images_per_s"], r["calpa_srnet_infer_images_per_s"], f"{r['speedup']}x"],
             ["XLA", r["xla"]["srnet_infer_images_per_s"], r["xla"]["calpa_srnet_infer_images_per_s"],
              f"{r['xla']['speedup']}x"]]
    stages = [[stage, r["stages"]["srnet"][stage]["ms_per_image"], f"{r['stages']['srnet'][stage]['flops']:.2e}",
               r["stages"]["calpa-srnet"][stage]["ms_per_image"], f"{r['stages']['calpa-srnet'][stage]['flops']:.2e}"]
              for stage in r["stages"]["srnet"]]
    return "\n\n".join([
        table(["channels (2,000 samples)", "vectorised ThiNet", "naive", "speed-up"], thinet),
        table([f"inference, batch {r['batch']}", "SRNet img/s", "CALPA-SRNet img/s", "speed-up"], speed),
        table(["stage", "SRNet ms/image", "SRNet FLOPs", "CALPA ms/image", "CALPA FLOPs"], stages),
        f"Conv params {r['srnet_conv_params']:,} vs {r['calpa_srnet_conv_params']:,}, FLOPs ratio {r['flops_ratio']}. "
        + provenance(payload)])


def serving_table(payload):
    rows = [[r["batch"], f"{r['p50_ms']:,.0f} ms", f"{r['p95_ms']:,.0f} ms", r["images_per_s"]]
            for r in payload["results"]["rows"]]
    return f"{table(['batch', 'p50 latency', 'p95 latency', 'images/s'], rows)}\n\n{provenance(payload)}"


def quality_table(payload):
    r = payload["results"]
    rows = [[algorithm, method, *[f"{m[k]:.3f}" for k in ("accuracy", "p_e", "pfa_at_pd50", "auc")],
             f"{m['train_seconds']:,.0f}"]
            for algorithm, methods in r["results"].items() for method, m in methods.items()]
    header = ["algorithm", "method", "accuracy", "P_E", "P_FA@P_D=50%", "AUC", "train s"]
    return f"{table(header, rows)}\n\n{provenance(payload)}"


def tfmot_baseline_table(payload):
    r = payload.get("results", payload)
    rows = [["non-zero conv weights", f"{r['conv_params_dense']:,}", f"{r['conv_params_nonzero_after_tfmot']:,}"],
            ["images/s", r["images_per_s_original"], r["images_per_s_tfmot_stripped"]]]
    header = ["", "dense", f"tfmot at {r['target_sparsity']:.1%} sparsity"]
    return f"{table(header, rows)}\n\n{r['note']}. {provenance(payload, 'tfmot_baseline')}"


def demo_runs_table(payload):
    """Held-out nsF5 0.4 results of `make demo` runs from clean clones (a range, not one run)."""
    r = payload["results"]
    rows = [[x["run"], x["model_kept"], f"{x['accuracy']:.3f}", f"{x['p_e']:.3f}", f"{x['auc']:.3f}",
             f"{x['juniward_mismatch_accuracy']:.3f}", x["minutes"]] for x in r["runs"]]
    header = ["run", "model kept", "accuracy (0.5)", "P_E", "AUC", "J-UNIWARD mismatch accuracy", "minutes"]
    return (f"{table(header, rows)}\n\nTest photos {', '.join(r['test_photos'])} ({r['test_pairs']:,} pairs), "
            f"{r['data']}. {provenance(payload)}")


RENDERERS = {"demo_runs": demo_runs_table, "scan": scan_table, "scan_local_jax_cpu": scan_local_table,
             "scan_local_jax_gpu": scan_local_table, "cpu_rewrite": cpu_rewrite_table,
             "authors_model": authors_model_table, "transfer": transfer_table, "train": train_table,
             "train_runs": train_runs_table, "pipeline": pipeline_table, "calpa": calpa_table,
             "serving": serving_table, "quality": quality_table, "tfmot_baseline": tfmot_baseline_table}


def render(name):
    return RENDERERS[name](load(name)) + "\n"


def refreshed(text):
    """`text` with every report block rendered again from its JSON."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group(2)) + m.group(4), text)


def stale_blocks():
    """[(document, block name)] of the blocks that differ from their JSON."""
    stale = []
    for doc in DOCUMENTS:
        with open(os.path.join(ROOT, doc)) as f:
            text = f.read()
        stale += [(doc, m.group(2)) for m in BLOCK.finditer(text) if m.group(3) != render(m.group(2))]
    return stale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if args.check:
        stale = stale_blocks()
        for doc, name in stale:
            print(f"{doc}: the {name} table differs from benchmarks/results/{name}.json", file=sys.stderr)
        return 1 if stale else 0
    for doc in DOCUMENTS:
        path = os.path.join(ROOT, doc)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(refreshed(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
