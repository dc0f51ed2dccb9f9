"""The docs' "A variant" (docs/extending.md) is true: its Python file and its YAML file, copied out of the page into a
folder of the user's own, train with `python run.py model=<name>` and nothing else changed."""

import json
import os
import re
import subprocess
import sys

from conftest import ROOT


def page_blocks(page: str, section: str) -> dict[str, str]:
    """The fenced code blocks of a section of a docs page, by language."""
    text = (ROOT / "docs" / page).read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return {lang: code for lang, code in re.findall(r"```(\w+)\n(.*?)```", body, re.S)}


def test_a_variant_is_one_python_file_and_one_yaml_file(tmp_path):
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
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), f"model={option}", "debug=smoke",
                          "eval.enabled=false", f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
                          f"hydra.run.dir={job}"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["final"]["loss/d"] > 0
