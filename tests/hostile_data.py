"""Hostile-suite rows: the user's own data files (anime, cartoon_set, iclevr, folder): missing, empty, malformed,
odd encodings and images. Each stops before the run folder is touched, naming the file (and line)."""

from pathlib import Path

from hostile import Ctx, run_case
from test_file_runs import anime, cartoon_set, folder, iclevr


def truncated_image(ctx: Ctx) -> None:
    folder(ctx.root)
    path = ctx.root / "a" / "1.png"
    path.write_bytes(path.read_bytes()[:40])  # a download cut short


def empty_label_file(ctx: Ctx) -> None:
    cartoon_set(ctx.root)
    (ctx.root / "cartoon_attr.txt").write_text("")


def broken_json(ctx: Ctx) -> None:
    iclevr(ctx.root)
    (ctx.root / "train.json").write_text('{"i0.png": ["red cube"],\n "i1.png": ["blue cube"]\n')  # no closing brace


def unknown_colour(ctx: Ctx) -> None:
    Path(ctx.root).mkdir(parents=True)
    (ctx.root / "tags.csv").write_text("0,aqua hair aqua eyes\n1,purplish hair blue eyes\n")


def csv_bytes(ctx: Ctx) -> None:
    anime(ctx.root)
    (ctx.root / "tags_clean.csv").write_bytes(b"0,blue hair:3\tred eyes:1\n\x89PNG\r\n\x1a\n\xff\xfe\x00binary")


def empty_folder(ctx: Ctx) -> None:
    Path(ctx.root).mkdir(parents=True)


CASES = [
    run_case("data: missing data folder", "data", ["data=anime", "data.root=/nonexistent/anime"],
             "/nonexistent/anime/tags_clean.csv"),
    run_case("data: empty image folder", "data", ["data=folder", "data.root={root}"], "no image files",
             setup=empty_folder),
    run_case("data: truncated image", "data", ["data=folder", "data.root={root}", "data.holdout=8"], "{root}/a/1.png",
             setup=truncated_image),
    run_case("data: empty label file", "data", ["model=cgan", "data=cartoon_set", "data.root={root}"],
             "cartoon_attr.txt", setup=empty_label_file),
    run_case("data: malformed JSON", "data", ["model=cgan", "data=iclevr", "data.root={root}"], "train.json line 3",
             setup=broken_json),
    run_case("data: unknown colour", "data", ["model=cgan", "data=anime", "data.root={root}",
                                              "data.source.format=extra"], "purplish", setup=unknown_colour),
    run_case("data: binary junk in a CSV", "data", ["model=cgan", "data=anime", "data.root={root}"], "not UTF-8",
             setup=csv_bytes),
    run_case("data: one condition, wrong tags", "data", ["model=cgan", "model.wrong_weight=1", "data=folder",
                                                         "data.root={root}", "data.holdout=8"],
             "model.wrong_weight=1", setup=lambda ctx: folder(ctx.root)),
]
