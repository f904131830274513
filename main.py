"""enas-tf command line: ``python main.py --flagfile=flags/cifar_micro.cfg``.

Every ``SearchConfig`` field is a flag of the same name with the same default; flags
are read here only and handed to the library as one config object.
"""

from __future__ import annotations

import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from absl import app, flags, logging  # noqa: E402

from enas_tf.config import DATASETS, SearchConfig  # noqa: E402

HELP = {
    "dataset": "Data set: cifar10 (TFDS) or digits (offline, bundled with scikit-learn).",
    "data_dir": "TFDS data directory holding cifar10 (default: ~/tensorflow_datasets).",
    "download": "Let TFDS download CIFAR-10 when it is absent.",
    "num_valid": "Training images held out as the controller's validation split.",
    "num_layers": "Official child_num_layers: the network has num_layers + 2 cells.",
    "num_nodes": "Searched nodes per cell (B - 2).",
    "filters": "Channels C of the first stage (stem has 3C; doubles at each reduction).",
    "keep_prob": "Dropout keep probability before the classifier.",
    "aux_weight": "Auxiliary-head loss weight; 0 removes the auxiliary head.",
    "batch_size": "Global batch size (split across replicas).",
    "num_epochs": "Search epochs (one shared-weight pass plus one controller phase each).",
    "steps_per_epoch": "Shared-weight steps per epoch (default: one pass over the train split).",
    "l2_reg": "L2 coefficient on every supernet weight (loss += l2_reg * sum(w^2)).",
    "lr_max": "Cosine-restart maximum learning rate.",
    "lr_min": "Cosine-restart minimum learning rate.",
    "lr_t0": "Epochs of the first cosine period.",
    "lr_t_mul": "Period multiplier at each restart.",
    "momentum": "Nesterov momentum of the shared-weight SGD.",
    "grad_bound": "Per-variable gradient norm clip for shared weights; 0 disables.",
    "lstm_size": "Controller LSTM units.",
    "tanh_constant": "Controller logits become tanh_constant * tanh(logits).",
    "op_tanh_reduce": "Op logits use tanh_constant / op_tanh_reduce.",
    "temperature": "Controller logits are divided by this first; 0 disables.",
    "controller_lr": "Controller Adam learning rate.",
    "entropy_weight": "Weight of the policy entropy added to the reward.",
    "baseline_decay": "Decay of the reward moving-average baseline.",
    "controller_train_steps": "Controller updates per epoch.",
    "controller_num_aggregate": "Sampled architectures averaged per controller update.",
    "derive_num_samples": "Architectures sampled and scored when deriving the result.",
    "output_dir": "Where TensorBoard logs, checkpoints and the derived architecture go; "
                  "rerunning with the same directory resumes.",
    "seed": "Random seed.",
    "log_every": "Log the training loss every this many steps.",
    "max_checkpoints": "Checkpoints kept.",
}


def _define_flags() -> None:
    for field in dataclasses.fields(SearchConfig):
        if field.name.isupper():
            continue
        default, help_text = field.default, HELP[field.name]
        if field.name == "dataset":
            flags.DEFINE_enum(field.name, default, DATASETS, help_text)
        elif field.type in ("bool",):
            flags.DEFINE_bool(field.name, default, help_text)
        elif field.type in ("int", "int | None"):
            flags.DEFINE_integer(field.name, default, help_text)
        elif field.type == "float":
            flags.DEFINE_float(field.name, default, help_text)
        else:
            flags.DEFINE_string(field.name, default, help_text)


_define_flags()
flags.DEFINE_enum("mode", "search", ["search"], "What to run.")
FLAGS = flags.FLAGS


def config_from_flags() -> SearchConfig:
    """The one place flags become configuration."""
    values = {f.name: getattr(FLAGS, f.name) for f in dataclasses.fields(SearchConfig)
              if not f.name.isupper()}
    return SearchConfig(**values).validate()


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = config_from_flags()
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    logging.set_verbosity(logging.INFO)

    # Heavy imports only after the flags are known to be good.
    from enas_tf.data import DataNotFoundError, load_dataset
    from enas_tf.training.search import MicroSearch

    try:
        data = load_dataset(config.dataset, config.data_dir, config.num_valid, config.download,
                            config.seed)
        search = MicroSearch(config, data)
        result = search.run()
    except (DataNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"derived architecture: {result['architecture']['enas_string']}")
    print(f"validation accuracy of the derived architecture: {result['valid_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    app.run(main)
