"""The ENAS recurrent-cell controller, as enas_lm's ``controller.py``.

Per searched node ``l``: an LSTM step whose output attends over the anchors of nodes
``0 .. l-1`` (node 0's anchor is zero) picks the previous node, with the distance
penalty ``logits -= (l - j)^2 / 6`` after the temperature and tanh shaping; the next
input is that anchor divided by ``0.1 + (l - j)``. A second step picks the function from
``h @ w_emb^T`` (the function embeddings are also the softmax), and the function's
embedding is the next input. Constants (enas_lm): LSTM 64, U(-0.01, 0.01) init,
temperature 5, tanh constant 2.25. The entropy of a decision is ``-p log p`` of the
sampled choice, as enas_lm takes it.
"""

from __future__ import annotations

import tensorflow as tf

from enas_tf.controllers.base import Controller, PolicyRun
from enas_tf.search_spaces.rnn import RecurrentCellSearchSpace


class RecurrentCellController(Controller):
    """LSTM policy over ``RecurrentCellSearchSpace``.

    Args:
      search_space: the recurrent-cell space (its ``num_nodes``).
      lstm_size: LSTM units (64 in enas_lm).
      tanh_constant: logits become ``tanh_constant * tanh(logits)``; None disables.
      temperature: logits are divided by it first; None disables.
      distance_penalty: the ``(l - j)^2 / distance_penalty`` subtracted from the
        previous-node logits (6 in enas_lm); 0 disables.
      init_range: weights start uniform in ``[-init_range, init_range]``.
      seed: seeds the checkpointable sampling RNG and the initialisation.

    Example:

    ```python
    controller = RecurrentCellController(RecurrentCellSearchSpace(num_nodes=9))
    arc, log_prob, entropy = controller.sample()
    ```
    """

    def __init__(self, search_space: RecurrentCellSearchSpace, lstm_size: int = 64,
                 tanh_constant: float | None = 2.25, temperature: float | None = 5.0,
                 distance_penalty: float = 6.0, init_range: float = 0.01, seed: int = 0,
                 name: str = "rnn_controller"):
        super().__init__(search_space, name=name, lstm_size=lstm_size,
                         tanh_constant=tanh_constant, temperature=temperature, seed=seed,
                         init_range=init_range)
        self.distance_penalty = distance_penalty
        weight = self.weight
        with self.name_scope:
            self.w_emb = weight([len(search_space.functions), lstm_size], "w_emb")
            self.w_attn_1 = weight([lstm_size, lstm_size], "w_attn_1")
            self.w_attn_2 = weight([lstm_size, lstm_size], "w_attn_2")
            self.v_attn = weight([lstm_size, 1], "v_attn")

    def _run(self, forced_arc, return_probs=False, greedy=False):
        c = h = tf.zeros([1, self.lstm_size])
        x = self.g_emb
        anchors, anchors_w_1 = [tf.zeros([1, self.lstm_size])], [tf.zeros([1, self.lstm_size])]
        pieces, probs_seen = [], []
        neg_log_prob = entropy = tf.constant(0.0)
        for node in range(1, self.search_space.num_nodes + 1):
            position = 2 * (node - 1)
            c, h = self._lstm(x, c, h)
            query = tf.tanh(tf.concat(anchors_w_1, 0) + tf.matmul(h, self.w_attn_2))
            logits = self._shape_logits(tf.reshape(tf.matmul(query, self.v_attn), [1, node]),
                                        self.tanh_constant)
            if self.distance_penalty:
                distance = tf.cast(node - tf.range(node), tf.float32)
                logits -= (distance ** 2 / self.distance_penalty)[None]
            forced = None if forced_arc is None else forced_arc[position:position + 1]
            prev, nlp, ent = self._decide(logits, forced, greedy)
            neg_log_prob, entropy = neg_log_prob + nlp, entropy + ent
            probs_seen.append(tf.nn.softmax(logits))
            anchors.append(h)
            anchors_w_1.append(tf.matmul(h, self.w_attn_1))
            x = tf.gather(tf.concat(anchors[:-1], 0), prev) / (
                0.1 + tf.cast(node - prev, tf.float32))[:, None]

            c, h = self._lstm(x, c, h)
            logits = self._shape_logits(tf.matmul(h, self.w_emb, transpose_b=True),
                                        self.tanh_constant)
            forced = None if forced_arc is None else forced_arc[position + 1:position + 2]
            function, nlp, ent = self._decide(logits, forced, greedy)
            neg_log_prob, entropy = neg_log_prob + nlp, entropy + ent
            probs_seen.append(tf.nn.softmax(logits))
            x = tf.gather(self.w_emb, function)
            pieces += [prev, function]
        return PolicyRun(tf.concat(pieces, 0), -neg_log_prob, entropy,
                         probs_seen if return_probs else None)
