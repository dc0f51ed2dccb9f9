"""The documentation: README stays short and its links resolve, the site builds with `mkdocs build --strict` (a
broken link fails it), every committed sweep report is linked from the results page, and every `python run.py`
command the README and the pages show names options that exist: each job it runs composes and passes the start-up
checks."""

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import CONF, ROOT, compose_hydra, sweep_jobs
from markdown.extensions.toc import slugify

from ganexp.schema import validate

DOCS = ROOT / "docs"
# the `dev` extra installs mkdocs and mkdocs-material, so CI builds the site; only a machine without mkdocs skips
needs_mkdocs = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                                  reason="mkdocs not installed (pip install -e '.[docs]')")
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def generated(page: Path) -> bool:
    """Pages a tool writes (the findings, the sweep reports): their commands and links are the tools' business."""
    return page.name == "findings.md" or DOCS / "experiments" in page.parents


def hand_written() -> list[Path]:
    return [ROOT / "README.md", *(p for p in sorted(DOCS.rglob("*.md")) if not generated(p))]


# --------------------------------------------------------------------------------------------------------------- README


def test_readme_is_at_most_250_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move the detail to a page under docs/"


def headings(page: Path) -> set[str]:
    """The anchors mkdocs (and GitHub, for these headings) gives a page's headings."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slugify(re.sub(r"[`*]", "", h).strip(), "-") for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("name", ["README.md", "CHANGELOG.md"])
def test_links_outside_the_site_resolve(name):
    """mkdocs checks the pages' links; README and CHANGELOG are read on the repository, so they are checked here:
    each relative link (and picture) names a file, and each #anchor a heading of that page."""
    text = (ROOT / name).read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for link in links:
        if re.match(r"[a-z]+://", link):
            continue
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else ROOT / name
        assert target.is_file(), f"{name}: link {link!r}: no such file"
        if anchor:
            assert anchor in headings(target), f"{name}: link {link!r}: no heading with that anchor in {path}"


# ------------------------------------------------------------------------------------------------------------- the site


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


def test_every_committed_sweep_report_is_linked_from_the_results_page():
    """Results have one home: a folder under docs/experiments/ that results.md does not link is a result no reader
    finds (add a line to its index, under the topic it belongs to)."""
    results = (DOCS / "results.md").read_text()
    linked = set(re.findall(r"\]\(experiments/([\w.-]+)/", results))
    folders = {p.name for p in (DOCS / "experiments").iterdir() if p.is_dir()}
    assert folders - linked == set(), "docs/results.md links no file of these experiment folders"
    assert linked - folders == set()


# ------------------------------------------------------------------------------------------------- commands in the docs

PLACEHOLDERS = {"<name>": "losses"}  # `+experiment=<name>`: any experiment file composes (tests/test_experiments.py)


def code_spans(text: str) -> list[str]:
    """Each line of the fenced blocks and each inline code span (whitespace joined: a span may wrap)."""
    spans = [line for block in re.findall(r"```\w*\n(.*?)```", text, re.S) for line in block.splitlines()]
    inline = re.sub(r"```\w*\n.*?```", "", text, flags=re.S)
    return spans + [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", inline)]


def overrides_of(span: str) -> tuple[bool, list[str]] | None:
    """(multirun, overrides) of a `python run.py ...`, `python -m ganexp.bench ...` or `make run ARGS="..."`
    command; None for anything else."""
    if not re.search(r"\brun\.py\b|\bganexp\.bench\b|\bmake run ARGS=", span):
        return None
    words = [w for w in shlex.split(span, comments=True) if w != "..."]
    if words[:2] == ["make", "run"]:
        args = [w for w in words if w.startswith("ARGS=")]
        return (False, shlex.split(args[0][len("ARGS="):])) if args else None
    python = [i for i, w in enumerate(words[:-1]) if w.endswith("python")]
    if not python:
        return None
    rest = words[python[0] + 1:]
    if rest[:2] == ["-m", "ganexp.bench"]:
        rest, overrides = rest[2:], []
        while rest:
            word = rest.pop(0)
            if word.startswith("--"):
                while rest and not rest[0].startswith("--") and "=" not in rest[0]:
                    rest.pop(0)  # the option's values
            else:
                overrides.append(word)
        return False, overrides
    if not rest or not rest[0].endswith("run.py"):
        return None
    multirun = rest[1:2] == ["-m"]
    return multirun, rest[2:] if multirun else rest[1:]


def fill(override: str) -> str:
    key, _, value = override.partition("=")
    return f"{key}={PLACEHOLDERS[value]}" if value in PLACEHOLDERS else override


def doc_commands() -> list[tuple[str, bool, tuple[str, ...]]]:
    found = {}
    for page in hand_written():
        for span in code_spans(page.read_text()):
            parsed = overrides_of(span)
            if parsed is None:
                continue
            multirun, overrides = parsed
            overrides = [fill(w) for w in overrides]
            found.setdefault((multirun, tuple(overrides)), f"{page.relative_to(ROOT)}: {span}")
    return [(where, multirun, overrides) for (multirun, overrides), where in found.items()]


COMMANDS = doc_commands()


def test_the_docs_show_commands():
    """The extraction finds the commands it is meant to check (the card's sweep, an experiment, a bench run)."""
    shown = {(m, o) for _, m, o in COMMANDS}
    assert (True, ("loss=wgan,lsgan,gp", "sched.d_every=1,5")) in shown
    assert (True, ("+experiment=losses", "trainer.max_iters=4000",
                   "extend_from='outputs/multirun/+experiment=losses'")) in shown
    assert (False, ("trainer=cpu_fast",)) in shown  # python -m ganexp.bench trainer=cpu_fast
    assert (False, ("loss=wgan", "model=cgan")) in shown  # make run ARGS="loss=wgan model=cgan"
    assert len(COMMANDS) > 30


@pytest.mark.parametrize(("where", "multirun", "overrides"), COMMANDS, ids=[w for w, _, _ in COMMANDS])
def test_every_command_in_the_docs_names_options_that_exist(where, multirun, overrides, monkeypatch):
    """Each job of the command (seeds aside: they change no structure) composes and passes the start-up checks,
    as the reader who copies it would run it. The GPU presets are checked as on a machine with a GPU."""
    assert not [w for w in overrides if "<" in w], f"{where}: a placeholder the test cannot fill"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    if multirun:
        jobs = {tuple(o for o in job if not o.startswith("seed="))
                for job in sweep_jobs("python run.py -m " + shlex.join(overrides))}
    else:
        jobs = {overrides}
    assert jobs
    for job in jobs:
        cfg = compose_hydra(*job)
        del cfg.hydra
        validate(cfg)


def test_the_option_groups_in_readme_are_the_config_folders():
    """README's option table names every option file of its groups (a new option gets its name there)."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Options\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([\w/]+)`[^|]*\| (.+) \|$", table, re.M))
    for group in ("model", "model/generator", "loss", "optim", "sched", "cond", "data", "trainer", "hparams_search",
                  "experiment", "hydra/launcher", "logger", "debug"):
        files = {p.stem for p in (CONF / group).glob("*.yaml")}
        named = set(re.findall(r"`([\w]+)`", rows[group]))
        assert files <= named, f"README's `{group}` row lacks {sorted(files - named)}"


def test_the_metric_list_in_the_docs_is_the_registry():
    from ganexp.metrics import with_table

    page = (ROOT / "docs" / "evaluation.md").read_text()
    assert with_table(page) == page, "docs/evaluation.md: run python -m ganexp.metrics docs/evaluation.md"
