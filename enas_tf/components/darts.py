"""The DARTS cell space's parts: ``DartsSearchSpace``, ``DartsSupernet`` (mixed ops),
``FinalDartsNetwork``, and the settings of quark0/darts ``train_search.py`` /
``train.py`` (GDAS's own weight settings on it are GDAS's: ``enas_tf.strategies.gdas``).
``num_layers`` counts all cells here (DARTS's ``layers``: 8 in search, 20 in the final
network); DARTS's PyTorch weight decay is ``weight_decay`` (coupled), not ``l2_reg``.
``darts_frc`` is the same space with only the normal cell searched and GDAS's fixed
reduction cell (GDAS-FRC)."""

from __future__ import annotations

import dataclasses

from enas_tf.components.base import InputSizes, SpaceComponents, register_space
from enas_tf.options import Settings, option
from enas_tf.search_spaces.darts import PUBLISHED_DARTS_ARC, PUBLISHED_FRC_ARC

SEARCH_DEFAULTS = dict(
    strategy="darts", num_layers=8, filters=16, batch_size=64, num_epochs=50,
    num_valid=25000, keep_prob=1.0, aux_weight=0.0, l2_reg=0.0, weight_decay=3e-4,
    lr_max=0.025, lr_min=0.001, lr_t0=0, lr_t_mul=1, momentum=0.9, nesterov=False,
    grad_bound=5.0, grad_clip="global", output_dir="runs/darts")
FINAL_DEFAULTS = dict(
    num_layers=20, filters=36, batch_size=96, num_epochs=600, aux_weight=0.4,
    keep_prob=1.0, drop_path_keep_prob=0.8, cutout=16, cutout_rule="centre", l2_reg=0.0,
    weight_decay=3e-4,
    lr_max=0.025, lr_min=0.0, lr_t0=0, lr_t_mul=1, momentum=0.9, nesterov=False,
    grad_bound=5.0, grad_clip="global", output_dir="runs/darts_final")


@dataclasses.dataclass
class DartsNetworkSettings(Settings):
    """Which network searches the space, and which of DARTS's final networks a genotype
    is trained in."""

    search_network: str = option(
        "darts", "DARTS space, search: darts (quark0/darts model_search: BN after pools) or "
        "gdas (AutoDL's GDAS search network: no BN after pools, a sampled edge outputs "
        "w_i * op_i(x) only, BN + ReLU before the global pooling; GDAS's default).",
        choices=("darts", "gdas"), modes=("search",), exclusive=True)
    darts_network: str = option(
        "cifar", "DARTS final network: cifar (NetworkCIFAR: one 3x3 stem) or imagenet "
        "(NetworkImageNet, the mobile setting: two stride-2 stems, ImageNet's auxiliary "
        "head; flags/imagenet_darts_final.cfg).", choices=("cifar", "imagenet"),
        modes=("final",), exclusive=True)
    recompute_edges: bool = option(
        False, "DARTS space, search: keep only each edge's input for the backward pass and "
        "run its ops again there (tf.recompute_grad): less memory for more time "
        "(first order at DARTS's search size: 3.5 instead of 7.2 GiB for 1.45x the step "
        "time; benchmarks/darts_step.py).", modes=("search",), exclusive=True)

    MODES = ("search", "final")


def input_sizes(config) -> InputSizes:
    """The factorized reductions halve even sides (in search, the supernet's first
    reduction too); the auxiliary heads pool 8x8 (CIFAR) or 7x7 (ImageNet) maps."""
    aux = config.MODE == "final" and config.aux_weight > 0
    if getattr(config, "darts_network", "cifar") == "imagenet":
        return InputSizes(32, 224 if aux else 32, "three stride-2 stems and two factorized "
                          "reductions" + (", then the auxiliary head's 5x5 pooling" if aux
                                          else ""))
    search = config.MODE == "search" and config.search_space == "darts"
    multiple = 4 if search else 2
    why = "factorized reductions of even sides" + (
        ", then the auxiliary head's 5x5 pooling; --aux_weight=0 takes smaller images"
        if aux else "")
    return InputSizes(multiple, 30 if aux else multiple, why)


def make_space(config):
    from enas_tf.search_spaces.darts import DartsSearchSpace

    return DartsSearchSpace(config.search_space == "darts_frc")


def make_supernet(space, config, num_classes: int):
    from enas_tf.supernet.darts import DartsSupernet

    return DartsSupernet(space, num_cells=config.num_layers, filters=config.filters,
                         num_classes=num_classes,
                         network=getattr(config, "search_network", "darts"),
                         recompute_edges=getattr(config, "recompute_edges", False))


def make_final_model(space, arc, config, num_classes: int):
    from enas_tf.models.darts_final import FinalDartsNetwork

    return FinalDartsNetwork(arc, num_cells=config.num_layers, filters=config.filters,
                             num_classes=num_classes,
                             use_aux_head=config.aux_weight > 0,
                             drop_path_prob=1.0 - config.drop_path_keep_prob,
                             fixed_reduction=space.fixed_reduction,
                             imagenet=getattr(config, "darts_network", "cifar") == "imagenet")


def make_fixed_model(space, arc, config, num_classes: int):
    """A genotype at search size: the final network's cells without aux head or
    drop-path (DARTS has no separate search-size network of one genotype)."""
    from enas_tf.models.darts_final import FinalDartsNetwork

    return FinalDartsNetwork(arc, num_cells=config.num_layers, filters=config.filters,
                             num_classes=num_classes, use_aux_head=False, drop_path_prob=0.0,
                             fixed_reduction=space.fixed_reduction)


def check_config(config) -> None:
    if config.num_layers < 3:
        raise ValueError(f"a DARTS network needs at least 3 cells (num_layers), got "
                         f"{config.num_layers}.")
    if config.search_space == "darts_frc" and config.filters % 4:
        raise ValueError(f"GDAS's fixed reduction cell runs 8-group convolutions on 2C "
                         f"channels: filters must be a multiple of 4, got {config.filters}.")


COMPONENTS = register_space(SpaceComponents(
    summary="the DARTS cell space",
    name="darts", make_space=make_space, make_supernet=make_supernet,
    controller_class=None, tanh_constant=None, controller_kwargs=lambda config: {},
    make_final_model=make_final_model, make_fixed_model=make_fixed_model,
    published_arc=PUBLISHED_DARTS_ARC,
    defaults={"search": SEARCH_DEFAULTS, "final": FINAL_DEFAULTS},
    check_config=check_config, supernet_inputs=("mixing", "sampled"),
    settings=DartsNetworkSettings, input_sizes=input_sizes))
FRC_COMPONENTS = register_space(dataclasses.replace(
    COMPONENTS, name="darts_frc", summary="its normal cell, with GDAS's fixed reduction cell",
    published_arc=PUBLISHED_FRC_ARC,
    defaults={"search": {**SEARCH_DEFAULTS, "strategy": "gdas", "output_dir": "runs/darts_frc"},
              "final": {**FINAL_DEFAULTS, "output_dir": "runs/darts_frc_final"}}))
