"""From a found architecture to a plain Keras model: read the architecture, build the model.

An architecture arrives as the official ENAS integer string, as the JSON a search
writes (``derived_arc.json``), or as the readable JSON of ``MicroSearchSpace.to_json``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace


def parse_architecture(space: MicroSearchSpace, data: str | dict[str, Any]) -> tuple[int, ...]:
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


def load_architecture(space: MicroSearchSpace, arc: str | Sequence[int] | None = None,
                      arc_file: str | None = None) -> tuple[int, ...]:
    """The architecture given by ``arc`` or ``arc_file``; the published ENAS one if neither.

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
        return space.from_string(PUBLISHED_ENAS_MICRO_ARC)
    if isinstance(arc, str):
        return parse_architecture(space, arc)
    return space.validate(arc)


def build_final_model(arc: Sequence[int], config, num_classes: int,
                      image_shape: tuple[int, int, int]):
    """The built final network of ``arc`` with the sizes of a ``FinalConfig``."""
    from enas_tf.models.micro_final import FinalMicroNetwork

    model = FinalMicroNetwork(
        arc, num_nodes=config.num_nodes, num_layers=config.num_layers, filters=config.filters,
        num_classes=num_classes, keep_prob=config.keep_prob,
        use_aux_head=config.aux_weight > 0, drop_path_keep_prob=config.drop_path_keep_prob)
    return model.build_for(image_shape)
