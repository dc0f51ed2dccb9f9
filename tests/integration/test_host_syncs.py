"""No host sync in a training iteration on the GPU presets, counted on the CPU (ganexp.syncs).

Each case trains the preset's settings at smoke size on the CPU (fp32, eager) and counts the calls that would make a
GPU's host wait (`.item()`, `float(t)`, `bool(t)`, `.tolist()`, `.cpu()`, blocking copies, ...) over whole
iterations [START, STOP), from one iteration's start to the next: its training step, the callbacks after it, the
loading of the next batch. Evaluation, sample grids and checkpoints are moved past the window (they run every N
iterations and may read what they like).

The budget (issue 42, `ganexp.syncs.over_budget`): no host sync in an iteration, except next to the multiples of 10
of the iteration counter (the iteration that starts on one, and the one before it: the counter moves on at the end of
the training step), where the every-N work (the guard's check of D's and G's loss, one batched read of the scalars, a
progress-bar refresh) may read at most 4 times. A failure lists the counted calls per iteration by the line that
made them.
"""

import pytest
from conftest import make_config

from ganexp.syncs import count_training_syncs

START, STOP = 3, 22  # 19 counted iterations, iterations 10 and 20 among them
ON_CPU = ["trainer.accelerator=cpu", "trainer.precision=32-true", "trainer.compile=false", "trainer.benchmark=false"]
# debug=smoke's sizes (it is a trainer option itself), EMA on (the GPU runs use it), the every-N work after STOP
TINY = ["model.z_dim=16", "model.generator.width=8", "model.discriminator.width=8", "data.source.n=288",
        "data.batch_size=16", "data.holdout=32", "g_ema.decay=0.999", "trainer.num_threads=1",
        f"trainer.max_iters={STOP + 2}", "trainer.ckpt_every=1000", "log.images_every=1000", "eval.every_n_steps=1000",
        "eval.enabled=false"]


@pytest.mark.parametrize("overrides", [
    ["trainer=gpu_fast"], ["trainer=gpu"], ["trainer=gpu_fast", "model=cgan"], ["trainer=gpu_fast", "model=infogan"],
    ["trainer=gpu_fast", "model=cgan", "model.wrong_weight=1", "model.wrong_sampling=colours"],
    ["trainer=gpu_fast", "model=cgan", "cond=text"],
], ids=["gpu_fast", "gpu", "gpu_fast-cgan", "gpu_fast-infogan", "gpu_fast-cgan-wrong", "gpu_fast-text"])
def test_gpu_presets_keep_the_host_sync_budget(overrides, tmp_path, request):
    if "cond=text" in overrides:
        request.getfixturevalue("fake_encoder")  # sentence vectors of its own: the lookup is what is counted
        overrides = [*overrides, f"cond.cache_dir={tmp_path}"]  # not the session cache's real 384-d vectors
    cfg = make_config(*overrides, *ON_CPU, *TINY)
    report = count_training_syncs(cfg, START, STOP, tmp_path)
    assert not report.over_budget(), (
        f"{report.per_iteration:.2f} host syncs per iteration; over the budget: {report.over_budget()}; by call "
        f"site (per iteration, total):\n{report.table()}")


def test_the_counter_sees_each_kind_of_read_and_names_the_line(tmp_path):
    """The counter itself: a planted read in the training step is counted once per iteration, at its own line."""
    import torch

    from ganexp.modules.base import GANModule

    original = GANModule.end_iteration

    def planted(self):
        flag = torch.ones(())
        float(flag), bool(flag), flag.tolist(), flag.cpu(), torch.zeros(2).to("cpu")  # five reads, one line
        original(self)

    mp = pytest.MonkeyPatch()
    mp.setattr(GANModule, "end_iteration", planted)
    try:
        cfg = make_config("debug=smoke", "eval.enabled=false", "trainer.max_iters=6", "trainer.progress=false")
        report = count_training_syncs(cfg, 2, 5, tmp_path)
    finally:
        mp.undo()
    planted_line = next(site for site in report.log.by_site() if "test_host_syncs.py" in site)
    kinds = {e.kind for e in report.log.events if "test_host_syncs.py" in e.site}
    assert kinds == {"__float__", "__bool__", "tolist", "cpu"}, kinds  # .to("cpu") of a host tensor copies nothing
    assert sum(1 for e in report.log.events if "test_host_syncs.py" in e.site) == 3 * 4, planted_line
    assert {e.iteration for e in report.log.events} <= {2, 3, 4}
