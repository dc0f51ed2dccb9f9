"""The documentation: README stays short and its links resolve, the site builds with `mkdocs build --strict` (a
broken link fails it), every committed sweep report is linked from the results page, and every `python run.py`
command the README and the pages show names options that exist: each job it runs composes and passes the start-up
checks.

Its tests that start processes: tests/e2e/test_docs_site.py."""

import re
import shlex
from pathlib import Path

import pytest
import torch
from conftest import CONF, ROOT, compose_whole, make_config, sweep_jobs
from markdown.extensions.toc import slugify
from omegaconf import OmegaConf

from ganexp.schema import validate

DOCS = ROOT / "docs"


def generated(page: Path) -> bool:
    """Pages a tool writes (the findings, the sweep reports): their commands and links are the tools' business."""
    return page.name == "findings.md" or DOCS / "experiments" in page.parents


def hand_written() -> list[Path]:
    return [ROOT / "README.md", *(p for p in sorted(DOCS.rglob("*.md")) if not generated(p))]


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


def test_every_committed_sweep_report_is_linked_from_the_results_page():
    """Results have one home: a folder under docs/experiments/ that results.md does not link is a result no reader
    finds (add a line to its index, under the topic it belongs to)."""
    results = (DOCS / "results.md").read_text()
    linked = set(re.findall(r"\]\(experiments/([\w.-]+)/", results))
    folders = {p.name for p in (DOCS / "experiments").iterdir() if p.is_dir()}
    assert folders - linked == set(), "docs/results.md links no file of these experiment folders"
    assert linked - folders == set()


# `+experiment=<name>`: any experiment file composes (tests/integration/test_experiments.py)
PLACEHOLDERS = {"<name>": "losses"}


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
        validate(make_config(*job))


def test_make_config_composes_as_hydra_composes_each_whole():
    """conftest.make_config composes the group choices once and applies the values after, as Hydra does: the same
    config as Hydra's compose of the whole job (a choice, a value, an interpolation over a value, an appended key, a
    package, a hydra.* key, a list), and Hydra's error for a key that does not exist or a value of the wrong type."""
    from hydra.errors import ConfigCompositionException

    jobs = [("loss=wgan", "model.d_pack=1", "sched.d_every=5"), ("loss=wgan", "model.d_pack=2", "sched.d_every=5"),
            ("+experiment=losses", "loss=gp", "trainer.max_iters=7"), ("model=cgan", "model.wrong_weight=1"),
            ("data=toy_ring", "model.d_pack=3"),  # data.batch_size interpolates model.d_pack
            ("debug=smoke", "+optimizer.d.foreach=true", "optim@optimizer.g=sgd", "optimizer.g.lr=0.5"),
            ("hydra.run.dir=/tmp/x", "eval.enabled=false", "trainer.max_iters=3", "trainer.max_iters=4"),
            ("model=cgan", "cond=embed", "cond.embed_dim=12", "model.generator.width=8")]
    for job in jobs:
        cfg, whole = make_config(*job), compose_whole(*job)
        assert OmegaConf.to_yaml(cfg) == OmegaConf.to_yaml(whole) and OmegaConf.is_struct(cfg)
        assert OmegaConf.to_container(cfg, resolve=True) == OmegaConf.to_container(whole, resolve=True)
    assert make_config("data=toy_ring", "model.d_pack=3").data.batch_size == 300
    for bad, message in ((("loss=wgan", "model.d_pakc=2"), "Could not override 'model.d_pakc'"),
                         (("trainer.max_iters=abc",), "trainer.max_iters=abc")):
        for composer in (make_config, compose_whole):
            with pytest.raises(ConfigCompositionException, match=message):
                composer(*bad)


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
