"""Progress bars for the long loops (shared-weight steps, controller updates, derivation,
final-training epochs), with rate and ETA.

On a terminal this is Keras' ``Progbar``, redrawn in place. Written to a file or a pipe,
a redrawn bar would be noise, so a plain line with the same facts is printed at most
every ``log_interval`` seconds and at the end. ``verbose=0`` prints nothing: the loops'
log lines remain. Every update is also where a run stops on SIGTERM or SIGINT
(``enas_tf.training.signals.check_stop``): between two units of work, never inside one.

The first unit of a process also traces its ``tf.function``, so rates and ETAs are
measured from the end of the first update on, and none is shown before that.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Sequence

import keras

from enas_tf.training.signals import check_stop


class Progress:
    """Progress of ``target`` units of work.

    Example:

    ```python
    progress = Progress(100, verbose=1, title="epoch 1/30")
    for step in range(100):
        loss = train_step()
        progress.update(step + 1, [("loss", float(loss))])
    ```

    Values are averaged over the updates so far, except the names in ``stateful``,
    which show their latest value.
    """

    def __init__(self, target: int, verbose: int = 1, title: str = "", unit: str = "step",
                 stateful: Sequence[str] = (), log_interval: float = 30.0, stream=None):
        self.target, self.verbose, self.title, self.unit = target, verbose, title, unit
        self.stateful, self.log_interval = set(stateful), log_interval
        self.stream = stream or sys.stdout
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None
        self.began = self.last_line = time.time()
        self.totals: dict[str, list[float]] = {}
        self.first: tuple[int, float] | None = None  # (units, time) at the first update
        if verbose and self.interactive:
            if title:
                print(title, file=self.stream, flush=True)
            self.bar = keras.utils.Progbar(target, verbose=1, unit_name=unit,
                                           stateful_metrics=list(stateful))

    def update(self, current: int, values: Sequence[tuple[str, float]] = ()) -> None:
        check_stop()
        if self.first is None:
            self.first = (current, time.time())
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.update(current, values=list(values))
            return
        for name, value in values:
            total = self.totals.setdefault(name, [0.0, 0])
            if name in self.stateful:
                total[:] = [value, 1]
            else:
                total[0], total[1] = total[0] + value, total[1] + 1
        now = time.time()
        if current >= self.target or now - self.last_line >= self.log_interval:
            self.last_line = now
            print(self.line(current, now), file=self.stream, flush=True)

    def line(self, current: int, now: float | None = None) -> str:
        """The plain progress line: done/target, rate and ETA once known (or the time
        taken), and the values."""
        now = now or time.time()
        elapsed = max(now - self.began, 1e-9)
        first_units, first_time = self.first or (current, now)
        rate = None
        if current > first_units and now > first_time:  # excludes the first unit's tracing
            rate = (current - first_units) / (now - first_time)
        if current >= self.target:
            timing = f"{elapsed:.0f}s"
        elif rate:
            timing = f"ETA {(self.target - current) / rate:.0f}s"
        else:
            timing = "ETA after the next update"
        rate_text = f"{rate:.2f} {self.unit}s/s, " if rate else ""
        values = "".join(f" - {name}: {total / max(count, 1):.4f}"
                         for name, (total, count) in self.totals.items())
        prefix = f"{self.title}: " if self.title else ""
        return f"{prefix}{current}/{self.target} {self.unit}s, {rate_text}{timing}{values}"


def format_duration(seconds: float) -> str:
    """``75`` -> ``1m15s``; ``4000`` -> ``1h06m40s``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{seconds:02d}s"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class EpochClock:
    """Times epochs and estimates the rest of the run from the mean epoch after the
    first of this process (which also traces the steps, so it says little about the
    others); after that first epoch alone no ETA is given."""

    def __init__(self, num_epochs: int):
        self.num_epochs = num_epochs
        self.started = time.time()
        self.laps: list[float] = []

    def lap(self, epochs_done: int) -> str:
        """Call when an epoch ends: ``"done in 12s, ETA 5m30s"``."""
        now = time.time()
        seconds, self.started = now - self.started, now
        self.laps.append(seconds)
        remaining = self.num_epochs - epochs_done
        eta = ""
        if remaining and len(self.laps) > 1:
            typical = sum(self.laps[1:]) / len(self.laps[1:])
            eta = f", ETA {format_duration(typical * remaining)}"
        elif remaining:
            eta = ", ETA after the next epoch (this one included tracing)"
        return f"done in {format_duration(seconds)}{eta}"


class StepMetrics:
    """The loss and accuracy (or perplexity) of an epoch's training steps, kept on the
    device and read only every ``log_every`` steps and at the end (reading a value per
    step would stall an accelerator's pipeline). At those points it updates the progress
    bar, writes the ``train/step_*`` scalars to ``writer`` and, at ``verbose=0``, logs a
    line.
    """

    def __init__(self, steps: int, first_global_step: int, learning_rate: float,
                 log_every: int, verbose: int, title: str, writer, metric: str = "accuracy"):
        self.steps, self.first_global_step, self.lr = steps, first_global_step, learning_rate
        self.log_every, self.verbose, self.title, self.writer = log_every, verbose, title, writer
        self.progress = Progress(steps, verbose, title, stateful=["lr"])
        self.losses, self.accuracies = [], []
        self.metric = metric  # "accuracy", or "perplexity" (the epoch's is exp(mean loss))
        self.began = time.time()

    def record(self, step: int, loss, accuracy) -> None:
        """Call after step ``step`` (0-based) with its (device) loss and accuracy."""
        import tensorflow as tf
        from absl import logging

        self.losses.append(loss)
        self.accuracies.append(accuracy)
        if step % self.log_every and step != self.steps - 1:
            self.progress.update(step + 1)
            return
        loss, accuracy = float(loss), float(accuracy)
        self.progress.update(step + 1, [("loss", loss), (self.metric, accuracy),
                                        ("lr", self.lr)])
        with self.writer.as_default(step=self.first_global_step + step):
            tf.summary.scalar("train/step_loss", loss)
            tf.summary.scalar(f"train/step_{self.metric}", accuracy)
        if not self.verbose:
            logging.info("%s step %d/%d: loss %.3f %s %.3f lr %.5f (%.2fs/step)", self.title,
                         step + 1, self.steps, loss, self.metric, accuracy, self.lr,
                         (time.time() - self.began) / (step + 1))

    def means(self) -> dict[str, float]:
        """The epoch's mean loss and accuracy, and its learning rate."""
        import tensorflow as tf

        loss = float(tf.reduce_mean(tf.stack(self.losses)))
        value = (math.exp(min(loss, 700.0)) if self.metric == "perplexity"
                 else float(tf.reduce_mean(tf.stack(self.accuracies))))
        return {"loss": loss, self.metric: value, "learning_rate": self.lr}
