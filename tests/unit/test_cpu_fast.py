"""trainer=cpu_fast: bf16 autocast and channels_last on the CPU. These run on any CPU (bf16 is emulated, slower,
where the hardware lacks it), so CI never depends on AMX / AVX-512-BF16.

Its runs of every variant and loss on the fast path: tests/integration/test_matrix.py."""

import pytest
import torch
from conftest import make_config
from torch.testing import assert_close

from ganexp.losses import gradient_penalty
from ganexp.nets.dcgan import Discriminator


def test_cpu_fast_settings():
    t = make_config("trainer=cpu_fast").trainer
    assert (t.accelerator, t.precision, t.channels_last, t.compile) == ("auto", "bf16-mixed", True, False)


def test_gradient_penalty_in_bf16_matches_fp32():
    """The penalty's double backward under bf16 autocast, against fp32 on the same critic, inputs and mixing
    weights: the value within 2 % and the gradient on D's weights pointing the same way (cosine > 0.99). Measured
    here: 0.03-0.2 % apart, so the penalty is left in autocast rather than forced to fp32."""
    torch.manual_seed(0)
    critic = Discriminator(32, 16, "layer", False)
    real, fake = torch.rand(32, 3, 32, 32) * 2 - 1, torch.rand(32, 3, 32, 32) * 2 - 1
    results = []
    for bf16 in (False, True):
        critic.zero_grad()
        torch.manual_seed(1)  # the same interpolation weights
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            penalty = gradient_penalty(critic, real, fake)
        penalty.backward()
        # (the last bias gets no gradient: the input gradient does not depend on it)
        grads = [p.grad.flatten() for p in critic.parameters() if p.grad is not None]
        results.append((penalty.detach().float(), torch.cat(grads)))
    (p32, g32), (p16, g16) = results
    assert_close(p16, p32, rtol=0.02, atol=0)
    assert torch.nn.functional.cosine_similarity(g16, g32, dim=0) > 0.99


@pytest.mark.parametrize("bf16", [True, False])
def test_the_start_up_line_says_the_precision_and_whether_the_fast_path_would_help(bf16, monkeypatch):
    from ganexp import runtime

    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: bf16)
    plain = runtime.arithmetic(make_config("trainer.precision=32-true", "trainer.channels_last=false").trainer,
                                    torch.device("cpu"))
    fast = runtime.arithmetic(make_config("trainer=cpu_fast").trainer, torch.device("cpu"))
    assert plain.startswith("precision 32-true, NCHW on cpu; this CPU " + ("has" if bf16 else "lacks"))
    assert ("trainer=cpu_fast" in plain) == bf16 and "trainer=cpu_fast" not in fast
    assert fast.startswith("precision bf16-mixed, channels_last on cpu")
    points = runtime.arithmetic(make_config("data=toy_ring", "trainer.precision=32-true").trainer,
                                     torch.device("cpu"), images=False)
    assert "trainer=cpu_fast" not in points  # no advice where the fast path was not measured to help


def test_cpu_flags_are_read_from_proc_cpuinfo():
    from ganexp.runtime import cpu_has_bf16

    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        flags = ""
    assert cpu_has_bf16() == ("amx_bf16" in flags or "avx512_bf16" in flags)


@pytest.mark.parametrize(("bf16", "cuda", "overrides", "expected"), [
    (True, False, ["trainer.precision=auto", "trainer.channels_last=auto"], ("bf16-mixed", True)),
    (False, False, ["trainer.precision=auto", "trainer.channels_last=auto"], ("32-true", False)),
    (True, True, ["trainer.precision=auto", "trainer.channels_last=auto"], ("32-true", False)),  # a GPU: gpu_fast
    (True, False, ["trainer.precision=32-true", "trainer.channels_last=auto"], ("32-true", False)),
    (True, False, ["trainer.precision=auto", "trainer.channels_last=false"], ("bf16-mixed", False)),
    (False, False, ["trainer=cpu_fast"], ("bf16-mixed", True)),  # asked for explicitly: kept, even if emulated
])
def test_auto_arithmetic_takes_the_fast_path_only_on_a_cpu_with_bf16_hardware(bf16, cuda, overrides, expected,
                                                                             monkeypatch):
    from ganexp import runtime

    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: bf16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    t = make_config(*overrides).trainer
    runtime.resolve_arithmetic(t)
    assert (t.precision, t.channels_last) == expected


def test_auto_arithmetic_keeps_the_2d_points_in_fp32(monkeypatch):
    from ganexp import runtime

    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = make_config("data=toy_ring")
    from ganexp.build import serves_images

    assert not serves_images(cfg) and serves_images(make_config())
    runtime.resolve_arithmetic(cfg.trainer, serves_images(cfg))
    assert (cfg.trainer.precision, cfg.trainer.channels_last) == ("32-true", False)


def test_the_default_arithmetic_is_auto_and_smoke_runs_pin_fp32():
    """The default takes the fast path where the CPU has bf16 hardware; tests' smoke runs stay fp32 everywhere."""
    assert (make_config().trainer.precision, make_config().trainer.channels_last) == ("auto", "auto")
    smoke = make_config("debug=smoke").trainer
    assert (smoke.precision, smoke.channels_last) == ("32-true", False)


@pytest.mark.parametrize(("override", "key"), [("trainer.precision=fp8", "trainer.precision=fp8"),
                                               ("trainer.channels_last=maybe", "trainer.channels_last=maybe")])
def test_unknown_arithmetic_is_refused_by_name(override, key):
    from ganexp.schema import ConfigError, validate

    with pytest.raises(ConfigError, match=key):
        validate(make_config(override))
