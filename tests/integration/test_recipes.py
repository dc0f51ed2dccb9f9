"""The recipes as their papers run them (a real batch per critic step, clipping of the whole critic, AC-GAN's fake
class term, no gradient penalty on a BatchNorm critic) and metrics that cannot mislead (coverage in [0, 1], a KID
spread, the adversarial term logged alone, a random held-out split).

Its pure tests: tests/unit/test_recipe_rules.py."""

import json

import torch
from conftest import full_and_resumed, make_config
from torch.testing import assert_close

from ganexp.build import build_data, build_module
from ganexp.modules.base import GANModule
from ganexp.train import main as train


def build(*overrides: str):
    cfg = make_config("debug=smoke", "eval.enabled=false", *overrides)
    datamodule = build_data(cfg)
    return cfg, datamodule, build_module(cfg, datamodule, max_iters=cfg.trainer.max_iters)


def test_every_critic_step_of_an_iteration_sees_its_own_real_batch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen: list[torch.Tensor] = []
    original = GANModule.d_loss

    def spy(self, real, labels, fake, fake_labels, z):
        seen.append(real.detach().clone())
        return original(self, real, labels, fake, fake_labels, z)

    monkeypatch.setattr(GANModule, "d_loss", spy)
    cfg = make_config("debug=smoke", "eval.enabled=false", "loss=wgan")
    train(cfg)
    assert len(seen) == 8 * 5 and all(len(r) == 16 for r in seen)
    for it in range(8):
        batches = seen[5 * it:5 * it + 5]
        assert all(not torch.equal(a, b) for i, a in enumerate(batches) for b in batches[i + 1:])
    # the first 16 critic steps are one pass over the 256 training images: every image once
    epoch = torch.cat(seen[:16]).flatten(1)
    train_images = build_data(cfg).train_images[0].float().div(127.5).sub(1).flatten(1)
    assert len(torch.unique(epoch, dim=0)) == len(torch.unique(train_images, dim=0))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["real_images"] == metrics["d_updates"] * cfg.data.batch_size == 8 * 5 * 16
    assert metrics["final"]["count/real_images"] == 8 * 5 * 16


def test_resume_with_several_critic_steps_is_exact(tmp_path, monkeypatch):
    """A crash at iteration 6 (last.ckpt at 4), then resume=true: the same weights as an uninterrupted run."""
    full, resumed, saved = full_and_resumed(tmp_path, monkeypatch, "debug=smoke", "eval.enabled=false", "loss=wgan",
                                            "sched.d_steps=3", "seed=5")
    assert saved == 4
    assert resumed["ganexp_counters"] == full["ganexp_counters"]
    assert resumed["ganexp_counters"]["real_images"] == 8 * 3 * 16
    for key, value in full["state_dict"].items():
        assert_close(resumed["state_dict"][key], value, msg=key)


def test_max_epochs_counts_passes_over_the_data_not_iterations(tmp_path, monkeypatch):
    """256 training images, batch 16: one epoch is 16 real batches, i.e. 16 iterations at 1:1 and ceil(16 / 5) = 4
    iterations with 5 critic steps each."""
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "eval.enabled=false", "loss=wgan", "trainer.max_iters=0",
                      "trainer.max_epochs=1"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["iterations"], metrics["d_updates"], metrics["real_images"]) == (4, 20, 20 * 16)


# ---------------------------------------------------------------------------------------- clipping the whole critic
def test_wgan_clips_the_condition_encoder_of_d_too_and_before_the_first_step():
    _, _, module = build("model=cgan", "cond=embed", "model.discriminator.cond=projection", "loss=wgan",
                         "loss.clip=0.02")
    critic = module.critic_parameters()
    assert {id(p) for p in module.cond_d.parameters()} <= {id(p) for p in critic}
    assert max(p.abs().max().item() for p in module.cond_d.parameters()) > 0.02  # N(0, 1) embedding rows
    module.on_train_start()  # before the first critic step
    assert max(p.abs().max().item() for p in critic) <= 0.02 + 1e-9


def test_wgan_leaves_the_extra_heads_of_acgan_unclipped():
    _, _, module = build("model=acgan", "data=cartoon", "loss=wgan", "loss.clip=0.001")
    heads = [p.detach().clone() for p in module.heads.parameters()]
    module.on_train_start()
    assert all(torch.equal(a, b) for a, b in zip(heads, module.heads.parameters(), strict=True))
    assert max(p.abs().max().item() for p in module.discriminator.parameters()) <= 0.001 + 1e-9


def test_trained_wgan_cgan_keeps_its_projection_embedding_in_the_box(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "eval.enabled=false", "model=cgan", "cond=embed",
                      "model.discriminator.cond=projection", "loss=wgan", "loss.clip=0.02", "optim@optimizer.g=adam",
                      "optim@optimizer.d=adam"))
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    cond_d = [v for k, v in state.items() if k.startswith("cond_d.")]
    assert cond_d and max(v.abs().max().item() for v in cond_d) <= 0.02 + 1e-7


# ---------------------------------------------------------------------------------------- AC-GAN, gp, d_adv
def test_acgan_classifies_the_fakes_by_default_as_in_the_paper():
    cfg, datamodule, module = build("model=acgan", "data=cartoon")
    assert cfg.model.cls_on_fake is True and module.cls_on_fake is True


def test_d_adv_is_the_adversarial_term_alone():
    _, datamodule, module = build("model=acgan", "data=cartoon")
    real, labels = next(iter(datamodule.train_dataloader()))
    real = real.float() / 127.5 - 1
    z = module.noise(len(real))
    with torch.no_grad():
        fake = module.generate(z, labels)
        total = module.d_loss(real, labels, fake, labels, z)
        adversarial = module.loss.d_loss(module.critic(real), module.critic(fake))
    assert_close(module._last["loss/d_adv"], adversarial)
    assert (total - adversarial).item() > 0.5  # the two class terms (about ln 6 + ... each) come on top
