"""ganexp entry point: `python run.py [overrides]`, `python run.py -m <sweep>`. See README.md."""

import sys

import hydra
from omegaconf import DictConfig

from ganexp.schema import ConfigError, register

register()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from ganexp.train import main as train  # imported late: `--help`/`--cfg` stay fast

    try:
        return train(cfg)
    except ConfigError as err:  # one line naming the key, no traceback
        sys.exit(f"config error: {err}")


if __name__ == "__main__":
    main()
