"""The benchmark runs both loops on the same networks and prints comparable numbers (timings are not asserted)."""

import math

from ganexp.bench import main


def test_bench_prints_both_loops_and_their_ratio(capsys):
    main(["--cases", "dcgan32", "gp32", "--iters", "2", "--warmup", "1", "--repeats", "1", "debug=smoke"])
    lines = capsys.readouterr().out.strip().splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == {"dcgan32", "gp32"}
    ours, plain, ratio, gflops = map(float, rows["dcgan32"])
    assert ours > 0 and plain > 0 and math.isclose(ratio, plain / ours, rel_tol=1e-2) and gflops > 0
    assert math.isnan(float(rows["gp32"][3]))  # no FLOP count through the penalty's double backward
