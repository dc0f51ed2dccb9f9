"""No host sync in a training iteration on the GPU presets, counted on the CPU (ganexp.syncs).

Each case trains the preset's settings at smoke size on the CPU (fp32, eager) and counts the calls that would make a
GPU's host wait (`.item()`, `float(t)`, `bool(t)`, `.tolist()`, `.cpu()`, blocking copies, ...) over whole
iterations [START, STOP), from one iteration's start to the next: its training step, the callbacks after it, the
loading of the next batch. Evaluation, sample grids and checkpoints are moved past the window (they run every N
iterations and may read what they like).

The budget (issue 42, `ganexp.syncs.over_budget`; not met yet, see the ceilings below): no host sync in an
iteration, except next to the multiples of 10
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
# trainer=smoke's sizes (it is a trainer option itself), EMA on (the GPU runs use it), the every-N work after STOP
TINY = ["model.z_dim=16", "model.generator.width=8", "model.discriminator.width=8", "data.source.n=288",
        "data.batch_size=16", "data.holdout=32", "g_ema.decay=0.999", "trainer.num_threads=1",
        f"trainer.max_iters={STOP + 2}", "trainer.ckpt_every=1000", "log.images_every=1000", "eval.every_n_steps=1000",
        "eval.enabled=false"]


# Issue 42's budget (`over_budget`) is not met yet: measured on 2026-12-04, per iteration, from G's EMA
# (AveragedModel's counter, 2 a G step), the progress bar's self.log (2), the sampler's index copy (1), the guard at
# guard.every=1 under trainer=gpu (2) and InfoGAN's torch.tensor(device=) (3). Until those are fixed this test holds
# the line: no preset may sync more than it does today. Lower each ceiling as a fix lands; at 0 assert over_budget().
@pytest.mark.parametrize(("overrides", "ceiling"), [
    (["trainer=gpu_fast"], 99),  # syncs counted over the STOP - START = 19 iterations: 5.2 an iteration
    (["trainer=gpu"], 137),
    (["trainer=gpu_fast", "model=cgan"], 99),
    (["trainer=gpu_fast", "model=infogan"], 156),
], ids=["gpu_fast", "gpu", "gpu_fast-cgan", "gpu_fast-infogan"])
def test_host_syncs_per_iteration_do_not_grow(overrides, ceiling, tmp_path):
    cfg = make_config(*overrides, *ON_CPU, *TINY)
    report = count_training_syncs(cfg, START, STOP, tmp_path)
    assert round(report.per_iteration * (STOP - START)) <= ceiling, (
        f"{report.per_iteration:.2f} host syncs per iteration, more than {ceiling / (STOP - START):.2f}; by call site "
        f"(per iteration, "
        f"total):\n{report.table()}")


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
        cfg = make_config("trainer=smoke", "eval.enabled=false", "trainer.max_iters=6", "trainer.progress=false")
        report = count_training_syncs(cfg, 2, 5, tmp_path)
    finally:
        mp.undo()
    planted_line = next(site for site in report.log.by_site() if "test_host_syncs.py" in site)
    kinds = {e.kind for e in report.log.events if "test_host_syncs.py" in e.site}
    assert kinds == {"__float__", "__bool__", "tolist", "cpu"}, kinds  # .to("cpu") of a host tensor copies nothing
    assert sum(1 for e in report.log.events if "test_host_syncs.py" in e.site) == 3 * 4, planted_line
    assert {e.iteration for e in report.log.events} <= {2, 3, 4}
