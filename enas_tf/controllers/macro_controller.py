"""The ENAS macro controller (official ``GeneralController``, whole-channel search).

Per layer: one LSTM step picks the op (softmax over the branches); a second step, fed
the op's embedding, attends over the anchors of the earlier layers and samples every
skip bit from the 2-way logits ``[-q_j, q_j]``; the next input is the mean of the chosen
layers' anchors (``sum s_j a_j / (1 + sum s_j)``), or the start token after layer 0.

Constants follow the official macro scripts: LSTM 64, U(-0.1, 0.1) init, tanh constant
1.5, no temperature, no op bias. As in the official code the entropy of a decision is
``-p log p`` of the sampled choice only (not the softmax entropy the micro controller
uses), and the skip penalty, ``skip_weight`` times the mean over layers of
``sum_j KL(sigmoid(logits_j) || [1 - skip_target, skip_target])``, is added to the
REINFORCE loss.
"""

from __future__ import annotations

import tensorflow as tf

from enas_tf.controllers.base import Controller, PolicyRun
from enas_tf.search_spaces.macro import MacroSearchSpace


class MacroController(Controller):
    """LSTM policy over ``MacroSearchSpace``.

    Args:
      search_space: the macro space (layers and branches).
      lstm_size: LSTM units (64 in the official code).
      tanh_constant: logits become ``tanh_constant * tanh(logits)``; None disables.
      temperature: logits are divided by it first; None disables.
      skip_target: the skip probability the penalty pulls towards (0.4 official).
      skip_weight: weight of the skip penalty in the loss (0.8 official; 0 disables).
      seed: seeds the checkpointable sampling RNG and the initialisation.

    Example:

    ```python
    controller = MacroController(MacroSearchSpace(num_layers=12))
    arc, log_prob, entropy = controller.sample()
    ```
    """

    stat_names = ("skip_rate", "skip_penalty")

    def __init__(self, search_space: MacroSearchSpace, lstm_size: int = 64,
                 tanh_constant: float | None = 1.5, temperature: float | None = None,
                 skip_target: float = 0.4, skip_weight: float = 0.8, seed: int = 0,
                 name: str = "macro_controller"):
        if not 0.0 < skip_target < 1.0:
            raise ValueError(f"skip_target must be in (0, 1), got {skip_target}.")
        super().__init__(search_space, name=name, lstm_size=lstm_size,
                         tanh_constant=tanh_constant, temperature=temperature, seed=seed)
        self.skip_target, self.skip_weight = skip_target, skip_weight
        weight = self.weight
        branches = search_space.num_branches
        with self.name_scope:
            self.w_emb = weight([branches, lstm_size], "w_emb")
            self.w_soft = weight([lstm_size, branches], "w_soft")
            self.w_attn_1 = weight([lstm_size, lstm_size], "w_attn_1")
            self.w_attn_2 = weight([lstm_size, lstm_size], "w_attn_2")
            self.v_attn = weight([lstm_size, 1], "v_attn")
        self._skip_targets = tf.constant([1.0 - skip_target, skip_target])

    def _run(self, forced_arc, return_probs=False, greedy=False):
        num_layers = self.search_space.num_layers
        c = h = tf.zeros([1, self.lstm_size])
        x = self.g_emb
        anchors, anchors_w_1, pieces, probs_seen, penalties = [], [], [], [], []
        neg_log_prob = entropy = skips_taken = tf.constant(0.0)
        position = 0
        for layer in range(num_layers):
            c, h = self._lstm(x, c, h)
            logits = self._shape_logits(tf.matmul(h, self.w_soft), self.tanh_constant)
            forced = None if forced_arc is None else forced_arc[position:position + 1]
            op, nlp, ent = self._decide(logits, forced, greedy)
            neg_log_prob, entropy = neg_log_prob + nlp, entropy + ent
            probs_seen.append(tf.nn.softmax(logits))
            pieces.append(op)
            position += 1
            c, h = self._lstm(tf.gather(self.w_emb, op), c, h)
            if layer > 0:
                query = tf.tanh(tf.concat(anchors_w_1, 0) + tf.matmul(h, self.w_attn_2))
                query = tf.matmul(query, self.v_attn)  # [layer, 1]
                logits = self._shape_logits(tf.concat([-query, query], 1), self.tanh_constant)
                forced = None if forced_arc is None else forced_arc[position:position + layer]
                skips, nlp, ent = self._decide(logits, forced, greedy)
                neg_log_prob, entropy = neg_log_prob + nlp, entropy + ent
                skip_prob = tf.sigmoid(logits)
                penalties.append(tf.reduce_sum(
                    skip_prob * tf.math.log(skip_prob / self._skip_targets)))
                probs_seen += [row[None] for row in tf.unstack(tf.nn.softmax(logits))]
                pieces.append(skips)
                position += layer
                chosen = tf.cast(skips, tf.float32)[None]  # [1, layer]
                skips_taken += tf.reduce_sum(chosen)
                x = tf.matmul(chosen, tf.concat(anchors, 0)) / (1.0 + tf.reduce_sum(chosen))
            else:
                x = self.g_emb
            anchors.append(h)
            anchors_w_1.append(tf.matmul(h, self.w_attn_1))
        skip_penalty = tf.reduce_mean(tf.stack(penalties)) if penalties else tf.constant(0.0)
        stats = {"skip_rate": skips_taken / float(max(1, self.search_space.num_skips)),
                 "skip_penalty": skip_penalty}
        return PolicyRun(tf.concat(pieces, 0), -neg_log_prob, entropy,
                         probs_seen if return_probs else None,
                         self.skip_weight * skip_penalty, stats)
