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


def folder_name(text: str) -> str:
    """Overrides made safe for a path ("default" when there are none)."""
    return re.sub(r"[^\w=,.+-]", "_", text)[:200] or "default"


def command_name() -> str:
    """The sweep's folder: its command-line overrides. (hydra.sweep.dir is resolved again inside every job, where
    hydra.job.override_dirname holds that job's overrides only, so the sweep cannot be named from it.)"""
    return folder_name(",".join(a for a in sys.argv[1:] if not a.startswith(("-", "hydra.", "resume="))))


OmegaConf.register_new_resolver("ganexp_name", folder_name, replace=True)
OmegaConf.register_new_resolver("ganexp_command", command_name, replace=True)
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
