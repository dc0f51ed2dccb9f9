"""Every option of every group composes and builds, and each declared range accepts its boundary values. Bad keys and
values (each stops at start-up naming the key) are rows of the hostile table: tests/helpers/hostile_config.py."""

import pytest
import torch
from conftest import CONF, built_in_data, group_options, make_config

from ganexp.build import build_data, build_module
from ganexp.losses import WGAN, WGANGP
from ganexp.ranges import Range, range_of, strip
from ganexp.schema import validate

# options that are only valid with another choice; each entry lists the extra overrides they need
NEEDS = {("cond", c): ["model=cgan"] for c in ("onehot", "embed", "text")}
NEEDS |= {("model", "toy"): ["data=toy_ring"], ("data", "toy_ring"): ["model=toy"], ("data", "toy_grid"): ["model=toy"]}
if not torch.cuda.is_available():  # the GPU presets ask for one (and stop at start-up without it)
    NEEDS |= {("trainer", t): ["trainer.accelerator=cpu"] for t in ("gpu", "gpu_fast", "ddp")}


def all_options():
    for group in ("model", "loss", "optim", "cond", "data", "sched", "trainer"):
        for option in built_in_data() if group == "data" else group_options(group):
            yield group, option


@pytest.mark.parametrize(("group", "option"), list(all_options()))
def test_every_option_composes_and_builds(group, option):
    override = f"optim@optimizer.d={option}" if group == "optim" else f"{group}={option}"
    cfg = make_config("debug=smoke", override, *NEEDS.get((group, option), []))
    validate(cfg)
    datamodule = build_data(cfg)
    module = build_module(cfg, datamodule)
    opt_g, opt_d = module.configure_optimizers()[0]
    assert opt_g.param_groups and opt_d.param_groups
    images, labels = next(iter(datamodule.train_dataloader()))
    z = module.noise(4)
    fake = module.generate(z, labels[:4].clone() if module.conditional else None)
    points = cfg.model.generator._target_.endswith("MLPGenerator")
    assert fake.shape == ((4, 2) if points else (4, 3, cfg.data.image_size, cfg.data.image_size))
    assert module.critic(fake, labels[:4] if module.conditional else None).shape == (4,)


def test_loss_brings_its_papers_recipe():
    wgan = make_config("loss=wgan")
    assert wgan.optimizer.g._target_ == wgan.optimizer.d._target_ == "torch.optim.RMSprop"
    assert wgan.optimizer.d.lr == 5e-5 and wgan.sched.d_steps == 5 and wgan.loss.clip == 0.01
    gp = make_config("loss=gp")
    assert list(gp.optimizer.d.betas) == [0.5, 0.9] and gp.loss.gp_weight == 10 and gp.sched.d_steps == 5
    gan = make_config("loss=gan")
    assert gan.optimizer.g.lr == 2e-4 and list(gan.optimizer.g.betas) == [0.5, 0.999] and gan.sched.d_steps == 1
    # the command line still wins, and one network's optimizer can differ
    mixed = make_config("loss=wgan", "optim@optimizer.g=adam", "sched.d_steps=2", "optim@optimizer.d=sgd")
    assert mixed.optimizer.g._target_ == "torch.optim.Adam" and mixed.optimizer.d._target_ == "torch.optim.SGD"
    assert mixed.sched.d_steps == 2


def test_loss_choice_sets_d_normalisation():
    cfg = make_config("debug=smoke", "loss=gp")
    module = build_module(cfg, build_data(cfg))
    assert isinstance(module.loss, WGANGP)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in module.discriminator.modules())
    cfg = make_config("debug=smoke", "loss=wgan")
    module = build_module(cfg, build_data(cfg))
    assert isinstance(module.loss, WGAN)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in module.discriminator.modules())


def test_the_none_options_switch_the_regulariser_and_augmentation_off():
    cfg = make_config("debug=smoke", "augment=none", "reg=none")
    module = build_module(cfg, build_data(cfg))
    assert module.augment is None and module.regularizer is None


def test_every_default_has_one_home():
    """A value set in an option file is not also a default of the class it builds (the plain groups' defaults
    live in ganexp/schema.py alone). A default of None means "absent", not a value, and may stay."""
    import importlib
    import inspect

    from omegaconf import OmegaConf

    def targets(node, where):
        if isinstance(node, dict):
            if str(node.get("_target_", "")).startswith("ganexp."):
                yield where, node
            for key, value in node.items():
                yield from targets(value, f"{where}.{key}")

    twice = []
    for path in sorted(CONF.glob("**/*.yaml")):  # group folders inside groups too (model/generator)
        for where, node in targets(OmegaConf.to_container(OmegaConf.load(path)), path.name):
            module, _, name = node["_target_"].rpartition(".")
            target = getattr(importlib.import_module(module), name)
            params = {}
            for cls in target.__mro__[:-1]:
                params = {**dict(inspect.signature(cls.__init__).parameters), **params}
            twice += [f"{where}.{key}" for key in node if key in params
                      and params[key].default not in (inspect.Parameter.empty, None)]
    assert twice == []


@pytest.mark.parametrize(
    ("allowed", "inside", "outside", "rule"),
    [
        (Range(1), [1, 2, 10**9], [0, -1, 0.999], "must be >= 1"),
        (Range(0, low_open=True), [1e-12, 0.5, 1e5], [0, 0.0, -1e-12, float("nan")], "must be > 0"),
        (Range(0, 1), [0, 0.0, 0.5, 1, 1.0], [-1e-9, 1.000001], "must be in [0, 1]"),
        (Range(0, 1, high_open=True), [0, 0.999], [1, 1.0, -0.1], "must be in [0, 1)"),
        (Range(0, 1, low_open=True), [1e-9, 1], [0, 1.5], "must be in (0, 1]"),
        (Range(high=4294967295), [-5, 4294967295], [4294967296], "must be <= 4294967295"),
    ],
)
def test_range_boundaries(allowed, inside, outside, rule):
    assert all(v in allowed for v in inside) and not any(v in allowed for v in outside)
    assert allowed.describe() == rule


def test_range_is_read_next_to_the_type():
    from typing import Annotated

    assert range_of(Annotated[int, Range(1)]) == Range(1)
    assert range_of(Annotated[float, Range(0, low_open=True)] | None) == Range(0, low_open=True)
    assert range_of(int) is None and range_of(int | None) is None
    assert strip(Annotated[int, Range(1)]) is int and strip(Annotated[int, Range(1)] | None) == int | None


# the value just past each boundary is refused: a row of the hostile table (tests/helpers/hostile_config.py's
# "zero loss limit", "EMA that never moves", "seed above 2**32 - 1", "real label 0", "no update at all", ...)
@pytest.mark.parametrize(
    "overrides",
    [
        ["guard.max_loss=1e-9"],
        ["g_ema.decay=0.999"],
        ["eval.floor=1.0"],
        ["seed=4294967295"],
        ["loss=gp", "loss.gp_weight=0"],
        ["sched.d_steps=0"],  # G alone trains: allowed
        ["trainer.num_threads=null"],
    ],
)
def test_declared_ranges_accept_their_boundaries(overrides):
    validate(make_config("debug=smoke", *overrides))


def test_every_numeric_setting_declares_a_range():
    """Each int/float field of the schema and each int/float parameter of a ganexp class that conf/ builds says
    what it allows (`Annotated[int, Range(..)]`), so no numeric setting goes unchecked."""
    import dataclasses
    import importlib
    import inspect
    import typing

    from omegaconf import OmegaConf

    from ganexp import schema

    def numeric(annotation) -> bool:
        plain = strip(annotation)
        return plain in (int, float) or set(typing.get_args(plain)) in ({int, type(None)}, {float, type(None)})

    missing = [f"{cls.__name__}.{name}" for cls in (schema.Config, schema.SchedConf, schema.Milestone,
                                                     schema.TrainerConf, schema.LogConf, schema.EvalConf,
                                                     schema.GEMAConf, schema.GuardConf)
               for name, hint in typing.get_type_hints(cls, include_extras=True).items()
               if numeric(hint) and range_of(hint) is None and dataclasses.is_dataclass(cls)]
    targets = set()
    for path in CONF.glob("*/*.yaml"):
        text = OmegaConf.to_container(OmegaConf.load(path))
        stack = [text]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if str(node.get("_target_", "")).startswith("ganexp."):
                    targets.add(node["_target_"])
                stack += list(node.values())
    skip = {"ganexp.modules.GANModule"}  # ganexp/modules/base.py: z_dim reaches the generator, d_pack check_pack
    for target in sorted(targets - skip):
        module, _, name = target.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        hints = typing.get_type_hints(cls.__init__, include_extras=True)
        missing += [f"{target}.{p}" for p in inspect.signature(cls.__init__).parameters
                    if p in hints and numeric(hints[p]) and range_of(hints[p]) is None]
    assert missing == []


@pytest.mark.parametrize("data", ["faces", "digits", "fashion_mnist", "toy_ring"])
def test_one_paths_node_moves_every_cache(data, tmp_path):
    """`paths.cache` (GANEXP_CACHE unless set) is the one home of the cache folder: no data file names it."""
    cfg = make_config("debug=smoke", f"data={data}", "model=cgan" if data != "toy_ring" else "model=toy",
                      *(["cond=text"] if data == "faces" else []), f"paths.cache={tmp_path}")
    assert cfg.data.cache_dir == str(tmp_path)
    assert cfg.data.source.get("cache_dir", str(tmp_path)) == str(tmp_path)
    if data == "faces":
        assert cfg.cond.cache_dir == str(tmp_path)
    assert not [p.name for p in CONF.glob("**/*.yaml") if "GANEXP_CACHE" in p.read_text()]  # only in ganexp/schema.py
