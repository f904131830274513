"""The ENAS macro (whole-network) space's parts: ``MacroSearchSpace``, ``MacroSupernet``,
``MacroController``, ``FinalMacroNetwork``, and the official settings of
``cifar10_macro_search.sh`` / ``cifar10_macro_final.sh`` where they differ from micro's."""

from __future__ import annotations

import dataclasses

from enas_tf.components.base import SpaceComponents, register_space
from enas_tf.options import Settings, option
from enas_tf.search_spaces.macro import PUBLISHED_ENAS_MACRO_ARC

SEARCH_DEFAULTS = dict(
    num_layers=12, filters=36, num_branches=6, batch_size=128, num_epochs=310,
    keep_prob=0.9, l2_reg=2.5e-4, lr_min=5e-4, aux_weight=0.0, tanh_constant=1.5,
    controller_lr=0.001, controller_train_steps=50, controller_num_aggregate=20,
    output_dir="runs/enas_macro")
FINAL_DEFAULTS = dict(
    num_layers=24, filters=96, num_branches=4, batch_size=100, num_epochs=310,
    keep_prob=0.5, l2_reg=2e-4, lr_min=1e-3, aux_weight=0.0, drop_path_keep_prob=1.0,
    cutout=0, output_dir="runs/enas_macro_final")


@dataclasses.dataclass
class MacroSettings(Settings):
    """The macro space's ops, its controller's skip penalty, its final network's form."""

    num_branches: int = option(
        6, "Macro: the first N of the ops conv3x3, sep3x3, conv5x5, sep5x5, avgpool, maxpool "
        "are allowed (search 6, final 4).", minimum=1, draw=4)
    skip_target: float = option(
        0.4, "Macro controller: the skip probability the skip penalty pulls towards.",
        within="(0, 1)", modes=("search",))
    skip_weight: float = option(
        0.8, "Macro controller: weight of the skip penalty (KL to skip_target) in the loss; "
        "0 disables.", minimum=0, modes=("search",))
    sep_as_conv: bool = option(
        False, "Final macro: build the separable ops as plain convolutions, as the official "
        "final network did (its published size).", modes=("final",))


def make_space(config):
    from enas_tf.search_spaces.macro import MacroSearchSpace

    return MacroSearchSpace(config.num_layers, config.num_branches)


def make_supernet(space, config, num_classes: int):
    from enas_tf.supernet.macro import MacroSupernet

    return MacroSupernet(space, filters=config.filters, num_classes=num_classes,
                         keep_prob=config.keep_prob)


def controller_class(*args, **kwargs):
    from enas_tf.controllers.macro_controller import MacroController

    return MacroController(*args, **kwargs)


def controller_kwargs(config) -> dict:
    return {"skip_target": config.skip_target, "skip_weight": config.skip_weight}


def make_final_model(space, arc, config, num_classes: int):
    from enas_tf.models.macro_fixed import FinalMacroNetwork

    return FinalMacroNetwork(arc, num_layers=config.num_layers,
                             num_branches=config.num_branches, filters=config.filters,
                             num_classes=num_classes, keep_prob=config.keep_prob,
                             sep_as_conv=config.sep_as_conv)


def make_fixed_model(space, arc, config, num_classes: int):
    from enas_tf.models.macro_fixed import FixedMacroNetwork

    return FixedMacroNetwork(space, arc, filters=config.filters, num_classes=num_classes,
                             keep_prob=config.keep_prob)


def check_config(config) -> None:
    if not 1 <= config.num_branches <= 6:
        raise ValueError(f"num_branches must be in [1, 6], got {config.num_branches}.")
    if config.aux_weight > 0:
        raise ValueError("the macro network has no auxiliary head; set aux_weight=0.")
    if getattr(config, "drop_path_keep_prob", 1.0) < 1.0:
        raise ValueError("the macro network has no drop-path; set drop_path_keep_prob=1.")


def as_published(config):
    """Separable ops as plain convs: the network the official final code built."""
    if getattr(config, "sep_as_conv", True):
        return None
    return (dataclasses.replace(config, sep_as_conv=True),
            "as the official final code built it (separable ops as plain convs, "
            "--sep_as_conv)")


def adapt_published(space, text: str) -> str:
    """For fewer than 24 layers, the published architecture's first ``num_layers``
    layers (each layer's op and skips only refer to earlier layers, so any prefix of
    the published network is a network of the space)."""
    from enas_tf.search_spaces.macro import layer_start

    values = text.split()
    if space.num_layers < 24:
        values = values[:layer_start(space.num_layers)]
    return " ".join(values)


COMPONENTS = register_space(SpaceComponents(
    summary="an ENAS whole network",
    name="macro", settings=MacroSettings, as_published=as_published, make_space=make_space, make_supernet=make_supernet,
    controller_class=controller_class, tanh_constant=1.5, controller_kwargs=controller_kwargs,
    make_final_model=make_final_model, make_fixed_model=make_fixed_model,
    published_arc=PUBLISHED_ENAS_MACRO_ARC,
    published_needs={"num_layers": "24 or fewer", "num_branches": "4 or more"},
    adapt_published=adapt_published,
    defaults={"search": SEARCH_DEFAULTS, "final": FINAL_DEFAULTS,
              "draw": {"num_layers": 24, "num_branches": 4}},
    check_config=check_config))
