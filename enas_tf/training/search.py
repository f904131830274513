"""The ENAS search loop for every search space: alternate shared-weight and controller
phases every epoch.

Phase 1 trains the supernet for one pass over the training split with a freshly sampled
architecture per step; phase 2 trains the controller by REINFORCE on validation
minibatches (``controller_train_steps`` updates of ``controller_num_aggregate``
architectures each). Every epoch ends with TensorBoard scalars and pictures of the
policy, a record in ``history.json`` and a checkpoint of everything needed to resume;
the run ends by deriving the final architecture and judging it against random ones.
The space's parts (space, supernet, controller) come from ``enas_tf.components`` by the
config's ``search_space``, so the loop names none of them.
"""

from __future__ import annotations

import os
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from enas_tf.components import get_components
from enas_tf.config import SearchConfig
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.data.pipeline import ImageSplits
from enas_tf.models.summary import trainable_parameters
from enas_tf.search_spaces.pictures import save_png
from enas_tf.training.derive import derive_architecture, search_facts
from enas_tf.training.optimizers import shared_weight_sgd
from enas_tf.training.progress import EpochClock, Progress, StepMetrics
from enas_tf.training.run_dir import (epoch_seed, load_history, resume, save_history, setup_run,
                                      start_training_epoch, write_json)
from enas_tf.training.steps import SearchSteps
from enas_tf.training.summaries import write_policy_pictures

ARC_FILE = "derived_arc.json"
ARC_PICTURE = "derived_arc.png"


class Search:
    """One ENAS search run writing to ``config.output_dir``, on ``config.search_space``.

    Usable from a notebook::

        search = Search(SearchConfig(dataset="digits", ...), load_dataset("digits"))
        result = search.run()
        macro = Search(SearchConfig.for_space("macro", dataset="digits", ...), data)

    Args:
      config: all settings; validated here.
      data: the image splits (``enas_tf.data.load_dataset``).
      strategy: a ``tf.distribute`` strategy; if None, the one ``config`` asks for
        (``num_devices``, ``devices``, ``multi_worker``).
    """

    def __init__(self, config: SearchConfig, data: ImageSplits,
                 strategy: tf.distribute.Strategy | None = None):
        self.config, self.data, self.strategy = setup_run(config.validate(), data, strategy)
        config = self.config  # output_dir is per worker under multi-worker runs
        if len(data.train[0]) < config.batch_size or len(data.valid[0]) < config.batch_size:
            raise ValueError(
                f"batch_size={config.batch_size} is larger than the training "
                f"({len(data.train[0])}) or validation ({len(data.valid[0])}) split.")
        self.components = get_components(config.search_space)
        self.search_space = self.components.make_space(config)
        tf.random.set_seed(config.seed)
        keras.utils.set_random_seed(config.seed)
        with self.strategy.scope():
            self.supernet = self.components.make_supernet(
                self.search_space, config, data.num_classes).build_for(data.image_shape)
            self.optimizer = shared_weight_sgd(config.lr_max, config.momentum,
                                               config.grad_bound, self.supernet.trainable_variables)
        self.controller = self.components.make_controller(self.search_space, config)
        self.reinforce = Reinforce(
            self.controller, learning_rate=config.controller_lr,
            entropy_weight=config.entropy_weight, baseline_decay=config.baseline_decay)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epochs_done")
        self.steps = SearchSteps(self.supernet, self.optimizer, self.reinforce, self.strategy,
                                 config.batch_size, config.l2_reg, config.aux_weight,
                                 jit_compile=config.jit_compile)
        self.checkpoint = tf.train.Checkpoint(
            supernet=self.supernet, optimizer=self.optimizer, controller=self.controller,
            reinforce=self.reinforce, epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(config.output_dir, "checkpoints"),
            max_to_keep=config.max_checkpoints)
        self.writer = tf.summary.create_file_writer(os.path.join(config.output_dir, "tensorboard"))
        self.history: list[dict] = []  # one record per finished epoch (history.json)

    # --- public API ----------------------------------------------------------------

    def restore(self) -> int:
        """Restores the latest checkpoint if any; returns the number of finished epochs."""
        done = resume(self.config, self.checkpoint, self.manager, self.epoch)
        self.history = load_history(self.config.output_dir, done)
        return done

    def run(self) -> dict[str, Any]:
        """Runs (or resumes) the search, derives the architecture and returns the result."""
        start = self.restore()
        cfg = self.config
        steps = cfg.steps_for(len(self.data.train[0]))
        logging.info("ENAS %s search on %s: %d epochs x %d steps, batch %d, %d replica(s), "
                     "supernet %s trainable parameters%s.", cfg.search_space, self.data.name,
                     cfg.num_epochs, steps, cfg.batch_size, self.strategy.num_replicas_in_sync,
                     f"{trainable_parameters(self.supernet):,}",
                     f" ({cfg.weight_sharing} weight sharing)"
                     if cfg.search_space == "micro" else "")
        clock = EpochClock(cfg.num_epochs)
        for epoch in range(start, cfg.num_epochs):
            began = time.time()
            train_stats = self.train_shared_weights(epoch, steps)
            controller_stats = self.train_controller(epoch)
            likely = self._write_summaries(epoch + 1, train_stats, controller_stats)
            self.history.append({"epoch": epoch + 1, "seconds": time.time() - began,
                                 **{f"train_{k}": v for k, v in train_stats.items()},
                                 **{f"controller_{k}": v for k, v in controller_stats.items()},
                                 "most_likely_arc": list(likely)})
            save_history(cfg.output_dir, self.history)
            self.epoch.assign(epoch + 1)
            path = self.manager.save(checkpoint_number=epoch + 1)
            extra = "".join(f" {name.replace('_', ' ')} {controller_stats[name]:.3f}"
                            for name in self.controller.stat_names)
            logging.info(
                "epoch %d/%d %s: train loss %.3f acc %.3f | sampled valid acc %.3f "
                "entropy %.2f reward %.3f baseline %.3f%s | checkpoint %s", epoch + 1,
                cfg.num_epochs, clock.lap(epoch + 1), train_stats["loss"],
                train_stats["accuracy"], controller_stats["accuracy"],
                controller_stats["entropy"], controller_stats["reward"],
                controller_stats["baseline"], extra, path)
        return self.derive()

    def train_shared_weights(self, epoch: int, steps: int) -> dict[str, float]:
        """Phase 1: ``steps`` SGD steps, each on an architecture sampled inside the step.

        Losses stay on the device; they are read only at log points and at the end.
        """
        cfg = self.config
        lr, iterator = start_training_epoch(cfg, epoch, self.optimizer, self.data,
                                            self.strategy)
        metrics = StepMetrics(steps, epoch * steps + 1, lr, cfg.log_every, cfg.verbose,
                              f"epoch {epoch + 1}/{cfg.num_epochs} shared weights", self.writer)
        for step in range(steps):
            images, labels = next(iterator)
            loss, accuracy, _ = self.steps.search_step(images, labels)
            metrics.record(step, loss, accuracy)
        return metrics.means()

    def train_controller(self, epoch: int) -> dict[str, float]:
        """Phase 2: REINFORCE updates, each one compiled call that samples and rewards
        ``controller_num_aggregate`` architectures and takes one Adam step."""
        cfg = self.config
        dataset = self.data.dataset("valid", cfg.batch_size,
                                    shuffle_seed=epoch_seed(cfg.seed, epoch) + 1,
                                    repeat=True, drop_remainder=True)
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        progress = Progress(cfg.controller_train_steps, cfg.verbose,
                            f"epoch {epoch + 1}/{cfg.num_epochs} controller", unit="update")
        collected: dict[str, list[float]] = {}
        for update in range(cfg.controller_train_steps):
            stats = self.steps.controller_update(iterator, cfg.controller_num_aggregate)
            for key, value in stats.items():
                collected.setdefault(key, []).append(float(value))
            progress.update(update + 1, [("sampled valid accuracy", collected["accuracy"][-1]),
                                         ("entropy", collected["entropy"][-1])])
        return {key: float(np.mean(values)) for key, values in collected.items()} | {
            "baseline": float(self.reinforce.baseline)}

    def derive(self) -> dict[str, Any]:
        """Samples ``derive_num_samples`` architectures, keeps the best on one validation
        batch, scores it on the whole validation split against the most likely and
        ``derive_random_samples`` random architectures, writes ``derived_arc.json`` and
        a drawing of it (``derived_arc.png``)."""
        cfg = self.config
        result = derive_architecture(self.steps, self.search_space, self.data, self.strategy,
                                     cfg.derive_num_samples, cfg.batch_size,
                                     seed=epoch_seed(cfg.seed, int(self.epoch)) + 2,
                                     num_random=cfg.derive_random_samples, verbose=cfg.verbose)
        result["epochs_trained"] = int(self.epoch)
        result["search_facts"] = search_facts(self.history, result, self.controller.stat_names)
        write_json(os.path.join(cfg.output_dir, ARC_FILE), result)
        picture = save_png(self.search_space.draw(
            result["arc"], f"derived architecture (validation accuracy "
                           f"{result['valid_accuracy']:.3f} with the shared weights)"),
            os.path.join(cfg.output_dir, ARC_PICTURE))
        with self.writer.as_default(step=int(self.epoch)):
            tf.summary.scalar("derive/valid_accuracy", result["valid_accuracy"])
            tf.summary.text("derive/architecture", result["architecture"]["enas_string"])
        self.writer.flush()
        logging.info("Derived architecture, written to %s and drawn in %s:\n%s\n%s",
                     os.path.join(cfg.output_dir, ARC_FILE), picture,
                     result["architecture"]["enas_string"],
                     self.search_space.describe(result["arc"]))
        return result

    # --- internals -----------------------------------------------------------------

    def _write_summaries(self, epoch: int, train: dict[str, float],
                         controller: dict[str, float]) -> tuple[int, ...]:
        """Scalars and policy pictures of ``epoch``; returns the most likely arc."""
        with self.writer.as_default(step=epoch):
            tf.summary.scalar("train/loss", train["loss"])
            tf.summary.scalar("train/accuracy", train["accuracy"])
            tf.summary.scalar("train/learning_rate", train["learning_rate"])
            tf.summary.scalar("controller/reward", controller["reward"])
            tf.summary.scalar("controller/baseline", controller["baseline"])
            tf.summary.scalar("controller/entropy", controller["entropy"])
            tf.summary.scalar("controller/sampled_valid_accuracy", controller["accuracy"])
            tf.summary.scalar("controller/log_prob", controller["log_prob"])
            for name in self.controller.stat_names:
                tf.summary.scalar(f"controller/{name}", controller[name])
            likely = write_policy_pictures(self.controller, epoch,
                                           self.steps.sample_with_probabilities)
        self.writer.flush()
        return likely


# The loop was micro-only before the macro space; the old name still works.
MicroSearch = Search
