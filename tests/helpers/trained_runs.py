"""Tiny runs trained once per test module and read back by several tests (fixtures)."""

import os

import pytest
from conftest import make_config


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    from ganexp.train import main as train  # here: pytest-xdist's controller loads this plugin and runs no test

    run = tmp_path_factory.mktemp("cgan")
    cfg = make_config("debug=smoke", "model=cgan", "trainer.max_iters=12", f"hydra.run.dir={run}")
    cwd = os.getcwd()
    os.chdir(run)
    try:
        best = train(cfg)
    finally:
        os.chdir(cwd)
    return run, best
