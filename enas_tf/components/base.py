"""What the shared loops need to know about each search space, and the registry of spaces.

A search space is a family of parts in their own folders (the space, its supernet, its
controller, its final network); ``SpaceComponents`` ties one family together so that
``Search``, ``FinalTraining``, the CLI and the keras-tuner oracle work on any space
without naming it. A new space is a module that builds its ``SpaceComponents`` and calls
``register_space``; its heavy parts are imported only when a factory is called.

Example:

```python
components = get_components("macro")
space = components.make_space(config)
supernet = components.make_supernet(space, config, num_classes=10)
```
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from enas_tf.registry import Registry


@dataclasses.dataclass(frozen=True)
class InputSizes:
    """The image sides a network can take: multiples of ``multiple``, at least
    ``minimum``; ``why`` names what needs it (said when an image is refused).

    Example:

    ```python
    InputSizes(multiple=4, why="two factorized reductions").check("darts", (30, 30, 3))
    # ValueError: the darts space needs image sides multiples of 4 (two factorized
    # reductions), got 30x30; the smallest it takes is 4x4 (resize or pad the images).
    ```
    """

    multiple: int = 1
    minimum: int = 1
    why: str = ""

    def check(self, space: str, image_shape) -> None:
        height, width = (int(d) for d in image_shape[:2])
        smallest = -(-self.minimum // self.multiple) * self.multiple
        if min(height, width) < self.minimum or height % self.multiple or width % self.multiple:
            rule = (f"multiples of {self.multiple}" if self.multiple > 1 else "")
            least = self.minimum > self.multiple
            rule += (" and " if rule and least else "") + (
                f"at least {self.minimum}" if least else "")
            raise ValueError(
                f"the {space} space needs image sides {rule} ({self.why}), got "
                f"{height}x{width}; the smallest it takes is {smallest}x{smallest} (resize "
                "or pad the images).")


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
      supernet_inputs: what its supernet can run on: ``"arc"`` (a discrete architecture
        as integers), ``"mixing"`` (softmax weights of every op, DARTS), ``"sampled"``
        (hard Gumbel samples, GDAS). A strategy names the one it gives
        (``SearchStrategy.supernet_input``), so which strategies search the space is
        derived from both.
      summary: a few words for ``--search_space``'s help.
      settings: its own settings (an ``enas_tf.options.Settings`` dataclass), or None;
        the run configs hold its fields, checked by its ``check`` when it is chosen.
      defaults: official settings per run kind (``"search"``, ``"final"``, ``"draw"``)
        where they differ from the config classes' defaults (the micro ones).
      check_config: ``config -> None``; raises ``ValueError`` naming a setting the space
        cannot honour.
      reinforce_kwargs: the controller optimizer's settings where they differ from the
        official CIFAR-10 ones (enas_lm: Adam with TF's default betas and epsilon).
      describe_settings: ``config -> str`` said after the supernet's size when a search
        starts (micro: its weight layout).
      as_published: ``config -> (config, words) | None``: the settings under which the
        official code built the final network when they differ (macro: separable ops as
        plain convs), to print that network's size too.
      data_kind: what it models: ``"images"`` or ``"text"`` (``enas_tf.data.settings``).
      input_sizes: ``config -> InputSizes``: the image sides its networks (the supernet
        in a search, the final network otherwise) can reduce.
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
    supernet_inputs: tuple[str, ...] = ("arc",)
    summary: str = ""
    settings: type | None = None
    reinforce_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    data_kind: str = "images"
    describe_settings: Callable[[Any], str] = lambda config: ""
    as_published: Callable[[Any], Any] = lambda config: None
    input_sizes: Callable[[Any], "InputSizes"] = lambda config: InputSizes()

    def check_data(self, config, data) -> None:
        """Refuses data its networks cannot run on, in one line: the wrong kind (text
        for an image space), or images its reductions cannot halve."""
        if data.kind != self.data_kind:
            raise ValueError(f"the {self.name} space models {self.data_kind}, but "
                             f"{data.name} holds {data.kind}.")
        if data.image_shape is not None:
            self.input_sizes(config).check(self.name, data.image_shape)

    def make_controller(self, space, config):
        """The controller of a search run, with ``config``'s settings."""
        return self.controller_class(
            space, lstm_size=config.lstm_size, tanh_constant=config.tanh_constant,
            temperature=config.temperature or None, seed=config.seed,
            **self.controller_kwargs(config))

    def space_at_defaults(self):
        """The space at its drawing defaults (the network skeleton's, its own settings',
        its ``defaults["draw"]``): e.g. to try an architecture string in every space."""
        from types import SimpleNamespace

        from enas_tf.models.settings import NetworkSettings
        from enas_tf.options import default_in

        values = {}
        for part in (NetworkSettings, self.settings):
            if part is not None:
                values.update({f.name: default_in(f, "draw") for f in dataclasses.fields(part)})
        values.update(self.defaults.get("draw", {}), search_space=self.name)
        return self.make_space(SimpleNamespace(**values))

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


SPACES: Registry[SpaceComponents] = Registry("search space")


def register_space(components: SpaceComponents) -> SpaceComponents:
    """Makes ``components`` a ``--search_space`` value (and ``get_components`` name).

    Args:
      components: the space's parts; its ``name`` must be new.

    Example:

    ```python
    register_space(dataclasses.replace(get_components("micro"), name="micro4",
                                       defaults={"search": {"num_nodes": 4}}))
    ```
    """
    return SPACES.register(components)


def get_components(identifier: "str | SpaceComponents") -> SpaceComponents:
    """The components of the search space named ``identifier`` (or ``identifier``
    itself); ``ValueError`` naming the known ones.

    Args:
      identifier: a ``--search_space`` value or a ``SpaceComponents``.

    Example:

    ```python
    components = get_components("rnn")
    space = components.make_space(SearchConfig.for_space("rnn"))
    ```
    """
    return SPACES.get(identifier)


def space_names() -> tuple[str, ...]:
    """The registered search spaces' names.

    Example:

    ```python
    space_names()    # ('micro', 'macro', 'darts', 'darts_frc', 'nb201', 'rnn', ...)
    ```
    """
    return SPACES.names()


def components_of(space) -> SpaceComponents | None:
    """The components of a search-space object, or None for a space not registered
    (e.g. a keras-tuner ``hp.Choice`` space)."""
    name = getattr(space, "name", None)
    return SPACES.get(name) if name in SPACES else None
