"""Shared fixtures: real configs composed with Hydra's compose API, and a data cache shared by the session."""

import copy
import functools
import os
import re

# The suite runs on the CPU also where a GPU is visible, so that `make test` computes what CI computes: hidden before
# torch can start CUDA, for every test and every process a test starts.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import shlex
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import DictConfig

from ganexp.schema import register

# fixtures that several test files use, kept beside the builders they go with in tests/helpers/ (on the path through
# pyproject.toml's `pythonpath`)
pytest_plugins = ["helpers.text_encoder", "helpers.inception_nets", "helpers.trained_runs"]

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
SMOKE = ("debug=smoke", "eval.enabled=false")  # the smoke job without its evaluation
RESNET = ("model/generator=resnet", "model/discriminator=resnet")  # the SNGAN pair in place of the DCGAN one

# one thread per pytest-xdist worker (the workers share the cores), else up to two; the same for every process a test
# starts (torch's default thread count comes from OMP_NUM_THREADS): a job that leaves trainer.num_threads unset took
# two threads on two busy cores, and its smoke run's 8 iterations took 17.6 s instead of 0.8 s (measured on the 2-core
# dev machine under load)
THREADS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1)
torch.set_num_threads(THREADS)
os.environ["OMP_NUM_THREADS"] = str(THREADS)


@pytest.fixture(scope="session", autouse=True)
def old_pytest_folders(tmp_path_factory, pytestconfig):
    """pytest's folders of earlier sessions beyond its retention count, deleted from threads while the tests run
    (helpers/old_runs.py: ~35 s of waiting on the disk at the end of the session otherwise); by one process only (the
    first pytest-xdist worker), and only in pytest's own numbered layout (not under --basetemp)."""
    from helpers.old_runs import remove_in_background

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = tmp_path_factory.getbasetemp()
    session = base.parent if worker else base  # .../pytest-of-USER/pytest-N
    if worker not in (None, "gw0") or not (re.fullmatch(r"pytest-\d+", session.name)
                                           and session.parent.name.startswith("pytest-of-")):
        yield
        return
    thread = remove_in_background(session.parent, int(pytestconfig.getini("tmp_path_retention_count")))
    yield
    thread.join()


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory) -> Path:
    """Every test (and every subprocess it starts) shares one generated-data cache, never the user's; under
    pytest-xdist the workers share it too (the folder above their own), so a data set or evaluator is built once per
    session: the cache's writes are atomic and an evaluator is trained under a lock (ganexp.eval.evaluator)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "ganexp-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("ganexp-cache")
    os.environ["GANEXP_CACHE"] = str(path)
    return path


_COMPOSED: dict[tuple, DictConfig] = {}


def _composed(overrides: tuple[str, ...], hydra_config: bool) -> DictConfig:
    """Hydra's compose of conf/ with `overrides`, once per test process (~0.1 s each; the suite asks for the same
    few hundred times): each caller gets its own copy (~7 ms), to change as it likes. conf/ does not change during
    a test run, and composing reads no environment (interpolations resolve when read)."""
    key = (overrides, hydra_config)
    if key not in _COMPOSED:
        if "base_config.yaml" not in ConfigStore.instance().repo:  # ~7 ms a time: once per process
            register()
        with initialize_config_dir(str(CONF), version_base="1.3"):
            _COMPOSED[key] = compose(config_name="config", overrides=list(overrides),
                                     return_hydra_config=hydra_config)
    return copy.deepcopy(_COMPOSED[key])


def sets_a_value(override: Override) -> bool:
    """`key=value` on a key that is no config group: Hydra applies it after composing. Anything else (a group choice,
    `+`, `++`, `~`, `@package`, a hydra.* key: hydra.searchpath changes where groups are found) goes to the
    composition itself; sorting an override there when it could go here costs time, never correctness."""
    key = override.key_or_group
    return (override.type == OverrideType.CHANGE and override.package is None and not key.startswith("hydra")
            and not (CONF / key).is_dir())


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


def split(overrides: tuple[str, ...]) -> tuple[tuple[str, ...], list[Override]]:
    """`overrides` as (the ones that go to the composition, in their order; the values applied after it)."""
    parsed = _parser().parse_overrides(list(overrides))
    return tuple(o.input_line for o in parsed if not sets_a_value(o)), [o for o in parsed if sets_a_value(o)]


def make_config(*overrides: str) -> DictConfig:
    """The job's config without the `hydra` node, as `hydra.compose(overrides=...)` returns it, composed in Hydra's
    own two steps (facebookresearch/hydra 1.3, hydra/_internal/config_loader_impl.py, `_load_configuration_impl`;
    private, pinned < 1.4 in pyproject.toml as for `sweep_jobs`): the defaults list, built from the overrides that
    choose config-group options, every file of it read and merged (the slow step, ~0.1 s); then the other overrides
    (`key=value`), applied in their order to the result in struct mode by Hydra's own function
    (`ConfigLoaderImpl._apply_overrides_to_config`), so a key that does not exist fails with Hydra's error. The first
    step runs once per test process for each set of group choices (the suite's ~280 configs share ~150), the second
    on each caller's own copy. tests/unit/test_docs.py holds it to Hydra's compose of the whole job."""
    choices, values = split(overrides)
    cfg = _composed(choices, False)
    ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
    return cfg


def compose_whole(*overrides: str) -> DictConfig:
    """`hydra.compose(overrides=...)` of all of them at once: what make_config must equal."""
    return _composed(overrides, False)


def compose_hydra(*overrides: str) -> DictConfig:
    """The whole config as `python run.py -m ...` would compose it, Hydra's own settings included."""
    return _composed(overrides, True)


def sweep_jobs(command: str) -> list[list[str]]:
    """The overrides of every job one `python run.py -m ...` command runs, as Hydra's basic sweeper expands them:
    the experiment file's sweep first, the command line's overrides after (the later one of a key wins).
    Uses the basic sweeper's own expansion (a private helper of hydra-core, pinned < 1.4 in pyproject.toml)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    words = shlex.split(command)
    assert words[:3] == ["python", "run.py", "-m"], command
    parser = _parser()
    plain = [o.input_line for o in parser.parse_overrides(words[3:]) if not o.is_sweep_override()]
    # the sweep an experiment file declares comes with its group choice (+experiment=NAME): composed from the group
    # choices alone, a value never changes it (make_config applies and checks the values of each job)
    params = compose_hydra(*split(tuple(plain))[0]).hydra.sweeper.params or {}
    overrides = parser.parse_overrides([f"{k}={v}" for k, v in params.items()] + words[3:])
    return BasicSweeper.split_arguments(overrides, None)[0]


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def built_in_data() -> list[str]:
    """The image data options that need no files (the others have a `root`: `???` for the user's files, run by
    tests/integration/test_file_runs.py; fashion_mnist's installed copy, run on files of its own by
    tests/integration/test_fashion_mnist.py).
    The 2-D toy mixtures (toy_*) go with model=toy only (tests/unit/test_toy.py)."""
    return [d for d in group_options("data") if not re.search(r"^root:", (CONF / "data" / f"{d}.yaml").read_text(),
                                                              re.MULTILINE) and not d.startswith("toy_")]


def image_models() -> list[str]:
    return [m for m in group_options("model") if m != "toy"]


def full_and_resumed(tmp_path: Path, monkeypatch, *overrides: str, crash_at: int = 6) -> tuple[dict, dict, int]:
    """Train `overrides` uninterrupted, and again crashing at iteration `crash_at` and then resuming with
    resume=true: (the uninterrupted run's last.ckpt, the resumed run's, the iteration the crashed run had saved)."""
    from ganexp.modules.base import GANModule
    from ganexp.train import main as train

    original = GANModule.training_step

    def crash(self, batch, batch_idx):
        if self.iteration == crash_at:
            raise RuntimeError("simulated crash")
        return original(self, batch, batch_idx)

    for name in ("full", "crashed"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "full")
    train(make_config(*overrides))
    monkeypatch.chdir(tmp_path / "crashed")
    monkeypatch.setattr(GANModule, "training_step", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(make_config(*overrides))
    monkeypatch.setattr(GANModule, "training_step", original)
    saved = torch.load("checkpoints/last.ckpt", weights_only=False)["ganexp_counters"]["iteration"]
    train(make_config(*overrides, "resume=true"))
    full, resumed = (torch.load(tmp_path / name / "checkpoints" / "last.ckpt", weights_only=False)
                     for name in ("full", "crashed"))
    return full, resumed, saved


def _parse_yaml_once() -> None:
    """PyYAML's `load` remembers what it parsed, per test process: Hydra reads and parses every file of the defaults
    list anew for each composition (~16 ms of a ~100 ms compose, in PyYAML's pure-Python parser), and the suite
    composes ~1,000 times from the same ~100 files. Keyed by the whole text and the loader's name (OmegaConf makes
    its loader class anew for each file, the same class each time); each caller gets its own deep copy of the plain
    containers YAML builds; text that fails to parse is not kept, so its error comes each time."""
    import yaml

    load, parsed = yaml.load, {}

    def cached(stream, Loader):  # noqa: N803 (PyYAML's name)
        text = stream if isinstance(stream, str | bytes) else stream.read()
        key = (text, Loader.__module__, Loader.__qualname__)
        if key not in parsed:
            parsed[key] = load(text, Loader=Loader)
        return copy.deepcopy(parsed[key])

    yaml.load = cached


_parse_yaml_once()
