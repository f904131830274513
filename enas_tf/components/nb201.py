"""The NAS-Bench-201 space's parts: ``NasBench201SearchSpace``, ``NasBench201Supernet``,
an ENAS ``SequenceController`` over the 6 edges, ``NasBench201Network``; and the
settings of AutoDL-Projects' NAS-Bench-201 scripts (``configs/nas-benchmark``).

``num_layers`` is the number of cells per stage (N, 5 in the benchmark). Searches use
the benchmark's ``cifar10-valid`` split (25,000 training and 25,000 validation images).
GDAS and random search (RSPS) run 250 epochs of Nesterov SGD 0.025 -> 0.001, weight
decay 5e-4, batch 64 (the defaults here); DARTS's and ENAS's own settings on this space
are theirs (``space_defaults`` in ``enas_tf.strategies.darts`` / ``.enas``). Final
training is the benchmark's 200-epoch recipe.
"""

from __future__ import annotations

from enas_tf.components.base import InputSizes, SpaceComponents, register_space
from enas_tf.search_spaces.nb201 import RESNET_CELL

SEARCH_DEFAULTS = dict(
    strategy="gdas", num_layers=5, filters=16, batch_size=64, num_epochs=250,
    num_valid=25000, keep_prob=1.0, aux_weight=0.0, l2_reg=0.0, weight_decay=5e-4,
    lr_max=0.025, lr_min=0.001, lr_t0=0, lr_t_mul=1, momentum=0.9, nesterov=True,
    grad_bound=5.0, grad_clip="global", output_dir="runs/nb201")
FINAL_DEFAULTS = dict(
    num_layers=5, filters=16, batch_size=256, num_epochs=200, aux_weight=0.0, keep_prob=1.0,
    drop_path_keep_prob=1.0, cutout=0, l2_reg=0.0, weight_decay=5e-4, lr_max=0.1, lr_min=0.0,
    lr_t0=0, lr_t_mul=1, momentum=0.9, nesterov=True, grad_bound=0.0, grad_clip="global",
    output_dir="runs/nb201_final")


def make_space(config):
    from enas_tf.search_spaces.nb201 import NasBench201SearchSpace

    return NasBench201SearchSpace()


def make_supernet(space, config, num_classes: int):
    from enas_tf.supernet.nb201 import NasBench201Supernet

    return NasBench201Supernet(space, filters=config.filters, cells_per_stage=config.num_layers,
                               num_classes=num_classes)


def controller_class(*args, **kwargs):
    from enas_tf.controllers.sequence_controller import SequenceController

    return SequenceController(*args, **kwargs)


def make_final_model(space, arc, config, num_classes: int):
    from enas_tf.models.nb201_network import NasBench201Network

    return NasBench201Network(arc, filters=config.filters, cells_per_stage=config.num_layers,
                              num_classes=num_classes)


COMPONENTS = register_space(SpaceComponents(
    summary="the NAS-Bench-201 cell",
    name="nb201", make_space=make_space, make_supernet=make_supernet,
    controller_class=controller_class, tanh_constant=2.5, controller_kwargs=lambda config: {},
    make_final_model=make_final_model, make_fixed_model=make_final_model,
    published_arc=RESNET_CELL,
    defaults={"search": SEARCH_DEFAULTS, "final": FINAL_DEFAULTS},
    supernet_inputs=("arc", "mixing", "sampled"),
    input_sizes=lambda config: InputSizes(4, 4, "two residual reductions whose shortcut "
                                                "halves even sides")))
