"""The start every loop shares: validated settings, the run directory, the devices, the
seeds, the epoch counter, checkpoints and the TensorBoard writer.

Example:

```python
class MyLoop(RunLoop):
    def __init__(self, config, data, distribution=None):
        super().__init__(config, data, distribution)
        with self.distribution.scope():
            self.model = ...
        self.track(self.model, model=self.model)
```
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import keras
import tensorflow as tf
from absl import logging

from enas_tf.components import get_components
from enas_tf.training.checkpoints import RunCheckpoints
from enas_tf.training.run_dir import model_state, setup_run, summary_writer


def with_data_source(config, data):
    """``config`` with ``dataset`` naming where ``data`` came from (``data.source``: a
    ``--dataset`` value, or ``arrays:<fingerprint>`` for a user's arrays), so the data
    given are the truth and ``config.json`` records them: a resume on other data is
    refused in one line."""
    source = getattr(data, "source", None)
    if not source or getattr(config, "dataset", source) == source:
        return config
    if config.dataset != type(config).__dataclass_fields__["dataset"].default:
        logging.info("dataset=%s recorded as %s, the data given.", config.dataset, source)
    return dataclasses.replace(config, dataset=source)


class RunLoop:
    """Base of the search and final-training loops.

    Args:
      config: all settings; validated here.
      data: the splits or text streams.
      distribution: a ``tf.distribute`` strategy; if None, the one ``config`` asks for
        (``num_devices``, ``devices``, ``multi_worker``).
    """

    def __init__(self, config, data, distribution: tf.distribute.Strategy | None = None):
        config = with_data_source(config, data).validate()
        get_components(config.search_space).check_data(config, data)
        self.config, self.data, self.distribution = setup_run(config, data, distribution)
        tf.random.set_seed(self.config.seed)
        keras.utils.set_random_seed(self.config.seed)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epochs_done")

    def track(self, network, /, **items) -> None:
        """Checkpoints ``network`` (all its variables, ``model_state``), the epoch counter
        and ``items`` in ``config.output_dir``."""
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch,
                                              model_variables=model_state(network), **items)
        self.manager = RunCheckpoints(self.checkpoint, self.config.output_dir,
                                      self.config.max_checkpoints, network.variables)

    @functools.cached_property
    def writer(self):
        """The TensorBoard writer, made at first use (inside ``run``, once the run holds
        its directory: a refused run leaves no events file)."""
        return summary_writer(self.config.output_dir)

    @property
    def strategy(self) -> tf.distribute.Strategy:
        """Deprecated name of ``distribution`` (the ``tf.distribute`` strategy)."""
        warnings.warn("`strategy` of a loop is now `distribution`; the old name goes in the "
                      "next release.", DeprecationWarning, stacklevel=2)
        return self.distribution
