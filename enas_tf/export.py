"""From a found architecture to a plain Keras model: read the architecture, build the model.

An architecture arrives as the official ENAS integer string, as the JSON a search
writes (``derived_arc.json``), or as the readable JSON of its space's ``to_json``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

from enas_tf.components import components_of, get_components, space_names
from enas_tf.search_spaces.base import InvalidArchitectureError, SearchSpace


def parse_architecture(space: SearchSpace, data: str | dict[str, Any]) -> tuple[int, ...]:
    """An architecture from an ENAS integer string or a JSON object / JSON text.

    A search result (``{"architecture": {...}, ...}``) is unwrapped first.
    """
    if isinstance(data, str):
        text = data.strip()
        if not text.startswith("{"):
            return space.from_string(text)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidArchitectureError(f"architecture JSON does not parse: {error}") from None
    if isinstance(data, dict) and isinstance(data.get("architecture"), dict):
        data = data["architecture"]
    return space.from_json(data)


def settings_in_file(arc_file: str) -> dict[str, Any]:
    """The space settings an architecture file records (``search_space``, ``num_nodes``,
    ``num_layers``, ``num_branches``), or nothing for a file with a bare integer string."""
    try:
        with open(arc_file) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if isinstance(data, dict) and isinstance(data.get("architecture"), dict):
        data = data["architecture"]
    if not isinstance(data, dict):
        return {}
    return {key: data[key] for key in ("search_space", "num_nodes", "num_layers", "num_branches")
            if key in data}


def load_architecture(space: SearchSpace, arc: str | Sequence[int] | None = None,
                      arc_file: str | None = None) -> tuple[int, ...]:
    """The architecture given by ``arc`` or ``arc_file``; the space's published one if
    neither.

    Raises ``InvalidArchitectureError`` naming the bad position, or ``FileNotFoundError``.
    An empty ``arc`` is none (``--arc= --arc_file=...`` overrides a flag file's ``--arc``).

    Args:
      space: the search space the architecture belongs to.
      arc: the space's notation (a published name, a genotype, integers) or integers.
      arc_file: a ``derived_arc.json``, an architecture JSON or a text file.

    Example:

    ```python
    arc = load_architecture(DartsSearchSpace(), "DARTS_V2")
    arc = load_architecture(space, arc_file="runs/quickstart_darts/derived_arc.json")
    ```
    """
    if isinstance(arc, str) and not arc.strip():
        arc = None
    if arc is not None and arc_file is not None:
        raise ValueError("give an architecture or an architecture file, not both.")
    if arc_file is not None:
        text = read_architecture_file(arc_file)
        try:
            return parse_architecture(space, text)
        except InvalidArchitectureError as error:
            raise InvalidArchitectureError(
                f"{arc_file}: {with_other_space_hint(error, space, text)}") from None
    if arc is None:
        components = components_of(space)
        if components is None:
            raise ValueError(f"the {space.name} space has no published architecture; "
                             "give one.")
        return components.published(space)
    if isinstance(arc, str):
        try:
            return parse_architecture(space, arc)
        except InvalidArchitectureError as error:
            raise InvalidArchitectureError(with_other_space_hint(error, space, arc)) from None
    return space.validate(arc)


def read_architecture_file(arc_file: str) -> str:
    """The text of an architecture file; a missing file, a directory or a binary file
    (a PNG drawing, say) is an error naming it."""
    if os.path.isdir(arc_file):
        inside = os.path.join(arc_file, "derived_arc.json")
        raise ValueError(f"architecture file {arc_file} is a directory; give a file in it"
                         + (f" such as {inside}." if os.path.isfile(inside) else "."))
    if not os.path.isfile(arc_file):
        raise FileNotFoundError(f"architecture file {arc_file} does not exist.")
    try:
        with open(arc_file, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise ValueError(f"architecture file {arc_file} is not a text file (a picture?); "
                         "give the derived_arc.json a search writes, the readable JSON of "
                         "an architecture or its integer string.") from None


def with_other_space_hint(error: Exception, space: SearchSpace, text: str) -> str:
    """``error``'s message, plus ``"; it reads as an architecture of --search_space=darts"``
    when ``text`` is an architecture of other spaces (at their default settings)."""
    own = getattr(components_of(space), "name", None)
    readers = []
    for name in space_names():
        if name == own:
            continue
        try:
            parse_architecture(get_components(name).space_at_defaults(), text)
        except (ValueError, TypeError, KeyError):
            continue
        readers.append(f"--search_space={name}")
    if not readers:
        return str(error)
    return f"{str(error).rstrip('.')}; it reads as an architecture of {' or '.join(readers)}."


def build_final_model(arc: Sequence[int], config, num_classes: int,
                      image_shape: tuple[int, int, int]):
    """The built final network of ``arc`` in ``config.search_space`` with the sizes of a
    ``FinalConfig``."""
    components = get_components(config.search_space)
    space = components.make_space(config)
    model = components.make_final_model(space, space.validate(arc), config, num_classes)
    return model.build_for(image_shape)
