"""Shared helpers for benchmarks: machine description, JSON results and a work folder."""
import contextlib
import os
import platform
import sys
import tempfile
import time

from kerastego.fileio import write_json


def machine():
    """The host and, under TensorFlow, its GPUs (a JAX benchmark passes its own)."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "tensorflow": tf.__version__, "gpus": len(gpus)}
    if gpus:
        info["gpu_name"] = tf.config.experimental.get_device_details(gpus[0]).get("device_name")
    return info


def save(name, results, out_dir=None, machine_info=None, path=None):
    """Write results/<name>.json (or `path`) with the date, the machine and the command."""
    out_dir = out_dir or os.path.join(os.path.dirname(__file__), "results")
    path = path or os.path.join(out_dir, f"{name}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    payload = {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": machine_info or machine(), "command": " ".join(["python"] + sys.argv), "results": results}
    write_json(path, payload, indent=2)
    print(f"wrote {path}")
    return payload


@contextlib.contextmanager
def work_folder(given=None, prefix="kerastego_bench_"):
    """The folder a benchmark builds its files in: `given` (kept, so a later run can reuse
    it), or a temporary one removed when the benchmark ends."""
    if given:
        os.makedirs(given, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as work:
        yield work
