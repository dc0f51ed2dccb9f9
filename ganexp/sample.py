"""Write images from a trained run: `python -m ganexp.sample RUN_DIR_OR_CKPT [--cond TEXT | --cond-file JSON]`.

`--cond "blue hair red eyes"` names one value per attribute group ("<value> <group>"); for multi-label data,
`--cond "red cube, blue sphere"`. `--cond-file` takes a JSON list of label lists (iCLEVR's test.json format):
images are named by their index in that order, and the evaluator's accuracy on them is printed and saved.
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch import Tensor
from torchvision.utils import save_image

from ganexp.data.module import LabelledImages
from ganexp.errors import InputError, tool_main
from ganexp.viz import generate, to_grid


def parse_condition(labels: list[str] | str, data: LabelledImages) -> Tensor:
    """Label names -> one label row: attribute indices (long) or multi-hot (float)."""
    words = labels if isinstance(labels, list) else [p.strip() for p in labels.replace(",", " , ").split(",")]
    text = " ".join(words).lower()
    if data.multilabel:
        names = data.attributes[0][1]
        row = torch.zeros(len(names))
        for name in (w.strip().lower() for w in words if w.strip()):
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


def load_run(path: Path):
    """(module with trained weights, data module, config) from a run folder (best.ckpt, else last.ckpt) or a ckpt."""
    from ganexp.train import build_data, build_module

    if path.is_dir():
        ckpts = [path / "checkpoints" / name for name in ("best.ckpt", "last.ckpt")]
        ckpt = next((c for c in ckpts if c.exists()), None)
        if ckpt is None:
            raise InputError(f"{path}: no checkpoints/best.ckpt or checkpoints/last.ckpt")
        run_dir = path
    elif path.is_file():
        ckpt, run_dir = path, path.parent.parent
    else:
        raise InputError(f"{path}: no such run folder or checkpoint file")
    if not (run_dir / "config.yaml").exists():
        raise InputError(f"{run_dir}: no config.yaml (not a ganexp run folder)")
    cfg = OmegaConf.load(run_dir / "config.yaml")
    datamodule = build_data(cfg)
    module = build_module(cfg, datamodule)
    module.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"])
    return module.eval(), datamodule, cfg


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganexp.sample", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder or a .ckpt file")
    parser.add_argument("--cond", help='e.g. "blue hair red eyes"')
    parser.add_argument("--cond-file", type=Path, help="JSON list of label lists (iCLEVR test.json format)")
    parser.add_argument("-n", type=int, default=16, help="images per condition (with --cond or none)")
    parser.add_argument("--out", type=Path, default=Path("samples_out"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truncation", type=float, default=None, metavar="PSI",
                        help="resample noise components above PSI in magnitude; also writes truncation.png, one row "
                             f"per PSI in {TRUNCATION_GRID} (same noise seed): fidelity against diversity")
    args = parser.parse_args(argv)

    module, datamodule, cfg = load_run(args.run)
    data = datamodule.load()
    if (args.cond or args.cond_file) and not module.conditional:
        sys.exit(f"{args.run}: model {cfg.model._target_} is unconditional; drop --cond/--cond-file")
    try:
        if args.cond_file:
            rows = [parse_condition(labels, data) for labels in json.loads(args.cond_file.read_text())]
        elif args.cond:
            rows = [parse_condition(args.cond, data)] * args.n
        else:
            rows = None
    except ValueError as err:
        sys.exit(f"--cond: {err}")
    n = len(rows) if rows is not None else args.n
    labels = torch.stack(rows) if rows is not None else None
    z = truncated_noise(n, module.z_dim, args.truncation, args.seed)
    images = generate(module, z, labels)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        save_image(image * 0.5 + 0.5, args.out / f"{i:03d}.png")
    per_row = max(1, int(n**0.5))
    save_image(to_grid(images, per_row), args.out / "grid.png")
    print(f"wrote {n} images and grid.png to {args.out}")
    if args.truncation is not None:
        per_row = min(n, 8)
        rows = [generate(module, truncated_noise(per_row, module.z_dim, psi, args.seed),
                         labels[:per_row] if labels is not None else None) for psi in TRUNCATION_GRID]
        save_image(to_grid(torch.cat(rows), per_row), args.out / "truncation.png")
        print(f"truncation.png: rows psi = {', '.join(map(str, TRUNCATION_GRID))}")
    if args.cond_file:
        report_accuracy(images, labels, datamodule, cfg, args.out)


def report_accuracy(images: Tensor, labels: Tensor, datamodule, cfg, out: Path) -> None:
    from ganexp.eval.images import load_evaluator
    from ganexp.eval.metrics import condition_accuracy

    evaluator = load_evaluator(datamodule, cfg.eval.floor, epochs=cfg.eval.epochs, width=cfg.eval.width)
    data = datamodule.load()
    acc = condition_accuracy(evaluator.predict(images), labels, evaluator.multilabel,
                             [name for name, _ in data.attributes], data.untagged)  # "none" requests not scored
    result = {"accuracy": acc.pop("overall"), **acc}
    (out / "accuracy.json").write_text(json.dumps(result, indent=2))
    print("evaluator accuracy: " + ", ".join(f"{k}={v:.3f}" for k, v in result.items()))


if __name__ == "__main__":
    tool_main(main)
