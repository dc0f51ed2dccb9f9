"""Every job of a sweep composed as Hydra composes it, the jobs that differ only in values sharing one composition.

Hydra composes a config in two steps (facebookresearch/hydra 1.3, hydra/_internal/config_loader_impl.py,
`_load_configuration_impl`; private, pinned < 1.4 in pyproject.toml as for conftest.sweep_jobs): the defaults list,
built from the overrides that choose config-group options (hydra/_internal/defaults_list.py, `Overrides.__init__`,
sorts each override by `repo.group_exists`), then the other overrides (`key=value`) applied in their order to the
composed result (`ConfigLoaderImpl._apply_overrides_to_config`, in struct mode, so a key that does not exist fails).
The first step is the slow one (~0.1 s: every file of the defaults list read and merged); a sweep over values
(model.d_pack=1,2) repeats it with the same group choices for each job. Here it runs once per set of group choices,
and each job gets its own copy of that composition with its values applied by Hydra's own function: every job is
still built whole and checked, as `python run.py` builds it."""

import copy
from collections.abc import Iterable, Iterator, Sequence

from conftest import CONF, compose_hydra
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import DictConfig, open_dict


def sets_a_value(override: Override) -> bool:
    """`key=value` on a key that is no config group: Hydra applies it after composing. Anything else (a group choice,
    `+`, `++`, `~`, `@package`, a hydra.* key: hydra.searchpath changes where groups are found) goes to the
    composition itself; sorting an override there when it could go here costs time, never correctness."""
    key = override.key_or_group
    return (override.type == OverrideType.CHANGE and override.package is None and not key.startswith("hydra")
            and not (CONF / key).is_dir())


def job_configs(jobs: Iterable[Sequence[str]]) -> Iterator[DictConfig]:
    """Each job's config without the `hydra` node, as `hydra.compose(overrides=job)` returns it."""
    parser = OverridesParser.create()
    composed: dict[tuple[str, ...], DictConfig] = {}
    for job in jobs:
        overrides = parser.parse_overrides(list(job))
        choices = tuple(o.input_line for o in overrides if not sets_a_value(o))
        if choices not in composed:
            composed[choices] = compose_hydra(*choices)
        cfg = copy.deepcopy(composed[choices])
        ConfigLoaderImpl._apply_overrides_to_config([o for o in overrides if sets_a_value(o)], cfg)
        with open_dict(cfg):  # as hydra.compose drops it (hydra/compose.py, return_hydra_config=False)
            del cfg["hydra"]
        yield cfg
