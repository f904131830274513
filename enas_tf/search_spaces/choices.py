"""A search space of independent categorical choices (e.g. keras-tuner ``hp.Choice``s).

An architecture is one index per decision; ``values`` maps indices to the user's values.
This lets an ENAS controller drive any space a user declares, not only the cell spaces.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from enas_tf.search_spaces.base import Decision, InvalidArchitectureError, SearchSpace


class ChoiceSearchSpace(SearchSpace):
    """Decisions named ``name`` with ``len(values)`` choices each, in the given order.

    Args:
      choices: ``(name, values)`` pairs; values must be JSON-serialisable and distinct.
    """

    name = "choices"

    def __init__(self, choices: Sequence[tuple[str, Sequence[Any]]]):
        if not choices:
            raise ValueError("a ChoiceSearchSpace needs at least one choice.")
        names = [name for name, _ in choices]
        if len(set(names)) != len(names):
            raise ValueError(f"choice names must be unique, got {names}.")
        self.values = {name: list(values) for name, values in choices}
        for name, values in self.values.items():
            if len(values) < 1 or len(set(map(repr, values))) != len(values):
                raise ValueError(f"choice {name!r} needs distinct values, got {values}.")
        self._decisions = tuple(
            Decision(name, len(values), labels=tuple(str(v) for v in values))
            for name, values in self.values.items())

    @classmethod
    def of(cls, space: SearchSpace) -> "ChoiceSearchSpace":
        """The values view of any space: op decisions by label, the others by index."""
        return cls([(d.name, list(d.labels) if d.labels else list(range(d.num_choices)))
                    for d in space.decisions])

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    def to_values(self, arc: Sequence[int]) -> dict[str, Any]:
        """``{name: value}`` of an architecture."""
        arc = self.validate(arc)
        return {d.name: self.values[d.name][i] for d, i in zip(self.decisions, arc)}

    def from_values(self, values: Mapping[str, Any]) -> tuple[int, ...]:
        """The architecture of ``{name: value}``; raises naming a missing or unknown value."""
        arc = []
        for decision in self.decisions:
            if decision.name not in values:
                raise InvalidArchitectureError(f"{decision.name}: no value given.")
            options = self.values[decision.name]
            if values[decision.name] not in options:
                raise InvalidArchitectureError(
                    f"{decision.name}: {values[decision.name]!r} is not one of {options}.")
            arc.append(options.index(values[decision.name]))
        return tuple(arc)

    def to_json(self, arc: Sequence[int]) -> dict[str, Any]:
        return {"search_space": self.name, "values": self.to_values(arc)}

    def from_json(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        if not isinstance(data, Mapping) or not isinstance(data.get("values"), Mapping):
            raise InvalidArchitectureError("expected {'values': {name: value, ...}}.")
        return self.from_values(data["values"])
