"""Append-only JSONL manifests and atomic file writes: what makes every dataset
job resumable. A record is appended only after its file is complete, and files are
written under a temporary name and renamed, so a killed job never leaves a
half-written file that looks finished."""
import json
import os

from kerastego.fileio import temporary_path


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by a kill: everything after it is redone
    return out


def append_jsonl(path, records):
    with open(path, "a") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def atomic_write_bytes(path, data):
    tmp = temporary_path(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def report_skipped(stage, skipped, out_dir):
    """Print and record what a job skipped; each line names the file and the problem."""
    if not skipped:
        return
    append_jsonl(os.path.join(out_dir, "skipped.jsonl"), [dict(stage=stage, **s) for s in skipped])
    print(f"{stage}: skipped {len(skipped)} input(s):")
    for s in skipped[:20]:
        print(f"  {s['path']}: {s['problem']}")
    if len(skipped) > 20:
        print(f"  ... and {len(skipped) - 20} more (see {out_dir}/skipped.jsonl)")


class ParameterMismatch(ValueError):
    """A re-run of a dataset job into a folder made with other settings."""


def record_parameters(path, params):
    """Write a job's parameters to `path` on its first run; on a re-run refuse other
    values (a folder must never describe outputs made with settings it does not name)."""
    if os.path.exists(path):
        with open(path) as f:
            before = json.load(f)
        changed = {k: (before.get(k), v) for k, v in params.items() if before.get(k, v) != v}
        if changed:
            what = ", ".join(f"{k}={old!r} there, {new!r} now" for k, (old, new) in sorted(changed.items()))
            raise ParameterMismatch(f"{os.path.dirname(path) or '.'} was made with other settings ({what}): "
                                    "use another output folder, or remove this one")
        params = {**before, **params}
    write_json(path, params)
