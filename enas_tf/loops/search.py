"""The search loop for every search space and strategy.

Every epoch trains the shared weights for one pass over the training split, each step
as the strategy says (ENAS: a freshly sampled architecture; DARTS: an architecture-weight
step on a validation batch, then a weight step); then the strategy's own phase (the ENAS
controller's REINFORCE updates). Every epoch ends with TensorBoard scalars and pictures,
a record in ``history.json`` and a checkpoint of everything needed to resume; the run
ends by deriving the final architecture and judging it against random ones on the same
weights. The space's parts come from ``enas_tf.components`` (``search_space``), the
strategy from ``enas_tf.strategies`` (``strategy``), so the loop names none of them.
"""

from __future__ import annotations

import os
import time
from typing import Any

import tensorflow as tf
from absl import logging

from enas_tf.components import get_components
from enas_tf.data.pipeline import ImageSplits
from enas_tf.data.sources import resolve_dataset
from enas_tf.lookup import open_lookup
from enas_tf.loops.base import RunLoop
from enas_tf.loops.derive import benchmark_report, judge_architecture, search_facts
from enas_tf.models.summary import trainable_parameters
from enas_tf.options import Settings
from enas_tf.search_spaces.pictures import save_png
from enas_tf.strategies import StrategyContext, get_strategy
from enas_tf.training.progress import EpochClock, StepMetrics
from enas_tf.training.run_dir import (epoch_seed, load_history, resume, save_history,
                                      save_summaries, start_training_epoch, write_json)
from enas_tf.training.safety import check_finite, holds_run_lock, writing
from enas_tf.training.steps import distributed_count_correct

ARC_FILE = "derived_arc.json"
ARC_PICTURE = "derived_arc.png"


class Search(RunLoop):
    """One search run writing to ``config.output_dir``: ``config.search_space`` searched
    by ``config.strategy``.

    Usable from a notebook:

    ```python
    search = Search(SearchConfig(dataset="digits", ...), load_dataset("digits"))
    result = search.run()
    macro = Search(SearchConfig.for_space("macro", dataset="digits", ...), data)
    darts = Search(SearchConfig.for_space("darts", dataset="digits", ...), data)
    ```

    Args:
      config: all settings; validated here.
      data: the image splits or text streams (``enas_tf.data.load_dataset``).
      strategy: a ``tf.distribute`` strategy; if None, the one ``config`` asks for
        (``num_devices``, ``devices``, ``multi_worker``).
    """

    def __init__(self, config: Settings, data: ImageSplits,
                 strategy: tf.distribute.Strategy | None = None):
        super().__init__(config, data, strategy)
        config = self.config  # output_dir is per worker under multi-worker runs
        self.data.check_batch_size(config.batch_size)
        self.metric = self.data.metric  # accuracy (images) or perplexity (text)
        self.components = get_components(config.search_space)
        # Opened first: a benchmark file that cannot be read fails before any training.
        self.lookup = open_lookup(config.benchmark_file) if config.benchmark_file else None
        self.search_space = self.components.make_space(config)
        strategy_class = get_strategy(config.strategy)
        with self.distribution.scope():
            self.supernet = self.components.make_supernet(
                self.search_space, config, data.num_classes).build_for(data.image_shape)
            self.optimizer = strategy_class.make_weight_optimizer(
                config, self.supernet.trainable_variables)
        # Outside the scope: a strategy puts what must be mirrored (DARTS's architecture
        # weights) in the scope itself; the ENAS controller stays a single copy.
        self.count_correct = tf.function(self._count_correct)
        self.method = strategy_class(self.strategy_context())
        self.track(self.supernet, supernet=self.supernet, optimizer=self.optimizer,
                   **self.method.checkpoint_items())
        self.history: list[dict] = []  # one record per finished epoch (history.json)

    # --- public API ----------------------------------------------------------------

    def restore(self) -> int:
        """Restores the newest intact checkpoint if any; returns the number of finished
        epochs. The checkpoint, ``history.json`` and ``config.json`` must agree."""
        done = resume(self.config, self.manager, self.epoch)
        self.history = load_history(self.config.output_dir, done, self.manager.newest_saved)
        return done

    def strategy_context(self) -> StrategyContext:
        """What the strategy sees of this search."""
        return StrategyContext(
            config=self.config, search_space=self.search_space, components=self.components,
            supernet=self.supernet, optimizer=self.optimizer, distribution=self.distribution,
            data=self.data, metric=self.metric, count_correct=self.count_correct)

    @holds_run_lock
    def run(self) -> dict[str, Any]:
        """Runs (or resumes) the search, derives the architecture and returns the result.
        Another run on the same ``output_dir`` is refused while this one runs."""
        start = self.restore()
        cfg = self.config
        steps = cfg.steps_per_epoch or self.data.steps_per_epoch(cfg.batch_size)
        logging.info("%s search of the %s space on %s: %d epochs x %d steps, batch %d, %d "
                     "replica(s), supernet %s trainable parameters%s.", cfg.strategy.upper(),
                     cfg.search_space, self.data.name, cfg.num_epochs, steps, cfg.batch_size,
                     self.distribution.num_replicas_in_sync,
                     f"{trainable_parameters(self.supernet):,}",
                     self.components.describe_settings(cfg))
        clock = EpochClock(cfg.num_epochs)
        prefix = self.method.stats_prefix
        for epoch in range(start, cfg.num_epochs):
            began = time.time()
            train_stats = self.train_shared_weights(epoch, steps)
            method_stats = self.method.end_epoch(epoch)
            likely = self._write_summaries(epoch + 1, train_stats, method_stats)
            self.history.append({"epoch": epoch + 1, "seconds": time.time() - began,
                                 **{f"train_{k}": v for k, v in train_stats.items()},
                                 **{f"{prefix}_{k}": v for k, v in method_stats.items()},
                                 "most_likely_arc": list(likely)})
            save_history(cfg.output_dir, self.history)
            self.epoch.assign(epoch + 1)
            with writing(f"checkpoint ckpt-{epoch + 1}"):
                path = self.manager.save(checkpoint_number=epoch + 1)
            logging.info("epoch %d/%d %s: train loss %.3f %s %.3f | %s: %s | checkpoint %s",
                         epoch + 1, cfg.num_epochs, clock.lap(epoch + 1), train_stats["loss"],
                         self.metric.name, train_stats[self.metric.name], prefix,
                         self.method.describe_stats(method_stats), path)
        return self.derive()

    def train_shared_weights(self, epoch: int, steps: int) -> dict[str, float]:
        """``steps`` shared-weight steps, each as the strategy says.

        Losses stay on the device; they are read only at log points and at the end.
        """
        cfg = self.config
        lr, iterator = start_training_epoch(cfg, epoch, self.optimizer, self.data,
                                            self.distribution)
        self.method.start_epoch(epoch)
        metrics = StepMetrics(steps, epoch * steps + 1, lr, cfg.log_every, cfg.verbose,
                              f"epoch {epoch + 1}/{cfg.num_epochs} shared weights", self.writer,
                              metric=self.metric.name)
        for step in range(steps):
            images, labels = next(iterator)
            metrics.record(step, *self.method.shared_step(images, labels))
        check_finite(epoch + 1, metrics.losses, self.supernet.trainable_variables,
                     self.manager.latest_checkpoint)
        return metrics.means()

    def derive(self) -> dict[str, Any]:
        """The strategy's final architecture, scored on the whole validation split
        against the most likely and ``derive_random_samples`` random architectures on the
        same weights; writes ``derived_arc.json`` and a drawing (``derived_arc.png``)."""
        cfg = self.config
        seed = epoch_seed(cfg.seed, int(self.epoch)) + 2
        arc, info = self.method.derive(seed)
        result = judge_architecture(self.method.context, self.method, arc, seed)
        result.update(info, epochs_trained=int(self.epoch), strategy=cfg.strategy)
        result["search_facts"] = search_facts(self.history, result, self.method.stats_prefix,
                                              self.method.stat_names, self.method.accuracy_label,
                                              self.method.judge_caveat, self.metric)
        if self.lookup is not None:
            result["benchmark"] = benchmark_report(self.lookup, self.benchmark_dataset(),
                                                   self.search_space, result)
        write_json(os.path.join(cfg.output_dir, ARC_FILE), result)
        key = f"valid_{self.metric.name}"
        picture = save_png(self.search_space.draw(
            result["arc"], f"derived architecture (validation {self.metric.name} "
                           f"{result[key]:.3f} with the shared weights)"),
            os.path.join(cfg.output_dir, ARC_PICTURE))
        with self.writer.as_default(step=int(self.epoch)):
            tf.summary.scalar(f"derive/{key}", result[key])
            tf.summary.text("derive/architecture", self.search_space.notation(result["arc"]))
            if "benchmark" in result:
                tf.summary.scalar("derive/benchmark_test_accuracy",
                                  result["benchmark"]["test_accuracy"])
            save_summaries(self.writer)
        logging.info("Derived architecture, written to %s and drawn in %s:\n%s\n%s",
                     os.path.join(cfg.output_dir, ARC_FILE), picture,
                     self.search_space.notation(arc), self.search_space.describe(arc))
        return result

    def benchmark_dataset(self) -> str:
        """The benchmark data set a derived cell is looked up on: ``benchmark_dataset``,
        else the searched data's (``DataSource.benchmark_dataset``), else ``cifar10``."""
        if self.config.benchmark_dataset:
            return self.config.benchmark_dataset
        return resolve_dataset(self.config.dataset).benchmark_dataset or "cifar10"

    # --- internals -----------------------------------------------------------------

    def _count_correct(self, images, labels, arch):
        """The metric's sums ((correct predictions, examples), or (summed NLL, tokens))
        of the supernet running ``arch`` (a strategy's ``arch_input``) on one batch, no
        weight update. Dropout is off; batch norm as the
        supernet does it in inference (the micro one keeps batch statistics)."""
        return distributed_count_correct(lambda x: self.supernet(x, arch, training=False),
                                         images, labels, self.distribution, self.metric)

    def _write_summaries(self, epoch: int, train: dict[str, float],
                         method: dict[str, float]) -> tuple[int, ...]:
        """Scalars and the strategy's pictures of ``epoch``; returns the most likely arc."""
        with self.writer.as_default(step=epoch):
            tf.summary.scalar("train/loss", train["loss"])
            tf.summary.scalar(f"train/{self.metric.name}", train[self.metric.name])
            tf.summary.scalar("train/learning_rate", train["learning_rate"])
            for name, value in method.items():
                tag = self.method.stat_tags.get(name, name)
                tf.summary.scalar(f"{self.method.stats_prefix}/{tag}", value)
            likely = self.method.write_summaries(epoch)
            save_summaries(self.writer)
        return likely


# The loop was micro-only before the macro space; the old name still works.
MicroSearch = Search
