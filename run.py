"""ganexp entry point: `python run.py [overrides]`, `python run.py -m <sweep>`. See README.md.

A mistake in the config or the data ends the run with one line naming the key, file or line, and exit status 2
(the traceback with HYDRA_FULL_ERROR=1); a bug ends with its traceback and status 1. SIGTERM and SIGINT (Ctrl-C)
stop training at the end of an iteration, save last.ckpt, mark the job `interrupted` and exit 143 / 130 (128 + the
signal, as a shell reports it); in a sweep the later jobs do not start, and the table and report are still written.
"""

import os
import signal
import time

if __name__ == "__main__" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    # Ctrl-C during start-up (imports, checks: nothing is touched yet) ends the process quietly, without a traceback;
    # ganexp.train.fit turns Python's KeyboardInterrupt back on for training, where Ctrl-C saves the run.
    signal.signal(signal.SIGINT, signal.SIG_DFL)

_STARTED = (os.getpid(), time.perf_counter())  # before the heavy imports: a job's start-up cost includes them

import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from ganexp import imports_seconds  # noqa: E402
from ganexp.errors import (  # noqa: E402
    exit_on_input_error,
    full_error,
    is_input_error,
    one_line,
    report_errors,
)
from ganexp.schema import register  # noqa: E402

register()


log = logging.getLogger("ganexp")


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    """The job's metric for the sweeper, or None when it has none (failed, or never evaluated): Optuna then records
    a failed trial and goes on (a NaN would stop the study)."""
    from ganexp.runtime import quiet_lightning
    from ganexp.train import main as train  # imported late: `--help`/`--cfg` stay fast

    quiet_lightning()

    pid, started = _STARTED
    imports = imports_seconds(started if pid == os.getpid() else None)  # 0 for a process's later jobs
    sweeping = HydraConfig.get().mode.name == "MULTIRUN"
    from ganexp.checkpoint import Interrupted
    from ganexp.sweep import INTERRUPTED, record_outside, resume_when_requeued

    resume_when_requeued()
    if sweeping and os.environ.get(INTERRUPTED):  # a signal stopped the sweep: the later jobs do not start
        record_outside(HydraConfig.get().runtime.output_dir, "not started: the sweep was interrupted",
                       status="not started")
        return None
    try:
        metric = train(cfg, imports_s=imports)
        return None if math.isnan(metric) else metric
    except Interrupted as stop:  # saved and marked `interrupted`; resume=true continues
        if not sweeping:
            sys.exit(stop.exit_status)
        os.environ[INTERRUPTED] = str(stop.exit_status)  # SweepStatus lists the jobs and exits with it
    except Exception as err:
        if not sweeping:
            if is_input_error(err) and not full_error():
                sys.exit(exit_on_input_error(err))  # SystemExit passes Hydra by: no second line from it
            raise
        # The job's status.json (or, for an input error, the sweep's ledger) says `failed`; the other jobs go on and
        # the sweep's exit status reports the failure (ganexp.report.SweepStatus).
        if is_input_error(err):  # found before the job touched its folder (or the folder is someone else's)
            log.error("error: %s", one_line(err))
            record_outside(HydraConfig.get().runtime.output_dir, one_line(err))
        else:
            log.exception("job failed")
    return None


if __name__ == "__main__":
    sys.exit(report_errors(main))
