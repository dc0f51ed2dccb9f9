"""The techniques GAN codebases treat as standard, each checked against its maths: R1, generator EMA, truncation.

The in-process runs and builds of this subject; the others are in tests/unit/test_toolkit.py."""

import torch
from conftest import full_and_resumed, make_config
from torch.testing import assert_close

from ganexp.build import build_data, build_module


def test_r1_makes_auto_d_norm_per_sample():
    # and refuses model.discriminator.norm=batch: the hostile table's row "config: R1 on batchnorm"
    cfg = make_config("debug=smoke", "reg=r1")
    module = build_module(cfg, build_data(cfg))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in module.discriminator.modules())


# ---------------------------------------------------------------------------------------------------------- EMA
def ema_module(*overrides: str):
    cfg = make_config("debug=smoke", "g_ema.decay=0.9", *overrides)
    return build_module(cfg, build_data(cfg))


def test_ema_copies_g_before_start_then_averages_with_the_decay():
    module = ema_module("g_ema.start=2", "model=cgan", "cond=embed")
    weight = module.generator.net[0].weight
    averaged = module.g_ema.module[0].net[0].weight
    table = module.g_ema.module[1].table.weight  # the condition encoder is averaged with G
    for iteration, value in enumerate([1.0, 2.0, 4.0, 8.0]):
        module.iteration = iteration
        with torch.no_grad():
            weight.fill_(value)
            module.cond_g.table.weight.fill_(value)
        module.update_ema()
    # iterations 0, 1 copy (1, then 2); then 0.9 * 2 + 0.1 * 4 = 2.2; then 0.9 * 2.2 + 0.1 * 8 = 2.78
    assert_close(averaged, torch.full_like(averaged, 2.78))
    assert_close(table, torch.full_like(table, 2.78))


def test_the_average_measures_its_own_batchnorm_statistics():
    """Before it draws, the averaged G's BatchNorm statistics are recomputed for its own weights: reset, then the
    cumulative average over 16 passes of fixed noise (torch's update_bn rule), without touching the global RNG."""
    module = ema_module()
    with torch.no_grad():
        for averaged, trained in zip(module.g_ema.module.parameters(), module.g_parts().parameters(), strict=True):
            averaged.copy_(2 * trained)  # an average unlike G
        module.generator.net[1].running_mean.fill_(3.0)  # G's own statistics: not the average's
    bn = module.g_ema.module[0].net[1]
    seen = []
    hook = bn.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].detach().clone()))
    module.g_ema.module.eval()  # as evaluation leaves it: the passes run in train mode, then eval comes back
    rng = torch.get_rng_state()
    module.drawing_parts(ema=True)
    hook.remove()
    assert len(seen) == 16 and torch.equal(torch.get_rng_state(), rng)
    dims = [0] + list(range(2, seen[0].dim()))
    assert_close(bn.running_mean, torch.stack([x.mean(dims) for x in seen]).mean(0))
    assert_close(bn.running_var, torch.stack([x.var(dims) for x in seen]).mean(0))  # unbiased, as BatchNorm keeps
    assert bn.momentum == module.generator.net[1].momentum and not module.g_ema.module.training
    module.drawing_parts(ema=True)
    assert len(seen) == 16  # fresh: not measured again until the average moves
    module.update_ema()
    assert module._ema_stale


def test_drawing_uses_the_average_and_training_the_raw_g():
    module = ema_module()
    with torch.no_grad():
        for p in module.g_ema.module.parameters():
            p.zero_()  # an average that draws the same flat image whatever z is
    z = torch.randn(4, module.z_dim)
    module.eval()
    drawn, trained = module.generate(z, ema=True), module.generate(z)
    assert torch.equal(drawn[0], drawn[1]) and not torch.equal(trained[0], trained[1])
    assert {id(p) for p in module.g_parameters()}.isdisjoint({id(p) for p in module.g_ema.parameters()})


def test_ema_is_saved_and_resumed_exactly(tmp_path, monkeypatch):
    full, resumed, saved = full_and_resumed(tmp_path, monkeypatch, "debug=smoke", "eval.enabled=false",
                                            "g_ema.decay=0.9", "g_ema.start=2", "seed=3")
    assert saved == 4 and any(k.startswith("g_ema.") for k in full["state_dict"])
    for key, value in full["state_dict"].items():
        assert_close(resumed["state_dict"][key], value, msg=key)


def test_diffaugment_reaches_every_image_d_sees(monkeypatch):
    """Real, fake and wrong-condition images, in D's step and in G's: every judge call goes through it."""
    cfg = make_config("debug=smoke", "augment=diffaug", "model=cgan", "model.wrong_weight=1")
    module = build_module(cfg, build_data(cfg))
    seen = []
    module.augment = lambda x: seen.append(x.shape) or x
    real, labels = next(iter(build_data(cfg).train_dataloader()))
    real = real.float() / 127.5 - 1
    z = module.noise(len(real))
    fake = module.generate(z, labels)
    module.d_loss(real, labels, fake.detach(), labels, z)
    assert len(seen) == 3  # real, fake, real with wrong conditions
    module.g_loss(fake, labels, z)
    assert len(seen) == 4
