"""Shrink the pictures committed under docs/ before committing a new experiment's report.

    python docs/tools/shrink_pictures.py            # list what it would do
    python docs/tools/shrink_pictures.py --write    # palette-convert in place; unlinked pictures only listed
    python docs/tools/shrink_pictures.py --write --delete-unlinked

- Each RGB/RGBA PNG under docs/ is rewritten as a 256-colour palette PNG (PIL median cut, `optimize=True`, the same
  as `ganexp.report.save_small`) when that is smaller: matplotlib's RGBA curves and montages lose a half to
  three-quarters of their bytes and nothing visible. Names stay, so no link changes. Nothing is rescaled (rescaling a
  plot's text or a sample grid's pixels costs legibility, and LANCZOS-scaled plots compress worse, not better).
  Palette PNGs are kept as they are. With `pip install pyoxipng` (optional) every PNG is then recompressed
  losslessly by oxipng (same pixels, 5-10 % fewer bytes).
- A picture is "linked" when a .md/.yaml/.csv/.txt under docs/, or README.md, names it (relative to that file or to
  the repository root). Unlinked pictures are listed; with --delete-unlinked they are removed (git history keeps
  them). CSV/JSON/YAML result files are never touched.
"""

import argparse
import io
import re
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def linked_pictures() -> set[Path]:
    texts = [ROOT / "README.md", *(p for p in DOCS.rglob("*") if p.suffix in {".md", ".yaml", ".csv", ".txt"})]
    linked = set()
    for text in texts:
        for name in re.findall(r"[\w./-]+\.(?:png|webp|jpg)", text.read_text(errors="replace")):
            for candidate in (text.parent / name, ROOT / name):
                if candidate.is_file():
                    linked.add(candidate.resolve())
    return linked


def smaller_png(path: Path) -> bytes | None:
    """The picture as a palette PNG (then through oxipng if installed), or None when that would not be smaller."""
    data = path.read_bytes()
    with Image.open(path) as image:
        # RGB(A) -> 256-colour palette; a palette picture or one with real transparency is kept as it is
        if image.mode in {"RGB", "RGBA"} and (image.mode == "RGB" or image.getextrema()[3][0] == 255):
            buffer = io.BytesIO()
            image.convert("RGB").quantize(256).save(buffer, "PNG", optimize=True)
            data = buffer.getvalue()
    try:
        import oxipng
        data = oxipng.optimize_from_memory(data, level=2, strip=oxipng.StripChunks.safe())
    except ImportError:
        pass
    return data if len(data) < path.stat().st_size else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the pictures in place")
    parser.add_argument("--delete-unlinked", action="store_true", help="with --write: remove unlinked pictures")
    args = parser.parse_args(argv)
    linked = linked_pictures()
    before = after = 0
    for path in sorted(p for ext in ("png", "webp", "jpg") for p in DOCS.rglob(f"*.{ext}")):
        size = path.stat().st_size
        before += size
        name = path.relative_to(ROOT)
        if path.resolve() not in linked:
            print(f"unlinked  {name} ({size // 1024} KB)")
            if args.write and args.delete_unlinked:
                path.unlink()
                continue
        data = smaller_png(path) if path.suffix == ".png" else None
        if data is not None:
            print(f"shrunk    {name}: {size // 1024} -> {len(data) // 1024} KB")
            if args.write:
                path.write_bytes(data)
            size = len(data)
        after += size
    print(f"pictures under docs/: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB"
          + ("" if args.write else " (nothing written: --write)"), file=sys.stderr)


if __name__ == "__main__":
    main()
