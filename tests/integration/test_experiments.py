"""Every experiment file composes for every job of its sweep and builds; one runs end to end as a multirun whose
report compares its jobs.

Its tests that start processes: tests/e2e/test_experiment_runs.py."""

import pytest
from conftest import CONF, make_config, sweep_jobs
from helpers.fashion_files import write_fashion
from omegaconf import OmegaConf

from ganexp.build import build_data, build_module
from ganexp.schema import validate

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_experiment_documents_itself_and_every_job_builds(name, tmp_path):
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_") and f"python run.py -m +experiment={name}" in text
    assert "Look at:" in text  # what the report claimed and what to look at
    # the seeds a finding needs are part of the file, so `+experiment=NAME` reproduces its row as measured; a random
    # search (created_equal) has one seed a draw, as Lucic et al.'s, and its repeats come from its report
    sweep = sweep_jobs(f"python run.py -m +experiment={name}")
    assert len({o for job in sweep for o in job if o.startswith(("seed=", "draw="))}) >= 3
    # every job of the sweep but its seeds (a seed changes no structure to build): each validated, and built once
    # per structure (the model's settings and the loss), since a random search's draws change mostly numbers
    jobs = sorted({tuple(o for o in job if not o.startswith("seed=")) for job in sweep})
    assert jobs
    small = ["data.batch_size=8", "data.holdout=8", "data.source.n=64"]  # build fast, same structure
    if make_config(*jobs[0]).data.source._target_.endswith("FashionMNIST"):  # small IDX files, never the package
        small += [f"data.root={write_fashion(tmp_path / 'fashion', n_train=64, n_test=8)}",
                  f"data.cache_dir={tmp_path / 'cache'}"]
    built = set()
    for cfg in (make_config(*job, *small) for job in jobs):  # composed once per set of group choices
        validate(cfg)
        structure = (OmegaConf.to_yaml(cfg.model), cfg.loss._target_)
        if structure not in built:
            built.add(structure)
            build_module(cfg, build_data(cfg))
