"""The ENAS micro controller: an LSTM that samples a normal and a reduction cell.

Per searched node it runs five LSTM steps: two attention steps pick the input indices
(pointing at earlier nodes' anchors), two softmax steps pick the ops, and one more step
makes the node's anchor. The reduction cell continues from the normal cell's state.
Constants follow the official CIFAR-10 code: 64 units, U(-0.1, 0.1) init, tanh constant
1.1 with op logits reduced by 2.5, op bias ``[10, 10, 0, 0, 0]`` (learnable) plus
``[0.25, 0.25, -0.25, -0.25, -0.25]`` (fixed, normal cell only).
"""

from __future__ import annotations

import tensorflow as tf

from enas_tf.controllers.base import Controller, PolicyRun
from enas_tf.search_spaces.micro import MicroSearchSpace

OP_BIAS_INIT = (10.0, 10.0, 0.0, 0.0, 0.0)
NORMAL_CELL_OP_BIAS = (0.25, 0.25, -0.25, -0.25, -0.25)


class MicroController(Controller):
    """LSTM policy over ``MicroSearchSpace`` (official ``MicroController``).

    Args:
      search_space: the micro space (its ``num_nodes`` and ops).
      lstm_size: LSTM units (64 in the official CIFAR-10 code).
      tanh_constant: logits become ``tanh_constant * tanh(logits)``; None disables.
      op_tanh_reduce: op logits use ``tanh_constant / op_tanh_reduce``.
      temperature: logits are divided by it first; None disables.
      seed: seeds the checkpointable sampling RNG and the initialisation.

    Example:

    ```python
    controller = MicroController(MicroSearchSpace(num_nodes=5))
    arc, log_prob, entropy = controller.sample()    # 40 integers
    ```
    """

    def __init__(self, search_space: MicroSearchSpace, lstm_size: int = 64,
                 tanh_constant: float | None = 1.1, op_tanh_reduce: float = 2.5,
                 temperature: float | None = None, seed: int = 0, name: str = "micro_controller"):
        num_ops = len(search_space.ops)
        if num_ops != len(OP_BIAS_INIT):
            raise ValueError("the official op bias assumes the 5 ENAS micro ops; "
                             f"this space has {num_ops}.")
        super().__init__(search_space, name=name, lstm_size=lstm_size,
                         tanh_constant=tanh_constant, temperature=temperature, seed=seed)
        self.op_tanh_reduce = op_tanh_reduce
        weight = self.weight
        with self.name_scope:
            self.w_emb = weight([num_ops, lstm_size], "w_emb")
            self.w_soft = weight([lstm_size, num_ops], "w_soft")
            self.b_soft = tf.Variable(tf.constant([OP_BIAS_INIT]), name="b_soft")
            self.w_attn_1 = weight([lstm_size, lstm_size], "w_attn_1")
            self.w_attn_2 = weight([lstm_size, lstm_size], "w_attn_2")
            self.v_attn = weight([lstm_size, 1], "v_attn")
        self._normal_op_bias = tf.constant([NORMAL_CELL_OP_BIAS])

    # --- internals -------------------------------------------------------------------

    def _run(self, forced_arc, return_probs=False, greedy=False):
        num_nodes = self.search_space.num_nodes
        op_tanh = None if self.tanh_constant is None else self.tanh_constant / self.op_tanh_reduce
        c = h = tf.zeros([1, self.lstm_size])
        arc, probs_seen = [], []
        neg_log_prob = entropy = tf.constant(0.0)
        for cell in range(2):
            op_bias = self._normal_op_bias if cell == 0 else 0.0
            x = self.g_emb
            anchors, anchors_w_1 = [], []
            for _ in range(2):
                c, h = self._lstm(x, c, h)
                anchors.append(tf.zeros_like(h))
                anchors_w_1.append(tf.matmul(h, self.w_attn_1))
            for node in range(2, num_nodes + 2):
                chosen_inputs = []
                for _ in range(2):
                    c, h = self._lstm(x, c, h)
                    query = tf.tanh(tf.concat(anchors_w_1, 0) + tf.matmul(h, self.w_attn_2))
                    logits = self._shape_logits(
                        tf.reshape(tf.matmul(query, self.v_attn), [1, node]), self.tanh_constant)
                    position = len(arc) + 2 * len(chosen_inputs)
                    forced = None if forced_arc is None else forced_arc[position]
                    index, nlp, ent, probs = self._choose(logits, forced, greedy)
                    neg_log_prob, entropy = neg_log_prob + nlp, entropy + ent
                    probs_seen.append(probs)
                    chosen_inputs.append(index)
                    x = tf.gather(tf.concat(anchors, 0), index)[None]
                chosen_ops = []
                for slot in range(2):
                    c, h = self._lstm(x, c, h)
                    logits = self._shape_logits(tf.matmul(h, self.w_soft) + self.b_soft, op_tanh)
                    logits = logits + op_bias
                    forced = None if forced_arc is None else forced_arc[len(arc) + 2 * slot + 1]
                    op, nlp, ent, probs = self._choose(logits, forced, greedy)
                    neg_log_prob, entropy = neg_log_prob + nlp, entropy + ent
                    probs_seen.append(probs)
                    chosen_ops.append(op)
                    x = tf.gather(self.w_emb, op)[None]
                c, h = self._lstm(x, c, h)
                anchors.append(h)
                anchors_w_1.append(tf.matmul(h, self.w_attn_1))
                x = self.g_emb
                arc += [chosen_inputs[0], chosen_ops[0], chosen_inputs[1], chosen_ops[1]]
        ordered = None
        if return_probs:
            # Reorder to the flat arc layout: per node idx1, op1, idx2, op2.
            ordered = []
            for n in range(0, len(probs_seen), 4):
                i1, i2, o1, o2 = probs_seen[n:n + 4]
                ordered += [i1, o1, i2, o2]
        return PolicyRun(tf.stack(arc), -neg_log_prob, entropy, ordered)
