"""Loggers as a config group: `logger=tensorboard|csv|mlflow|wandb` or several, each read back with its own reader.

Its pure tests: tests/unit/test_logger_options.py."""

import csv
import json
import struct
from pathlib import Path

import torch
import yaml
from conftest import full_and_resumed, make_config

from ganexp.store import read_metrics


def same_points(got: list, want: list) -> None:
    """The same steps, and values equal to float32's precision (TensorBoard keeps float32)."""
    assert [step for step, _ in got] == [step for step, _ in want]
    torch.testing.assert_close([float(v) for _, v in got], [float(v) for _, v in want], rtol=1e-6, atol=1e-7)


def run(tmp_path, monkeypatch, *overrides: str) -> Path:
    """A tiny run in `tmp_path` (no evaluation: the loggers are the point), its store read back as well."""
    from ganexp.train import main as train

    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):  # W&B's own files: not in $HOME
        monkeypatch.setenv(name, str(tmp_path / ".wandb_home"))
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "eval.enabled=false", *overrides))
    return tmp_path


def test_tensorboard_and_csv_at_once(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = run(tmp_path, monkeypatch, "logger=[tensorboard,csv]")
    losses = read_metrics(folder)["loss/d"]
    assert [s for s, _ in losses] == [2, 4, 6, 8]
    rows = list(csv.DictReader(open(folder / "csv" / "metrics.csv")))
    assert [(int(r["step"]), float(r["loss/d"])) for r in rows if r["loss/d"]] == losses
    settings = yaml.safe_load((folder / "csv" / "hparams.yaml").read_text())
    assert settings["trainer.max_iters"] == 8 and settings["loss"] == "BCE"
    events = EventAccumulator(str(folder / "tb"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    same_points([(e.step, e.value) for e in events.Scalars("loss/d")], losses)
    assert [e.step for e in events.Images("samples")] == [4, 8] and "progress" in events.Tags()["images"]


def test_mlflow_keeps_a_local_store_in_the_run_folder(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    folder = run(tmp_path, monkeypatch, "logger=mlflow")
    client = MlflowClient(f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("ganexp")
    (only,) = client.search_runs([experiment.experiment_id])
    assert only.info.run_name == folder.name and only.info.status == "FINISHED"
    history = client.get_metric_history(only.info.run_id, "loss/d")
    same_points(sorted((m.step, m.value) for m in history), read_metrics(folder)["loss/d"])
    assert only.data.params["trainer.max_iters"] == "8" and only.data.params["loss"] == "BCE"
    # MLflow keeps an image logged by key and step as images/<key>+step+<step>+timestamp+...png
    images = {(Path(p).name.split("+")[0], int(Path(p).name.split("+")[2]))
              for p in artifacts(client, only.info.run_id) if p.startswith("images/") and p.endswith(".png")}
    assert images == {("samples", 4), ("samples", 8), ("progress", 8), ("interpolation", 8)}
    assert only.info.artifact_uri.startswith((folder / "mlflow" / "artifacts").as_uri())


def artifacts(client, run_id: str, path: str = "") -> list[str]:
    """Every artifact file of the run, by path."""
    found = []
    for item in client.list_artifacts(run_id, path or None):
        found += artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


def test_a_resumed_run_continues_its_mlflow_run(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    full_and_resumed(tmp_path, monkeypatch, "debug=smoke", "eval.enabled=false", "logger=mlflow")
    client = MlflowClient(f"sqlite:///{tmp_path / 'crashed' / 'mlflow' / 'mlflow.db'}")
    (only,) = client.search_runs([client.get_experiment_by_name("ganexp").experiment_id])
    steps = sorted({m.step for m in client.get_metric_history(only.info.run_id, "loss/d")})
    assert steps == [2, 4, 6, 8] and only.info.status == "FINISHED"


def wandb_records(path: Path):
    """The records of a W&B run file (`run-<id>.wandb`) as W&B's own protobuf messages: the file is a LevelDB log
    (32 KiB blocks of chunks, each with a 7-byte header) after W&B's 7-byte file header."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, parts = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 0:
            continue
        parts = chunk if kind in (1, 2) else parts + chunk  # 1 full, 2 first, 3 middle, 4 last
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            yield record


def test_wandb_runs_offline_into_the_run_folder(tmp_path, monkeypatch):
    import wandb

    folder = run(tmp_path, monkeypatch, "logger=wandb")
    wandb.teardown()  # W&B's service process writes the run file in blocks: ended, it has written all of it
    (offline,) = (folder / "wandb").glob("offline-run-*")
    history, config = [], {}
    for record in wandb_records(next(offline.glob("run-*.wandb"))):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                            for item in record.history.item})
        elif kind == "config":
            config.update({item.key: json.loads(item.value_json) for item in record.config.update})
    losses = [(row["trainer/global_step"], row["loss/d"]) for row in history if "loss/d" in row]
    same_points(losses, read_metrics(folder)["loss/d"])
    assert config["trainer.max_iters"] == 8 and config["loss"] == "BCE"
    assert [row["trainer/global_step"] for row in history if "samples/_type" in row] == [4, 8]  # grids
    assert len(list((offline / "files" / "media" / "images").glob("samples_*.png"))) == 2


def test_notes_and_the_end_status_reach_each_logger_as_it_keeps_them(tmp_path):
    """A diverged run's note: TensorBoard text, an MLflow text artifact; its status: MLflow's FAILED. The CSV logger
    and the store take no text (and do not fail on it)."""
    from mlflow.tracking import MlflowClient
    from pytorch_lightning.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ganexp.loggers import AllLoggers, MetricsStore, finish, log_text, mlflow_start

    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    mlflow_start({"tracking_uri": uri}, resumed=False)  # makes the store's folder
    mlflow = MLFlowLogger(experiment_name="ganexp", tracking_uri=uri,
                          artifact_location=(tmp_path / "mlflow" / "artifacts").as_uri())
    loggers = AllLoggers([MetricsStore(tmp_path), TensorBoardLogger(tmp_path, name="tb", version=""),
                          CSVLogger(tmp_path, name="csv", version=""), mlflow])
    log_text(loggers, "status", "diverged: loss/d is nan", 5)
    finish(loggers, "diverged")
    client = MlflowClient(uri)
    assert client.get_run(mlflow.run_id).info.status == "FAILED"
    note = Path(client.download_artifacts(mlflow.run_id, "status/000005.txt", str(tmp_path / "down")))
    assert note.read_text() == "diverged: loss/d is nan"
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert "status/text_summary" in events.Tags()["tensors"]
    assert not (tmp_path / "metrics.jsonl").exists()
