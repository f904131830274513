"""A new search strategy in one file: registered, with its own settings, searching any
space whose supernet runs discrete architectures, through the library's own loop.

The toy: "pool" search draws ``pool_size`` random architectures at the start and trains
them in turn on the shared weights; after each epoch every pool member is scored on one
validation batch, and the best one is the result. Nothing in ``enas_tf`` is edited for
it: the strategy declares its settings (``PoolSettings``) and the supernet input it gives
(``"arc"``), so the run config gains ``pool_size`` and every space that runs integer
architectures (micro, macro, NAS-Bench-201, rnn) accepts it; the DARTS space does not.

    python examples/toy_strategy.py --epochs=2 --pool_size=4
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from enas_tf import Search, SearchConfig, load_dataset  # noqa: E402
from enas_tf.options import Settings, option  # noqa: E402
from enas_tf.strategies import SearchStrategy, StrategyContext, register_strategy  # noqa: E402
from enas_tf.strategies.base import best_of_samples, make_search_steps  # noqa: E402


@dataclasses.dataclass
class PoolSettings(Settings):
    """The pool strategy's one setting."""

    pool_size: int = option(4, "Pool: random architectures drawn at the start; the steps "
                            "train them in turn.", minimum=2)

    MODES = ("search",)


@register_strategy
class PoolStrategy(SearchStrategy):
    """A fixed pool of random architectures trained in turn; the best one wins."""

    name = "pool"
    summary = "a fixed pool of random architectures trained in turn (a toy example)"
    supernet_input = "arc"
    settings = PoolSettings
    stats_prefix = "pool"
    stat_names = ("accuracy", "entropy")

    def __init__(self, context: StrategyContext):
        super().__init__(context)
        rng = np.random.default_rng(self.config.seed)
        self.pool = [self.search_space.random_architecture(rng)
                     for _ in range(self.config.pool_size)]
        self.steps = make_search_steps(context, reinforce=None)
        pool = tf.constant(self.pool, tf.int32)
        self.turn = tf.Variable(0, trainable=False, name="pool_turn")

        def step(images, labels):
            arc = pool[self.turn % len(self.pool)]
            self.turn.assign_add(1)
            return self.steps._train_step(images, labels, arc)

        self.step = tf.function(step, input_signature=self.steps.batch_signature)
        self.best = tf.Variable(0, trainable=False, name="pool_best")

    def checkpoint_items(self) -> dict[str, Any]:
        return {"pool_turn": self.turn, "pool_best": self.best}

    def start_epoch(self, epoch: int) -> None:
        self.steps.start_epoch()

    def shared_step(self, images, labels):
        return self.step(images, labels)

    def _score_pool(self, seed: int):
        members = itertools.cycle(tf.constant(arc, tf.int32) for arc in self.pool)
        return best_of_samples(self.context, lambda: next(members), len(self.pool), seed)

    def end_epoch(self, epoch: int) -> dict[str, float]:
        best, info = self._score_pool(self.config.seed + epoch)
        self.best.assign(self.pool.index(tuple(best)))
        name = self.context.metric.name
        return {"accuracy": info[f"sampled_minibatch_{name}_mean"],
                "entropy": float(np.log(len(self.pool)))}

    def most_likely(self) -> tuple[int, ...]:
        return tuple(self.pool[int(self.best)])

    def derive(self, seed: int) -> tuple[tuple[int, ...], dict[str, Any]]:
        return self._score_pool(seed)

    def write_summaries(self, epoch: int) -> tuple[int, ...]:
        tf.summary.text("pool/best_architecture", self.search_space.to_string(self.most_likely()))
        return self.most_likely()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pool_size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="shared-weight steps per epoch")
    parser.add_argument("--output_dir", default="runs/toy_pool")
    args = parser.parse_args(argv)
    config = SearchConfig.for_space(
        "micro", strategy="pool", pool_size=args.pool_size, dataset="digits", num_valid=300,
        num_layers=1, filters=8, aux_weight=0.0, batch_size=32, num_epochs=args.epochs,
        steps_per_epoch=args.steps, derive_random_samples=3, verbose=0,
        output_dir=args.output_dir)
    result = Search(config, load_dataset("digits", num_valid=300)).run()
    print(f"pool search: derived {result['architecture']['enas_string']}, validation "
          f"accuracy {result['valid_accuracy']:.3f} on the shared weights, random "
          f"architectures {result['random_architectures']['valid_accuracy_mean']:.3f}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
