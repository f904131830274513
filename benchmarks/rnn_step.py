"""Recurrent-space step time: the ENAS search step vs the fixed published cell, one run.

* search step: what the search loop calls per batch (``LanguageSearchSteps.search_step``):
  the controller samples a cell inside the compiled step, the shared-weight supernet
  (``RecurrentSupernet``, 9 searched nodes by default as enas_lm) runs it with the
  kernels, previous nodes and activations picked by ``tf.gather``, one SGD step;
* supernet, fixed arc: the same step on enas_lm's published cell given as a tensor (no
  controller), to separate sampling from the gathered weights;
* fixed cell: ``RecurrentLanguageModel`` of enas_lm's published 8-node cell in
  ``keras.layers.RNN`` with the same step function (``bptt_sgd_step``).

All at enas_lm's search size (hidden 200, batch 128, BPTT 35, vocabulary 10,000) with its
search dropouts and regularisers, fixed-length segments, synthetic tokens (the time does
not depend on them). GPUs are used when present; this machine has none.

    python benchmarks/rnn_step.py [--steps=10 --hidden_size=200 --bptt=35 --rnn_nodes=9]
"""

from __future__ import annotations

import dataclasses

from common import FLAGS, time_calls  # sys.path too

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from enas_tf.config import SearchConfig  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

flags.DEFINE_integer("hidden_size", 200, "Hidden size (enas_lm search: 200).")
flags.DEFINE_integer("bptt", 35, "Segment length.")
flags.DEFINE_integer("rnn_nodes", 9, "Searched nodes of the supernet (enas_lm: 9).")
flags.DEFINE_integer("vocab_size", 10000, "Vocabulary (PTB: 10,000).")
flags.DEFINE_integer("rnn_batch_size", 128, "Batch (enas_lm search: 128).")


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    from enas_tf.components import get_components
    from enas_tf.models.rnn_lm import RecurrentLanguageModel
    from enas_tf.search_spaces.rnn import ENAS_LM_CELL, RecurrentCellSearchSpace
    from enas_tf.controllers.reinforce import Reinforce
    from enas_tf.training.lm_steps import TOKENS, LanguageSearchSteps, bptt_sgd_step
    from enas_tf.training.optimizers import shared_weight_sgd

    cfg = SearchConfig.for_space("rnn", hidden_size=FLAGS.hidden_size, bptt=FLAGS.bptt,
                                 num_nodes=FLAGS.rnn_nodes, batch_size=FLAGS.rnn_batch_size,
                                 random_bptt=False, output_dir="/tmp/unused")
    gpus = tf.config.list_physical_devices("GPU")
    print(f"rnn: hidden {cfg.hidden_size}, batch {cfg.batch_size}, BPTT {cfg.bptt}, vocabulary "
          f"{FLAGS.vocab_size}, supernet of {cfg.num_nodes} nodes, {FLAGS.steps} timed steps; "
          f"{f'{len(gpus)} GPU(s)' if gpus else 'no GPU: CPU only'}, TF {tf.__version__}")
    rng = np.random.default_rng(0)
    tokens = tf.constant(rng.integers(0, FLAGS.vocab_size, (cfg.batch_size, cfg.bptt + 1)),
                         tf.int32)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    components = get_components("rnn")

    # The search loop's steps, built as the ENAS strategy builds them.
    space = components.make_space(cfg)
    supernet = components.make_supernet(space, cfg, FLAGS.vocab_size).build_for()
    optimizer = shared_weight_sgd(cfg.lr_max, 0.0, cfg.grad_bound, supernet.trainable_variables,
                                  nesterov=False, clip="global")
    controller = components.make_controller(space, cfg)
    reinforce = Reinforce(controller, cfg.controller_lr, **components.reinforce_kwargs)
    # The steps make_search_steps gives a text search (what the ENAS strategy runs).
    steps = LanguageSearchSteps(supernet, optimizer, reinforce, tf.distribute.get_strategy(), cfg)
    rows = [("search step (controller sample + supernet)",
             time_calls(lambda: steps.search_step(inputs, targets), FLAGS.steps))]
    published = RecurrentCellSearchSpace(8).from_string(ENAS_LM_CELL)
    if cfg.num_nodes >= 8:  # the published cell, extra nodes reading their predecessor
        padded = published + tuple(v for n in range(8, cfg.num_nodes) for v in (n, 0))
        arc = tf.constant(padded, tf.int32)
        rows.append(("supernet step, fixed arc (no controller)",
                     time_calls(lambda: steps.train_step(inputs, targets, arc), FLAGS.steps)))

    fixed_cfg = dataclasses.replace(cfg, num_nodes=8)
    model = components.make_final_model(RecurrentCellSearchSpace(8), published, fixed_cfg,
                                        FLAGS.vocab_size).build_for()
    assert isinstance(model, RecurrentLanguageModel)
    fixed_optimizer = shared_weight_sgd(cfg.lr_max, 0.0, cfg.grad_bound,
                                        model.trainable_variables, nesterov=False, clip="global")
    state = tf.Variable(tf.zeros([cfg.batch_size, cfg.hidden_size]), trainable=False)
    base_lr = tf.Variable(cfg.lr_max)

    @tf.function(input_signature=[TOKENS, TOKENS])
    def fixed_step(x, y):
        ce, last = bptt_sgd_step(
            lambda a, s: model(a, training=True, initial_state=s, return_state=True),
            model.trainable_variables, fixed_optimizer, x, y, state, base_lr, cfg.bptt,
            lambda: model.trainable_variables, cfg)
        state.assign(last)
        return ce

    rows.append(("fixed published cell (keras.layers.RNN)",
                 time_calls(lambda: fixed_step(inputs, targets), FLAGS.steps)))
    reference = rows[-1][1][1]
    print(f"{'variant':46s} {'first call':>11s} {'median step':>12s} {'vs fixed':>9s}")
    for name, (first, median) in rows:
        print(f"{name:46s} {first:10.2f}s {median:11.4f}s {median / reference:8.2f}x")


if __name__ == "__main__":
    app.run(main)
