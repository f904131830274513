"""Training one recurrent cell's language model from scratch (enas_lm's ``fixed.py``).

Plain SGD at a constant rate scaled by each segment's length, global clip, decay of all
weights (enas_lm's ``l2_reg`` in the loss, or DARTS's coupled ``weight_decay`` after the
clip), the activation regularisers; the BPTT state carried across an epoch's segments.
After every epoch the validation perplexity (state carried over the whole split); once
it is worse than the best of the epochs before the last ``asgd_patience`` ones, averaged
SGD starts: a running mean of the weights after every step, which is what is evaluated
from then on and what is saved. At the end the test perplexity (one stream, the state
carried over the whole split, as enas_lm's batch-1 evaluation), ``model.keras`` and
``result.json``. A checkpoint after every epoch; rerunning resumes.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Sequence

import tensorflow as tf
from absl import logging

from enas_tf.data.metrics import PERPLEXITY
from enas_tf.data.text import TextSplits
from enas_tf.export import build_final_model
from enas_tf.loops.base import RunLoop
from enas_tf.loops.final import MODEL_FILE, RESULT_FILE, export_if_asked
from enas_tf.models.summary import describe_model
from enas_tf.options import Settings
from enas_tf.training.lm_steps import TOKENS, CarriedBPTT, bptt_sgd_step, carried_sums, nll_step
from enas_tf.training.optimizers import shared_weight_sgd
from enas_tf.training.progress import EpochClock, StepMetrics
from enas_tf.training.run_dir import (load_history, resume, save_history, save_model,
                                      save_summaries, start_training_epoch, write_json)
from enas_tf.training.safety import check_finite, holds_run_lock, writing


def should_start_averaging(valid_perplexities: Sequence[float], patience: int) -> bool:
    """enas_lm's switch to averaged SGD: the latest validation perplexity is worse than
    the best one before the last ``patience`` epochs."""
    history = list(valid_perplexities)
    return len(history) > patience + 1 and history[-1] > min(history[:-1 - patience])


class LanguageModelTraining(RunLoop):
    """Trains ``RecurrentLanguageModel(arc)`` on ``data.train``; reports validation and
    test perplexity.

    Example:

    ```python
    config = FinalConfig.for_space("rnn", dataset="python_docs", hidden_size=64)
    result = LanguageModelTraining(config, arc, load_dataset("python_docs")).run()
    ```

    Args:
      config: all settings (``FinalConfig.for_space("rnn", ...)``); validated here.
      arc: the cell (``enas_tf.export.load_architecture``).
      data: the text streams (``enas_tf.data.load_dataset``).
      strategy: a ``tf.distribute`` strategy of one replica; None: the default one.
    """

    def __init__(self, config: Settings, arc: Sequence[int], data: TextSplits,
                 strategy: tf.distribute.Strategy | None = None):
        super().__init__(config, data, strategy)
        cfg = self.config
        self.data.check_batch_size(cfg.batch_size)
        with self.distribution.scope():
            self.model = build_final_model(arc, cfg, data.num_classes, None)
            variables = self.model.trainable_variables
            # weight_decay: PyTorch's coupled decay after the clip (DARTS); l2_reg: a
            # loss term before it (enas_lm).
            self.optimizer = shared_weight_sgd(cfg.lr_max, 0.0, cfg.grad_bound, variables,
                                               nesterov=False, clip="global",
                                               weight_decay=cfg.weight_decay)
        self.variables = variables
        self.facts = describe_model(self.model, None)
        self.averages = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
        self.average_count = tf.Variable(0.0, trainable=False, name="average_count")
        self.carried = CarriedBPTT(cfg.batch_size, cfg.hidden_size, cfg.bptt, cfg.lr_max)
        self.track(self.model, model=self.model, optimizer=self.optimizer,
                   averages=self.averages, average_count=self.average_count)
        self.train_step = tf.function(self._train_step, input_signature=[TOKENS, TOKENS])
        self.nll_step = nll_step(lambda x, state: self.model(
            x, training=False, initial_state=state, return_state=True))
        self.history: list[dict] = []

    @property
    def averaging(self) -> bool:
        return float(self.average_count) > 0

    # --- public API ----------------------------------------------------------------

    @holds_run_lock
    def run(self) -> dict[str, Any]:
        """Trains (or resumes) to ``num_epochs``, saves the model, returns the result.
        Another run on the same ``output_dir`` is refused while this one runs."""
        cfg = self.config
        resume(cfg, self.manager, self.epoch)
        self.history = load_history(cfg.output_dir, int(self.epoch), self.manager.newest_saved)
        steps = cfg.steps_per_epoch or self.data.steps_per_epoch(cfg.batch_size)
        logging.info("Language model training on %s: %d epochs x %d steps, batch %d, BPTT %d, "
                     "%s parameters.\ncell: %s\n%s", self.data.name, cfg.num_epochs, steps,
                     cfg.batch_size, cfg.bptt, f"{self.facts['parameters']:,}",
                     self.model.search_space.to_string(self.model.arc),
                     self.model.search_space.describe(self.model.arc))
        clock = EpochClock(cfg.num_epochs)
        for epoch in range(int(self.epoch), cfg.num_epochs):
            began = time.time()
            stats = self.train_epoch(epoch, steps)
            stats["valid_perplexity"] = self.evaluate("valid")
            valid = [record["valid_perplexity"] for record in self.history]
            if not self.averaging and should_start_averaging(
                    valid + [stats["valid_perplexity"]], cfg.asgd_patience):
                self._update_averages(start=True)
                logging.info("Validation perplexity stopped improving: averaged SGD from "
                             "epoch %d on.", epoch + 2)
            stats["averaging"] = float(self.averaging)
            self.history.append({"epoch": epoch + 1, "seconds": time.time() - began, **stats})
            save_history(cfg.output_dir, self.history)
            self.epoch.assign(epoch + 1)
            with writing(f"checkpoint ckpt-{epoch + 1}"):
                path = self.manager.save(checkpoint_number=epoch + 1)
            self._write_summaries(epoch + 1, stats)
            logging.info("epoch %d/%d %s: train perplexity %.2f | valid perplexity %.2f%s | "
                         "checkpoint %s", epoch + 1, cfg.num_epochs, clock.lap(epoch + 1),
                         stats["perplexity"], stats["valid_perplexity"],
                         " (averaged weights)" if self.averaging else "", path)
        last = self.history[-1] if self.history else {}
        # The last epoch's record already holds the final weights' validation perplexity
        # (averaging that starts then begins from exactly those weights).
        valid = (last["valid_perplexity"] if last.get("epoch") == cfg.num_epochs
                 else self.evaluate("valid"))
        return self.save(valid, self.evaluate("test"))

    def train_epoch(self, epoch: int, steps: int) -> dict[str, float]:
        cfg = self.config
        lr, iterator = start_training_epoch(cfg, epoch, self.optimizer, self.data, self.distribution)
        self.carried.start_epoch(lr)
        metrics = StepMetrics(steps, epoch * steps + 1, lr, cfg.log_every, cfg.verbose,
                              f"epoch {epoch + 1}/{cfg.num_epochs}", self.writer,
                              metric="perplexity")
        for step in range(steps):
            metrics.record(step, *self.train_step(*next(iterator)))
            if self.averaging:
                self._update_averages()
        check_finite(epoch + 1, metrics.losses, self.variables, self.manager.latest_checkpoint)
        return metrics.means()

    def evaluate(self, split: str = "valid") -> float:
        """Perplexity of a whole split, the state carried from segment to segment
        (validation: ``batch_size`` streams; test: one stream), with the averaged weights
        once averaging has started."""
        batch = self.config.batch_size if split == "valid" else 1
        batches = self.data.dataset(split, batch)
        with self._averaged_weights():
            sums = carried_sums(None, batches, batch, self.config.hidden_size, self.nll_step)
        return float(PERPLEXITY.value(*sums))

    def save(self, valid_perplexity: float, test_perplexity: float) -> dict[str, Any]:
        """Writes ``model.keras`` (with the averaged weights, if averaging) and
        ``result.json``; returns the result."""
        cfg = self.config
        path = os.path.join(cfg.output_dir, MODEL_FILE)
        with self._averaged_weights():
            save_model(self.model, path)
            exported = export_if_asked(self)
        result = {"arc": list(self.model.arc),
                  "architecture": self.model.search_space.to_json(self.model.arc),
                  "valid_perplexity": valid_perplexity, "test_perplexity": test_perplexity,
                  "averaged_sgd": self.averaging, "epochs_trained": int(self.epoch),
                  "model_file": path, **self.facts, **exported}
        write_json(os.path.join(cfg.output_dir, RESULT_FILE), result)
        logging.info("Valid perplexity %.2f, test perplexity %.2f; model saved to %s.",
                     valid_perplexity, test_perplexity, path)
        return result

    # --- internals -----------------------------------------------------------------

    def _train_step(self, inputs, targets):
        cfg = self.config
        ce = bptt_sgd_step(
            lambda x, state: self.model(x, training=True, initial_state=state,
                                        return_state=True),
            self.variables, self.optimizer, inputs, targets, self.carried,
            lambda: self.variables, cfg)
        return ce, tf.exp(ce)

    def _update_averages(self, start: bool = False) -> None:
        """The running mean of the weights over the steps since averaging started."""
        if start:
            self.average_count.assign(0.0)
        self.average_count.assign_add(1.0)
        mu = 1.0 / self.average_count
        for average, variable in zip(self.averages, self.variables):
            average.assign(average + mu * (variable - average))

    @contextlib.contextmanager
    def _averaged_weights(self):
        if not self.averaging:
            yield
            return
        backup = [tf.identity(v) for v in self.variables]
        for variable, average in zip(self.variables, self.averages):
            variable.assign(average)
        try:
            yield
        finally:
            for variable, value in zip(self.variables, backup):
                variable.assign(value)

    def _write_summaries(self, epoch: int, stats: dict[str, float]) -> None:
        with self.writer.as_default(step=epoch):
            for key in ("loss", "perplexity", "learning_rate"):
                tf.summary.scalar(f"train/{key}", stats[key])
            tf.summary.scalar("valid/perplexity", stats["valid_perplexity"])
            tf.summary.scalar("train/averaged_sgd", stats["averaging"])
            save_summaries(self.writer)

