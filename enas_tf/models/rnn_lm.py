"""Word-level language models around an ENAS recurrent cell, with enas_lm's tied
embedding and dropouts.

``TiedLanguageModel`` holds what the search supernet and the final model share: one
``[vocab, H]`` embedding that is also the softmax (tied), the word dropout (whole rows
of the embedding, ``drop_word``), the variational embedding dropout (one mask per
sequence, ``drop_embedding``) and the variational output dropout (``drop_output``).
``RecurrentLanguageModel`` runs one fixed cell in ``keras.layers.RNN``.

Every call takes ``tokens`` ``[B, T]`` and returns logits ``[B, T, vocab]``; with
``return_state=True`` also the last hidden state and the cell outputs ``[B, T, H]``
(for the activation regularisers). ``initial_state`` carries the state across the
segments of truncated BPTT. ``softmax_bias`` adds a bias to the tied softmax (DARTS's
decoder has one; enas_lm's has none).
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from enas_tf.layers.rnn_cell import EnasRnnCell
from enas_tf.models.progress import NothingRamps


class TiedLanguageModel(keras.Model):
    """The embedding, dropouts and tied softmax of the ENAS language models."""

    def __init__(self, vocab_size: int, hidden_size: int, drop_word: float = 0.0,
                 drop_embedding: float = 0.0, drop_output: float = 0.0,
                 init_range: float = 0.05, seed: int | None = None, softmax_bias: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.hidden_size = int(vocab_size), int(hidden_size)
        self.drop_word, self.drop_embedding = float(drop_word), float(drop_embedding)
        self.drop_output, self.init_range, self.seed = float(drop_output), float(init_range), seed
        self.dropout_seeds = keras.random.SeedGenerator(seed)
        self.embedding = self.add_weight(
            shape=(self.vocab_size, self.hidden_size), name="embedding",
            initializer=keras.initializers.RandomUniform(-init_range, init_range, seed=seed))
        self.softmax_bias = bool(softmax_bias)
        self.bias = (self.add_weight(shape=(self.vocab_size,), initializer="zeros",
                                     name="softmax_bias") if softmax_bias else None)

    def _mask(self, shape, rate):
        keep = 1.0 - rate
        return tf.floor(keras.random.uniform(shape, seed=self.dropout_seeds) + keep) / keep

    def embed(self, tokens, training: bool):
        weights = self.embedding
        if training and self.drop_word:
            weights = weights * self._mask([self.vocab_size, 1], self.drop_word)
        embedded = tf.gather(weights, tokens)
        if training and self.drop_embedding:
            embedded = embedded * self._mask([tf.shape(tokens)[0], 1, self.hidden_size],
                                             self.drop_embedding)
        return embedded

    def project(self, outputs, training: bool):
        if training and self.drop_output:
            outputs = outputs * self._mask([tf.shape(outputs)[0], 1, self.hidden_size],
                                           self.drop_output)
        logits = tf.einsum("bth,vh->btv", outputs, self.embedding)
        return logits if self.bias is None else logits + self.bias

    def zero_state(self, batch_size: int):
        return tf.zeros([batch_size, self.hidden_size], self.compute_dtype)

    def build_for(self, input_shape=None):
        """Creates the weights (``input_shape`` is ignored: tokens need none)."""
        self(tf.zeros([1, 2], tf.int32))
        return self

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "hidden_size": self.hidden_size, "drop_word": self.drop_word,
                "drop_embedding": self.drop_embedding, "drop_output": self.drop_output,
                "init_range": self.init_range, "seed": self.seed,
                "softmax_bias": self.softmax_bias}


@keras.saving.register_keras_serializable(package="enas_tf")
class RecurrentLanguageModel(NothingRamps, TiedLanguageModel):
    """A language model of one ENAS recurrent cell (enas_lm's fixed model).

    Args:
      arc: the cell, validated by ``search_space`` if given.
      vocab_size, hidden_size: the embedding is ``[vocab_size, hidden_size]``.
      drop_cell_input, drop_hidden: the cell's variational ``x_t`` / node-input masks.
      drop_word, drop_embedding, drop_output, init_range, softmax_bias: see
        ``TiedLanguageModel``.
      concat: without ``search_space``, the nodes the output averages (None: all).

    Example:

    ```python
    model = RecurrentLanguageModel(space.from_string(ENAS_LM_CELL), vocab_size=10000,
                                   hidden_size=800)
    logits = model(tokens)                       # [B, T, 10000]
    darts_v2 = RecurrentLanguageModel(space.from_string("DARTS_V2"), vocab_size=10000,
                                      hidden_size=850, softmax_bias=True)
    ```
    """

    def __init__(self, arc: Sequence[int], vocab_size: int, hidden_size: int,
                 drop_cell_input: float = 0.0, drop_hidden: float = 0.0, search_space=None,
                 concat: Sequence[int] | None = None, **kwargs):
        super().__init__(vocab_size, hidden_size, **kwargs)
        if search_space is None:
            from enas_tf.search_spaces.rnn import RecurrentCellSearchSpace

            search_space = RecurrentCellSearchSpace(len(arc) // 2, concat)
        self.search_space = search_space
        self.arc = search_space.validate(arc)
        self.drop_cell_input, self.drop_hidden = float(drop_cell_input), float(drop_hidden)
        self.cell = EnasRnnCell(self.arc, hidden_size, dropout=drop_cell_input,
                                recurrent_dropout=drop_hidden, init_range=self.init_range,
                                seed=self.seed, name="enas_cell",
                                concat=None if search_space.averages_all
                                else search_space.concat)
        self.rnn = keras.layers.RNN(self.cell, return_sequences=True, return_state=True,
                                    name="rnn")

    def call(self, tokens, training=False, initial_state=None, return_state=False):
        tokens = tf.cast(tokens, tf.int32)
        embedded = self.embed(tokens, training)
        if initial_state is None:
            initial_state = self.zero_state(tf.shape(tokens)[0])
        outputs, state = self.rnn(embedded, initial_state=[initial_state], training=training)
        logits = self.project(outputs, training)
        return (logits, state, outputs) if return_state else logits

    def multiply_adds_per_token(self) -> int:
        """Multiply-adds of one time step: the cell's products and the tied softmax."""
        h, nodes = self.hidden_size, len(self.arc) // 2
        return 2 * h * (2 * h) + nodes * h * 2 * h + h * self.vocab_size

    def get_config(self):
        return {**super().get_config(), "arc": list(self.arc),
                "drop_cell_input": self.drop_cell_input, "drop_hidden": self.drop_hidden,
                "concat": list(self.search_space.concat)}
