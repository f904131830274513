"""Registries of named parts (search spaces, strategies), filled with imported objects.

As Keras's ``get(identifier)``: a part is looked up by its name or passed as itself, so a
notebook can use a space or strategy it defined without registering it, and the CLI can
name every registered one. Registering is done by the module that defines the part, so
the imports show the real dependencies.

Example:

```python
SPACES = Registry("search space")
SPACES.register(my_space_components)
SPACES.get("micro") is SPACES.get(SPACES.get("micro"))   # True
```
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind, in registration order.

    Args:
      kind: what is registered, for messages ("search space").
      name_of: how an object's name is read (default: its ``name`` attribute).
    """

    def __init__(self, kind: str, name_of: Callable[[T], str] = lambda obj: obj.name):
        self.kind = kind
        self._name_of = name_of
        self._items: dict[str, T] = {}
        self.version = 0  # incremented at every registration (for caches built from it)

    def register(self, obj: T) -> T:
        """Adds ``obj`` under its name; returns it (usable as a decorator). A second,
        different object of the same name is refused."""
        name = self._name_of(obj)
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r}.")
        if self._items.get(name, obj) is not obj:
            raise ValueError(f"a {self.kind} named {name!r} is already registered.")
        if name not in self._items:
            self._items[name] = obj
            self.version += 1
        return obj

    def get(self, identifier: str | T) -> T:
        """The object named ``identifier``, or ``identifier`` itself if it is not a
        string; ``ValueError`` naming the known ones."""
        if not isinstance(identifier, str):
            return identifier
        if identifier not in self._items:
            raise ValueError(f"unknown {self.kind} {identifier!r}; known: "
                             f"{', '.join(self._items)}.")
        return self._items[identifier]

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(tuple(self._items.values()))
