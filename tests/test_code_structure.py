"""Code structure. Imports go one way: conventions < layers < models, data < evaluation, pruning,
export < training < jobs. Checked over every import statement (function-level ones
too) of the package and data_tools, so a cycle or an upward import fails here."""
import ast
import os


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# longest prefix wins; a module may import only modules of a lower or equal rank
RANKS = {
    "kerastego.conventions": 0, "kerastego.fileio": 0, "kerastego.options": 0,
    "kerastego.jpeg_io": 0, "kerastego.former_format": 0,
    "kerastego.layers": 1,
    "kerastego.models": 2, "kerastego.data": 2, "kerastego.kernels": 2,
    "data_tools": 3,
    "kerastego.evaluation": 3, "kerastego.pruning": 3, "kerastego.export": 3, "kerastego.serving": 3,
    "kerastego.training": 4,
    "kerastego.jobs": 5,
    "kerastego.cli": 6,
}
SAME_RANK_ONE_WAY = {("kerastego.data", "kerastego.models"), ("kerastego.models", "kerastego.data")}


TOPS = {"kerastego": 1}   # the package itself (registers the layers); matched exactly


def _package(module):
    if module in TOPS:
        return module
    return max((p for p in RANKS if module == p or module.startswith(p + ".")), key=len, default=None)


def _rank(package):
    return TOPS.get(package, RANKS.get(package))


def _modules():
    for top in ("kerastego", "data_tools"):
        for root, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(root, f)
                    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    yield (rel[:-len(".__init__")] if rel.endswith(".__init__") else rel), path


def _imports(path):
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in ("kerastego", "data_tools"):     # from kerastego import layers
                yield from (f"{node.module}.{a.name}" for a in node.names)
            else:
                yield node.module


def _violations():
    bad = []
    for module, path in _modules():
        src = _package(module)
        if src is None:
            bad.append(f"{module}: not placed in RANKS")
            continue
        for imported in _imports(path):
            dst = _package(imported)
            if dst is None or dst == src:
                continue
            if _rank(dst) > _rank(src) or (src, dst) in SAME_RANK_ONE_WAY:
                bad.append(f"{module} imports {imported} ({src} rank {_rank(src)} -> {dst} rank {_rank(dst)})")
    return sorted(set(bad))


def test_imports_go_one_way():
    assert _violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: a layer importing the models is caught."""
    fake = tmp_path / "kerastego" / "layers"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("def f():\n    from kerastego.models import build_model\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", str(tmp_path))
    assert _violations() == ["kerastego.layers.bad imports kerastego.models (kerastego.layers rank 1 -> "
                             "kerastego.models rank 2)"]


MAX_FUNCTION_LINES = 80


def test_no_function_in_the_package_is_longer_than_a_screen():
    long = []
    for module, path in _modules():
        if not module.startswith("kerastego"):
            continue
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert long == []
