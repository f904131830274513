"""What the shared loops need to know about each search space, by name.

A search space is a family of parts in their own folders (the space, its supernet, its
controller, its final network); ``SpaceComponents`` ties one family together so that
``Search``, ``FinalTraining``, the CLI and the keras-tuner oracle work on any space
without naming it. A new space is a new module here with its ``COMPONENTS`` and one line
in ``SPACES``. Everything heavy is imported only when a factory is called, so configs
can be validated without loading TensorFlow.

Example::

    components = get_components("macro")
    space = components.make_space(config)
    supernet = components.make_supernet(space, config, num_classes=10)
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Mapping

# Search-space name -> module defining its COMPONENTS (or "module:attribute").
SPACES: dict[str, str] = {
    "micro": "enas_tf.components.micro",
    "macro": "enas_tf.components.macro",
    "darts": "enas_tf.components.darts",
    "darts_frc": "enas_tf.components.darts:FRC_COMPONENTS",
    "nb201": "enas_tf.components.nb201",
    "rnn": "enas_tf.components.rnn",
}
SPACE_NAMES = tuple(SPACES)


@dataclasses.dataclass(frozen=True)
class SpaceComponents:
    """The parts of one search space, as factories taking a run's config.

    Attributes:
      name: the space's name (``--search_space``).
      make_space: ``config -> SearchSpace``.
      make_supernet: ``(space, config, num_classes) -> keras.Model`` taking
        ``(images, arc=..., training=..., return_aux=...)``, not yet built.
      controller_class: its controller; constructed as
        ``controller_class(space, lstm_size=, tanh_constant=, seed=, **controller_kwargs(config))``.
      tanh_constant: the official controller tanh constant (the oracle's "auto").
      controller_kwargs: ``config -> dict`` of the space's own controller settings.
      make_final_model: ``(space, arc, config, num_classes) -> keras.Model`` with
        ``search_space``, ``arc``, ``set_training_progress`` and ``progress_stats``.
      make_fixed_model: ``(space, arc, config, num_classes) -> keras.Model``: one
        architecture at search size without weight sharing, computing what the supernet
        computes for it (the reference of the speed benchmarks).
      published_arc: the published architecture of the space (the default to train).
      published_needs: settings the published architecture requires (e.g. 24 layers).
      adapt_published: ``(space, text) -> text``: the published architecture for a space
        of other settings where that is well defined (the macro one's first layers).
      strategies: the names of the search strategies that can search the space.
      defaults: official settings per run kind (``"search"``, ``"final"``, ``"draw"``)
        where they differ from the config classes' defaults (the micro ones).
      check_config: ``config -> None``; raises ``ValueError`` naming a setting the space
        cannot honour.
      reinforce_kwargs: the controller optimizer's settings where they differ from the
        official CIFAR-10 ones (enas_lm: Adam with TF's default betas and epsilon).
      datasets: the ``--dataset`` values the space runs on.
    """

    name: str
    make_space: Callable[[Any], Any]
    make_supernet: Callable[..., Any]
    controller_class: Callable[..., Any]
    tanh_constant: float | None
    controller_kwargs: Callable[[Any], dict]
    make_final_model: Callable[..., Any]
    make_fixed_model: Callable[..., Any]
    published_arc: str
    published_needs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    check_config: Callable[[Any], None] = lambda config: None
    adapt_published: Callable[[Any, str], str] = lambda space, text: text
    strategies: tuple[str, ...] = ("enas",)
    reinforce_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    datasets: tuple[str, ...] = ("cifar10", "digits")

    def make_controller(self, space, config):
        """The controller of a search run, with ``config``'s settings."""
        return self.controller_class(
            space, lstm_size=config.lstm_size, tanh_constant=config.tanh_constant,
            temperature=config.temperature or None, seed=config.seed,
            **self.controller_kwargs(config))

    def published(self, space) -> tuple[int, ...]:
        """The published architecture in ``space``; a one-line error if it cannot fit."""
        from enas_tf.search_spaces.base import InvalidArchitectureError

        try:
            return space.from_string(self.adapt_published(space, self.published_arc))
        except InvalidArchitectureError:
            needs = ", ".join(f"{k}={v}" for k, v in self.published_needs.items())
            raise InvalidArchitectureError(
                f"the published {self.name} architecture needs {needs or 'other settings'}; "
                "give an architecture (--arc or --arc_file) for these settings.") from None


def refuse_weight_sharing_choice(config) -> None:
    """For spaces other than micro: ``weight_sharing`` (micro's layout choice) must be
    left at its default."""
    if getattr(config, "weight_sharing", "official") != "official":
        raise ValueError("weight_sharing applies to the micro space.")


def get_components(name: str) -> SpaceComponents:
    """The components of search space ``name``; ``ValueError`` naming the known ones."""
    if name not in SPACES:
        raise ValueError(f"unknown search space {name!r}; known: {', '.join(SPACE_NAMES)}.")
    module, _, attribute = SPACES[name].partition(":")
    return getattr(importlib.import_module(module), attribute or "COMPONENTS")


def components_of(space) -> SpaceComponents | None:
    """The components of a search-space object, or None for a space not listed here
    (e.g. a keras-tuner ``hp.Choice`` space)."""
    return get_components(space.name) if getattr(space, "name", None) in SPACES else None
