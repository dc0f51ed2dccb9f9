"""ganexp entry point: `python run.py [overrides]`, `python run.py -m <sweep>`. See README.md."""

import time

_STARTED = time.perf_counter()  # before the heavy imports: the start-up cost printed by each job includes them

import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from ganexp.schema import ConfigError, register  # noqa: E402

register()


log = logging.getLogger("ganexp")


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    """The job's metric for the sweeper, or None when it has none (failed, or never evaluated): Optuna then records
    a failed trial and goes on (a NaN would stop the study)."""
    global _STARTED
    from ganexp.train import main as train  # imported late: `--help`/`--cfg` stay fast

    imports = time.perf_counter() - _STARTED if _STARTED else 0.0
    _STARTED = 0.0  # the next job of a sweep in this process imports nothing
    sweeping = HydraConfig.get().mode.name == "MULTIRUN"
    try:
        metric = train(cfg, imports_s=imports)
        return None if math.isnan(metric) else metric
    except ConfigError as err:  # one line naming the key, no traceback
        if not sweeping:
            sys.exit(f"config error: {err}")
        log.error("config error: %s", err)
    except Exception:
        if not sweeping:
            raise
        # The job's status.json says `failed` with the error; the other jobs go on and the sweep's exit status
        # reports the failure (ganexp.runs.SweepStatus).
        log.exception("job failed")
    return None


if __name__ == "__main__":
    main()
