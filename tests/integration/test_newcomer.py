"""The docs' "A variant" (docs/extending.md) is true: its Python file and its YAML file, copied out of the page into a
folder of the user's own, train with `python run.py model=<name>` and nothing else changed.

`python run.py` runs in this process (helpers.in_process.run_py: Hydra's main, the command's own code path) with the
user's folder at the front of `sys.path`, as PYTHONPATH puts it there for a fresh interpreter; the package is
forgotten afterwards, so no later test imports it."""

import json
import re
import sys

from conftest import ROOT
from helpers.in_process import run_py


def page_blocks(page: str, section: str) -> dict[str, str]:
    """The fenced code blocks of a section of a docs page, by language."""
    text = (ROOT / "docs" / page).read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return {lang: code for lang, code in re.findall(r"```(\w+)\n(.*?)```", body, re.S)}


def test_a_variant_is_one_python_file_and_one_yaml_file(tmp_path, monkeypatch, capfd):
    blocks = page_blocks("extending.md", "A variant")
    python, yaml = blocks["python"], blocks["yaml"]
    module = re.search(r"# ganexp/modules/(\w+)\.py", python).group(1)
    option = re.search(r"# conf/model/(\w+)\.yaml", yaml).group(1)
    # the user's own package and config folder, outside the repository
    package = tmp_path / "mine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / f"{module}.py").write_text(python)
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / f"{option}.yaml").write_text(yaml.replace(f"ganexp.modules.{module}.", f"mine.{module}."))
    job = tmp_path / "job"
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # PYTHONPATH=<tmp_path>
    try:
        out = run_py([f"model={option}", "debug=smoke", "eval.enabled=false",
                      f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"hydra.run.dir={job}"], monkeypatch, capfd)
    finally:
        imported = [m for m in sys.modules if m == "mine" or m.startswith("mine.")]
        for name in imported:
            del sys.modules[name]
    assert out.code == 0, out.err[-3000:]
    assert f"mine.{module}" in imported  # the user's copy trained, not one inside ganexp
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["final"]["loss/d"] > 0
