"""The repository speaks of the project and its users: no lab-notebook prose (a numbered
work session, a tracker's issue number, a round of work) in any file outside tests/, no
docstring carrying a date (figures and
their dates live in benchmarks/results/*.json and the tables rendered from them), a
README short enough to read, and `ruff check` clean under the repository's ruff.toml."""
import ast
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK_WORDS = re.compile(r"\b(sessions?|issues? \d+|rounds? of work)\b", re.I)
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
TEXT_SUFFIXES = (".py", ".md", ".txt", ".toml", ".cfg", ".ini", ".sh", ".json", "")


def _tracked():
    """Tracked files outside tests/ (every file when this is no git checkout)."""
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        files = names.splitlines()
    except (OSError, subprocess.CalledProcessError):
        files = [os.path.relpath(os.path.join(r, n), ROOT) for r, d, ns in os.walk(ROOT)
                 if ".git" not in r and ".venv" not in r for n in ns]
    return [f for f in files if not f.startswith("tests/") and os.path.splitext(f)[1] in TEXT_SUFFIXES]


def test_no_file_reads_like_a_lab_notebook():
    found = []
    for path in _tracked():
        with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if NOTEBOOK_WORDS.search(line):
                    found.append(f"{path}:{number}: {line.strip()[:100]}")
    assert not found, "\n".join(found)


def test_the_word_check_can_fail():
    assert NOTEBOOK_WORDS.search("measured in the ninth session") and NOTEBOOK_WORDS.search("see issue 24")
    assert NOTEBOOK_WORDS.search("after the second round of work")
    assert not NOTEBOOK_WORDS.search("a TF Serving model folder") and not NOTEBOOK_WORDS.search("tissue 4")


def _docstrings(path):
    tree = ast.parse(open(os.path.join(ROOT, path), encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                yield getattr(node, "name", "module"), doc


def test_no_docstring_carries_a_date():
    found = [f"{path}: {name}" for path in _tracked() if path.endswith(".py") or path.startswith("bin/")
             for name, doc in _docstrings(path) if DATE.search(doc)]
    assert not found, found


def test_the_readme_is_short():
    with open(os.path.join(ROOT, "README.md")) as f:
        assert len(f.read().splitlines()) <= 120


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    assert ruff, "ruff is in the test extra: pip install -e '.[test]'"
    r = subprocess.run([ruff, "check", "--no-cache", ROOT], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
