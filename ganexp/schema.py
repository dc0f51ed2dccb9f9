"""Config schemas: dataclasses registered in Hydra's ConfigStore, plus start-up checks of `_target_` nodes.

The plain groups (sched, trainer, log) and the top level are typed dataclasses, so Hydra itself rejects an unknown
key or a wrong type while composing. Nodes that name a `_target_` (model, loss, optimizer, cond, data) are checked
against the signature of the class they build (`check_targets`): their schema is the class itself, so adding a
loss needs a class and a YAML file, nothing more. `validate` adds the value checks types cannot express.
"""

import hashlib
import importlib
import inspect
import re
import sys
import typing
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganexp.errors import ConfigError
from ganexp.sweep import HOW_NOT_WHAT


@dataclass
class Milestone:
    at: int = MISSING  # iteration from which the settings below apply
    d_every: int | None = None
    g_every: int | None = None
    d_steps: int | None = None
    g_steps: int | None = None


@dataclass
class SchedConf:
    d_every: int = 1  # D is updated on every d_every-th iteration (batch)
    g_every: int = 1
    d_steps: int = 1  # consecutive D updates when it is D's turn
    g_steps: int = 1
    milestones: list[Milestone] = field(default_factory=list)
    pixel_pretrain_steps: int = 0  # G steps on a pixel loss to the real batch before adversarial training


@dataclass
class LRSchedConf:
    g: Any = None  # a torch.optim.lr_scheduler (its _target_ and settings), stepped once per iteration
    d: Any = None


@dataclass
class TrainerConf:
    max_iters: int = 6000  # run length in iterations (batches); 0 means max_epochs passes over the data
    max_epochs: int = 0
    accelerator: str = "auto"
    strategy: str = "auto"  # ddp for one run across several GPUs (trainer=ddp)
    devices: Any = 1
    precision: str = "auto"  # bf16-mixed on a CPU with bf16 hardware, else 32-true (train.resolve_arithmetic)
    ckpt_every: int = 1000  # iterations between last.ckpt refreshes
    progress: bool = True
    deterministic: bool = False
    benchmark: bool = False  # cudnn.benchmark
    channels_last: Any = "auto"  # true | false | auto (on with bf16 on the CPU): NHWC tensors, faster with bf16
    compile: bool = False  # torch.compile G and D's forward (D eager when the loss needs double backward)
    num_threads: int | None = None  # torch CPU threads (None: torch's default; cores // n_jobs under joblib)


@dataclass
class LogConf:
    every: int = 50  # iterations between scalar writes
    images_every: int | None = None  # iterations between fixed-noise sample grids (None: a tenth of the run)
    bank_seed: int = 1234  # seed of the grids' noise and conditions, the same for every job of a sweep
    grid: int = 64  # images per grid


# trainer.precision: Lightning's names, and auto (ganexp.train.resolve_arithmetic)
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true", "32", "16", "bf16", "64")
EVAL_FEATURES = ("evaluator", "inception")  # eval.features (OmegaConf 2.3 cannot type a Literal)


@dataclass
class EvalConf:
    enabled: bool = True
    every_n_steps: int = 1000  # iterations between evaluations (one more at the end)
    floor: float = 0.9  # the evaluator's held-out accuracy below which ganexp refuses to use it
    epochs: int = 2  # evaluator training (once per data set, then cached)
    width: int = 32
    seed: int = 4321  # noise of the evaluation samples: the same for every evaluation and every job
    threshold: float = 0.8  # acc/cond level whose first crossing is logged as acc/steps_to_threshold
    # evaluator: FID/KID in the data set's evaluator space only; inception: also standard Inception FID/KID
    # (fid, kid), which needs torch-fidelity's FID weights: downloaded once, or a local copy at inception_weights
    features: str = "evaluator"
    inception_weights: str | None = None


@dataclass
class GEMAConf:
    decay: float = 0.0  # G's exponential moving average (e.g. 0.999) for evaluation, grids, best.ckpt, sampling; 0: off
    start: int = 0  # iterations before which the average just copies G


@dataclass
class GuardConf:
    max_loss: float = 1.0e5  # |loss| above this for `patience` consecutive checks ends the run as diverged
    patience: int = 3
    every: int = 1  # iterations between checks (each check is one host sync; non-finite losses always end it)


@dataclass
class OptimizerPair:
    g: Any = MISSING
    d: Any = MISSING


@dataclass
class Config:
    model: Any = MISSING
    loss: Any = MISSING
    optimizer: OptimizerPair = field(default_factory=OptimizerPair)
    cond: Any = MISSING
    data: Any = MISSING
    reg: Any = None  # a regulariser of D (reg=r1), or none
    augment: Any = None  # augmentation of every image D sees (augment=diffaug), or none
    sched: SchedConf = field(default_factory=SchedConf)
    lr_sched: LRSchedConf = field(default_factory=LRSchedConf)
    trainer: TrainerConf = field(default_factory=TrainerConf)
    log: LogConf = field(default_factory=LogConf)
    eval: EvalConf = field(default_factory=EvalConf)
    guard: GuardConf = field(default_factory=GuardConf)
    g_ema: GEMAConf = field(default_factory=GEMAConf)
    seed: int = 0
    resume: bool = False  # continue this command's unfinished jobs from last.ckpt; skip its completed ones
    # a run folder, or a sweep folder, holding a shorter run of the same settings: start from a copy of its end
    # (checkpoint, pictures, TensorBoard events) instead of from scratch, e.g. to take a sweep from 2,000 to 4,000
    extend_from: str | None = None
    monitor: str = "fid_eval"  # picks best.ckpt; a job returns its best value to the sweeper


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
    """Optuna's direction for a monitored metric (see `ganexp.eval.ranking`)."""
    from ganexp.eval.ranking import BEST_AT_ONE, HIGHER_IS_BETTER

    if monitor.startswith(BEST_AT_ONE):
        raise ConfigError(f"monitor={monitor}: best at 1, so it has no direction for hparams_search; "
                          "use collapse/class_coverage or fid_eval")
    return "maximize" if monitor.startswith(HIGHER_IS_BETTER) else "minimize"


def register() -> None:
    """The schema and the resolvers that conf/ uses (run folders named by the command, Optuna's direction)."""
    ConfigStore.instance().store(name="base_config", node=Config)
    OmegaConf.register_new_resolver("ganexp_name", folder_name, replace=True)
    OmegaConf.register_new_resolver("ganexp_command", command_name, replace=True)
    OmegaConf.register_new_resolver("ganexp_direction", direction, replace=True)
    OmegaConf.register_new_resolver("ganexp_how_keys", lambda: list(HOW_NOT_WHAT), replace=True)
    # a product, e.g. the toy data's batch: 100 packs of model.d_pack points (conf/data/toy_ring.yaml)
    OmegaConf.register_new_resolver("ganexp_times", lambda a, b: a * b, replace=True)


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
    if annotation in _PLAIN:
        return annotation
    args = typing.get_args(annotation)
    if len(args) == 2 and type(None) in args:  # X | None
        inner = next(a for a in args if a is not type(None))
        return annotation if inner in _PLAIN else Any
    return Any


def check_target(node: DictConfig, path: str) -> None:
    target = _import(node["_target_"])
    params = _parameters(target)
    if params is None:
        return
    values = {k: v for k, v in node.items() if k not in _HYDRA_KEYS}
    for key in values:
        if key not in params:
            raise ConfigError(f"{path}.{key}: not a parameter of {node['_target_']} (it takes: {', '.join(params)})")
    try:
        hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
    except Exception:  # unresolvable annotations in a third-party signature: check the keys only
        hints = {}
    # parameters inherited through **kwargs (a variant's base class) carry their annotation on the Parameter
    hints = {**{k: p.annotation for k, p in params.items() if p.annotation is not inspect.Parameter.empty}, **hints}
    for key, value in values.items():
        allowed = _allowed(hints.get(key))
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{path}.{key}={value!r}: not one of {', '.join(map(str, allowed))}")
    fields = [(k, _plain_type(hints.get(k, Any)), field(default=MISSING))
              for k, v in values.items() if not OmegaConf.is_config(v) and _allowed(hints.get(k)) is None]
    schema = make_dataclass("Schema", fields)
    try:
        OmegaConf.merge(OmegaConf.structured(schema), {k: values[k] for k, _, _ in fields})
    except OmegaConfBaseException as err:
        key = getattr(err, "key", None) or "?"
        raise ConfigError(f"{path}.{key}: {str(err).splitlines()[0]}") from None


def _allowed(annotation: Any) -> tuple | None:
    """The values of a `Literal[...]` annotation (also inside `| None`), else None."""
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
    check_target(cfg.data, "data")  # first: the data's settings (image size) reach the networks by interpolation
    check_targets(cfg)
    for net in ("g", "d"):
        lr = cfg.optimizer[net].get("lr")
        if lr is not None and lr <= 0:
            raise ConfigError(f"optimizer.{net}.lr={lr}: a learning rate must be positive")
    for i, s in enumerate([cfg.sched, *cfg.sched.milestones]):
        where = "sched" if i == 0 else f"sched.milestones[{i - 1}]"
        for key in ("d_every", "g_every"):
            if s[key] is not None and s[key] < 1:
                raise ConfigError(f"{where}.{key}={s[key]}: must be >= 1 (1 = every iteration)")
        for key in ("d_steps", "g_steps"):
            if s[key] is not None and s[key] < 0:
                raise ConfigError(f"{where}.{key}={s[key]}: must be >= 0")
    if cfg.sched.pixel_pretrain_steps < 0:
        raise ConfigError(f"sched.pixel_pretrain_steps={cfg.sched.pixel_pretrain_steps}: must be >= 0")
    if cfg.model.get("uncond_epochs", 0) < 0:
        raise ConfigError(f"model.uncond_epochs={cfg.model.uncond_epochs}: must be >= 0")
    if cfg.data.get("batch_size") is not None and cfg.data.batch_size < 1:
        raise ConfigError(f"data.batch_size={cfg.data.batch_size}: must be >= 1")
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
    for key in ("max_iters", "max_epochs"):
        if cfg.trainer[key] < 0:
            raise ConfigError(f"trainer.{key}={cfg.trainer[key]}: must be >= 0")
    for key in ("loss", "reg"):
        node = cfg.get(key)
        if node and getattr(_import(node._target_), "per_sample_penalty", False) \
                and cfg.model.discriminator.get("norm") == "batch":
            raise ConfigError(f"{key}={node._target_.rsplit('.', 1)[-1]} with model.discriminator.norm=batch: the "
                              "penalty is per sample and BatchNorm mixes the batch; use auto|layer|none|spectral")
    if not 0 <= cfg.g_ema.decay < 1:
        raise ConfigError(f"g_ema.decay={cfg.g_ema.decay}: must be in [0, 1) (0: off)")
    if cfg.get("augment") and data_samples == "points":
        raise ConfigError("augment: image augmentations do not apply to the 2-D points of data=toy_ring|toy_grid")
    if cfg.get("reg") and cfg.reg.get("every", 1) < 1:
        raise ConfigError(f"reg.every={cfg.reg.every}: must be >= 1")
    for key in ("trainer.ckpt_every", "eval.every_n_steps", "log.every", "guard.every", "guard.patience"):
        if OmegaConf.select(cfg, key) < 1:
            raise ConfigError(f"{key}={OmegaConf.select(cfg, key)}: must be >= 1")
    if cfg.trainer.max_iters <= 0 and cfg.trainer.max_epochs <= 0:
        raise ConfigError("trainer.max_iters and trainer.max_epochs are both unset: the run would never end")
