"""The metric registry: which way each metric points, and everything that ranks by it asks the registry.

Its in-process runs and builds: tests/integration/test_metrics_registry_run.py."""

import math
from types import SimpleNamespace

import pytest
from conftest import compose_hydra

from ganexp import metrics
from ganexp.errors import ConfigError
from ganexp.eval.measure import Measurement
from ganexp.metrics import UnknownMetric, best_of, better, columns, find, lookup, optuna_direction, plotted
from ganexp.verdict import compare


def test_better_and_best_for_each_direction():
    # lower (fid_eval): 0.8 beats 1.2; the best of [3, 1, NaN, 2] is 1
    assert better("fid_eval", 0.8, 1.2) and not better("fid_eval", 1.2, 0.8)
    assert best_of("fid_eval", [3.0, 1.0, math.nan, 2.0]) == 1.0
    # higher (acc/cond): 0.9 beats 0.2
    assert better("acc/cond", 0.9, 0.2) and not better("acc/cond", 0.2, 0.9)
    assert best_of("acc/cond", [0.2, 0.9, 0.5]) == 0.9
    # target 1 (pr/density): |1.1 - 1| = 0.1 beats |0.85 - 1| = 0.15; above 1 is not better than 1
    assert better("pr/density", 1.1, 0.85) and not better("pr/density", 1.3, 1.0)
    assert best_of("pr/density", [0.5, 1.3, 0.92, 1.05]) == 1.05
    assert best_of("collapse/diversity_ratio", [0.7, 1.4]) == 0.7  # 0.3 from 1 against 0.4
    # any number beats a missing one, nothing beats a number, NaN is no value; equal values: the first stays
    assert better("fid_eval", 5.0, None) and better("fid_eval", 5.0, math.nan)
    assert not better("fid_eval", math.nan, 5.0) and not better("fid_eval", math.nan, None)
    assert not better("fid_eval", 2.0, 2.0)
    assert math.isnan(best_of("toy/modes", [math.nan, None]))


def test_families_and_unknown_names():
    assert find("acc/cond").name == "acc/cond" and find("acc/test").name == "acc/test"
    assert find("acc/cond/eyes").name == "acc/cond/*"  # the longest matching family
    assert find("acc/another_file") is None  # a new held-out condition file needs its own entry
    assert lookup("info/code_nmi/hair").direction == metrics.HIGHER
    assert find("fid_evl") is None and find("lr/g") is None  # diagnostics are not metrics
    with pytest.raises(UnknownMetric, match=r"^--metric 'fid_evl': not a metric ganexp knows \(the registry in "
                                            r"ganexp/metrics.py lists them: fid_eval, kid_eval") as err:
        lookup("fid_evl", "--metric")
    assert "\n" not in str(err.value)
    assert len({m.name for m in metrics.REGISTRY}) == len(metrics.REGISTRY)
    assert all(m.direction in metrics.DIRECTIONS and m.description for m in metrics.REGISTRY)


def test_report_columns_follow_the_registry_order_with_families_expanded():
    present = {"loss/g", "pr/coverage", "fid", "kid", "kid_std", "kid_eval_std", "fid_eval", "pr/density", "lr/g",
               "acc/cond/hair", "acc/cond/eyes", "info/code_nmi/hair", "info/cat_acc", "eval/seconds", "d/real"}
    assert columns(present) == ["fid_eval", "kid_eval_std", "fid", "kid", "kid_std", "pr/density", "pr/coverage",
                                "loss/g", "acc/cond/eyes", "acc/cond/hair", "info/code_nmi/hair"]


def test_curve_panels_follow_the_registry_order_without_single_values_and_diagnostics():
    present = {"loss/g", "loss/d", "loss/d_adv", "pr/coverage", "fid", "kid_eval_std", "fid_eval", "lr/g", "toy/modes",
               "acc/cond/hair", "acc/cond/eyes", "info/cat_acc", "eval/seconds", "epoch_seconds"}
    assert plotted(present) == ["fid_eval", "pr/coverage", "toy/modes", "loss/d", "loss/g", "acc/cond/eyes",
                                "acc/cond/hair"]


def test_optunas_direction_comes_from_the_registry():
    assert optuna_direction("fid_eval") == "minimize" and optuna_direction("toy/modes") == "maximize"
    with pytest.raises(ConfigError, match="monitor=pr/density: best at 1, so it has no direction"):
        optuna_direction("pr/density")
    with pytest.raises(UnknownMetric, match="monitor 'acc/cnd'"):
        optuna_direction("acc/cnd")
    assert compose_hydra("hparams_search=optuna", "monitor=acc/new_test").hydra.sweeper.direction == "maximize"
    assert compose_hydra("hparams_search=optuna").hydra.sweeper.direction == "minimize"


def test_the_verdict_follows_the_registry():
    for metric in metrics.REGISTRY:  # seeds a (nearer 1, higher) against b: the side favoured follows the direction
        name = metric.name.replace("*", "x")
        favoured = compare([0.95, 0.96, 0.97], [0.5, 0.51, 0.52], name).better
        assert favoured == ("b" if metric.direction == metrics.LOWER else "a"), name
    # seeds 0.9, 0.91, 0.92 against 0.5, 0.51, 0.52: a higher-is-better metric favours a, a lower one b
    assert compare([0.9, 0.91, 0.92], [0.5, 0.51, 0.52], "pr/coverage").better == "a"
    assert compare([0.9, 0.91, 0.92], [0.5, 0.51, 0.52], "kid_eval_std").better == "b"


class Queued(Measurement):
    """An evaluation whose measurements are given in advance (what best.ckpt keeps is the question)."""

    def __init__(self, run_dir, monitor, values):
        super().__init__(run_dir, every=1, monitor=monitor)
        self.values = list(values)

    def measure(self, module):
        return {self.monitor: self.values.pop(0)}


def test_best_ckpt_keeps_the_registrys_best_value(tmp_path):
    """pr/density is best at 1: of 0.5, 1.2, 0.95, 1.3 (0.5, 0.2, 0.05, 0.3 from 1) best.ckpt is saved at the
    first three and keeps the third; a lower-is-better reading would have kept the first alone."""
    saved = []
    trainer = SimpleNamespace(logger=None, is_global_zero=True, world_size=1,
                              save_checkpoint=lambda path: (saved.append(module.iteration), open(path, "w").close()))
    module = SimpleNamespace(iteration=0)
    evaluation = Queued(tmp_path, "pr/density", [0.5, 1.2, 0.95, 1.3])
    for iteration in (1, 2, 3, 4):
        module.iteration = iteration
        evaluation.run(trainer, module)
    assert saved == [1, 2, 3] and evaluation.best == {"metric": "pr/density", "value": 0.95, "iteration": 3}
    assert (tmp_path / "checkpoints" / "best.ckpt").exists()


def test_the_readme_list_holds_every_metric():
    table = metrics.markdown()
    assert all(f"| `{m.name}` | {m.words} |" in table for m in metrics.REGISTRY)
