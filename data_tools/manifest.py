"""Append-only JSONL manifests and atomic file writes: what makes every dataset
job resumable. A record is appended only after its file is complete, and files are
written under a temporary name and renamed, so a killed job never leaves a
half-written file that looks finished."""
import json
import os

from kerastego.fileio import cut_to_whole_lines, temporary_path, whole_lines


class ManifestError(ValueError):
    """A manifest line that cannot be trusted; the message names the file, the line and the problem."""


def numbered_records(path):
    """[(line number, record)] of a JSONL manifest. A cut last line is left out (the job
    that wrote it redoes that record); any other line that is not a JSON object is a
    ManifestError naming the file and line."""
    if not os.path.exists(path):
        return []
    out = []
    for number, line in enumerate(whole_lines(path)[0].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise ManifestError(f"{path}:{number}: not a JSON line") from None
        if not isinstance(record, dict):
            raise ManifestError(f"{path}:{number}: not a JSON object")
        out.append((number, record))
    return out


def read_jsonl(path):
    """The records of a JSONL manifest (see numbered_records)."""
    return [record for _, record in numbered_records(path)]


def repair_jsonl(path):
    """Cut a manifest back to its last whole line (what a killed or disk-full run left);
    returns the bytes removed. Jobs call it before appending, so a re-run never writes
    after a cut line."""
    return cut_to_whole_lines(path)


def append_jsonl(path, records):
    """Append whole lines, each flushed to disk; a write error (a full disk) is raised,
    and the next run's repair_jsonl removes a line it cut."""
    with open(path, "a") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True, allow_nan=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def plain_name(value, path, what):
    """`value` when it is a plain file name inside its folder (no separator, no "..", not
    hidden, no control character); ManifestError naming `path` and `what` otherwise."""
    bad = (not isinstance(value, str) or not value or value in (".", "..") or value.startswith(".")
           or "/" in value or "\\" in value or os.sep in value or any(not c.isprintable() for c in value))
    if bad:
        raise ManifestError(f"{path}: {what} {value!r} is not a plain file name in its folder: refused")
    return value


def inside(folder, name, path, what):
    """os.path.join(folder, name) after checking that it resolves inside `folder`."""
    target = os.path.join(folder, plain_name(name, path, what))
    root = os.path.realpath(folder)
    if os.path.commonpath([root, os.path.realpath(target)]) != root:
        raise ManifestError(f"{path}: {what} {name!r} resolves outside {folder}: refused")
    return target


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
