"""The recurrent-cell space's parts: ``RecurrentCellSearchSpace``, ``RecurrentSupernet``,
``RecurrentCellController`` and ``RecurrentLanguageModel``; with the settings of the
authors' corrected PTB code (``google-research/enas_lm``).

Search (``src/child.py``, ``src/controller.py``): 9 searched nodes, hidden 200, batch
128, BPTT 35 with random lengths, 600 epochs of plain SGD at a constant 20 (scaled by
the segment length), global clip 0.1, decay 8e-7 on the sampled weights, slowness
regulariser 1.0, drop rates word 0.10 / embedding 0.20 / cell input 0.75 / hidden 0.25
/ output 0.75, init U(+-0.04); controller LSTM 64, temperature 5, tanh constant 2.25,
entropy weight 1e-5, baseline decay 0.999, Adam 5e-5 (TF's default betas and epsilon),
25 updates of 10 samples per epoch, reward 80 / perplexity of a validation segment.
Final (``src/fixed_lib.py``): hidden 800, batch 64, 3000 epochs, SGD 20, clip 0.25,
decay 8e-7 on all weights, activation regulariser 0.7, drop rates 0.125 / 0.175 /
0.725 / 0.225 / 0.75, init U(+-0.05), averaged SGD once the validation perplexity stops
improving for 10 epochs.

DARTS and GDAS search this space too, on DARTS's supernet (``rnn_supernet="darts"``, their
``space_defaults`` in ``enas_tf.strategies.darts`` / ``.gdas`` carry quark0/darts
``rnn/train_search.py``'s settings); DARTS's fixed-model settings are
``flags/ptb_darts_final.cfg``'s.
"""

from __future__ import annotations

import dataclasses

from enas_tf.components.base import SpaceComponents, register_space
from enas_tf.options import Settings, option
from enas_tf.search_spaces.rnn import ENAS_LM_CELL

_SGD = dict(lr_max=20.0, lr_min=20.0, lr_t0=1, lr_t_mul=1, momentum=0.0, nesterov=False,
            grad_clip="global", weight_decay=0.0, keep_prob=1.0, aux_weight=0.0, bptt=35,
            random_bptt=True, l2_reg=8e-7)
SEARCH_DEFAULTS = dict(
    _SGD, dataset="ptb", num_nodes=9, hidden_size=200, batch_size=128, num_epochs=600,
    grad_bound=0.1, drop_word=0.10, drop_embedding=0.20, drop_cell_input=0.75,
    drop_hidden=0.25, drop_output=0.75, activation_reg=0.0, slowness_reg=1.0, init_range=0.04,
    lstm_size=64, temperature=5.0, tanh_constant=2.25, controller_lr=5e-5,
    entropy_weight=1e-5, baseline_decay=0.999, controller_train_steps=25,
    controller_num_aggregate=10, output_dir="runs/enas_rnn")
FINAL_DEFAULTS = dict(
    _SGD, dataset="ptb", num_nodes=8, hidden_size=800, batch_size=64, num_epochs=3000,
    grad_bound=0.25, drop_word=0.125, drop_embedding=0.175, drop_cell_input=0.725,
    drop_hidden=0.225, drop_output=0.75, activation_reg=0.7, slowness_reg=0.0,
    init_range=0.05, cutout=0, drop_path_keep_prob=1.0, output_dir="runs/enas_rnn_final")


@dataclasses.dataclass
class RecurrentSettings(Settings):
    """The language model's size, BPTT and regularisation (rates are drop rates, as
    enas_lm's)."""

    hidden_size: int = option(200, "Recurrent space: hidden (= embedding) size of the "
                              "language model.", minimum=1)
    bptt: int = option(35, "Recurrent space: truncated-BPTT segment length.", minimum=1)
    random_bptt: bool = option(
        True, "Recurrent space: training segments of random length around bptt (enas_lm); "
        "the learning rate scales with each segment's length.")
    drop_word: float = option(0.1, "Recurrent space: drop rate of whole embedding rows "
                              "(words).", within="[0, 1)")
    drop_embedding: float = option(0.2, "Recurrent space: variational drop rate of the "
                                   "embedded inputs.", within="[0, 1)")
    drop_cell_input: float = option(0.75, "Recurrent space: variational drop rate of x_t "
                                    "inside the cell.", within="[0, 1)")
    drop_hidden: float = option(0.25, "Recurrent space: variational drop rate of h_{t-1} and "
                                "every node's input inside the cell.", within="[0, 1)")
    drop_output: float = option(0.75, "Recurrent space: variational drop rate of the cell "
                                "outputs before the tied softmax.", within="[0, 1)")
    activation_reg: float = option(0.0, "Recurrent space: weight of mean(h_t^2) in the loss.",
                                   minimum=0)
    slowness_reg: float = option(1.0, "Recurrent space: weight of mean((h_t - h_{t-1})^2) in "
                                 "the loss.", minimum=0)
    init_range: float = option(0.04, "Recurrent space: weights start uniform in "
                               "[-init_range, init_range].", minimum=0)
    search_decay: str = option(
        "enas_lm", "Recurrent space, search: the l2_reg term: enas_lm (its code's "
        "l2_loss(w**2) = sum(w^4)/2 over W_prev and the sampled kernels of nodes 2..N; at "
        "init_range 0.04 about 5e-4 of a sum(w^2) term) or l2 (sum(w^2) over W_prev and "
        "every sampled kernel, what the paper describes).", choices=("enas_lm", "l2"),
        modes=("search",))
    rnn_concat: str = option(
        "all", "Recurrent space: the nodes the cell's output averages: all, or node numbers "
        "such as 2,5,6,9,10,11 (DARTS's ENAS genotype).")
    rnn_supernet: str = option(
        "enas", "Recurrent space, search: enas (enas_lm's: a kernel per function and input) "
        "or darts (quark0/darts model_search: one kernel per node, every edge mixed, batch "
        "norm; what DARTS and GDAS search).", choices=("enas", "darts"), modes=("search",),
        exclusive=True)
    softmax_bias: bool = option(False, "Recurrent space: a bias on the tied softmax (DARTS's "
                                "decoder has one, enas_lm's none).")

    MODES = ("search", "final")

    def check(self) -> None:
        from enas_tf.search_spaces.rnn import parse_concat

        try:
            parse_concat(self.rnn_concat, getattr(self, "num_nodes", 1 << 30))
        except ValueError as error:
            raise ValueError(f"rnn_concat: {error}") from None


def make_space(config):
    from enas_tf.search_spaces.rnn import RecurrentCellSearchSpace

    return RecurrentCellSearchSpace(config.num_nodes, getattr(config, "rnn_concat", "all"))


def _model_settings(config) -> dict:
    return dict(hidden_size=config.hidden_size, drop_cell_input=config.drop_cell_input,
                drop_hidden=config.drop_hidden, drop_word=config.drop_word,
                drop_embedding=config.drop_embedding, drop_output=config.drop_output,
                init_range=config.init_range, seed=config.seed,
                softmax_bias=getattr(config, "softmax_bias", False))


def make_supernet(space, config, num_classes: int):
    if getattr(config, "rnn_supernet", "enas") == "darts":
        from enas_tf.supernet.darts_rnn import DartsRecurrentSupernet

        return DartsRecurrentSupernet(space, vocab_size=num_classes, **_model_settings(config))
    from enas_tf.supernet.rnn import RecurrentSupernet

    return RecurrentSupernet(space, vocab_size=num_classes, **_model_settings(config))


def controller_class(*args, **kwargs):
    from enas_tf.controllers.rnn_controller import RecurrentCellController

    return RecurrentCellController(*args, **kwargs)


def make_final_model(space, arc, config, num_classes: int):
    from enas_tf.models.rnn_lm import RecurrentLanguageModel

    return RecurrentLanguageModel(arc, vocab_size=num_classes, search_space=space,
                                  **_model_settings(config))


def check_config(config) -> None:
    if config.num_devices != 1 or config.devices or config.multi_worker:
        raise ValueError("the rnn space runs on one device for now (the BPTT state is "
                         "carried per stream); drop num_devices/devices/multi_worker.")
    if config.MODE == "search" and config.rnn_supernet != "darts":
        from enas_tf.strategies import get_strategy

        if get_strategy(config.strategy).supernet_input != "arc":
            raise ValueError(f"{config.strategy} mixes functions on DARTS's recurrent "
                             "supernet: give --rnn_supernet=darts (flags/ptb_darts.cfg).")


COMPONENTS = register_space(SpaceComponents(
    summary="the ENAS recurrent cell, language modelling",
    name="rnn", make_space=make_space, make_supernet=make_supernet,
    controller_class=controller_class, tanh_constant=2.25, controller_kwargs=lambda config: {},
    make_final_model=make_final_model, make_fixed_model=make_final_model,
    published_arc=ENAS_LM_CELL, published_needs={"num_nodes": 8},
    defaults={"search": SEARCH_DEFAULTS, "final": FINAL_DEFAULTS, "draw": {"num_nodes": 8}},
    check_config=check_config, settings=RecurrentSettings,
    supernet_inputs=("arc", "mixing", "sampled"),
    reinforce_kwargs={"adam_beta1": 0.9, "adam_epsilon": 1e-8}, data_kind="text"))
