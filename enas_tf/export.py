"""From a found architecture to a plain Keras model: read the architecture, build the model.

An architecture arrives as the official ENAS integer string, as the JSON a search
writes (``derived_arc.json``), or as the readable JSON of its space's ``to_json``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

from enas_tf.components import components_of, get_components
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
    """
    if arc is not None and arc_file is not None:
        raise ValueError("give an architecture or an architecture file, not both.")
    if arc_file is not None:
        if not os.path.isfile(arc_file):
            raise FileNotFoundError(f"architecture file {arc_file} does not exist.")
        with open(arc_file) as f:
            text = f.read()
        try:
            return parse_architecture(space, text)
        except InvalidArchitectureError as error:
            raise InvalidArchitectureError(f"{arc_file}: {error}") from None
    if arc is None:
        components = components_of(space)
        if components is None:
            raise ValueError(f"the {space.name} space has no published architecture; "
                             "give one.")
        return components.published(space)
    if isinstance(arc, str):
        return parse_architecture(space, arc)
    return space.validate(arc)


def build_final_model(arc: Sequence[int], config, num_classes: int,
                      image_shape: tuple[int, int, int]):
    """The built final network of ``arc`` in ``config.search_space`` with the sizes of a
    ``FinalConfig``."""
    components = get_components(config.search_space)
    space = components.make_space(config)
    model = components.make_final_model(space, space.validate(arc), config, num_classes)
    return model.build_for(image_shape)
