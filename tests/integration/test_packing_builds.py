"""Packing (PacGAN, `model.d_pack`): D judges packs of m samples, all real or all fake; checked on hand-made
tensors, on a critic whose gradient is known, and in smoke runs of every variant and loss
(tests/integration/test_matrix.py).

The in-process runs and builds of this subject; the others are in tests/unit/test_packing.py, and a pack size that
does not divide the batch, or is 0, is a row of the hostile table (tests/helpers/hostile_config.py)."""

from conftest import make_config

from ganexp.build import build_data, build_module


def test_packed_dcgan_d_reads_m_images_and_their_conditions():
    cfg = make_config("debug=smoke", "model=cgan", "model.d_pack=2", "model.discriminator.cond=expand")
    module = build_module(cfg, build_data(cfg))
    first = module.discriminator.trunk[0]
    assert first.in_channels == 2 * 3 + 2 * module.cond_d.out_dim
    real, labels = next(iter(build_data(cfg).train_dataloader()))
    assert module.critic(real.float() / 127.5 - 1, labels).shape == (len(real) // 2,)

