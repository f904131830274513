"""Recurrent-space step times, one run: the ENAS search step vs the fixed published cell,
and DARTS's (first and second order) and GDAS's steps vs a fixed DARTS_V2 cell.

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
not depend on them). Then, at DARTS's recurrent search size (hidden 300, batch 256 unless
``--darts_batch_size``, 8 nodes, its dropouts):

* DARTS first order: what ``DARTSStrategy.step`` runs per batch, an architecture step on
  a validation segment (every function of all 36 edges, weighted) then a weight step;
* DARTS second order: the same with the unrolled architecture gradient (``--unrolled``);
* GDAS: a weight step and an architecture step, each on one hard Gumbel sample;
* fixed DARTS_V2 cell: ``RecurrentLanguageModel`` of DARTS_V2, one weight step
  (``bptt_sgd_step``).

A search step runs two passes (architecture and weights), so 2x the fixed cell is the
floor of DARTS's and GDAS's ratio. GPUs are used when present; this machine has none.

    python benchmarks/rnn_step.py [--steps=10 --hidden_size=200 --bptt=35 --rnn_nodes=9
                                   --darts_batch_size=256 --darts_hidden_size=300
                                   --parts=enas,darts]
"""

from __future__ import annotations

import dataclasses

from common import FLAGS, time_interleaved  # sys.path too

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
flags.DEFINE_integer("darts_batch_size", 256, "DARTS's recurrent search batch (256).")
flags.DEFINE_integer("darts_hidden_size", 300, "DARTS's recurrent search size (300).")
flags.DEFINE_list("parts", ["enas", "darts"], "Which comparisons to run: enas, darts.")


def print_rows(rows, reference: float, title: str, extra: dict | None = None) -> None:
    print(f"{title}\n{'variant':46s} {'first call':>11s} {'median step':>12s} {'vs fixed':>9s}")
    for name, (first, median) in rows:
        more = "".join(f" {median / value:8.2f}x {label}" for label, value in
                       (extra or {}).get(name, []))
        print(f"{name:46s} {first:10.2f}s {median:11.4f}s {median / reference:8.2f}x{more}")


def fixed_step_of(model, cfg):
    """The compiled weight step of a fixed language model (``bptt_sgd_step``)."""
    from enas_tf.training.lm_steps import TOKENS, bptt_sgd_step
    from enas_tf.training.optimizers import shared_weight_sgd

    optimizer = shared_weight_sgd(cfg.lr_max, 0.0, cfg.grad_bound, model.trainable_variables,
                                  nesterov=False, clip="global", weight_decay=cfg.weight_decay)
    state = tf.Variable(tf.zeros([cfg.batch_size, cfg.hidden_size]), trainable=False)
    base_lr = tf.Variable(cfg.lr_max)

    @tf.function(input_signature=[TOKENS, TOKENS])
    def fixed_step(x, y):
        ce, last = bptt_sgd_step(
            lambda a, s: model(a, training=True, initial_state=s, return_state=True),
            model.trainable_variables, optimizer, x, y, state, base_lr, cfg.bptt,
            lambda: model.trainable_variables, cfg)
        state.assign(last)
        return ce

    return fixed_step


def tokens_of(cfg):
    rng = np.random.default_rng(0)
    tokens = tf.constant(rng.integers(0, FLAGS.vocab_size, (cfg.batch_size, cfg.bptt + 1)),
                         tf.int32)
    return tokens[:, :-1], tokens[:, 1:]


def darts_rows():
    """DARTS 1st/2nd order and GDAS steps against a fixed DARTS_V2 cell."""
    from enas_tf.components import get_components
    from enas_tf.data.metrics import PERPLEXITY
    from enas_tf.search_spaces.rnn import RecurrentCellSearchSpace
    from enas_tf.strategies import StrategyContext, get_strategy
    from enas_tf.config import FinalConfig

    components = get_components("rnn")
    base = dict(hidden_size=FLAGS.darts_hidden_size, bptt=FLAGS.bptt, batch_size=FLAGS.darts_batch_size, random_bptt=False,
                output_dir="/tmp/unused")
    rows = []
    for name, strategy, extra in (("DARTS first order (arch + weight step)", "darts", {}),
                                  ("DARTS second order (unrolled)", "darts", {"unrolled": True}),
                                  ("GDAS (weight + arch step, one sample each)", "gdas", {})):
        cfg = SearchConfig.for_space("rnn", strategy=strategy, **base, **extra)
        space = components.make_space(cfg)
        supernet = components.make_supernet(space, cfg, FLAGS.vocab_size).build_for()
        strategy_class = get_strategy(strategy)
        optimizer = strategy_class.make_weight_optimizer(cfg, supernet.trainable_variables)
        method = strategy_class(StrategyContext(
            config=cfg, search_space=space, components=components, supernet=supernet,
            optimizer=optimizer, distribution=tf.distribute.get_strategy(), data=None,
            metric=PERPLEXITY, count_correct=None))
        inputs, targets = tokens_of(cfg)
        rows.append((name, lambda m=method, x=inputs, y=targets: m.step(x, y, x, y)))
    final = FinalConfig.for_space("rnn", **base, num_nodes=8,
                                  softmax_bias=True, init_range=0.04, weight_decay=5e-7,
                                  l2_reg=0.0, drop_word=0.0, slowness_reg=1e-3,
                                  activation_reg=0.0)
    space = RecurrentCellSearchSpace(8)
    model = components.make_final_model(space, space.from_string("DARTS_V2"), final,
                                        FLAGS.vocab_size).build_for()
    step = fixed_step_of(model, final)
    inputs, targets = tokens_of(final)
    rows.append(("fixed DARTS_V2 cell (keras.layers.RNN)", lambda: step(inputs, targets)))
    return timed(rows), final


def timed(rows):
    """``(name, (first call, median))`` of each ``(name, call)``, timed in turns."""
    return list(zip([name for name, _ in rows],
                    time_interleaved([call for _, call in rows], FLAGS.steps)))


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    if "enas" in FLAGS.parts:
        enas_rows()
    if "darts" in FLAGS.parts:
        rows, cfg = darts_rows()
        print(f"darts: hidden {cfg.hidden_size}, batch {cfg.batch_size}, BPTT {cfg.bptt}, "
              f"vocabulary {FLAGS.vocab_size}, 8 nodes (36 edges), {FLAGS.steps} timed steps")
        darts1 = rows[0][1][1]
        print_rows(rows, rows[-1][1][1], "DARTS / GDAS vs the fixed DARTS_V2 cell (timed in turns)",
                   {rows[2][0]: [("vs DARTS 1st", darts1)]})


def enas_rows():
    from enas_tf.components import get_components
    from enas_tf.models.rnn_lm import RecurrentLanguageModel
    from enas_tf.search_spaces.rnn import ENAS_LM_CELL, RecurrentCellSearchSpace
    from enas_tf.controllers.reinforce import Reinforce
    from enas_tf.training.lm_steps import LanguageSearchSteps
    from enas_tf.training.optimizers import shared_weight_sgd

    cfg = SearchConfig.for_space("rnn", hidden_size=FLAGS.hidden_size, bptt=FLAGS.bptt,
                                 num_nodes=FLAGS.rnn_nodes, batch_size=FLAGS.rnn_batch_size,
                                 random_bptt=False, output_dir="/tmp/unused")
    gpus = tf.config.list_physical_devices("GPU")
    print(f"rnn: hidden {cfg.hidden_size}, batch {cfg.batch_size}, BPTT {cfg.bptt}, vocabulary "
          f"{FLAGS.vocab_size}, supernet of {cfg.num_nodes} nodes, {FLAGS.steps} timed steps; "
          f"{f'{len(gpus)} GPU(s)' if gpus else 'no GPU: CPU only'}, TF {tf.__version__}")
    inputs, targets = tokens_of(cfg)
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
             lambda: steps.search_step(inputs, targets))]
    published = RecurrentCellSearchSpace(8).from_string(ENAS_LM_CELL)
    if cfg.num_nodes >= 8:  # the published cell, extra nodes reading their predecessor
        padded = published + tuple(v for n in range(8, cfg.num_nodes) for v in (n, 0))
        arc = tf.constant(padded, tf.int32)
        rows.append(("supernet step, fixed arc (no controller)",
                     lambda: steps.train_step(inputs, targets, arc)))

    fixed_cfg = dataclasses.replace(cfg, num_nodes=8)
    model = components.make_final_model(RecurrentCellSearchSpace(8), published, fixed_cfg,
                                        FLAGS.vocab_size).build_for()
    assert isinstance(model, RecurrentLanguageModel)
    fixed_step = fixed_step_of(model, cfg)
    rows.append(("fixed published cell (keras.layers.RNN)",
                 lambda: fixed_step(inputs, targets)))
    rows = timed(rows)
    print_rows(rows, rows[-1][1][1], "ENAS vs the fixed published cell (timed in turns)")


if __name__ == "__main__":
    app.run(main)
