"""Settings declared where they are used: a field's default, help and check in one place.

Every part of enas-tf that takes settings (the data, the devices, the optimizer, a
search space, a strategy, a loop) declares them as a dataclass of ``option`` fields. The
run configs (``enas_tf.config``) are composed from those parts, ``main.py`` derives its
flags and help from the same metadata, and ``validate`` checks every field by it; a
part's own cross-field rules go in its ``check`` method.

Example:

```python
@dataclasses.dataclass
class ToySettings(Settings):
    width: int = option(8, "Channels of the toy network.", minimum=1)
    rate: float = option(0.1, "Drop rate.", within="[0, 1)")
    mode: str = option("fast", "How it runs.", choices=("fast", "exact"))

ToySettings(width=0).validate()   # ValueError: width must be >= 1, got 0.
```
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, ClassVar, Iterable, Sequence

MODES = ("search", "final", "draw")
_INTERVAL = re.compile(r"^([\[(])\s*(-?[\d.e+-]+)\s*,\s*(-?[\d.e+-]+)\s*([\])])$")


def option(default: Any, help: str | Callable[[], str], *, choices: Sequence | Callable[[], Sequence] | None = None,
           minimum: float | None = None, within: str | None = None,
           modes: Sequence[str] | None = None, resumable: bool = False,
           exclusive: str | bool = False, **mode_defaults: Any) -> Any:
    """A settings field with its help text and checks in the field's metadata.

    Args:
      default: the value in every mode without a default of its own.
      help: the flag's help text.
      choices: the allowed values (or a function returning them, for registries).
      minimum: the smallest allowed value (``>= minimum``); None (unset) is allowed when
        the default is None.
      within: an interval such as ``"[0, 1)"`` or ``"(0, 1]"``.
      modes: the run kinds that have this setting (``search``, ``final``, ``draw``);
        default: the part's ``MODES`` (all three unless the part says otherwise).
      resumable: may differ when a run is resumed (output, logging, devices).
      exclusive: the setting applies only when its owner (a space or strategy) is
        chosen: another value is refused elsewhere. A string names the setting in that
        message (``"unrolled (the second-order gradient)"``).
      **mode_defaults: the default in one mode, e.g. ``final=0``.
    """
    unknown = set(mode_defaults) - set(MODES)
    if unknown:
        raise TypeError(f"option() got unknown modes {sorted(unknown)}.")
    if within is not None and not _INTERVAL.match(within):
        raise ValueError(f"within must be an interval like '[0, 1)', got {within!r}.")
    metadata = dict(help=help, choices=choices, minimum=minimum, within=within,
                    modes=tuple(modes) if modes else None, resumable=resumable, exclusive=exclusive,
                    mode_defaults=dict(mode_defaults))
    return dataclasses.field(default=default, metadata=metadata)


def allowed_choices(field: dataclasses.Field) -> tuple | None:
    """A field's allowed values, or None when any value of its type goes."""
    choices = field.metadata.get("choices")
    return tuple(choices() if callable(choices) else choices) if choices is not None else None


def default_in(field: dataclasses.Field, mode: str) -> Any:
    """A field's default in run kind ``mode``."""
    return field.metadata.get("mode_defaults", {}).get(mode, field.default)


def check_field(field: dataclasses.Field, value: Any) -> None:
    """Raises ``ValueError`` naming the field if ``value`` breaks its metadata."""
    name, meta = field.name, field.metadata
    choices = allowed_choices(field)
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got "
                         f"{value!r}.")
    if value is None:
        return
    if meta.get("minimum") is not None and not value >= meta["minimum"]:
        unset = " or unset" if field.default is None else ""
        raise ValueError(f"{name} must be >= {meta['minimum']}{unset}, got {value}.")
    if meta.get("within"):
        low_bracket, low, high, high_bracket = _INTERVAL.match(meta["within"]).groups()
        low, high = float(low), float(high)
        above = value >= low if low_bracket == "[" else value > low
        below = value <= high if high_bracket == "]" else value < high
        if not (above and below):
            raise ValueError(f"{name} must be in {meta['within']}, got {value}.")


class Settings:
    """Base of a part's settings dataclass: ``validate`` checks every field by its
    metadata, then the ``check`` of each class that defines one.

    ``MODES``: the run kinds whose configs hold the part's fields (a field's own
    ``modes`` overrides it)."""

    MODES: ClassVar[tuple[str, ...]] = MODES

    def check(self) -> None:
        """Cross-field rules of the part; raise ``ValueError`` naming the setting."""

    def validate(self):
        check_fields(self)
        run_checks(type(self), self)
        return self


def check_fields(settings) -> None:
    """Every field of the dataclass ``settings`` checked by its metadata."""
    for field in dataclasses.fields(settings):
        check_field(field, getattr(settings, field.name))


def run_checks(part: type, settings) -> None:
    """The ``check`` of ``part`` and of each of its bases that defines one, base first,
    on ``settings`` (the part itself, or a run config holding its fields)."""
    for cls in reversed(part.__mro__):
        if "check" in vars(cls):
            vars(cls)["check"](settings)


def need(condition: bool, message: str) -> None:
    """``ValueError(message)`` unless ``condition``: the one-line refusal of a setting."""
    if not condition:
        raise ValueError(message)


def fields_of(parts: Iterable[type], mode: str) -> dict[str, dataclasses.Field]:
    """The option fields of ``parts`` that run kind ``mode`` has, by name; a name declared
    by two parts must be the same field (declared once, shared)."""
    found: dict[str, dataclasses.Field] = {}
    for part in parts:
        for field in dataclasses.fields(part):
            if mode not in modes_of(part, field):
                continue
            if field.name in found and found[field.name] is not field:
                raise TypeError(f"setting {field.name} is declared by two parts "
                                f"({part.__name__} and another); declare it once.")
            found[field.name] = field
    return found


def modes_of(part: type, field: dataclasses.Field) -> tuple[str, ...]:
    """The run kinds that have ``field`` of ``part``."""
    return field.metadata.get("modes") or getattr(part, "MODES", MODES)


def help_text(field: dataclasses.Field) -> str:
    """A field's help (a function for help listing registered parts is called)."""
    text = field.metadata.get("help", "")
    return text() if callable(text) else text
