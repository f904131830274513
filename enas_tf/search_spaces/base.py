"""The search-space abstraction shared by every strategy (ENAS now, DARTS/GDAS later).

A search space is a fixed sequence of categorical *decisions*. An architecture is one
integer choice per decision, so every strategy (a controller, a keras-tuner oracle, a
random sampler) can propose architectures without knowing what the integers mean.
"""

from __future__ import annotations

import abc
import dataclasses
import re
from typing import Any, Mapping, Sequence

import numpy as np


class InvalidArchitectureError(ValueError):
    """An architecture does not fit its search space; the message names where and why.

    Example:

    ```python
    MicroSearchSpace().validate([9] * 40)
    # InvalidArchitectureError: position 0 (normal/node2/input1): 9 is out of range [0, 1].
    ```
    """


@dataclasses.dataclass(frozen=True)
class Decision:
    """One categorical choice of an architecture.

    Attributes:
      name: readable path such as ``normal/node2/input1``.
      num_choices: choices are the integers ``0 .. num_choices - 1``.
      labels: optional readable name per choice (op names); ``None`` for indices.
    """

    name: str
    num_choices: int
    labels: tuple[str, ...] | None = None


class SearchSpace(abc.ABC):
    """A fixed list of decisions plus the (de)serialisation of architectures.

    Subclasses give ``decisions``, ``to_json`` and ``from_json``; the rest (validation
    naming the bad position, the integer string, random architectures, a picture of the
    choices) comes from here.

    Example:

    ```python
    space = MicroSearchSpace()
    arc = space.random_architecture(np.random.default_rng(0))
    space.validate(arc) == space.from_string(space.to_string(arc))
    ```
    """

    name: str = "base"

    @property
    @abc.abstractmethod
    def decisions(self) -> tuple[Decision, ...]:
        """All decisions, in the order of the flat architecture vector."""

    @property
    def num_decisions(self) -> int:
        return len(self.decisions)

    def validate(self, arc: Sequence[int] | np.ndarray) -> tuple[int, ...]:
        """Returns ``arc`` as a tuple of ints, or raises naming the first bad position."""
        values = np.asarray(arc).reshape(-1) if not isinstance(arc, (list, tuple)) else arc
        values = list(values)
        if len(values) != self.num_decisions:
            raise InvalidArchitectureError(
                f"{self.name} architecture must have {self.num_decisions} integers, "
                f"got {len(values)}.")
        checked = []
        for position, (value, decision) in enumerate(zip(values, self.decisions)):
            if isinstance(value, (bool, np.bool_)) or not float(value).is_integer():
                raise InvalidArchitectureError(
                    f"position {position} ({decision.name}): {value!r} is not an integer.")
            value = int(value)
            if not 0 <= value < decision.num_choices:
                raise InvalidArchitectureError(
                    f"position {position} ({decision.name}): {value} is out of range "
                    f"[0, {decision.num_choices - 1}].")
            checked.append(value)
        return tuple(checked)

    def random_architecture(self, rng: np.random.Generator) -> tuple[int, ...]:
        """A uniformly random architecture (useful for baselines and tests)."""
        return tuple(int(rng.integers(d.num_choices)) for d in self.decisions)

    def to_string(self, arc: Sequence[int]) -> str:
        """The official ENAS form: space-separated integers."""
        return " ".join(str(v) for v in self.validate(arc))

    def notation(self, arc: Sequence[int]) -> str:
        """The architecture in its space's own published notation (DARTS's ``Genotype``,
        NAS-Bench-201's architecture string); the integer string by default."""
        return self.to_string(arc)

    def from_string(self, text: str) -> tuple[int, ...]:
        """Parses the official ENAS integer string (spaces and/or commas)."""
        tokens = text.replace(",", " ").split()
        values = []
        for position, token in enumerate(tokens):
            try:
                values.append(int(token))
            except ValueError:
                raise InvalidArchitectureError(
                    f"position {position}: {token!r} is not an integer.") from None
        return self.validate(values)

    @staticmethod
    def _published_or_text(text: str, published: Mapping[str, str], what: str) -> str:
        """``text`` stripped, or the published architecture it names (a bare identifier
        such as ``DARTS_V2``); an unknown name is refused listing the known ones."""
        text = text.strip()
        if re.fullmatch(r"[A-Za-z_]\w*", text):
            if text not in published:
                raise InvalidArchitectureError(
                    f"unknown {what} name {text!r}; known: {', '.join(published)} (or give a "
                    "Genotype(...) or the integer string).")
            return published[text]
        return text

    def draw(self, arc: Sequence[int], title: str = ""):
        """A matplotlib figure of ``arc``: a table of its choices here; cell spaces draw
        their cells as graphs."""
        from enas_tf.search_spaces.pictures import draw_choices

        return draw_choices(self, arc, title)

    def draw_probabilities(self, probabilities: Sequence[np.ndarray], title: str = ""):
        """A matplotlib figure of heat-maps of every decision's choice probabilities."""
        from enas_tf.search_spaces.pictures import draw_probabilities

        return draw_probabilities(self, probabilities, title)

    def _check_json_header(self, data: Any, **settings: Any) -> None:
        """For ``from_json``: ``data`` is an object for this space, and any of
        ``settings`` it records (e.g. ``num_nodes``) equals this space's."""
        if not isinstance(data, Mapping):
            raise InvalidArchitectureError(
                f"architecture JSON must be an object, got {type(data).__name__}.")
        space = data.get("search_space", self.name)
        if space != self.name:
            raise InvalidArchitectureError(
                f"architecture is for search space {space!r}, expected {self.name!r}.")
        for name, value in settings.items():
            if name in data and data[name] != value:
                raise InvalidArchitectureError(
                    f"architecture has {name}={data[name]}, the search space has {value}.")

    def _check_string_agrees(self, data: Mapping[str, Any], arc: tuple[int, ...],
                             listed: str) -> tuple[int, ...]:
        """For ``from_json``: an ``enas_string`` next to the readable lists must agree."""
        if "enas_string" in data and self.from_string(data["enas_string"]) != arc:
            raise InvalidArchitectureError(f"'enas_string' disagrees with the {listed}.")
        return arc

    @staticmethod
    def _op_index(op: Any, ops: Sequence[str], where: str) -> Any:
        """An op given by name becomes its index (an unknown name is named)."""
        if not isinstance(op, str):
            return op
        if op not in ops:
            raise InvalidArchitectureError(
                f"{where}: unknown op {op!r}; known ops are {', '.join(ops)}.")
        return list(ops).index(op)

    @abc.abstractmethod
    def to_json(self, arc: Sequence[int]) -> dict[str, Any]:
        """A readable, JSON-serialisable description that round-trips via ``from_json``."""

    @abc.abstractmethod
    def from_json(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        """Inverse of ``to_json``; raises ``InvalidArchitectureError`` on bad input."""
