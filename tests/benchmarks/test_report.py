"""The benchmark tables in BUILD.md and README.md are the rendering of their results
JSON (benchmarks/report.py), so a figure in the docs always has its run behind it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import report  # noqa: E402


def test_every_rendered_table_matches_its_results_file():
    assert report.stale_blocks() == []
    with open(os.path.join(report.ROOT, "BUILD.md")) as f:
        names = [m.group(2) for m in report.BLOCK.finditer(f.read())]
    assert {"scan", "cpu_rewrite"} <= set(names)


def test_an_edited_table_is_found_stale():
    block = "<!-- report:cpu_rewrite -->\n| a figure typed by hand |\n<!-- /report:cpu_rewrite -->"
    assert report.refreshed(block) != block
    assert report.refreshed(report.refreshed(block)) == report.refreshed(block)
    assert "benchmarks/results/cpu_rewrite.json" in report.render("cpu_rewrite")
