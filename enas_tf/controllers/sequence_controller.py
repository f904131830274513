"""An ENAS-style LSTM controller over any sequence of categorical decisions.

One LSTM step per decision: a per-decision softmax head picks a choice, and that choice's
embedding is the next step's input. The LSTM, the tanh logit shaping and the sampling
are the micro controller's. This is the policy the keras-tuner oracle runs over a user's
own ``hp.Choice`` space.
"""

from __future__ import annotations

import tensorflow as tf

from enas_tf.controllers.base import Controller, PolicyRun
from enas_tf.search_spaces.base import SearchSpace


class SequenceController(Controller):
    """LSTM policy over the decisions of any ``SearchSpace``.

    Args:
      search_space: the decisions to sample, in order.
      lstm_size: LSTM units.
      tanh_constant: logits become ``tanh_constant * tanh(logits)``; None disables.
      temperature: logits are divided by it first; None disables.
      seed: seeds the checkpointable sampling RNG and the initialisation.
    """

    def __init__(self, search_space: SearchSpace, lstm_size: int = 64,
                 tanh_constant: float | None = 1.1, temperature: float | None = None,
                 seed: int = 0, name: str = "sequence_controller"):
        super().__init__(search_space, name=name, lstm_size=lstm_size,
                         tanh_constant=tanh_constant, temperature=temperature, seed=seed)
        with self.name_scope:
            self.w_soft, self.b_soft, self.w_emb = [], [], []
            for i, decision in enumerate(search_space.decisions):
                n = decision.num_choices
                self.w_soft.append(self.weight([lstm_size, n], f"w_soft_{i}"))
                self.b_soft.append(tf.Variable(tf.zeros([1, n]), name=f"b_soft_{i}"))
                self.w_emb.append(self.weight([n, lstm_size], f"w_emb_{i}"))

    def _run(self, forced_arc, return_probs=False, greedy=False):
        c = h = tf.zeros([1, self.lstm_size])
        x = self.g_emb
        arc, probs_seen = [], []
        neg_log_prob = entropy = tf.constant(0.0)
        for i in range(len(self.w_soft)):
            c, h = self._lstm(x, c, h)
            logits = self._shape_logits(tf.matmul(h, self.w_soft[i]) + self.b_soft[i],
                                        self.tanh_constant)
            choice, nlp, ent, probs = self._choose(
                logits, None if forced_arc is None else forced_arc[i], greedy)
            neg_log_prob, entropy = neg_log_prob + nlp, entropy + ent
            probs_seen.append(probs)
            arc.append(choice)
            x = tf.gather(self.w_emb[i], choice)[None]
        return PolicyRun(tf.stack(arc), -neg_log_prob, entropy,
                         probs_seen if return_probs else None)
