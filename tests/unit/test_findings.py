"""The findings table: seeds read from committed report.csv files, the verdict rule applied to every row."""

import math
import re

import pytest
from conftest import make_config, sweep_jobs
from scipy import stats

from ganexp import findings, gates
from ganexp import findings_page as page
from ganexp.errors import InputError
from ganexp.verdict import Comparison, compare, power

CSV = """job,overrides,status,iterations,best fid_eval,fid_eval,toy/modes
0,"model.d_pack=1,seed=0",completed,10,30.0,35.0,18
1,"model.d_pack=1,seed=1",completed,10,32.0,36.0,17
2,"model.d_pack=1,seed=2",completed,10,34.0,37.0,19
3,"model.d_pack=2,seed=0",completed,10,20.0,25.0,20
4,"model.d_pack=2,seed=1",completed,10,21.0,26.0,25
5,"model.d_pack=2,seed=2",completed,10,22.0,22.0,15
6,"model.d_pack=2,seed=3",failed,3,,,
"""


def write(tmp_path, claims: str) -> list:
    (tmp_path / "docs" / "experiments" / "pack").mkdir(parents=True)
    (tmp_path / "docs" / "experiments" / "pack" / "report.csv").write_text(CSV)
    (tmp_path / "docs" / "findings.yaml").write_text(claims)
    return findings.load(tmp_path / "docs" / "findings.yaml")


SIDES = """
  claimed: {report: docs/experiments/pack/report.csv, where: model.d_pack=2}
  other: {report: docs/experiments/pack/report.csv, where: model.d_pack=1}
"""


def test_rows_read_the_seeds_and_apply_the_rule(tmp_path):
    claims = write(tmp_path, f"""
- claim: packing lowers FID
  source: PacGAN
  command: python run.py -m model.d_pack=1,2 seed=0,1,2
  metric: best fid_eval{SIDES}
- claim: packing captures more modes
  source: PacGAN
  command: same
  metric: toy/modes{SIDES}
- claim: not run yet
  source: a report
  command: python run.py -m x=1,2
""")
    rows = findings.measure(claims, tmp_path)
    # the failed job (seed 3) is left out; FID: means 21 vs 32, variances 1 and 4: SE = sqrt(1/3 + 4/3) = 1.29,
    # Welch df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 50/17 = 2.94, t = -11 / 1.29 = -8.52: p = 0.0037
    assert rows[0].claimed == [20.0, 21.0, 22.0] and rows[0].other == [30.0, 32.0, 34.0]
    assert 2 * stats.t.sf(11 / math.sqrt(5 / 3), 50 / 17) == pytest.approx(0.00366, abs=1e-5)
    assert page.verdict_text(rows[0]) == "**confirmed** (-11 ± 1.3 SE; Welch p = 0.0037, df = 2.94)"
    # with the table's Holm p beside it
    assert page.verdict_text(rows[0], 0.0073) == ("**confirmed** (-11 ± 1.3 SE; Welch p = 0.0037, df = 2.94; "
                                                      "Holm p = 0.0073)")
    # modes: means 20 vs 18, variances 25 and 1: SE = sqrt(26/3) = 2.94, df = (26/3)² / ((25/3)²/2 + (1/3)²/2)
    # = 1352/626 = 2.16, t = 0.68: p = 0.56, inconclusive; with SDs 5 and 1, 53 seeds a side reach 80 % power
    assert 2 * stats.t.sf(2 / math.sqrt(26 / 3), 1352 / 626) == pytest.approx(0.562, abs=1e-3)
    modes = compare(rows[1].claimed, rows[1].other, "toy/modes")
    assert power(2.0, 5.0, 1.0, 52) < 0.8 <= power(2.0, 5.0, 1.0, 53) and modes.df == pytest.approx(1352 / 626)
    assert page.verdict_text(rows[1]) == ("inconclusive (+2 ± 2.9 SE; Welch p = 0.56, df = 2.16; 53 seeds a side "
                                              "would detect this difference (80 % power))")
    assert not rows[2].measured and page.verdict_text(rows[2]) == "not measured"
    # the claim reversed is refuted by the same numbers
    rows[0].claimed, rows[0].other = rows[0].other, rows[0].claimed
    assert page.verdict_text(rows[0]).startswith("**refuted**")

    md = findings.render(tmp_path)
    assert ("| 1 | packing lowers FID | best fid_eval | `model.d_pack=2`: 21 ± 1 (3 seeds) | "
            "`model.d_pack=1`: 32 ± 2 (3 seeds) |") in md
    # Holm over the two measured rows: 0.00366 x 2 = 0.0073 and max(0.562 x 1, 0.0073) = 0.56
    assert "Welch p = 0.0037, df = 2.94; Holm p = 0.0073) |" in md
    assert "Welch p = 0.56, df = 2.16; Holm p = 0.56; 53 " in md
    assert "Welch's t-test" in md and "Holm" in page.RULE and "final look alone" in page.RULE
    assert "- Claimed `model.d_pack=2` (docs/experiments/pack/report.csv): 20, 21, 22" in md
    assert "| 3 | not run yet | – | – | – | not measured |" in md


def test_a_side_may_name_an_override_whose_value_holds_commas(tmp_path):
    """A dict or list override (a scheduler given inline) is one override in the report's comma-joined cell."""
    step = "lr_sched.g={_target_:torch.optim.lr_scheduler.StepLR,step_size:500,gamma:1.1}"
    assert findings.split_overrides(f"loss=wgan,{step},'betas=[0.5,0.9]',seed=0") == {
        "loss=wgan", step, "'betas=[0.5,0.9]'", "seed=0"}
    claims = write(tmp_path, f"""
- claim: a rising learning rate lowers FID
  source: a report
  command: python run.py -m x=1
  metric: fid_eval
  claimed: {{report: docs/experiments/lr/report.csv, where: "{step}"}}
  other: {{report: docs/experiments/lr/report.csv, where: "loss=wgan"}}
""")
    (tmp_path / "docs" / "experiments" / "lr").mkdir()
    (tmp_path / "docs" / "experiments" / "lr" / "report.csv").write_text(
        "job,overrides,status,fid_eval\n"
        f'0,"loss=wgan,{step},seed=0",completed,10\n1,"loss=wgan,{step},seed=1",completed,12\n'
        '2,"loss=wgan,seed=0",completed,20\n3,"loss=wgan,seed=1",completed,30\n'
        '4,"loss=wgan,lr_sched.g={_target_:torch.optim.lr_scheduler.StepLR,step_size:500,gamma:0.5},'
        'lr_sched.d={step_size:500,gamma:1.1},seed=0",completed,99\n')
    row = findings.measure(claims, tmp_path)[0]
    # the claimed side takes the gamma-1.1 jobs only (split at every comma, job 4 would hold all three pieces of
    # the wanted override); "loss=wgan" matches every job, job 4's too
    assert row.claimed == [10.0, 12.0] and row.other == [10.0, 12.0, 20.0, 30.0, 99.0]
    # means a float residue apart (scores written with different digits) print as +0, not as -3.3e-10
    row.claimed, row.other = [1.0, 2.0, 3.0], [1.0, 2.0, 3.000000001]
    assert page.verdict_text(row) == ("inconclusive (+0 ± 0.82 SE; Welch p = 1, df = 4; > 1000 seeds a side would "
                                          "detect this difference (80 % power))")  # SE = sqrt(1/3 + 1/3)


def test_a_claim_of_no_difference_states_its_margin(tmp_path):
    claims = write(tmp_path, "".join(f"""
- claim: packing changes FID by less than {margin}
  source: PacGAN
  command: python run.py -m model.d_pack=1,2 seed=0,1,2
  metric: best fid_eval
  margin: {margin}{SIDES}""" for margin in (20, 5, 12)))
    rows = findings.measure(claims, tmp_path)
    # means 21 vs 32, SE 1.29, df 50/17: the 90 % interval -11 ± 2.373 SE = [-14.06, -7.94] lies inside ±20; the 95 %
    # interval -11 ± 3.219 SE = [-15.16, -6.84] wholly outside ±5; both reach across ±12. TOST against ±20: the larger
    # one-sided p is that of t = (-11 + 20) / 1.29 = 6.97, 0.0032
    assert stats.t.sf(9 / math.sqrt(5 / 3), 50 / 17) == pytest.approx(0.00323, abs=1e-5)
    assert page.verdict_text(rows[0]) == ("**confirmed** (-11 ± 1.3 SE; no difference means within ±20; Welch p = "
                                              "0.0037, df = 2.94; TOST p = 0.0032)")
    # beyond ±5: the two-sided test that the difference is -5, t = -6 / 1.29 = -4.65: p = 0.020
    assert 2 * stats.t.sf(6 / math.sqrt(5 / 3), 50 / 17) == pytest.approx(0.0196, abs=1e-4)
    assert page.verdict_text(rows[1]) == ("**refuted** (-11 ± 1.3 SE; no difference means within ±5; Welch p = "
                                              "0.0037, df = 2.94; beyond-margin p = 0.02)")
    # inconclusive, with no seed count: the power of the margin test is not what that count is about
    assert page.verdict_text(rows[2]) == ("inconclusive (-11 ± 1.3 SE; no difference means within ±12; Welch p = "
                                              "0.0037, df = 2.94; TOST p = 0.25)")
    # the table's Holm p for a margin row adjusts the p its verdict rests on: 0.0032, 0.0196, 0.248 -> x3, x2, x1
    assert page.holm_by_row(rows) == pytest.approx([3 * 0.0032288, 2 * 0.0196198, 0.2480277], abs=1e-6)


@pytest.mark.parametrize(("entry", "message"), [
    ("- claim: a\n  source: b\n  command: c\n  metrik: fid_eval\n", "metrik"),
    ("- claim: a\n  source: b\n  command: c\n  metric: fid_eval\n"
     "  claimed: {report: docs/experiments/pack/report.csv, where: model.d_pack=2}\n",
     r"needs claimed, metric and other \(or a level\)"),
    (f"- claim: a\n  source: b\n  command: c\n  metric: kid_eval{SIDES}", "no column 'kid_eval'"),
    (f"- claim: a\n  source: b\n  command: c\n  metric: best fid_evl{SIDES}",
     r"findings.yaml: claim 0 \('a'\): metric 'fid_evl': not a metric ganexp knows \(the registry in "),
    (f"- claim: a\n  source: b\n  command: c\n  metric: toy/modes{SIDES.replace('d_pack=2', 'd_pack=3')}",
     "no completed job with 'model.d_pack=3'"),
    (f"- claim: a\n  source: b\n  command: c\n  metric: toy/modes{SIDES.replace('pack/report', 'gone/report')}",
     "docs/experiments/gone/report.csv: no such report"),
    ("- claim: a\n  source: b\n  command: python run.py 'x={a: 1}'\n",
     r"findings.yaml: line 3, column 31: not valid YAML"),
    ("- claim: a\n  source: b\n  command: c\n  pictures: [docs/experiments/pack/grid_progress.png]\n",
     "picture 'docs/experiments/pack/grid_progress.png' is not a file under docs/"),
])
def test_mistakes_in_the_claims_file_are_one_line_naming_the_culprit(tmp_path, entry, message):
    with pytest.raises(InputError, match=message):
        findings.measure(write(tmp_path, entry), tmp_path)


def test_the_committed_findings_are_current():
    md = findings.render()
    assert (findings.ROOT / "docs" / "findings.md").read_text() == md, "run python -m ganexp.findings"
    pictures = re.findall(r"\]\((findings/\d+\.png)\)", md)
    assert pictures and all((findings.ROOT / "docs" / p).exists() for p in pictures), "run python -m ganexp.findings"
    # one home: README links to the page and holds no copy of its table (a copy would go stale unseen)
    readme = (findings.ROOT / "README.md").read_text()
    assert "](docs/findings.md)" in readme and "| # | claim |" not in readme
    assert md.count("| # | claim |") == 2  # the reports' claims, then those beyond them


REPORTS = findings.ROOT.parent / "shared" / "reports"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_every_report_row_quotes_its_report_truly():
    """Each row of scope "report" carries the report's words; where the reports are at hand (../shared/reports),
    every passage of the quote (" … " joins them) is in its file, in order, up to whitespace."""
    rows = findings.load(findings.ROOT / "docs" / "findings.yaml")
    assert {c.scope for c in rows} == {"report", "beyond"}
    missing = [c.claim[:50] for c in rows if c.scope == "report" and c.quote is None]
    assert not missing, f"report rows without their quote: {missing}"
    if not REPORTS.is_dir():
        pytest.skip(f"{REPORTS} is not here: the quotes' words are not checked")
    for c in rows:
        if c.quote is None:
            continue
        text, at = flat((REPORTS / c.quote.file).read_text()), 0
        for passage in c.quote.original.split(" … "):
            found = text.find(flat(passage), at)
            assert found >= 0, f"{c.quote.file}: not found (in order): {passage[:60]!r}"
            at = found + len(flat(passage))


GATED = """job,overrides,status,iterations,wall_time_s,fid_eval,acc/cond,collapse/class_coverage
0,"model.d_pack=1,seed=0",completed,100,50,90,0.8,0.9
1,"model.d_pack=1,seed=1",completed,100,70,95,0.7,0.95
2,"model.d_pack=2,seed=0",completed,100,60,{fid},0.1,0.9
3,"model.d_pack=2,seed=1",completed,100,60,{fid},0.12,0.9
"""


@pytest.mark.parametrize(("extra", "fid", "verdict"), [
    ("", 80, "not testable here** (the claimed side failed: acc/cond 0.11, below 0.15"),
    ("  metric: acc/cond\n", 80, "refuted"),  # never judged on its own metric
    ("  length_needed: {iterations: 1000, why: its 10 epochs}\n", 80,
     "not testable at this length** (the claim is about training to 1,000 iterations (its 10 epochs); these runs "
     "stop at 100. The full length: 4 jobs x 1,000 iterations at the measured 0.6 s an iteration, about 0.7 "
     "job-hours (0.3 h two at a time)"),
    ("  premise: {side: other, metric: fid_eval, above: 100, why: a bad baseline}\n", 80,
     "not testable here** (the claim presupposes fid_eval above 100 on the other side (a bad baseline); its seeds' "
     "mean is 92.5"),
    # the claim says the claimed side fails: its acc/cond 0.11 is not judged, so the rule runs: FID 80 and 80 against
    # 90 and 95, SE = sqrt(0/2 + 12.5/2) = 2.5, t = -5 on Welch's df 1: p = 0.126
    ("  fails: {side: claimed, why: it says so}\n", 80, "inconclusive (-12.5 ± 2.5 SE; Welch p = 0.13, df = 1; "),
    ("  fails: {side: other, why: it says so}\n", 80, "not testable here** (the claimed side failed: acc/cond 0.11"),
])
def test_gates_come_before_the_rule(tmp_path, extra, fid, verdict):
    (tmp_path / "docs" / "experiments" / "pack").mkdir(parents=True)
    (tmp_path / "docs" / "experiments" / "pack" / "report.csv").write_text(GATED.format(fid=fid))
    metric = "" if extra.startswith("  metric:") else "  metric: fid_eval\n"
    (tmp_path / "docs" / "findings.yaml").write_text(f"- claim: packing\n  source: s\n  command: c\n{metric}{extra}"
                                                     + SIDES.lstrip("\n"))
    rows = findings.measure(findings.load(tmp_path / "docs" / "findings.yaml"), tmp_path)
    text = page.verdict_text(rows[0])
    assert verdict in text
    assert math.isnan(page.holm_by_row(rows)[0]) == (rows[0].gate is not None)


@pytest.mark.parametrize(("data", "columns", "reason"), [
    ("shapes", {"fid_eval": [458.66, 478.57, 467.2]}, "fid_eval 468, above 350 (its images show no objects)"),
    ("shapes", {"fid_eval": [196.0, 226.0], "acc/new_test": [0.13, 0.15]}, "acc/new_test 0.14, below 0.16"),
    ("toy", {"toy/high_quality": [0.006, 0.01, 0.002]}, "toy/high_quality 0.006, below 0.1"),
    ("fashion", {"acc/cond": [0.1, 0.12]}, "acc/cond 0.11, below 0.15 (G ignores the class"),
    ("shapes", {"fid_eval": [82.0, 267.0], "acc/new_test": [0.26, 0.53]}, None),
    ("toy", {"toy/high_quality": [0.25, 0.56]}, None),
])
def test_each_data_set_has_failed_side_bounds(data, columns, reason):
    found = gates.failed_gate(data, {"other": columns}, {})
    assert (found is None) if reason is None else f"the other side failed: {reason}" in found.reason
    # never on the row's own metric
    assert gates.failed_gate(data, {"other": columns}, {"other": set(columns)}) is None


CURVES = "job,overrides,status,metric,iteration,value\n" + "".join(
    f'{job},"model.d_pack={pack},seed={seed}",{status},fid_eval,{it},{value}\n'
    for job, pack, seed, status, points in [
        (0, 1, 0, "completed", {1: 40.0, 2: 30.0, 3: 35.0}), (1, 1, 1, "completed", {1: 41.0, 2: 32.0, 3: 36.0}),
        (2, 1, 2, "completed", {1: 42.0, 2: 34.0, 3: 37.0}), (3, 2, 0, "completed", {1: 50.0, 2: 20.0, 3: 25.0}),
        (4, 2, 1, "completed", {1: 39.0, 2: 21.0, 3: 26.0}), (5, 2, 2, "completed", {1: 28.0, 2: 22.0}),
        (6, 2, 3, "failed", {1: 1.0})]
    for it, value in points.items())


def test_the_rule_is_applied_again_at_every_evaluated_length(tmp_path):
    claims = write(tmp_path, f"- claim: packing lowers FID\n  source: s\n  command: c\n  metric: best fid_eval{SIDES}"
                             f"- claim: final FID\n  source: s\n  command: c\n  metric: fid_eval{SIDES}")
    (tmp_path / "docs" / "experiments" / "pack" / "curves.csv").write_text(CURVES)
    best, final = findings.measure(claims, tmp_path)
    # seed 2 of d_pack=2 has no iteration 3, so only iterations 1 and 2 are common to all completed jobs; the failed
    # job is left out. Best so far at 2: d_pack=2 20, 21, 22 against 30, 32, 34 (as the report's 20, 21, 22)
    assert best.claimed_curve == {1: [50.0, 39.0, 28.0], 2: [20.0, 21.0, 22.0]}
    assert best.other_curve == {1: [40.0, 41.0, 42.0], 2: [30.0, 32.0, 34.0], 3: [30.0, 32.0, 34.0]}
    # iteration 1: means 39 vs 41, variances 121 and 1: SE = sqrt(122/3) = 6.4: inconclusive; 2: confirmed
    assert [(it, c.better) for it, c in best.by_length] == [(1, None), (2, "a")]
    assert page.standing(best) == "changed at the last of 2 evaluations (looks; iteration 2): not settled"
    # the final value, not the best so far: at 3 only seeds 0 and 1 of d_pack=2 reached it, so 1 and 2 are compared
    assert [c.better for _, c in final.by_length] == [None, "a"]
    # a verdict that held over the last evaluations
    best.by_length = [(1, best.by_length[0][1]), (2, best.by_length[1][1]), (3, best.by_length[1][1])]
    assert page.standing(best) == "held at the last 2 of 3 evaluations (looks), since iteration 2 of 3"
    best.by_length = best.by_length[1:]
    assert page.standing(best) == "held at all 2 of 2 evaluations (looks)"
    (tmp_path / "docs" / "experiments" / "pack" / "grid_progress.png").write_bytes(b"png")
    best.claim.pictures = ["docs/experiments/pack/grid_progress.png"]
    md = findings.render(tmp_path, [best])
    assert "- ![pack: grid_progress](experiments/pack/grid_progress.png)" in md
    assert "; held at all 2 of 2 evaluations (looks) |" in md
    assert "![row 1: best fid_eval over iterations](findings/1.png)" in md
    page.plot(best, 1, tmp_path / "1.png")
    assert (tmp_path / "1.png").stat().st_size > 0



def test_a_claim_about_one_point_compares_the_values_there(tmp_path):
    claims = write(tmp_path, f"- claim: packing is ahead early\n  source: s\n  command: c\n  metric: fid_eval\n  at: 1"
                             f"{SIDES}- claim: at an iteration not evaluated\n  source: s\n  command: c\n"
                             f"  metric: fid_eval\n  at: 3{SIDES}")
    (tmp_path / "docs" / "experiments" / "pack" / "curves.csv").write_text(CURVES)
    with pytest.raises(InputError, match="at 3 is not an iteration every job of the row evaluated"):
        findings.measure(claims, tmp_path)
    (row,) = findings.measure(claims[:1], tmp_path)
    # iteration 1's values, not the final ones (report.csv's 25, 26, 22 against 35, 36, 37)
    assert row.claimed == [50.0, 39.0, 28.0] and row.other == [40.0, 41.0, 42.0]
    assert page.standing(row) == ""  # one point: no count of looks
    assert "| fid_eval at 1 |" in findings.render(tmp_path, [row])


def test_held_since_counts_every_look():
    """A hand-made curve of six evaluations: confirmed at 500 and 1,000, lost at 1,500, confirmed again from 2,000:
    the final verdict held at the last 3 of the 6 looks, not at the 5 of 6 it was confirmed at."""
    row = findings.Row(findings.Claim("a beats b", "s", "c", metric="fid_eval"), claimed=[1.0, 2.0], other=[3.0, 4.0])
    better, level = Comparison(-2.0, 0.5, "a", 0.01, 4.0), Comparison(-0.5, 0.5, None, 0.37, 4.0)
    row.by_length = [(500, better), (1000, better), (1500, level), (2000, better), (2500, better), (3000, better)]
    assert page.standing(row) == "held at the last 3 of 6 evaluations (looks), since iteration 2,000 of 3,000"
    row.by_length[3] = (2000, level)
    assert page.standing(row) == "held at the last 2 of 6 evaluations (looks), since iteration 2,500 of 3,000"
    row.by_length[4] = (2500, level)
    assert page.standing(row) == "changed at the last of 6 evaluations (looks; iteration 3,000): not settled"
    row.by_length = [(it, better) for it, _ in row.by_length]
    assert page.standing(row) == "held at all 6 of 6 evaluations (looks)"
    assert page.standing(findings.Row(row.claim, by_length=row.by_length[:1])) == ""  # one look: nothing to say
    # a claim of no difference (margin 1) is judged at each look by its own test: TOST needs |diff| + t(0.95, 4) SE
    # = 0.1 + 2.132 x 0.2 = 0.53 < 1 (confirmed); |diff| 0.8 with SE 0.2 reaches 1.23 (inconclusive)
    row.claim.margin = 1.0
    row.by_length = [(500, Comparison(0.8, 0.2, None, 0.02, 4.0)), (1000, Comparison(0.1, 0.2, None, 0.64, 4.0)),
                     (1500, Comparison(0.1, 0.2, None, 0.64, 4.0))]
    assert page.standing(row) == "held at the last 2 of 3 evaluations (looks), since iteration 1,000 of 1,500"

def test_seeds_run_later_in_a_sweep_of_their_own_join_their_side(tmp_path):
    more = SIDES.replace("where: model.d_pack=2}", "where: model.d_pack=2, more: [docs/experiments/later/report.csv]}")
    more = more.replace("where: model.d_pack=1}", "where: model.d_pack=1, more: [docs/experiments/later/report.csv]}")
    claims = write(tmp_path, f"- claim: packing lowers FID\n  source: s\n  command: c\n  metric: best fid_eval{more}")
    later = tmp_path / "docs" / "experiments" / "later"
    later.mkdir()
    # the same job folder names (0, 1) as the first sweep's: a job is its report's folder and its own name
    (later / "report.csv").write_text('job,overrides,status,best fid_eval\n0,"model.d_pack=1,seed=3",completed,36\n'
                                      '1,"model.d_pack=1,seed=4",completed,38\n2,"model.d_pack=2,seed=3",completed,23\n'
                                      '3,"model.d_pack=2,seed=4",completed,24\n')
    row = findings.measure(claims, tmp_path)[0]
    assert row.claimed == [20.0, 21.0, 22.0, 23.0, 24.0] and row.other == [30.0, 32.0, 34.0, 36.0, 38.0]
    # means 22 vs 34, variances 2.5 and 10 over 5 seeds each: SE = sqrt(2.5/5 + 10/5) = sqrt(2.5), Welch df =
    # 2.5² / (0.5²/4 + 2²/4) = 100/17 = 5.88, t = -7.59: p = 0.0003
    assert 2 * stats.t.sf(12 / math.sqrt(2.5), 100 / 17) == pytest.approx(0.000299, abs=1e-6)
    assert page.verdict_text(row) == "**confirmed** (-12 ± 1.6 SE; Welch p < 0.001, df = 5.88)"
    md = findings.render(tmp_path, [row])
    assert "- Claimed `model.d_pack=2` (docs/experiments/pack/report.csv, docs/experiments/later/report.csv)" in md
    # no curves beside one of the reports: no curve of some seeds only
    (tmp_path / "docs" / "experiments" / "pack" / "curves.csv").write_text(CURVES)
    assert findings.measure(claims, tmp_path)[0].claimed_curve == {}
    (later / "curves.csv").write_text("job,overrides,status,metric,iteration,value\n" + "".join(
        f'{job},"model.d_pack={pack},seed={seed}",completed,fid_eval,{it},{value}\n'
        for job, pack, seed, points in [(0, 1, 3, {1: 43.0, 2: 36.0}), (1, 1, 4, {1: 44.0, 2: 38.0}),
                                        (2, 2, 3, {1: 29.0, 2: 23.0}), (3, 2, 4, {1: 30.0, 2: 24.0})]
        for it, value in points.items()))
    row = findings.measure(claims, tmp_path)[0]
    # both files' jobs, told apart though both have jobs named 0 and 1; at 2 the best so far of all five seeds
    assert row.claimed_curve == {1: [50.0, 39.0, 28.0, 29.0, 30.0], 2: [20.0, 21.0, 22.0, 23.0, 24.0]}
    assert row.other_curve == {1: [40.0, 41.0, 42.0, 43.0, 44.0], 2: [30.0, 32.0, 34.0, 36.0, 38.0]}
    # a later report without the side's jobs is a mistake in the claims file, named
    (later / "report.csv").write_text('job,overrides,status,best fid_eval\n0,"model.d_pack=3,seed=3",completed,36\n')
    with pytest.raises(InputError, match="later/report.csv: no completed job with 'model.d_pack=2'"):
        findings.measure(claims, tmp_path)


CLAIMS = findings.load(findings.ROOT / "docs" / "findings.yaml")  # read once: ~0.3 s a read, 40-odd rows


@pytest.mark.parametrize("num", range(1, len(CLAIMS) + 1))
def test_every_findings_command_composes_every_job(num):
    """A row's command is what a reader copies: each of its commands (';' between them) must compose and pass the
    start-up checks for every job it sweeps (seeds aside: they change no structure)."""
    from ganexp.schema import validate

    jobs = {tuple(o for o in job if not o.startswith("seed=")) for command in CLAIMS[num - 1].command.split(";")
            for job in sweep_jobs(command.strip())}
    assert jobs
    for job in jobs:
        validate(make_config(*job))


def test_root_reads_and_writes_another_repository(tmp_path, capsys):
    """`--root DIR`: DIR's docs/findings.yaml read, its docs/findings.md written (tests use it
    to keep off the repository's own files)."""
    write(tmp_path, f"- claim: packing lowers FID\n  source: s\n  command: c\n  metric: best fid_eval{SIDES}")
    findings.main(["--root", str(tmp_path)])
    assert "| 1 | packing lowers FID | best fid_eval |" in (tmp_path / "docs" / "findings.md").read_text()
    assert not (tmp_path / "README.md").exists()  # the results have one home: the page
    findings.main(["--root", str(tmp_path), "--check"])
    assert capsys.readouterr().out.endswith("findings: current\n")
    (tmp_path / "docs" / "findings.md").write_text("an old table\n")
    with pytest.raises(SystemExit, match=r"^out of date: docs/findings.md \(run python -m ganexp.findings\)$"):
        findings.main(["--root", str(tmp_path), "--check"])
    assert (tmp_path / "docs" / "findings.md").read_text() == "an old table\n"  # --check writes nothing


def test_a_row_says_when_its_seeds_were_computed_differently(tmp_path):
    claims = write(tmp_path, f"- claim: packing lowers FID\n  source: PacGAN\n  command: c\n  metric: best fid_eval"
                             f"{SIDES}")
    assert page.differences(findings.measure(claims, tmp_path)[0]) == []  # reports without the columns: nothing
    # the provenance columns: seed 2 of the d_pack=1 side on another evaluator, the d_pack=2 side in bf16
    lines = CSV.splitlines()
    extra = {0: "precision,device,device_model,commit,evaluator", 1: "32-true,cpu,AMD EPYC,abc+dirty,e1",
             2: "32-true,cpu,AMD EPYC,abc,e1", 3: "32-true,cpu,AMD EPYC,abc,e2", 4: "bf16-mixed,cpu,AMD EPYC,abc,e1",
             5: "bf16-mixed,cpu,AMD EPYC,abc,e1", 6: "bf16-mixed,cpu,AMD EPYC,abc,e1", 7: ",,,,"}
    (tmp_path / "docs" / "experiments" / "pack" / "report.csv").write_text(
        "\n".join(f"{line},{extra[i]}" for i, line in enumerate(lines)) + "\n")
    row = findings.measure(claims, tmp_path)[0]
    assert row.claimed_made["precision"] == {"bf16-mixed"} and row.other_made["evaluator"] == {"e1", "e2"}
    assert page.differences(row) == [
        "precision: bf16-mixed (claimed) vs 32-true (other)",
        "commit: the other setting's seeds differ among themselves (abc, abc+dirty)",
        "evaluator: the other setting's seeds differ among themselves (e1, e2)"]
    md = findings.render(tmp_path)
    assert "- Computed differently (report.csv's provenance columns): precision: bf16-mixed (claimed) vs 32-true" in md


SHAPES = """job,overrides,status,iterations,wall_time_s,acc/test,acc/new_test
0,"loss=wgan,seed=0",completed,10,6,0.1,0.2
1,"loss=wgan,seed=1",completed,10,6,0.2,0.4
2,"loss=wgan,seed=2",completed,10,6,0.3,0.6
3,"loss=gan,seed=0",completed,10,6,0.25,
"""
# acc/test's rows in another job order than acc/new_test's: the pairing must go by job, not by position in the file
SHAPE_CURVES = "job,overrides,status,metric,iteration,value\n" + "".join(
    f'{job},"loss=wgan,seed={job}",completed,{metric},{it},{value}\n'
    for metric, jobs in [("acc/new_test", [(0, 0.1, 0.2), (1, 0.2, 0.4), (2, 0.3, 0.6)]),
                         ("acc/test", [(2, 0.15, 0.3), (1, 0.1, 0.2), (0, 0.05, 0.1)])]
    for job, first, last in jobs for it, value in ((1, first), (2, last)))


def paired_row(tmp_path, claimed: str = "loss=wgan", other: str = "loss=wgan", extra: str = "") -> list:
    (tmp_path / "docs" / "experiments" / "shapes").mkdir(parents=True, exist_ok=True)
    (tmp_path / "docs" / "experiments" / "shapes" / "report.csv").write_text(SHAPES)
    (tmp_path / "docs" / "experiments" / "shapes" / "curves.csv").write_text(SHAPE_CURVES)
    (tmp_path / "docs" / "findings.yaml").write_text(
        f"- claim: better on new_test than on test\n  source: s\n  command: c\n  data: shapes\n"
        f"  metric: acc/new_test\n{extra}"
        f"  claimed: {{report: docs/experiments/shapes/report.csv, where: \"{claimed}\"}}\n"
        f"  other: {{report: docs/experiments/shapes/report.csv, where: \"{other}\", metric: acc/test}}\n")
    return findings.load(tmp_path / "docs" / "findings.yaml")


def test_a_paired_row_compares_two_metrics_of_the_same_jobs(tmp_path):
    (row,) = findings.measure(paired_row(tmp_path), tmp_path)
    assert row.claim.paired and row.claimed == [0.2, 0.4, 0.6] and row.other == [0.1, 0.2, 0.3]
    # per job 0.1, 0.2, 0.3: mean 0.2, sd 0.1, SE 0.1 / sqrt(3) = 0.058, t = 2 sqrt(3) with df 2: p = 1 - 3.464 /
    # sqrt(14) = 0.074 (Welch on the same numbers would take SE sqrt(0.04/3 + 0.01/3) = 0.13)
    c = page.final(row)
    assert c.paired and c.se == pytest.approx(0.1 / math.sqrt(3)) and c.p == pytest.approx(1 - math.sqrt(12 / 14))
    # an effect of 2 SDs of the differences: 5 jobs reach 80 % power (0.91), 4 do not (0.75)
    assert page.verdict_text(row) == ("inconclusive (+0.2 ± 0.058 SE; paired t p = 0.074, df = 2; 5 jobs (each "
                                      "giving both values) would detect this difference (80 % power))")
    # the curves paired by job though acc/test's rows come in the order 2, 1, 0: at iteration 1 the differences are
    # 0.05, 0.1, 0.15 (SE 0.05 / sqrt(3)); by position they would be 0.1 - 0.15, 0.2 - 0.1, 0.3 - 0.05
    assert row.claimed_curve == {1: [0.1, 0.2, 0.3], 2: [0.2, 0.4, 0.6]}
    assert row.other_curve == {1: [0.05, 0.1, 0.15], 2: [0.1, 0.2, 0.3]}
    assert [it for it, _ in row.by_length] == [1, 2] and row.by_length[0][1].paired
    assert row.by_length[0][1].se == pytest.approx(0.05 / math.sqrt(3))
    md = findings.render(tmp_path, [row])
    assert ("| 1 | better on new_test than on test | acc/new_test against acc/test, paired | `loss=wgan` acc/new_test: "
            "0.4 ± 0.2 (3 seeds) | `loss=wgan` acc/test: 0.2 ± 0.1 (3 seeds) | inconclusive (") in md
    assert ("- Paired: the same 3 jobs on both sides, in the order above; the test (paired t, df = n - 1) is on each "
            "job's acc/new_test minus its acc/test: +0.1, +0.2, +0.3") in md
    assert "A *paired* row compares two metrics of the same jobs" in md
    page.plot(row, 1, tmp_path / "1.png")
    assert (tmp_path / "1.png").stat().st_size > 0


def test_a_level_row_tests_one_setting_against_its_number(tmp_path):
    """acc/new_test of loss=wgan's seeds (0.2, 0.4, 0.6) against "above 0.1": differences 0.1, 0.3, 0.5, mean 0.3,
    sd 0.2, SE 0.2 / sqrt(3) = 0.115, t = 1.5 sqrt(3) = 2.598 with df 2: p = 1 - 2.598 / sqrt(8.75) = 0.1217."""
    (tmp_path / "docs" / "experiments" / "shapes").mkdir(parents=True)
    (tmp_path / "docs" / "experiments" / "shapes" / "report.csv").write_text(SHAPES)
    (tmp_path / "docs" / "experiments" / "shapes" / "curves.csv").write_text(SHAPE_CURVES)
    (tmp_path / "docs" / "findings.yaml").write_text(
        "- claim: new_test passes 0.1\n  source: s\n  command: c\n  data: shapes\n  metric: acc/new_test\n"
        "  claimed: {report: docs/experiments/shapes/report.csv, where: loss=wgan}\n"
        "  level: {above: 0.1, why: the report's number}\n")
    (row,) = findings.measure(findings.load(tmp_path / "docs" / "findings.yaml"), tmp_path)
    assert row.measured and row.claimed == [0.2, 0.4, 0.6] and row.other == [0.1] * 3
    c = page.final(row)
    assert c.se == pytest.approx(0.2 / math.sqrt(3)) and c.df == 2.0 and c.p == pytest.approx(1 - math.sqrt(27 / 35))
    assert page.verdict_text(row).startswith("inconclusive (+0.3 ± 0.12 SE; one-sample t p = 0.12, df = 2; ")
    assert page.verdict_text(row).endswith(" seeds would detect this difference (80 % power))")
    # at every evaluation against the same level: iteration 1's 0.1, 0.2, 0.3 differ from it by 0, 0.1, 0.2
    assert row.other_curve == {1: [0.1] * 3, 2: [0.1] * 3} and row.by_length[0][1].diff == pytest.approx(0.1)
    md = findings.render(tmp_path, [row])
    assert "| `loss=wgan`: 0.4 ± 0.2 (3 seeds) | level: above 0.1 | inconclusive (" in md
    assert "- Against the level: above 0.1 (the report's number), by the one-sample t-test (df = n - 1)" in md
    page.plot(row, 1, tmp_path / "1.png")
    assert (tmp_path / "1.png").stat().st_size > 0


@pytest.mark.parametrize(("entry", "message"), [
    ("  level: {why: w}\n", "level needs one of above and below, and no other side"),
    ("  level: {above: 1, below: 2, why: w}\n", "level needs one of above and below"),
    ("  level: {above: 1, why: w}\n  other: {report: r.csv, where: x}\n", "and no other side"),
    ("  level: {above: 1, why: w}\n  premise: {side: claimed, metric: fid_eval, below: 1, why: w}\n",
     "a level row has no premise"),
    ("  level: {above: 1, why: w}\n  fails: {side: both, why: w}\n", "fails.side 'both' is not claimed or other"),
])
def test_a_level_row_written_wrong_is_one_line(tmp_path, entry, message):
    path = tmp_path / "findings.yaml"
    path.write_text("- claim: c\n  source: s\n  command: c\n  metric: loss/g\n  claimed: {report: r.csv, where: x}\n"
                    + entry)
    with pytest.raises(InputError, match=message):
        findings.load(path)


RISING = "job,overrides,status,metric,iteration,value\n" + "".join(
    f'{job},"loss={loss},seed={seed}",completed,acc/new_test,{it},{value}\n'
    for job, (loss, seed, values) in enumerate([("wgan", 0, (0.1, 0.2, 0.3, 0.4)), ("wgan", 1, (0.1, 0.1, 0.2, 0.4)),
                                                ("wgan", 2, (0.2, 0.3, 0.3, 0.3)), ("gan", 0, (0.5,) * 4),
                                                ("gan", 1, (0.5,) * 4), ("gan", 2, (0.5,) * 4)])
    for it, value in zip((500, 1000, 1500, 2000), values, strict=True))


def test_a_slope_row_compares_how_fast_the_metric_rose_over_the_runs_second_half(tmp_path):
    """"slope X": the least-squares rise per 1,000 iterations over the evaluations from half the run to its end. At
    2,000 (1,000 to 2,000): seed 0 rises 0.1 every 500 iterations, 0.2; seed 1's 0.1, 0.2, 0.4 at 1, 1.5, 2 (x
    1,000) have Sxy = (-0.5)(-0.1333) + (0.5)(0.1667) = 0.15 over Sxx = 0.5: 0.3; seed 2 is flat: 0. At 1,000 the
    half is 500 and 1,000 (0.2, 0, 0.2); at 1,500 it is 1,000 and 1,500 (0.2, 0.2, 0); the first evaluation has none."""
    (tmp_path / "docs" / "experiments" / "shapes").mkdir(parents=True)
    (tmp_path / "docs" / "experiments" / "shapes" / "report.csv").write_text(
        "job,overrides,status,iterations,wall_time_s\n" + "".join(
            f'{job},"loss={loss},seed={seed}",completed,2000,60\n'
            for job, (loss, seed) in enumerate([("wgan", 0), ("wgan", 1), ("wgan", 2), ("gan", 0), ("gan", 1),
                                                ("gan", 2)])))
    (tmp_path / "docs" / "findings.yaml").write_text(
        "- claim: WGAN keeps rising\n  source: s\n  command: c\n  data: shapes\n  metric: slope acc/new_test\n"
        "  claimed: {report: docs/experiments/shapes/report.csv, where: loss=wgan}\n"
        "  other: {report: docs/experiments/shapes/report.csv, where: loss=gan}\n")
    claims = findings.load(tmp_path / "docs" / "findings.yaml")
    with pytest.raises(InputError, match="'slope acc/new_test' needs the curves.csv beside each of the side's"):
        findings.measure(claims, tmp_path)
    (tmp_path / "docs" / "experiments" / "shapes" / "curves.csv").write_text(RISING)
    (row,) = findings.measure(claims, tmp_path)
    assert row.claimed == pytest.approx([0.2, 0.3, 0.0]) and row.other == pytest.approx([0.0] * 3)
    assert list(row.claimed_curve) == [1000, 1500, 2000]
    assert row.claimed_curve[1000] == pytest.approx([0.2, 0.0, 0.2])
    assert row.claimed_curve[1500] == pytest.approx([0.2, 0.2, 0.0])
    assert row.by_length[-1][1].diff == pytest.approx(0.5 / 3)  # mean slope 0.1667 against 0: higher is better
    assert "| WGAN keeps rising | slope acc/new_test | `loss=wgan`: 0.1667 ± 0.15 (3 seeds) |" in findings.render(
        tmp_path, [row])


def test_relapses_count_the_evaluations_far_above_the_best_before():
    """"relapses X": FID 100, 60, 95 (above 1.5 x 60 = 90: one), 80, 91 (again: two), 40, 59 (below 1.5 x 40 = 60:
    none), 61 (three). The first evaluation has no best before it."""
    points = dict(zip(range(1, 9), [100.0, 60.0, 95.0, 80.0, 91.0, 40.0, 59.0, 61.0], strict=True))
    assert list(findings.relapses(points).values()) == [0, 0, 1, 1, 2, 2, 2, 3]


def test_relapses_of_a_metric_where_higher_is_better_is_one_line(tmp_path):
    path = tmp_path / "findings.yaml"
    path.write_text("- claim: c\n  source: s\n  command: c\n  metric: relapses acc/cond\n"
                    "  claimed: {report: r.csv, where: x}\n  other: {report: r.csv, where: y}\n")
    with pytest.raises(InputError, match=r"'relapses acc/cond': relapses are counted of a metric where lower is "
                                         r"better \(fid_eval, kid_eval\), not of acc/cond \(higher\)"):
        findings.load(path)


def test_a_rows_direction_says_which_way_is_better_where_its_metrics_disagree(tmp_path):
    """A paired row of two shares on one scale whose registry directions differ (cond/looks_same_noise higher,
    cond/looks_same_tags lower) is a mistake unless the row says which way its difference favours the claim. The
    rule then follows the row: differences 2, 3, 4 (p = 0.035, tests/unit/test_verdict.py) favour the claimed side
    when higher is better and the other when lower is."""
    path = tmp_path / "findings.yaml"
    entry = ("- claim: c\n  source: s\n  command: c\n  metric: cond/looks_same_noise\n"
             "  claimed: {report: r.csv, where: x}\n  other: {report: r.csv, where: x, metric: cond/looks_same_tags}\n")
    path.write_text(entry)
    with pytest.raises(InputError, match=r"must point the same way \(cond/looks_same_noise higher, "
                                         r"cond/looks_same_tags lower\), or the row says which way is better"):
        findings.load(path)
    path.write_text(entry + "  direction: sideways\n")
    with pytest.raises(InputError, match="direction 'sideways' is not higher or lower"):
        findings.load(path)
    path.write_text(entry + "  direction: higher\n")
    (claim,) = findings.load(path)
    assert findings.Row(claim).rule([3.0, 5.0, 7.0], [1.0, 2.0, 3.0]).better == "a"
    claim.direction = "lower"
    assert findings.Row(claim).rule([3.0, 5.0, 7.0], [1.0, 2.0, 3.0]).better == "b"


def test_a_paired_rows_length_gate_counts_its_jobs_once(tmp_path):
    (row,) = findings.measure(paired_row(tmp_path, extra="  length_needed: {iterations: 100, why: its epochs}\n"),
                              tmp_path)
    assert "3 jobs x 100 iterations at the measured 0.6 s an iteration" in page.verdict_text(row)


@pytest.mark.parametrize(("claimed", "other", "message"), [
    # the other side reads loss=gan's seed 0 (job 3) where the claimed one reads loss=wgan's seeds
    ("loss=wgan", "seed=0", "job 1 of docs/experiments/shapes/report.csv is on the claimed side only"),
    # the same jobs selected, but job 3 has no acc/new_test: a missing value breaks a pair as well
    ("seed=0", "seed=0", "job 3 of docs/experiments/shapes/report.csv is on the other side only"),
])
def test_a_paired_row_whose_sides_select_other_jobs_is_one_line(tmp_path, claimed, other, message):
    with pytest.raises(InputError, match=r"^findings.yaml: claim 0 \('better on new_test than on test'\): a paired "
                                         r"row \(other.metric 'acc/test'\) compares the same jobs, but " + message):
        findings.measure(paired_row(tmp_path, claimed, other), tmp_path)


@pytest.mark.parametrize(("entry", "message"), [
    ("  other: {report: r.csv, where: x, metric: fid_eval}\n",
     r"a paired row's metrics must point the same way \(acc/new_test higher, fid_eval lower\)"),
    ("  other: {report: r.csv, where: x, metric: acc/tset}\n", "metric 'acc/tset': not a metric ganexp knows"),
    ("  other: {report: r.csv, where: x}\n  claimed: {report: r.csv, where: x, metric: acc/test}\n",
     "claimed.metric: the claimed side's metric is the row's metric"),
])
def test_a_paired_rows_metrics_are_checked_on_load(tmp_path, entry, message):
    if "claimed:" not in entry:
        entry += "  claimed: {report: r.csv, where: x}\n"
    (tmp_path / "findings.yaml").write_text(f"- claim: a\n  source: b\n  command: c\n  metric: acc/new_test\n{entry}")
    with pytest.raises(InputError, match=message):
        findings.load(tmp_path / "findings.yaml")


TIMED = """job,overrides,status,iterations,wall_time_s,steps_to_acc,fid_eval,acc/cond,collapse/class_coverage
0,"model.d_pack=1,seed=0",completed,1000,200,500,90,0.8,0.9
1,"model.d_pack=1,seed=1",completed,1000,300,250,90,0.8,0.9
2,"model.d_pack=2,seed=0",completed,2000,1000,250,90,0.8,0.9
3,"model.d_pack=2,seed=1",completed,4000,1000,{late},90,0.8,0.9
"""


def test_a_seconds_row_times_each_jobs_count_by_its_own_pace(tmp_path):
    """"seconds steps_to_acc": the count times the job's wall seconds an iteration. d_pack=1: 500 x 200/1000 = 100
    and 250 x 300/1000 = 75; d_pack=2: 250 x 1000/2000 = 125 and 1,000 x 1000/4000 = 250."""
    (tmp_path / "docs" / "experiments" / "pack").mkdir(parents=True)
    report = tmp_path / "docs" / "experiments" / "pack" / "report.csv"
    report.write_text(TIMED.format(late=1000))
    (tmp_path / "docs" / "findings.yaml").write_text("- claim: packing converges sooner\n  source: s\n  command: c\n"
                                                     "  metric: seconds steps_to_acc\n" + SIDES.lstrip("\n"))
    (row,) = findings.measure(findings.load(tmp_path / "docs" / "findings.yaml"), tmp_path)
    assert row.claimed == [125.0, 250.0] and row.other == [100.0, 75.0]
    assert row.by_length == []  # a time has no curve
    report.write_text(TIMED.format(late=""))  # seed 1 of d_pack=2 never reached the accuracy
    with pytest.raises(InputError, match=r"job 3 \(model.d_pack=2\) has no steps_to_acc: it never got there"):
        findings.measure(findings.load(tmp_path / "docs" / "findings.yaml"), tmp_path)
    (tmp_path / "docs" / "findings.yaml").write_text("- claim: c\n  source: s\n  command: c\n"
                                                     "  metric: seconds fid_eval\n" + SIDES.lstrip("\n"))
    with pytest.raises(InputError, match="seconds are counted of an iteration count"):
        findings.load(tmp_path / "docs" / "findings.yaml")
