"""trainer=gpu_fast's pieces, checked on the CPU: bf16 autocast, channels_last, data on the device, compile (slow).

The pure tests (no training run, no subprocess) of this subject; the others are in tests/integration/test_fast.py."""

from conftest import make_config


def test_gpu_fast_settings():
    cfg = make_config("trainer=gpu_fast")
    t = cfg.trainer
    assert (t.accelerator, t.precision, t.benchmark, t.channels_last, t.compile) == ("gpu", "bf16-mixed", True,
                                                                                        True, True)
    assert cfg.data.on_device and cfg.guard.every == 100 and cfg.log.every == 200
