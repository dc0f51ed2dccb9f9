"""Regularisers (ganexp/regularisers.py): path length against its maths on a linear G, its running mean step by step,
the lazy form, what `requirements` says for each loss and regulariser, and `reg=path_length` trained and resumed."""

import json
import math

import pytest
import torch
from conftest import full_and_resumed, make_config
from hydra.utils import get_class
from torch.testing import assert_close

from ganexp.build import build_data, build_module
from ganexp.losses import BCE, WGANGP
from ganexp.regularisers import R1, PathLength, Requirements, StepInputs, requirements
from ganexp.schema import validate
from ganexp.train import main as train

C, H, W, Z = 1, 2, 3, 4  # G(z) = A z as a 1 x 2 x 3 image from a 4-vector: J^T y = A^T y


def linear_g(a: torch.Tensor, z: torch.Tensor):
    """`run_g` of a linear G: (z, requiring grad; its images)."""
    def run_g(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        g_input = z[:n].detach().requires_grad_(True)
        return g_input, (g_input @ a.T).reshape(n, C, H, W)
    return run_g


def by_hand(a: torch.Tensor, y: torch.Tensor, pl_mean: float, decay: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(lengths |A^T y_i|, the lerped mean), y (n, C, H, W) the noise already divided by sqrt(H W)."""
    lengths = (y.flatten(1) @ a).norm(dim=1)
    return lengths, pl_mean + decay * (lengths.mean() - pl_mean)


def noise(seed: int, n: int) -> torch.Tensor:
    """The noise the term draws after `torch.manual_seed(seed)`: N(0, 1) / sqrt(H * W) in the images' shape."""
    torch.manual_seed(seed)
    return torch.randn(n, C, H, W) / math.sqrt(H * W)


def test_path_length_value_and_gradient_on_a_linear_generator():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(C * H * W, Z, generator=gen).requires_grad_(True)
    z = torch.randn(5, Z, generator=gen)
    reg = PathLength(weight=2.0, decay=0.3, batch_shrink=1, every=1)
    reg.load_state_dict({"pl_mean": torch.tensor(0.7)})
    torch.manual_seed(11)
    term = reg.term(StepInputs(step=0, batch_size=5, run_g=linear_g(a, z)))
    y = noise(11, 5)
    lengths, mean = by_hand(a.detach(), y, 0.7, 0.3)
    assert_close(term, 2.0 * ((lengths - mean) ** 2).mean())
    assert_close(reg.pl_mean, mean)
    # d|A^T y_i| / dA = y_i (A^T y_i)^T / |A^T y_i|; the lerped mean carries 0.3 x their average (not detached)
    (grad,) = torch.autograd.grad(term, a)
    flat = y.flatten(1)
    d_lengths = torch.stack([torch.outer(flat[i], flat[i] @ a.detach()) / lengths[i] for i in range(5)])
    expected = 2.0 * 2 / 5 * sum((lengths[i] - mean) * (d_lengths[i] - 0.3 * d_lengths.mean(0)) for i in range(5))
    assert_close(grad, expected)


def test_pl_mean_moves_by_decay_towards_each_batch_mean_and_resumes_from_its_state():
    gen = torch.Generator().manual_seed(1)
    reg = PathLength(weight=1.0, decay=0.1, batch_shrink=1, every=1)
    expected = 0.0
    for step in range(3):
        a, z = torch.randn(C * H * W, Z, generator=gen), torch.randn(4, Z, generator=gen)
        torch.manual_seed(step)
        reg.term(StepInputs(step=step, batch_size=4, run_g=linear_g(a, z)))
        lengths, _ = by_hand(a, noise(step, 4), expected, 0.1)
        expected = expected + 0.1 * (lengths.mean().item() - expected)
        assert_close(reg.pl_mean, torch.tensor(expected))
        assert not reg.pl_mean.requires_grad
    # a fresh regulariser loaded with the state computes the next term exactly as the one that ran on
    restored = PathLength(weight=1.0, decay=0.1, batch_shrink=1, every=1)
    restored.load_state_dict(reg.state_dict())
    a, z = torch.randn(C * H * W, Z, generator=gen), torch.randn(4, Z, generator=gen)
    terms = []
    for r in (reg, restored):
        torch.manual_seed(9)
        terms.append(r.term(StepInputs(step=3, batch_size=4, run_g=linear_g(a, z))))
    assert terms[0] > 0 and torch.equal(terms[0], terms[1]) and torch.equal(reg.pl_mean, restored.pl_mean)


def test_lazy_path_length_runs_every_n_steps_weighted_by_n_on_a_shrunk_batch():
    gen = torch.Generator().manual_seed(2)
    a, z = torch.randn(C * H * W, Z, generator=gen), torch.randn(6, Z, generator=gen)
    asked = []

    def run_g(n):
        asked.append(n)
        return linear_g(a, z)(n)

    lazy, eager = PathLength(2.0, 0.01, 2, every=4), PathLength(2.0, 0.01, 2, every=1)
    values = []
    for step in range(9):
        torch.manual_seed(step)
        values.append(lazy.term(StepInputs(step=step, batch_size=6, run_g=run_g)))
    assert [v is not None for v in values] == [True, False, False, False, True, False, False, False, True]
    assert asked == [3, 3, 3]  # G runs only on the steps with a term, on batch_size // batch_shrink latents
    torch.manual_seed(0)
    assert_close(values[0], 4 * eager.term(StepInputs(step=0, batch_size=6, run_g=run_g)))
    lengths, _ = by_hand(a, noise(8, 3), 0.0, 0.01)
    mean_after_two = 0.01 * by_hand(a, noise(0, 3), 0.0, 0.01)[0].mean()  # skipped steps leave pl_mean alone
    mean_after_two = mean_after_two + 0.01 * (by_hand(a, noise(4, 3), 0.0, 0.01)[0].mean() - mean_after_two)
    mean = mean_after_two + 0.01 * (lengths.mean() - mean_after_two)
    assert_close(values[8], 4 * 2.0 * ((lengths - mean) ** 2).mean())


@pytest.mark.parametrize(("loss", "reg", "expected"), [
    ("gan", "none", Requirements(frozenset(), (), ())),
    ("gp", "none", Requirements(frozenset("d"), ("loss",), ("loss",))),
    ("gan", "r1", Requirements(frozenset("d"), ("reg",), ("reg",))),
    ("gp", "r1", Requirements(frozenset("d"), ("loss", "reg"), ("loss", "reg"))),
    ("gan", "path_length", Requirements(frozenset("g"), ("reg",), ())),
    ("gp", "path_length", Requirements(frozenset("dg"), ("loss", "reg"), ("loss",))),
    ("wgan", "path_length", Requirements(frozenset("g"), ("reg",), ())),
])
def test_requirements_of_each_loss_and_regulariser(loss, reg, expected):
    cfg = make_config(f"loss={loss}", f"reg={reg}")
    classes = get_class(cfg.loss._target_), get_class(cfg.reg._target_) if cfg.reg else None
    assert requirements(*classes) == expected
    instances = (WGANGP(10.0) if loss == "gp" else BCE(1.0),
                 {"none": None, "r1": R1(10.0, 1), "path_length": PathLength(2.0, 0.01, 2, 4)}[reg])
    if loss != "wgan":
        assert requirements(*instances) == expected  # built objects answer as their classes


def test_path_length_keeps_d_norm_compiles_d_not_g_and_refuses_fp16():
    cfg = make_config("debug=smoke", "reg=path_length")
    module = build_module(cfg, build_data(cfg))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in module.discriminator.modules())  # loss=gan's own norm
    module.speed_up(compile=True)
    assert module.generator._compiled_call_impl is None  # G's input gradient is differentiated: G stays eager
    assert not hasattr(module.discriminator.features, "__self__")  # D compiled (a bound method when left eager)
    validate(make_config("reg=path_length", "model.discriminator.norm=batch"))  # no per-sample gradient of D
    # fp16 and a _target_ that is not a regulariser are refused: the hostile table's rows "config: fp16 with path
    # length" and "config: a regulariser that is not one"


def test_g_step_adds_the_path_length_term_to_g_loss():
    cfg = make_config("debug=smoke", "reg=path_length", "reg.every=1")
    module = build_module(cfg, build_data(cfg))
    torch.manual_seed(0)
    z, labels = module.noise(8), torch.zeros(8, 0)
    fake = module.generate(z, labels)
    plain = module.loss.g_loss(module.critic(fake, labels))
    loss = module.g_loss(fake, labels, z)
    term = module._last["reg/path_length"]
    assert term > 0 and module.regularizer.pl_mean > 0
    assert_close(loss.detach(), plain.detach() + term)
    module.g_updates = 1  # the lazy form's off step: no term, pl_mean unchanged
    module.regularizer.every, pl_mean = 4, module.regularizer.pl_mean
    assert_close(module.g_loss(fake, labels, z).detach(), plain.detach())
    assert torch.equal(module.regularizer.pl_mean, pl_mean)


def test_path_length_trains_and_a_resumed_run_keeps_pl_mean(tmp_path, monkeypatch):
    overrides = ("debug=smoke", "eval.enabled=false", "reg=path_length", "reg.every=2", "seed=3")
    full, resumed, saved = full_and_resumed(tmp_path, monkeypatch, *overrides)
    assert saved == 4 and full["ganexp_reg"]["pl_mean"] > 0
    assert torch.equal(resumed["ganexp_reg"]["pl_mean"], full["ganexp_reg"]["pl_mean"])
    for key, value in full["state_dict"].items():
        assert_close(resumed["state_dict"][key], value, msg=key)
    metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["final"]["reg/path_length"] > 0


@pytest.mark.parametrize("setting", ["model=cgan", "model=infogan", "data=toy_ring", "model.z_prior=uniform"])
def test_path_length_trains_with_each_kind_of_g_input(setting, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "eval.enabled=false", "reg=path_length", "reg.every=1", setting))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["final"]["reg/path_length"] > 0
