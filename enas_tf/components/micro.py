"""The ENAS micro (cell) space's parts: ``MicroSearchSpace``, ``MicroSupernet``,
``MicroController``, ``FinalMicroNetwork``. The config classes' defaults are its official
settings, so it needs no defaults of its own."""

from __future__ import annotations

import dataclasses

from enas_tf.components.base import InputSizes, SpaceComponents, register_space
from enas_tf.options import Settings, option
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC
from enas_tf.models.micro_skeleton import WEIGHT_SHARING


@dataclasses.dataclass
class MicroSettings(Settings):
    """The micro supernet's weight layout (searches only)."""

    weight_sharing: str = option(
        "official", "Supernet weight layout: official (sep-conv weights per input node, a "
        "cell-output kernel per node) or compact (one weight set per op for every input "
        "node, one cell-output kernel; learns about twice as fast under sampled wiring).",
        choices=WEIGHT_SHARING, exclusive=True)

    MODES = ("search",)


def make_space(config):
    from enas_tf.search_spaces.micro import MicroSearchSpace

    return MicroSearchSpace(config.num_nodes)


def make_supernet(space, config, num_classes: int):
    from enas_tf.supernet.micro import MicroSupernet

    return MicroSupernet(space, num_layers=config.num_layers, filters=config.filters,
                         num_classes=num_classes, keep_prob=config.keep_prob,
                         use_aux_head=config.aux_weight > 0,
                         weight_sharing=config.weight_sharing)


def controller_class(*args, **kwargs):
    from enas_tf.controllers.micro_controller import MicroController

    return MicroController(*args, **kwargs)


def controller_kwargs(config) -> dict:
    return {"op_tanh_reduce": config.op_tanh_reduce}


def make_final_model(space, arc, config, num_classes: int):
    from enas_tf.models.micro_final import FinalMicroNetwork

    return FinalMicroNetwork(
        arc, num_nodes=config.num_nodes, num_layers=config.num_layers, filters=config.filters,
        num_classes=num_classes, keep_prob=config.keep_prob,
        use_aux_head=config.aux_weight > 0, drop_path_keep_prob=config.drop_path_keep_prob)


def make_fixed_model(space, arc, config, num_classes: int):
    from enas_tf.models.micro_fixed import FixedMicroNetwork

    return FixedMicroNetwork(space, arc, num_layers=config.num_layers, filters=config.filters,
                             num_classes=num_classes, keep_prob=config.keep_prob,
                             use_aux_head=config.aux_weight > 0, always_batch_stats=True,
                             weight_sharing=config.weight_sharing)


def input_sizes(config) -> InputSizes:
    """Two factorized reductions halve even sides; the auxiliary head pools 5x5 maps
    after them."""
    if config.aux_weight > 0:
        return InputSizes(4, 20, "two factorized reductions, then the auxiliary head's 5x5 "
                                 "pooling; --aux_weight=0 takes smaller images")
    return InputSizes(4, 4, "two factorized reductions")


COMPONENTS = register_space(SpaceComponents(
    summary="ENAS cells, official defaults of the micro scripts",
    name="micro", settings=MicroSettings, make_space=make_space, make_supernet=make_supernet,
    controller_class=controller_class, tanh_constant=1.1, controller_kwargs=controller_kwargs,
    make_final_model=make_final_model, make_fixed_model=make_fixed_model,
    published_arc=PUBLISHED_ENAS_MICRO_ARC,
    published_needs={"num_nodes": 5},
    describe_settings=lambda config: f" ({config.weight_sharing} weight sharing)",
    input_sizes=input_sizes))
