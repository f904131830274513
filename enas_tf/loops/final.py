"""Training one architecture from scratch (the official final training).

Nesterov SGD with epoch-wise cosine restarts, CE + aux CE + L2, drop-path phased in over
training, cutout, test-set evaluation every ``eval_every`` epochs and at the end, a
checkpoint after every epoch (rerunning resumes), TensorBoard logs, and finally the
trained model in the native ``.keras`` format.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import tensorflow as tf
from absl import logging

from enas_tf.data.pipeline import ImageSplits
from enas_tf.export import build_final_model
from enas_tf.loops.base import RunLoop
from enas_tf.models.summary import describe_model
from enas_tf.options import Settings
from enas_tf.serving import export_savedmodel
from enas_tf.training.optimizers import shared_weight_sgd
from enas_tf.training.progress import EpochClock, StepMetrics
from enas_tf.training.run_dir import (resume, save_model, save_summaries, start_training_epoch,
                                      write_json)
from enas_tf.training.safety import check_finite, holds_run_lock, writing
from enas_tf.training.schedules import epoch_learning_rate, moves_within_epoch
from enas_tf.training.steps import (distributed_count_correct, distributed_sgd_step,
                                    split_accuracy)

MODEL_FILE = "model.keras"
RESULT_FILE = "result.json"
SAVEDMODEL_DIR = "savedmodel"


def export_if_asked(training) -> dict[str, str]:
    """Writes the SavedModel of a final training's model if its config asks; returns the
    result entry naming it."""
    if not training.config.export_savedmodel:
        return {}
    path = export_savedmodel(training.model,
                             os.path.join(training.config.output_dir, SAVEDMODEL_DIR),
                             training.data)
    logging.info("SavedModel for serving written to %s.", path)
    return {"savedmodel": path}


class FinalTraining(RunLoop):
    """Trains the final network of ``arc`` on ``data.train``; evaluates on ``data.test``.

    Args:
      config: all settings; validated here.
      arc: the architecture (``enas_tf.export.load_architecture``).
      data: image splits; the validation split is unused (keep ``num_valid=0``).
      strategy: a ``tf.distribute`` strategy; if None, the one ``config`` asks for
        (``num_devices``, ``devices``, ``multi_worker``).

    Example:

    ```python
    config = FinalConfig.for_space("micro", dataset="digits", num_epochs=10)
    result = FinalTraining(config, arc, load_dataset("digits")).run()
    result["test_accuracy"], result["model_file"]
    ```
    """

    def __init__(self, config: Settings, arc: Sequence[int], data: ImageSplits,
                 strategy: tf.distribute.Strategy | None = None):
        super().__init__(config, data, strategy)
        config = self.config  # output_dir is per worker under multi-worker runs
        if data.num_examples("train") < config.batch_size:
            raise ValueError(f"batch_size={config.batch_size} is larger than the training "
                             f"split ({data.num_examples('train')} images).")
        if not data.num_examples("test"):
            raise ValueError(f"{data.name} has no test split to report on (from arrays: give "
                             "test=(x, y)).")
        with self.distribution.scope():
            self.model = build_final_model(arc, config, data.num_classes, data.image_shape)
            self.optimizer = shared_weight_sgd(
                config.lr_max, config.momentum, config.grad_bound, self.model.trainable_variables,
                nesterov=config.nesterov, clip=config.grad_clip, weight_decay=config.weight_decay)
        self.facts = describe_model(self.model, data.image_shape)
        self.track(self.model, model=self.model, optimizer=self.optimizer)
        self.train_step = tf.function(self._train_step, jit_compile=config.jit_compile)
        self.count_correct = tf.function(self._count_correct)

    # --- public API ----------------------------------------------------------------

    @holds_run_lock
    def run(self) -> dict[str, Any]:
        """Trains (or resumes) to ``num_epochs``, saves the model, returns the result.
        Another run on the same ``output_dir`` is refused while this one runs."""
        cfg = self.config
        resume(cfg, self.manager, self.epoch)
        steps = cfg.steps_for(self.data.num_examples("train"))
        logging.info("Final training on %s: %d epochs x %d steps, batch %d, %d replica(s).\n"
                     "architecture: %s\n%s", self.data.name, cfg.num_epochs, steps,
                     cfg.batch_size, self.distribution.num_replicas_in_sync,
                     self.model.search_space.to_string(self.model.arc),
                     self.model.search_space.describe(self.model.arc))
        test_accuracy = None
        clock = EpochClock(cfg.num_epochs)
        for epoch in range(int(self.epoch), cfg.num_epochs):
            stats = self.train_epoch(epoch, steps)
            self.epoch.assign(epoch + 1)
            with writing(f"checkpoint ckpt-{epoch + 1}"):
                path = self.manager.save(checkpoint_number=epoch + 1)
            last = epoch + 1 == cfg.num_epochs
            if (epoch + 1) % cfg.eval_every == 0 or last:
                test_accuracy = self.evaluate("test")
                stats["test_accuracy"] = test_accuracy
            self._write_summaries(epoch + 1, stats)
            logging.info("epoch %d/%d %s: loss %.3f train acc %.3f lr %.5f%s | "
                         "checkpoint %s", epoch + 1, cfg.num_epochs, clock.lap(epoch + 1),
                         stats["loss"], stats["accuracy"], stats["learning_rate"],
                         f" | test acc {test_accuracy:.4f}" if "test_accuracy" in stats else "",
                         path)
        if test_accuracy is None:  # Resumed after the last epoch: evaluate once more.
            test_accuracy = self.evaluate("test")
        return self.save(test_accuracy)

    def train_epoch(self, epoch: int, steps: int) -> dict[str, float]:
        """One epoch of ``steps`` SGD steps with the epoch's learning rate."""
        cfg = self.config
        lr, iterator = start_training_epoch(cfg, epoch, self.optimizer, self.data,
                                            self.distribution, cutout_size=cfg.cutout)
        total_steps = cfg.num_epochs * steps
        metrics = StepMetrics(steps, epoch * steps + 1, lr, cfg.log_every, cfg.verbose,
                              f"epoch {epoch + 1}/{cfg.num_epochs}", self.writer)
        warming = moves_within_epoch(cfg, epoch)
        for step in range(steps):
            global_step = epoch * steps + step
            if warming:  # AutoDL's warm-up moves the rate at every step
                self.optimizer.learning_rate = epoch_learning_rate(cfg, epoch, step / steps)
            self.model.set_training_progress((global_step + 1) / total_steps,
                                             epoch_progress=epoch / cfg.num_epochs)
            images, labels = next(iterator)
            metrics.record(step, *self.train_step(images, labels))
        check_finite(epoch + 1, metrics.losses, self.model.trainable_variables,
                     self.manager.latest_checkpoint)
        return {**metrics.means(), **self.model.progress_stats()}

    def evaluate(self, split: str = "test") -> float:
        """Accuracy on a whole split, BN in inference mode."""
        return split_accuracy(self.count_correct, self.distribution, self.data, split,
                              self.config.batch_size)

    def save(self, test_accuracy: float) -> dict[str, Any]:
        """Writes ``model.keras`` and ``result.json``; returns the result."""
        path = os.path.join(self.config.output_dir, MODEL_FILE)
        save_model(self.model, path)
        result = {"arc": list(self.model.arc),
                  "architecture": self.model.search_space.to_json(self.model.arc),
                  "test_accuracy": test_accuracy, "epochs_trained": int(self.epoch),
                  "model_file": path, **self.facts, **export_if_asked(self)}
        write_json(os.path.join(self.config.output_dir, RESULT_FILE), result)
        logging.info("Test accuracy %.4f; model saved to %s.", test_accuracy, path)
        return result

    # --- internals -----------------------------------------------------------------

    def _train_step(self, images, labels):
        cfg = self.config
        return distributed_sgd_step(
            lambda x: self.model(x, training=True, return_aux=True),
            self.model.trainable_variables, self.optimizer, images, labels, self.distribution,
            cfg.batch_size, cfg.l2_reg, cfg.aux_weight, cfg.label_smoothing)

    def _count_correct(self, images, labels):
        return distributed_count_correct(lambda x: self.model(x, training=False), images,
                                         labels, self.distribution)

    def _write_summaries(self, epoch: int, stats: dict[str, float]) -> None:
        with self.writer.as_default(step=epoch):
            for key, value in stats.items():
                group = "test" if key.startswith("test") else "train"
                tf.summary.scalar(f"{group}/{key}", value)
            save_summaries(self.writer)
