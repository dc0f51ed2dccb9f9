"""Hostile-suite rows: the other entry points, `python -m ganexp.sample|report|findings`.

Sampling rows copy one tiny trained cgan run (trained once per test process, `hostile_runs.trained`) into the job
folder and damage or misuse it; each asserts that nothing was written where the images would go. Report rows lay
down finished jobs as a run leaves them (`helpers.fake_jobs.fake_job`); findings rows a small repository (`--root`).

The one table of bad inputs (see tests/helpers/hostile.py); a tool's own functions (the findings file's reader, the
report's tables) keep their function-level checks in tests/unit.
"""

import torch

from helpers.fake_jobs import fake_job
from helpers.hostile import Case, Ctx, Outcome, only_line, tool_case, tool_in_process
from helpers.hostile_runs import lay_trained

OUT = "{tmp}/out"  # where a sample case would write: it must not exist afterwards


def cgan(ctx: Ctx) -> None:
    lay_trained(ctx, "model=cgan")


def cgan_and(name: str, content: str | bytes):
    """A setup: the trained cgan run in the job folder, then `content` written to `name` (under {tmp} when the name
    starts with "/tmp/", else in the job folder)."""
    def setup(ctx: Ctx) -> None:
        cgan(ctx)
        path = ctx.tmp / name.removeprefix("/tmp/") if name.startswith("/tmp/") else ctx.job / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return setup


def cut_checkpoint(ctx: Ctx) -> None:
    cgan(ctx)
    path = ctx.job / "checkpoints" / "last.ckpt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def foreign_checkpoint(ctx: Ctx) -> None:
    """A readable checkpoint whose weights do not fit the run's config.yaml (a network missing)."""
    cgan(ctx)
    path = ctx.job / "checkpoints" / "last.ckpt"
    state = torch.load(path, weights_only=False)
    state["state_dict"] = {k: v for k, v in state["state_dict"].items() if not k.startswith("generator.")}
    torch.save(state, path)


def no_checkpoint(ctx: Ctx) -> None:
    cgan(ctx)
    for path in (ctx.job / "checkpoints").iterdir():
        path.unlink()


def nothing_written(ctx: Ctx, outcome: Outcome) -> None:
    assert not (ctx.tmp / "out").exists() and not (ctx.tmp / "samples_out").exists(), "sample wrote files"


def sample(id: str, args: list[str], names: str, setup=cgan) -> Case:
    """`python -m ganexp.sample {job} args --out {tmp}/out` on the trained cgan run (or what `setup` lays down)."""
    return tool_case(f"entry: sample, {id}", "sample", ["{job}", *args, "--out", OUT], names, setup=setup,
                     check=nothing_written)


SAMPLE = [
    tool_case("entry: sample of a missing folder", "sample", ["{tmp}/nowhere"],
              "{tmp}/nowhere: no such run folder or checkpoint file",
              check=only_line("error: {tmp}/nowhere: no such run folder or checkpoint file")),
    sample("no images", ["-n", "0"], "-n 0: must be at least 1"),
    sample("negative count", ["-n", "-3"], "-n -3: must be at least 1"),
    sample("unknown class", ["--cond", "teal hair red eyes"], "--cond: condition 'teal hair red eyes' must name "
                                                              "exactly one hair value"),
    sample("one group of two", ["--cond", "blue hair"], "must name exactly one eyes value"),
    sample("empty condition", ["--cond", " , "], "--cond ' , ': names no condition"),
    sample("both condition options", ["--cond", "blue hair red eyes", "--cond-file", "{tmp}/c.json"],
           "--cond and --cond-file: pass one of them"),
    sample("missing condition file", ["--cond-file", "{tmp}/nope.json"], "--cond-file {tmp}/nope.json: no such file"),
    sample("condition file cut short", ["--cond-file", "{tmp}/c.json"], "--cond-file {tmp}/c.json line 2",
           setup=cgan_and("/tmp/c.json", '[["red hair", "blue eyes"],\n')),
    sample("condition file of the wrong shape", ["--cond-file", "{tmp}/c.json"], "item 1 ([\"red hair\", 3])",
           setup=cgan_and("/tmp/c.json", '[["red hair", "blue eyes"], ["red hair", 3]]')),
    sample("condition file with an unknown label", ["--cond-file", "{tmp}/c.json"],
           "--cond-file {tmp}/c.json: item 1: condition 'red hair teal eyes'",
           setup=cgan_and("/tmp/c.json", '[["red hair", "blue eyes"], ["red hair", "teal eyes"]]')),
    sample("condition file not UTF-8", ["--cond-file", "{tmp}/c.json"], "not UTF-8",
           setup=cgan_and("/tmp/c.json", b'[["red hair \xff"]]')),
    tool_case("entry: sample, --out an existing file", "sample", ["{job}", "--out", "{tmp}/afile"],
              "--out {tmp}/afile: is a file", setup=cgan_and("/tmp/afile", "mine")),
    tool_case("entry: sample, --out below a file", "sample", ["{job}", "--out", "{tmp}/afile/images"],
              "{tmp}/afile is a file", setup=cgan_and("/tmp/afile", "mine")),
    sample("zero truncation", ["--truncation", "0"], "--truncation 0.0: must be a number > 0"),
    sample("negative seed", ["--seed", "-1"], "--seed -1"),
    sample("zero-byte checkpoint", [], "{job}/checkpoints/last.ckpt is empty",
           setup=cgan_and("checkpoints/last.ckpt", b"")),
    sample("truncated checkpoint", [], "{job}/checkpoints/last.ckpt is damaged or cut short", setup=cut_checkpoint),
    sample("text file as checkpoint", [], "{job}/checkpoints/last.ckpt is damaged or cut short",
           setup=cgan_and("checkpoints/last.ckpt", "these are not weights\n")),
    sample("checkpoint of other networks", [], "{job}/checkpoints/last.ckpt does not fit the run's config.yaml",
           setup=foreign_checkpoint),
    sample("no checkpoint", [], "{job}: no checkpoints/best.ckpt or checkpoints/last.ckpt", setup=no_checkpoint),
    sample("damaged config.yaml", [], "{job}/config.yaml line 2 is damaged",
           setup=cgan_and("config.yaml", "model:\n  name: a: b\n")),
    sample("config.yaml of no run", [], "{job}/config.yaml is not a run's configuration",
           setup=cgan_and("config.yaml", "")),
    sample("earlier results without config.yaml", [], "{job}: no config.yaml (not a ganexp run folder", setup=None),
]


def finished(ctx: Ctx) -> None:
    """The job folder as a finished run leaves it (two evaluations of fid_eval, a status, metrics.json)."""
    fake_job(ctx.job, ["loss=lsgan", "seed=0"], {4: 50.0, 8: 40.0})


def finished_and(name: str, content: str):
    def setup(ctx: Ctx) -> None:
        finished(ctx)
        (ctx.job / name).write_text(content)
    return setup


def sweep_with(damage: str, content: str):
    """A setup: {tmp} as a sweep folder of two finished jobs, the job folder and `other`, then the job's `damage`."""
    def setup(ctx: Ctx) -> None:
        finished(ctx)
        fake_job(ctx.tmp / "other", ["loss=hinge", "seed=0"], {4: 60.0, 8: 45.0})
        (ctx.job / damage).write_text(content)
    return setup


def no_report(ctx: Ctx, outcome: Outcome) -> None:
    written = [p for p in (ctx.tmp, ctx.job, ctx.tmp / "out") for name in ("report.md", "report.csv")
               if (p / name).exists()]
    assert not written, f"report written: {written}"


def shown_damaged(ctx: Ctx, outcome: Outcome) -> None:
    """The other job reported, the damaged one shown as such, and a warning naming the file."""
    assert f"warning: {ctx.job}/status.json is empty" in outcome.err, outcome.err
    assert "| loss=hinge | 1 | completed |" in (ctx.tmp / "report.md").read_text()
    assert "| loss=lsgan | 1 | damaged |" in (ctx.tmp / "report.md").read_text()


def finished_beside(name: str, content: str | None = None):
    """A setup: the finished job, and beside it {tmp}/<name>: a file holding `content`, or (None) another job."""
    def setup(ctx: Ctx) -> None:
        finished(ctx)
        if content is None:
            fake_job(ctx.tmp / name, ["loss=gan", "seed=1"], {8: 30.0})
        else:
            (ctx.tmp / name).write_text(content)
    return setup


def report(id: str, args: list[str], names: str, setup=finished) -> Case:
    return tool_case(f"entry: report, {id}", "report", args, names, setup=setup, check=no_report)


REPORT = [
    tool_case("entry: report of a missing folder", "report", ["{tmp}/nowhere"], "{tmp}/nowhere: no such sweep folder",
              check=only_line("error: {tmp}/nowhere: no such sweep folder")),
    report("an empty folder", ["{tmp}/empty"], "{tmp}/empty: no jobs here",
           setup=lambda ctx: (ctx.tmp / "empty").mkdir()),
    report("a file for a folder", ["{tmp}/afile"], "{tmp}/afile: a file, not a sweep folder or run folder",
           setup=lambda ctx: (ctx.tmp / "afile").write_text("mine")),
    report("earlier results of no run", ["{job}"], "{job}/metrics.json has no iterations", setup=None),
    report("metrics.json cut short", ["{job}"], "{job}/metrics.json is not valid JSON",
           setup=finished_and("metrics.json", '{"iterations": 8, "final": {')),
    report("empty status.json", ["{job}"], "{job}/status.json is empty", setup=finished_and("status.json", "")),
    report("a metric no job logged", ["{job}", "--metric", "acc/cond"],
           "--metric 'acc/cond': no job logged it (they logged: "),
    report("a metric ganexp does not know", ["{job}", "--metric", "fid_evl"],
           "error: --metric 'fid_evl': not a metric ganexp knows"),  # the line begins with it
    report("an unknown baseline", ["{job}", "--baseline", "loss=gan"], "--baseline 'loss=gan' is not a setting"),
    report("an unknown grid", ["{job}", "--grid", "cond_hair"], "--grid cond_hair: no job has samples/cond_hair.png"),
    report("--out an existing file", ["{job}", "--out", "{tmp}/afile"], "--out {tmp}/afile: is a file",
           setup=finished_beside("afile", "mine")),
    report("two folders, no --out", ["{job}", "{tmp}/second"], "2 sweep folders: name the folder",
           setup=finished_beside("second")),
    report("a job's damaged overrides", ["{tmp}"], "{job}/.hydra/overrides.yaml is damaged",
           setup=sweep_with(".hydra/overrides.yaml", "- [loss=lsgan\n")),
    Case("entry: report, a damaged job among others", "entry",
         lambda ctx: tool_in_process(ctx, "report", [str(ctx.tmp)]), None, exit=0,
         setup=sweep_with("status.json", ""), check=shown_damaged),
]

CLAIM = "- claim: lsgan beats gan\n  source: a report\n  command: python run.py -m loss=gan,lsgan seed=0,1\n"
SIDES = ("  metric: fid_eval\n  claimed: {report: docs/experiments/x/report.csv, where: loss=lsgan}\n"
         "  other: {report: docs/experiments/x/report.csv, where: loss=gan}\n")
REPORT_CSV = 'job,overrides,status,fid_eval\n0,"loss=lsgan,seed=0",completed,10\n1,"loss=gan,seed=0",completed,20\n'


def repository(claims: str | None, report_csv: str | None = REPORT_CSV):
    """A setup: a small repository under {tmp} with docs/findings.yaml (`claims`) and one report.csv."""
    def setup(ctx: Ctx) -> None:
        docs = ctx.tmp / "docs"
        (docs / "experiments" / "x").mkdir(parents=True)
        if claims is not None:
            (docs / "findings.yaml").write_text(claims)
        if report_csv is not None:
            (docs / "experiments" / "x" / "report.csv").write_text(report_csv)
    return setup


def no_findings(ctx: Ctx, outcome: Outcome) -> None:
    assert not (ctx.tmp / "docs" / "findings.md").exists(), "findings.md written"


def claims(id: str, text: str | None, names: str, **kw) -> Case:
    return tool_case(f"entry: findings, {id}", "findings", ["--root", "{tmp}"], names,
                     setup=repository(text, **kw), check=no_findings)


FINDINGS = [
    tool_case("entry: findings, --root missing", "findings", ["--root", "{tmp}/nowhere"],
              "--root {tmp}/nowhere: no such folder"),
    claims("no findings.yaml", None, "{tmp}/docs/findings.yaml: no such file"),
    claims("YAML syntax error", CLAIM + "  note: a: b\n", "findings.yaml: line 4, column 10: not valid YAML"),
    claims("not a list", "claim: x\n", "findings.yaml: must be a YAML list of claims"),
    claims("a claim without its source", CLAIM + "- claim: x\n  command: y\n",
           "findings.yaml line 4: claim 1's source is missing"),
    claims("a side without where", CLAIM + SIDES.replace(", where: loss=gan", ""),
           "claim 0's other.where is missing"),
    claims("a report that does not exist", CLAIM + SIDES.replace("x/report", "gone/report"),
           "docs/experiments/gone/report.csv: no such report"),
    claims("a value that is not a number", CLAIM + SIDES, "docs/experiments/x/report.csv: fid_eval 'ten' is not a "
           "number", report_csv=REPORT_CSV.replace(",10\n", ",ten\n")),
    claims("a report without a status column", CLAIM + SIDES, "no column 'status'",
           report_csv=REPORT_CSV.replace("status", "state")),
]

CASES = [*SAMPLE, *REPORT, *FINDINGS]
