"""What the search loop needs from a strategy, what a strategy sees of the loop
(``StrategyContext``), and the registry of strategies (``enas_tf.strategies``)."""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from enas_tf.registry import Registry


@dataclasses.dataclass
class StrategyContext:
    """What a strategy may use of the search it runs in: the narrow side of the loop.

    Attributes:
      config: the run's settings.
      search_space: the space searched; ``components`` its parts (controller factory).
      supernet: the shared-weight network; ``optimizer`` its weights' optimizer.
      distribution: the ``tf.distribute`` strategy the steps run under.
      data: the splits (``dataset("valid", ...)``); ``metric`` how they are scored.
      count_correct: ``(images, labels, arch_input) -> sums`` of the metric on one
        distributed batch, no weight update: the scoring function of derivation.

    Example:

    ```python
    method = DARTSStrategy(search.strategy_context())   # what Search does
    ```
    """

    config: Any
    search_space: Any
    components: Any
    supernet: Any
    optimizer: Any
    distribution: Any
    data: Any
    metric: Any
    count_correct: Callable[..., Any]


class SearchStrategy(abc.ABC):
    """Chooses what the supernet trains on, learns from the validation split, derives
    the result.

    The loop calls, per epoch: ``start_epoch``, then ``shared_step`` for every training
    batch, then ``end_epoch`` (e.g. the ENAS controller phase), then ``write_summaries``;
    at the end ``derive``. ``arch_input(arc)`` turns a discrete architecture into what
    the supernet takes, so the loop can score any architecture on the shared weights.

    Attributes:
      name: the ``--strategy`` value.
      stats_prefix: the group of its per-epoch statistics in TensorBoard and
        ``history.json`` (``controller`` for ENAS).
      stat_names: the statistics ``end_epoch`` returns; ``accuracy`` (validation
        accuracy of what it evaluated) and ``entropy`` come first.
      judge_caveat: why, if so, the derived-vs-random check on the shared weights does
        not rank architectures for this strategy.

    A strategy sees the loop only through a ``StrategyContext``; the loop keeps the
    ``tf.distribute`` strategy as ``search.distribution`` and the search strategy as
    ``search.method``.

    Example:

    ```python
    class Greedy(SearchStrategy):      # register with @register_strategy
        name, supernet_input = "greedy", "arc"
        def shared_step(self, images, labels): ...
        ...                              # examples/toy_strategy.py is complete
    ```
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""  # a few words for --strategy's help
    # What it gives the supernet (``SpaceComponents.supernet_inputs``): "arc", "mixing"
    # or "sampled"; and whether it needs the space's controller.
    supernet_input: ClassVar[str] = "arc"
    needs_controller: ClassVar[bool] = False
    # Its settings (an ``enas_tf.options.Settings`` dataclass), or None.
    settings: ClassVar[type | None] = None
    # Its official settings on a space, where they differ from the space's own search
    # defaults: ``{space name: {setting: value}}`` (e.g. DARTS's 50 epochs on NB201).
    space_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    stats_prefix: ClassVar[str] = ""
    stat_names: tuple[str, ...] = ("accuracy", "entropy")
    stat_tags: ClassVar[dict[str, str]] = {}  # TensorBoard tag of a statistic, if not its name
    accuracy_label: ClassVar[str] = "validation accuracy (shared weights)"
    # Said next to the derived-vs-random comparison when the shared weights cannot rank
    # discrete architectures for this strategy (None: they can).
    judge_caveat: ClassVar[str | None] = None

    def __init__(self, context: StrategyContext):
        self.context = context
        self.config, self.search_space = context.config, context.search_space

    @classmethod
    def can_search(cls, components) -> bool:
        """Whether the space of ``components`` runs what this strategy gives it."""
        return (cls.supernet_input in components.supernet_inputs
                and (not cls.needs_controller or components.controller_class is not None))

    @staticmethod
    def make_weight_optimizer(config, variables):
        """The shared weights' optimizer, built for ``variables`` (inside the scope): the
        config's momentum SGD (Nesterov or not, clip, coupled weight decay)."""
        from enas_tf.training.optimizers import shared_weight_sgd

        return shared_weight_sgd(config.lr_max, config.momentum, config.grad_bound, variables,
                                 nesterov=config.nesterov, clip=config.grad_clip,
                                 weight_decay=config.weight_decay)

    @abc.abstractmethod
    def checkpoint_items(self) -> dict[str, Any]:
        """Its trackable state, checkpointed with the loop's."""

    def start_epoch(self, epoch: int) -> None:
        """Called before the epoch's shared-weight steps."""

    @abc.abstractmethod
    def shared_step(self, images, labels):
        """One compiled training step of the shared weights (and of the strategy's own
        weights, if it learns them per step); returns ``(mean CE, accuracy)``."""

    @abc.abstractmethod
    def end_epoch(self, epoch: int) -> dict[str, float]:
        """Called after the epoch's steps; returns its ``stat_names`` statistics."""

    def arch_input(self, arc: Sequence[int]):
        """What the supernet takes to run the discrete architecture ``arc``: its own
        ``arch_input`` if it has one (the DARTS supernet's one-hot mixing), else the
        integers as a tensor."""
        import tensorflow as tf

        supernet_input = getattr(self.context.supernet, "arch_input", None)
        return supernet_input(arc) if supernet_input else tf.constant(arc, tf.int32)

    @abc.abstractmethod
    def most_likely(self) -> tuple[int, ...]:
        """The architecture the strategy now believes in most."""

    @abc.abstractmethod
    def derive(self, seed: int) -> tuple[tuple[int, ...], dict[str, Any]]:
        """The final architecture and what to record about how it was chosen."""

    @abc.abstractmethod
    def write_summaries(self, epoch: int) -> tuple[int, ...]:
        """Pictures of what it believes (default summary writer); the most likely arc."""

    def describe_stats(self, stats: dict[str, float]) -> str:
        """The epoch log line's part about the strategy."""
        return " ".join(f"{name.replace('_', ' ')} {stats[name]:.3f}" for name in self.stat_names)


def make_search_steps(context: StrategyContext, reinforce):
    """The compiled steps of a search over ``context.supernet``: ``SearchSteps``, or
    ``LanguageSearchSteps`` when the data are text (perplexity)."""
    cfg = context.config
    if context.metric.name == "perplexity":
        from enas_tf.training.lm_steps import LanguageSearchSteps

        return LanguageSearchSteps(context.supernet, context.optimizer, reinforce,
                                   context.distribution, cfg)
    from enas_tf.training.steps import SearchSteps

    return SearchSteps(context.supernet, context.optimizer, reinforce, context.distribution,
                       cfg.batch_size, cfg.l2_reg, cfg.aux_weight, jit_compile=cfg.jit_compile)


def softmax_entropy(logits: np.ndarray) -> float:
    """Entropy of the softmax of each row of ``logits``, summed over the rows."""
    logits = np.asarray(logits, dtype=np.float64)
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return float(-(probs * np.log(np.maximum(probs, 1e-30))).sum())


def best_of_samples(context: StrategyContext, sample_arc, num: int, seed: int) -> tuple[tuple[int, ...], dict]:
    """The best of ``num`` architectures from ``sample_arc()``, all scored on the same
    validation batch (ENAS's derivation, and random search's) by the data's metric
    (accuracy, or enas_lm's ``80 / perplexity``); with what to record."""
    from enas_tf.training.progress import Progress

    cfg, metric = context.config, context.metric
    dataset = context.data.dataset("valid", cfg.batch_size, shuffle_seed=seed,
                                   drop_remainder=True)
    images, labels = next(iter(context.distribution.experimental_distribute_dataset(dataset)))
    progress = Progress(num, cfg.verbose, "sampling", unit="architecture")
    best_arc, best_reward, values = None, -np.inf, []
    for i in range(num):
        arc = sample_arc()
        sums = [float(v) for v in context.count_correct(images, labels, arc)]
        values.append(float(metric.value(*sums)))
        if float(metric.reward(*sums)) > best_reward:
            best_arc, best_reward, best_value = arc.numpy(), float(metric.reward(*sums)), values[-1]
        progress.update(i + 1, [(f"best minibatch {metric.name}", best_value)])
    return context.search_space.validate(best_arc), {
        f"minibatch_{metric.name}": best_value, "num_samples": num,
        f"sampled_minibatch_{metric.name}_mean": float(np.mean(values))}


STRATEGIES: Registry[type[SearchStrategy]] = Registry("strategy")


def register_strategy(strategy_class: type[SearchStrategy]) -> type[SearchStrategy]:
    """Makes ``strategy_class`` a ``--strategy`` value (usable as a class decorator).

    Args:
      strategy_class: a ``SearchStrategy`` subclass with a new ``name``.

    Example:

    ```python
    @register_strategy
    class Greedy(SearchStrategy):
        name = "greedy"
        ...                       # examples/toy_strategy.py is a whole one
    ```
    """
    return STRATEGIES.register(strategy_class)
