"""The documentation: README stays short and its links resolve, the site builds with `mkdocs build --strict` (a
broken link fails it), every committed sweep report is linked from the results page, and every `python run.py`
command the README and the pages show names options that exist: each job it runs composes and passes the start-up
checks.

The tests that start processes of this subject; the others are in tests/unit/test_docs.py."""

import importlib.util
import os
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

# the `dev` extra installs mkdocs and mkdocs-material, so CI builds the site; only a machine without mkdocs skips
needs_mkdocs = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                                  reason="mkdocs not installed (pip install -e '.[docs]')")
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


@needs_mkdocs
def test_the_site_builds_in_strict_mode(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                          str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=QUIET)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    site = tmp_path / "site"
    for page in ("index.html", "usage/sweeps/index.html", "extending/index.html", "findings/index.html",
                 "changelog/index.html", "experiments/losses_cgan/report/index.html"):
        assert (site / page).is_file(), page
    # the changelog page is CHANGELOG.md itself, included at build
    assert "Keep a Changelog" in (site / "changelog" / "index.html").read_text()


@needs_mkdocs
def test_strict_mode_fails_on_a_broken_link(tmp_path):
    """The repository's own validation settings, on a two-page site: links to a missing page, anchor and picture
    fail the build, each named; the same site with a good link builds."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    for key in ("hooks", "not_in_nav", "exclude_docs"):  # about this repository's pages only
        config.pop(key, None)
    config["nav"] = ["index.md", "other.md"]
    config["docs_dir"] = str(tmp_path / "docs")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## A heading\n")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))

    def build(index: str) -> subprocess.CompletedProcess:
        (tmp_path / "docs" / "index.md").write_text(index)
        return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                               str(tmp_path / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, env=QUIET)

    good = build("# Home\n\nSee [the other page](other.md#a-heading).\n")
    assert good.returncode == 0, good.stderr[-2000:]
    bad = build("# Home\n\n[a](gone.md), [b](other.md#no-such-heading), ![c](gone.png)\n")
    assert bad.returncode != 0, bad.stderr[-2000:]
    warnings = [line for line in bad.stderr.splitlines() if line.startswith("WARNING")]
    for target in ("'gone.md'", "'#no-such-heading'", "'gone.png'"):
        assert any(target in line for line in warnings), (target, bad.stderr[-2000:])
