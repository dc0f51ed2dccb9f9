"""Write images from a trained run: `python -m ganexp.sample RUN_DIR_OR_CKPT [--cond TEXT | --cond-file JSON]`.

`--cond "blue hair red eyes"` names one value per attribute group ("<value> <group>"); for multi-label data,
`--cond "red cube, blue sphere"`. `--cond-file` takes a JSON list of label lists (iCLEVR's test.json format):
images are named by their index in that order, and the evaluator's accuracy on them is printed and saved. A
conditional model sampled without either draws each image's condition from the training images' own labels (fully
tagged ones where the data has any), says so, and lists them in `conditions.json` (a valid `--cond-file`).
`--out` is a folder (created if needed). Every input is checked and every image drawn before anything is written,
and the files are written whole or not at all: a mistake (an option, a damaged run folder or checkpoint) is one
`error:` line, exit status 2, nothing written.
"""

import argparse
import json
import math
import shutil
import tempfile
from pathlib import Path

import torch
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import Tensor
from torchvision.utils import save_image

from ganexp.data.module import LabelledImages, fully_tagged
from ganexp.errors import InputError, StateFileError, one_line, tool_main
from ganexp.viz import generate, to_grid

CHECKPOINTS = ("best.ckpt", "last.ckpt")  # what a run folder is sampled from, the first that exists


def parse_condition(labels: list[str] | str, data: LabelledImages) -> Tensor:
    """Label names -> one label row: attribute indices (long) or multi-hot (float)."""
    words = labels if isinstance(labels, list) else [p.strip() for p in labels.replace(",", " , ").split(",")]
    text = " ".join(words).lower()
    if data.multilabel:
        names = data.attributes[0][1]
        given = [w.strip().lower() for w in words if w.strip()]
        if not given:
            raise ValueError(f"names no label; known: {', '.join(names)}")
        row = torch.zeros(len(names))
        for name in given:
            if name not in names:
                raise ValueError(f"unknown label {name!r}; known: {', '.join(names)}")
            row[names.index(name)] = 1
        return row
    row = []
    for group, values in data.attributes:
        found = [i for i, value in enumerate(values) if f"{value} {group}" in text]
        if len(found) != 1:
            choices = ", ".join(f"'{v} {group}'" for v in values)
            raise ValueError(f"condition {text!r} must name exactly one {group} value, one of: {choices}")
        row.append(found[0])
    return torch.tensor(row)


def describe_condition(row: Tensor, data: LabelledImages) -> list[str]:
    """One label row -> its label names, as `--cond-file` takes them (the inverse of `parse_condition`)."""
    if data.multilabel:
        names = data.attributes[0][1]
        return [names[i] for i in torch.nonzero(row > 0.5).flatten().tolist()]
    return [f"{values[int(v)]} {group}" for (group, values), v in zip(data.attributes, row.tolist(), strict=True)]


def drawn_conditions(data: LabelledImages, n: int, seed: int) -> Tensor:
    """`n` label rows drawn (seeded) from the training images' own labels, so each condition is as common as in the
    data; fully tagged rows only where the data has any (an untagged "none" asks for nothing)."""
    labels = data.labels
    if len(labels) == 0 or labels.dim() != 2 or labels.shape[1] == 0:
        raise InputError("this run's data has no labels to draw conditions from: pass --cond or --cond-file")
    keep = fully_tagged(labels, data.untagged)
    pool = labels[keep] if keep.any() else labels
    picks = torch.randint(len(pool), (n,), generator=torch.Generator().manual_seed(seed))
    return pool[picks]


def read_cond_file(path: Path) -> list[list[str] | str]:
    """`--cond-file`'s JSON list of label lists (or label strings), its shape checked before the model loads."""
    where = f"--cond-file {path}"
    if not path.is_file():
        raise InputError(f"{where}: no such file" if not path.exists() else f"{where}: is a folder, not a JSON file")
    try:
        items = json.loads(path.read_text())
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text (a JSON list of label lists)") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{where} line {err.lineno}, column {err.colno}: not valid JSON ({err.msg})") from None
    if not isinstance(items, list) or not items:
        raise InputError(f'{where}: must be a non-empty JSON list of label lists, e.g. [["red cube"], '
                         '["blue sphere", "green cylinder"]]')
    for i, item in enumerate(items):
        if not (isinstance(item, str) or (isinstance(item, list) and all(isinstance(w, str) for w in item))):
            raise InputError(f"{where}: item {i} ({json.dumps(item)[:40]}) is not a list of label names")
    return items


def check_options(args: argparse.Namespace) -> None:
    """The options' own mistakes, found before the run is loaded."""
    if args.n < 1:
        raise InputError(f"-n {args.n}: must be at least 1 (images per condition)")
    if not 0 <= args.seed < 2**63:
        raise InputError(f"--seed {args.seed}: must be between 0 and 2**63 - 1")
    if args.truncation is not None and not 0 < args.truncation < math.inf:
        raise InputError(f"--truncation {args.truncation}: must be a number > 0")
    if args.cond is not None and args.cond_file is not None:
        raise InputError("--cond and --cond-file: pass one of them")
    if args.cond is not None and not args.cond.strip(" ,"):
        raise InputError(f'--cond {args.cond!r}: names no condition (e.g. --cond "blue hair red eyes")')
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out {args.out}: is a file; name a folder to write the images into")
    above = next((p for p in args.out.absolute().parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise InputError(f"--out {args.out}: {above} is a file, not a folder")


def truncated_noise(n: int, dim: int, psi: float | None, seed: int) -> Tensor:
    """Gaussian noise (n, dim); with `psi`, every component of magnitude above `psi` is drawn again until none is
    (the truncation trick of BigGAN, Brock et al. 2019: smaller psi, more typical and less varied samples)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, dim, generator=gen)
    if psi is None:
        return z
    if psi <= 0:
        raise InputError(f"--truncation {psi}: must be > 0")
    outside = z.abs() > psi
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=gen)
        outside = z.abs() > psi
    return z


TRUNCATION_GRID = (0.25, 0.5, 1.0, 1.5, 2.0)


def find_checkpoint(path: Path) -> tuple[Path, Path]:
    """(checkpoint, run folder) of a run folder (its best.ckpt, else last.ckpt) or of a checkpoint file in one."""
    if path.is_dir():
        ckpt = next((c for c in (path / "checkpoints" / name for name in CHECKPOINTS) if c.exists()), None)
        if ckpt is None:
            raise InputError(f"{path}: no checkpoints/best.ckpt or checkpoints/last.ckpt (not a run folder, or the "
                             "run stopped before its first checkpoint)")
        return ckpt, path
    if path.is_file():
        return path, path.parent.parent
    raise InputError(f"{path}: no such run folder or checkpoint file")


def load_config(run_dir: Path) -> DictConfig:
    """The run's resolved configuration (its config.yaml); a damaged one is a StateFileError naming it."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise InputError(f"{run_dir}: no config.yaml (not a ganexp run folder; a checkpoint file is read with the "
                         "config.yaml of the run folder two levels above it)")
    fix = "restore it, or train the run again"
    try:
        cfg = OmegaConf.load(path)
    except (yaml.YAMLError, OmegaConfBaseException, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)  # PyYAML counts lines from 0
        where = f" line {mark.line + 1}" if mark else ""
        raise StateFileError(f"{path}{where} is damaged ({str(err).splitlines()[0]}): {fix}") from None
    if not isinstance(cfg, DictConfig) or not {"model", "data"} <= set(cfg):
        raise StateFileError(f"{path} is not a run's configuration (no model and data): {fix}")
    return cfg


def load_weights(module, ckpt: Path) -> None:
    """The checkpoint's weights into `module`; an unreadable checkpoint, or one of other settings, is a
    StateFileError naming the file."""
    others = [c for c in (ckpt.with_name(name) for name in CHECKPOINTS) if c.is_file() and c != ckpt]
    fix = f"pass {others[0]} instead, or train the run again" if others else "restore it, or train the run again"
    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
    except Exception as err:  # torch.load fails in as many ways as a file can be damaged (EOF, zip, pickle)
        why = "is empty" if ckpt.stat().st_size == 0 else f"is damaged or cut short ({str(err).splitlines()[0]})"
        raise StateFileError(f"{ckpt} {why}: {fix}") from None
    if not isinstance(state, dict) or not isinstance(state.get("state_dict"), dict):
        raise StateFileError(f"{ckpt} holds no state_dict (not a ganexp checkpoint): {fix}")
    try:
        module.load_state_dict(state["state_dict"])
    except RuntimeError as err:  # PyTorch's message: a header line, then the missing and unexpected keys
        detail = " ".join(line.strip() for line in str(err).splitlines()[1:])[:200]
        raise StateFileError(f"{ckpt} does not fit the run's config.yaml ({detail}): {fix}") from None


def load_run(path: Path):
    """(module with trained weights, data module, config) from a run folder (best.ckpt, else last.ckpt) or a ckpt."""
    from hydra.errors import HydraException

    from ganexp.build import build_data, build_module

    ckpt, run_dir = find_checkpoint(path)
    cfg = load_config(run_dir)
    try:
        datamodule = build_data(cfg)
        module = build_module(cfg, datamodule)
    except (OmegaConfBaseException, HydraException) as err:
        if isinstance(err.__cause__, InputError):
            raise err.__cause__ from None
        raise StateFileError(f"{run_dir / 'config.yaml'}: cannot build the run from it ({one_line(err)})") from None
    load_weights(module, ckpt)
    return module.eval(), datamodule, cfg


def conditions(args: argparse.Namespace, module, data: LabelledImages) -> tuple[Tensor | None, bool]:
    """(the label row of every image, or None for an unconditional model; whether they were drawn from the data)."""
    chosen = "--cond-file" if args.cond_file is not None else "--cond" if args.cond is not None else None
    if not module.conditional:
        if chosen:
            raise InputError(f"{chosen}: {args.run} holds an unconditional model ({type(module).__name__}); "
                             f"drop {chosen}")
        return None, False
    if chosen is None:
        return drawn_conditions(data, args.n, args.seed), True
    items = read_cond_file(args.cond_file) if args.cond_file is not None else [args.cond]
    rows = []
    for i, item in enumerate(items):
        try:
            rows.append(parse_condition(item, data))
        except ValueError as err:
            where = f"--cond-file {args.cond_file}: item {i}" if args.cond_file is not None else "--cond"
            raise InputError(f"{where}: {err}") from None
    return (torch.stack(rows) if args.cond_file is not None else torch.stack(rows * args.n)), False


def pictures(module, labels: Tensor | None, n: int, args: argparse.Namespace) -> tuple[Tensor, dict[str, Tensor]]:
    """(G's images, every picture to write by file name: one per image, the grid, with --truncation the PSI rows)."""
    z = truncated_noise(n, module.z_dim, args.truncation, args.seed)
    images = generate(module, z, labels)
    out = {f"{i:03d}.png": image * 0.5 + 0.5 for i, image in enumerate(images)}
    out["grid.png"] = to_grid(images, max(1, int(n**0.5)))
    if args.truncation is not None:
        per_row = min(n, 8)
        rows = [generate(module, truncated_noise(per_row, module.z_dim, psi, args.seed),
                         labels[:per_row] if labels is not None else None) for psi in TRUNCATION_GRID]
        out["truncation.png"] = to_grid(torch.cat(rows), per_row)
    return images, out


def write_all(out: Path, images: dict[str, Tensor], texts: dict[str, str]) -> None:
    """The files into `out`, all or none: written in a hidden folder inside it, then moved in."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".sample-"))
    try:
        for name, image in images.items():
            save_image(image, staging / name)
        for name, text in texts.items():
            (staging / name).write_text(text)
        for name in (*images, *texts):
            (staging / name).replace(out / name)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganexp.sample", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder or a .ckpt file")
    parser.add_argument("--cond", help='e.g. "blue hair red eyes"; a conditional run sampled without --cond or '
                                       "--cond-file draws its conditions from the training labels")
    parser.add_argument("--cond-file", type=Path, help="JSON list of label lists (iCLEVR test.json format)")
    parser.add_argument("-n", type=int, default=16, help="images per condition (with --cond or none)")
    parser.add_argument("--out", type=Path, default=Path("samples_out"), help="the folder to write into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truncation", type=float, default=None, metavar="PSI",
                        help="resample noise components above PSI in magnitude; also writes truncation.png, one row "
                             f"per PSI in {TRUNCATION_GRID} (same noise seed): fidelity against diversity")
    args = parser.parse_args(argv)
    check_options(args)
    if args.cond_file is not None:
        read_cond_file(args.cond_file)  # its mistakes before the minutes of loading a run
    module, datamodule, cfg = load_run(args.run)
    data = datamodule.load()
    labels, drawn = conditions(args, module, data)
    n = len(labels) if labels is not None else args.n
    images, files = pictures(module, labels, n, args)
    texts = {}
    if drawn:
        rows = [json.dumps(describe_condition(row, data)) for row in labels]
        texts["conditions.json"] = "[\n" + ",\n".join(rows) + "\n]\n"  # one image a line
    if args.cond_file is not None:
        result = accuracy(images, labels, datamodule, cfg)
        texts["accuracy.json"] = json.dumps(result, indent=2)
    write_all(args.out, files, texts)
    if drawn:
        print(f"no --cond: {n} conditions drawn from the training labels (--seed {args.seed}), listed in "
              f"{args.out / 'conditions.json'}; --cond or --cond-file chooses them")
    print(f"wrote {n} images and grid.png to {args.out}")
    if args.truncation is not None:
        print(f"truncation.png: rows psi = {', '.join(map(str, TRUNCATION_GRID))}")
    if args.cond_file is not None:
        print("evaluator accuracy: " + ", ".join(f"{k}={v:.3f}" for k, v in result.items()))


def accuracy(images: Tensor, labels: Tensor, datamodule, cfg) -> dict[str, float]:
    """The evaluator's accuracy on the images for the conditions asked (overall and per attribute group)."""
    from ganexp.eval.images import load_evaluator
    from ganexp.eval.metrics import condition_accuracy

    evaluator = load_evaluator(datamodule, cfg.eval.floor, epochs=cfg.eval.epochs, width=cfg.eval.width)
    data = datamodule.load()
    acc = condition_accuracy(evaluator.predict(images), labels, evaluator.multilabel,
                             [name for name, _ in data.attributes], data.untagged)  # "none" requests not scored
    return {"accuracy": acc.pop("overall"), **acc}


if __name__ == "__main__":
    tool_main(main)
