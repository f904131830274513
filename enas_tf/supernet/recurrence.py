"""What the recurrent-cell supernets share: the space, the cell's variational dropouts,
the initial state's kernel ``W_prev``, and the ``tf.scan`` over time around one cell
step (a graph loop: one trace serves every architecture and segment length).

Example:

```python
class MySupernet(RecurrentSupernetBase):
    def call(self, tokens, arc=None, training=False, **kwargs):
        return self.run_cells(tokens, lambda x, h, x_mask, h_mask: ..., training,
                              **kwargs)
```
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from enas_tf.models.rnn_lm import TiedLanguageModel
from enas_tf.search_spaces.rnn import RecurrentCellSearchSpace


class RecurrentSupernetBase(TiedLanguageModel):
    """A tied language model whose cell is any cell of ``search_space``.

    Args:
      search_space: the recurrent-cell space.
      vocab_size, hidden_size, drop_cell_input, drop_hidden, and the
        ``TiedLanguageModel`` arguments: as ``RecurrentLanguageModel``.
    """

    def __init__(self, search_space: RecurrentCellSearchSpace, vocab_size: int,
                 hidden_size: int, drop_cell_input: float = 0.0, drop_hidden: float = 0.0,
                 **kwargs):
        super().__init__(vocab_size, hidden_size, **kwargs)
        self.search_space = search_space
        self.drop_cell_input, self.drop_hidden = float(drop_cell_input), float(drop_hidden)
        self.kernel_init = keras.initializers.RandomUniform(-self.init_range, self.init_range,
                                                            seed=self.seed)
        h = self.hidden_size
        self.w_prev = self.add_weight(shape=(2 * h, 2 * h), initializer=self.kernel_init,
                                      name="w_prev")

    def run_cells(self, tokens, step: Callable, training: bool, return_aux: bool = False,
                  initial_state=None, return_state: bool = False):
        """Logits of ``tokens`` ``[B, T]`` with ``step(x_t, h, x_mask, h_mask) -> h_t``
        scanned over time (masks: one per sequence, None when off); with
        ``return_state``, also the last state and the cell outputs."""
        tokens = tf.cast(tokens, tf.int32)
        batch = tf.shape(tokens)[0]
        embedded = self.embed(tokens, training)
        x_mask = h_mask = None
        if training and self.drop_cell_input:
            x_mask = self._mask([batch, self.hidden_size], self.drop_cell_input)
        if training and self.drop_hidden:
            h_mask = self._mask([batch, self.hidden_size], self.drop_hidden)
        state = self.zero_state(batch) if initial_state is None else initial_state
        outputs = tf.scan(lambda h, x: step(x, h, x_mask, h_mask),
                          tf.transpose(embedded, [1, 0, 2]), initializer=state)
        outputs = tf.transpose(outputs, [1, 0, 2])
        logits = self.project(outputs, training)
        if return_state:
            return logits, outputs[:, -1], outputs
        return (logits, None) if return_aux else logits

    def build_for(self, input_shape=None):
        """Creates the weights with a discrete cell (``input_shape`` is ignored)."""
        self(tf.zeros([2, 2], tf.int32), arc=tf.zeros([self.search_space.num_decisions],
                                                      tf.int32))
        return self
