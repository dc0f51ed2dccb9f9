"""mkdocs hook (mkdocs.yml `hooks:`): the committed sweep reports whose pictures were never committed.

These reports under docs/experiments/ were committed with their report.md but without a picture it links. They are
written by `python -m ganexp.report` from sweep folders that no longer exist, so they are not edited by hand: on the
site each such link reads "not committed with this report". Only the pictures listed here are treated so; any other
missing target still fails `mkdocs build --strict`. Commit the picture (or regenerate the report) and drop its line.
"""

import re
from pathlib import Path

NOT_COMMITTED = {
    "experiments/cpu_fast_parity/samples.png",
    "experiments/losses_timing/curves.png",
    "experiments/losses_timing/samples.png",
    "experiments/pixel_pretrain_5000/samples.png",
    "experiments/wrong_tags_5000/samples.png",
    "experiments/z_prior_5000/samples.png",
}
PICTURE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def on_page_markdown(markdown: str, page, config, files) -> str:
    folder = Path(page.file.src_uri).parent

    def replace(match: re.Match) -> str:
        target = (folder / match.group(1)).as_posix()
        if target in NOT_COMMITTED and not (Path(config["docs_dir"]) / target).is_file():
            return f"*({match.group(1)}: not committed with this report)*"
        return match.group(0)

    return PICTURE.sub(replace, markdown)
