"""What a run's numbers were computed with beyond its settings (metrics.json's `provenance`, report.csv's columns):
ganexp's commit read from a git repository made here, the device's model, and the evaluator's digest.

A tiny sweep's report.csv carries them: tests/e2e/test_report_cli.py."""

import shutil
import subprocess

import pytest
import torch
from omegaconf import OmegaConf

from ganexp.eval.evaluator import Evaluator, digest
from ganexp.runtime import provenance, source_commit


def git(folder, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_commit_is_the_checkouts_and_says_when_its_source_differs(tmp_path):
    assert source_commit(tmp_path) is None  # not a git checkout (an installed wheel)
    package, conf = tmp_path / "ganexp", tmp_path / "conf"
    package.mkdir()
    conf.mkdir()
    (package / "a.py").write_text("x = 1\n")
    (conf / "c.yaml").write_text("a: 1\n")
    (tmp_path / "README.md").write_text("notes\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = git(tmp_path, "rev-parse", "--short=12", "HEAD")
    assert len(head) == 12 and source_commit(package) == head
    (tmp_path / "README.md").write_text("other notes\n")  # outside ganexp/ and conf/: the same code ran
    (package / "new.py").write_text("untracked\n")  # untracked: not part of the checkout's code
    assert source_commit(package) == head
    (conf / "c.yaml").write_text("a: 2\n")
    assert source_commit(package) == head + "+dirty"
    git(tmp_path, "checkout", "-q", "--", "conf")
    (package / "a.py").write_text("x = 2\n")
    assert source_commit(package) == head + "+dirty"


def test_provenance_names_the_resolved_arithmetic_and_the_device():
    trainer = OmegaConf.create({"precision": "bf16-mixed", "channels_last": True})
    record = provenance(trainer, torch.device("cpu"))
    assert (record["precision"], record["channels_last"], record["device"]) == ("bf16-mixed", True, "cpu")
    assert record["device_model"] and record["torch"] == torch.__version__


def test_the_evaluator_digest_changes_with_any_weight_and_only_then():
    torch.manual_seed(0)
    model = Evaluator([3, 4], width=4)
    again = Evaluator([3, 4], width=4)
    again.load_state_dict(model.state_dict())
    first = digest(model)
    assert len(first) == 12 and int(first, 16) >= 0 and digest(again) == first  # the weights, not the object
    with torch.no_grad():
        next(again.parameters()).view(-1)[0] += 1e-6
    assert digest(again) != first
    again.load_state_dict(model.state_dict())
    dict(again.named_buffers())["trunk.1.running_mean"].add_(1.0)  # BatchNorm's statistics are part of what scores
    assert digest(again) != first
