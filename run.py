"""ganexp entry point: `python run.py [overrides]`, `python run.py -m <sweep>`. See README.md."""

import logging
import math
import re
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ganexp.schema import ConfigError, register

register()
# Folder name of a command: its overrides made safe for a path ("default" when there are none).
OmegaConf.register_new_resolver("ganexp_name", lambda s: re.sub(r"[^\w=,.+-]", "_", s)[:200] or "default",
                                replace=True)
log = logging.getLogger("ganexp")


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from ganexp.train import main as train  # imported late: `--help`/`--cfg` stay fast

    sweeping = HydraConfig.get().mode.name == "MULTIRUN"
    try:
        return train(cfg)
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
    return math.nan


if __name__ == "__main__":
    main()
