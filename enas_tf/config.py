"""Run configs, composed from the settings every part declares for itself.

A run's settings come from its parts: the data (``enas_tf.data.settings``), the network
skeleton (``enas_tf.models.settings``), the weights' SGD and the run directory
(``enas_tf.training.settings``), the devices (``enas_tf.distribute.settings``), the loops
(``enas_tf.loops.settings``), and every registered search space and strategy (their
``settings``). ``SearchConfig``, ``FinalConfig`` and ``DrawConfig`` hold the fields of
those parts that their run kind has, with that kind's defaults (the official ENAS micro
settings); ``for_space`` applies a space's (and its strategy's) official settings.
``main.py`` derives its flags from the same fields; library code only sees these objects.

Example:

```python
config = SearchConfig.for_space("darts", dataset="digits", num_epochs=5).validate()
config.arch_lr      # DARTS's own setting, declared in enas_tf.strategies.darts
```
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar

from enas_tf.components import SPACES, get_components, space_names
from enas_tf.data.settings import DataSettings, datasets_of_kind
from enas_tf.data.sources import dataset_kind
from enas_tf.distribute.settings import DeviceSettings
from enas_tf.loops.settings import (ArchitectureSettings, DrawSettings, FinalSettings,
                                    SearchSettings)
from enas_tf.models.settings import NetworkSettings
from enas_tf.options import (Settings, check_fields, default_in, fields_of, need, option,
                             run_checks)
from enas_tf.strategies import STRATEGIES, get_strategy, strategy_names
from enas_tf.training.settings import RunSettings, TrainingSettings


def _space_help() -> str:
    return ("What is searched or trained: " + "; ".join(
        f"{c.name} ({c.summary})" if c.summary else c.name for c in SPACES)
        + ". Unset flags take that space's official settings.")


def _strategy_help() -> str:
    return ("Search: how architectures are chosen: " + "; ".join(
        f"{s.name} ({s.summary})" if s.summary else s.name for s in STRATEGIES) + ".")


@dataclasses.dataclass
class SpaceChoice(Settings):
    """Which registered search space a run uses."""

    search_space: str = option("micro", _space_help, choices=space_names)


@dataclasses.dataclass
class StrategyChoice(Settings):
    """Which registered strategy a search uses."""

    strategy: str = option("enas", _strategy_help, choices=strategy_names)

    MODES = ("search",)


# The parts every run kind draws its fields from, before the spaces' and strategies'.
COMMON_PARTS = (SpaceChoice, StrategyChoice, DataSettings, NetworkSettings, TrainingSettings,
                DeviceSettings, RunSettings, SearchSettings, ArchitectureSettings,
                FinalSettings, DrawSettings)
_DOCS = {
    "search": "A search: ``search_space`` searched by ``strategy``; defaults are the official "
              "ENAS micro search (``cifar10_micro_search.sh``).\n\n"
              "Args: one per field (``main.py --helpshort`` lists them with their help).\n\n"
              "Example::\n\n"
              "    config = SearchConfig.for_space(\"darts\", strategy=\"gdas\", "
              "dataset=\"digits\").validate()\n",
    "final": "Training one architecture from scratch (official ``cifar10_micro_final.sh``, "
             "plus cutout 16 as used for the published 2.89% error).\n\n"
             "Args: one per field (``main.py --mode=final --helpshort`` lists them).\n\n"
             "Example::\n\n"
             "    config = FinalConfig.for_space(\"rnn\", arc=\"DARTS_V2\", "
             "hidden_size=850).validate()\n",
    "draw": "Drawing one architecture as a PNG (``main.py --mode=draw``); ``output_file`` "
            "defaults to the architecture file's name with ``.png``, else "
            "``architecture.png``.\n\n"
            "Args: one per field (``main.py --mode=draw --helpshort`` lists them).\n\n"
            "Example::\n\n"
            "    DrawConfig(search_space=\"darts\", arc=\"DARTS_V2\").picture_path()\n",
}


def owned_parts() -> dict[type, set[tuple[str, str]]]:
    """Each registered space's and strategy's settings class -> its owners
    (``("space", name)`` / ``("strategy", name)``; two spaces may share one)."""
    owners: dict[type, set[tuple[str, str]]] = {}
    for components in SPACES:
        if components.settings is not None:
            owners.setdefault(components.settings, set()).add(("space", components.name))
    for strategy in STRATEGIES:
        if strategy.settings is not None:
            owners.setdefault(strategy.settings, set()).add(("strategy", strategy.name))
    return owners


def _owner_phrase(owner: tuple[str, str]) -> str:
    kind, name = owner
    return f"the {name} space" if kind == "space" else f"strategy {name}"


class RunConfig(Settings):
    """What every composed config does: validation across its parts, official defaults per
    space, JSON, and the resume rules. Subclasses are made by ``compose``."""

    MODE: ClassVar[str] = ""  # "search", "final" or "draw"
    PARTS: ClassVar[tuple[type, ...]] = ()
    OWNERS: ClassVar[dict[type, set]] = {}

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def space_defaults(cls, search_space: str, strategy: str | None = None) -> dict[str, Any]:
        """The official settings of ``search_space`` (searched by ``strategy``, with that
        strategy's own settings on it, e.g. GDAS on the DARTS space) that differ from
        this class's defaults (which are the micro space's)."""
        components = get_components(search_space)
        values = dict(components.defaults.get(cls.MODE, {}))
        strategy = strategy or values.get("strategy")  # the space's own default strategy
        if strategy is None or cls.MODE != "search":
            return values
        own = get_strategy(strategy).space_defaults if strategy in STRATEGIES else {}
        return {**values, **own.get(components.name, {}), "strategy": strategy}

    @classmethod
    def for_space(cls, search_space: str, /, **values):
        """A config for ``search_space`` with its official defaults (those of the
        ``strategy`` value if given), then ``values``.

        ``SearchConfig.for_space("macro", dataset="digits")`` is the official macro search
        on digits; ``SearchConfig(search_space="macro")`` would keep micro's sizes. Spaces
        and strategies registered after import are included.
        """
        values = {**cls.space_defaults(search_space, values.get("strategy")), **values,
                  "search_space": search_space}
        return config_class(cls.MODE)(**values)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        unknown = sorted(set(data) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown config keys for {cls.__name__}: {', '.join(unknown)}.")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def chosen(self) -> set[tuple[str, str]]:
        """The owners whose settings apply: the space, and in a search the strategy."""
        chosen = {("space", self.search_space)}
        if hasattr(self, "strategy"):
            chosen.add(("strategy", self.strategy))
        return chosen

    def validate(self):
        """Raises ``ValueError`` naming the first bad setting; returns self."""
        check_fields(self)
        components = get_components(self.search_space)
        if hasattr(self, "dataset"):
            datasets = datasets_of_kind(components.data_kind)
            need(dataset_kind(self.dataset) in (None, components.data_kind),
                 f"the {components.name} space runs on {components.data_kind} "
                 f"({', '.join(datasets)}), not {self.dataset}.")
        if hasattr(self, "strategy"):
            strategy = get_strategy(self.strategy)
            able = [s.name for s in STRATEGIES if s.can_search(components)]
            need(strategy.can_search(components),
                 f"strategy {self.strategy} does not search the {components.name} space; it "
                 f"is searched by: {', '.join(able)}.")
        chosen = self.chosen()
        field_owners = {f.name: owners for part, owners in self.OWNERS.items()
                        for f in dataclasses.fields(part)}
        for field in dataclasses.fields(self):
            label = field.metadata.get("exclusive")
            owners = field_owners.get(field.name, set())
            if label and not owners & chosen and getattr(self, field.name) != field.default:
                name = label if isinstance(label, str) else field.name
                need(False, f"{name} applies to "
                            f"{' and '.join(sorted(map(_owner_phrase, owners)))}.")
        for part in self.PARTS:
            if self.MODE not in getattr(part, "MODES", ()):
                continue
            if part in self.OWNERS and not self.OWNERS[part] & chosen:
                continue  # the settings of a space or strategy not chosen
            run_checks(part, self)
        if self.MODE != "draw":
            components.check_config(self)
        return self

    def resumable_changes(self) -> tuple[str, ...]:
        """The settings that may differ when this run is resumed."""
        return tuple(f.name for f in dataclasses.fields(self) if f.metadata.get("resumable"))

    def incompatible_changes(self, saved: dict[str, Any]) -> list[str]:
        """Settings that differ from a saved run's and would break resuming it."""
        resumable = set(self.resumable_changes())
        return sorted(key for key, value in self.to_dict().items()
                      if key not in resumable and key in saved and saved[key] != value)

    def picture_path(self) -> str:
        """Draw: where the PNG goes."""
        if getattr(self, "output_file", None):
            return self.output_file
        if getattr(self, "arc_file", None):
            return os.path.splitext(self.arc_file)[0] + ".png"
        return "architecture.png"


def compose(mode: str, name: str, parts: tuple[type, ...],
            owners: dict[type, set] | None = None) -> type:
    """A dataclass config holding the fields of ``parts`` that run kind ``mode`` has,
    with that kind's defaults, and the parts' public methods (``device_list``,
    ``steps_for``)."""
    fields = fields_of(parts, mode)
    spec = [(field_name, field.type,
             dataclasses.field(default=default_in(field, mode), metadata=field.metadata))
            for field_name, field in fields.items()]
    methods = {key: value for part in parts for klass in reversed(part.__mro__)
               if issubclass(klass, Settings) and klass is not Settings
               for key, value in vars(klass).items()
               if callable(value) and not key.startswith("_") and key not in ("check",)}
    namespace = {**methods, "MODE": mode, "PARTS": parts, "OWNERS": owners or {},
                 "__doc__": _DOCS[mode], "__module__": __name__}
    return dataclasses.make_dataclass(name, spec, bases=(RunConfig,), namespace=namespace)


_NAMES = {"search": "SearchConfig", "final": "FinalConfig", "draw": "DrawConfig"}
_COMPOSED: dict[str, tuple[tuple[int, int], type]] = {}


def config_class(mode: str) -> type:
    """The config class of run kind ``mode`` over the spaces and strategies registered
    now (rebuilt when one was registered since)."""
    version = (SPACES.version, STRATEGIES.version)
    if mode not in _COMPOSED or _COMPOSED[mode][0] != version:
        owners = owned_parts()
        _COMPOSED[mode] = (version, compose(mode, _NAMES[mode], COMMON_PARTS + tuple(owners),
                                            owners))
    return _COMPOSED[mode][1]


SearchConfig = config_class("search")
"""The settings of a search: data, supernet, training, devices, the search loop, and the
options of every registered space and strategy (``python main.py --helpshort`` lists
them). Its own defaults are the ENAS micro search's; ``for_space`` starts from another
space's official settings (and its strategy's).

Example:

```python
config = SearchConfig.for_space("darts", dataset="digits", num_epochs=5)
config.validate()                          # every part checks its own settings
result = Search(config, load_dataset("digits")).run()
```
"""
FinalConfig = config_class("final")
"""The settings of training a found architecture from scratch (``--mode=final``).

Example:

```python
config = FinalConfig.for_space("micro", dataset="digits", num_layers=3, num_epochs=10)
make_final_training(config, found["arc"], load_dataset("digits")).run()
```
"""
DrawConfig = config_class("draw")
"""The settings of drawing an architecture (``--mode=draw``): the space and its sizes.

Example:

```python
config = DrawConfig.for_space("nb201")
```
"""

__all__ = ["COMMON_PARTS", "DrawConfig", "FinalConfig", "RunConfig", "SearchConfig",
           "compose", "config_class", "owned_parts"]
