"""A short real training on the faces must learn: generated colour statistics move towards the data's."""

import torch
from conftest import make_config

from ganexp.build import build_data, build_module
from ganexp.data.module import to_float
from ganexp.train import main as train
from ganexp.viz import generate


def colour_histogram(images: torch.Tensor, bins: int = 8) -> torch.Tensor:
    """Joint RGB histogram (bins^3) of [-1, 1] images, normalised: what colours the images are made of."""
    q = ((images.clamp(-1, 1) + 1) / 2 * (bins - 1)).round().long()
    index = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]
    hist = torch.bincount(index.flatten(), minlength=bins**3).float()
    return hist / hist.sum()


def distances(module, real: torch.Tensor) -> tuple[float, float]:
    z = torch.randn(len(real), module.z_dim, generator=torch.Generator().manual_seed(0))
    fake = generate(module, z, None)
    colour = (colour_histogram(fake) - colour_histogram(real)).abs().sum().item()
    layout = (fake.mean(0) - real.mean(0)).abs().mean().item()  # the average face: where skin, hair, eyes sit
    return colour, layout


def test_short_training_on_faces_learns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = ["debug=smoke", "data.source.n=3000", "data.batch_size=32", "model.generator.width=16",
                 "model.discriminator.width=16", "model.z_dim=32", "trainer.max_iters=500", "eval.enabled=false",
                 "log.images_every=500"]
    cfg = make_config(*overrides)
    datamodule = build_data(cfg)
    real = to_float(datamodule.load().images[:500])
    torch.manual_seed(cfg.seed)
    untrained = build_module(cfg, datamodule)
    before = distances(untrained, real)

    train(cfg)
    trained = build_module(cfg, datamodule)
    trained.load_state_dict(torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"])
    after = distances(trained, real)
    # both the colours G paints with and the average face move a long way towards the data (an untrained or
    # frozen G keeps its ratio at 1)
    assert after[0] < 0.6 * before[0], (before, after)
    assert after[1] < 0.6 * before[1], (before, after)
