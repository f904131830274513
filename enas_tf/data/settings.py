"""The data settings of a run: which data set, where it is, how the pipeline runs.

``DATASET_KINDS`` says what each data set holds; a search space names the kind it runs
on (``SpaceComponents.data_kind``), so which spaces read which data sets is derived.

Example::

    DataSettings(dataset="digits", num_valid=300).validate()
"""

from __future__ import annotations

import dataclasses

from enas_tf.options import Settings, need, option

# Data set -> what it holds: "images" (classification) or "text" (language modelling).
DATASET_KINDS = {"cifar10": "images", "digits": "images", "ptb": "text",
                 "python_docs": "text"}
DATASETS = tuple(DATASET_KINDS)


def datasets_of_kind(kind: str) -> tuple[str, ...]:
    return tuple(name for name, holds in DATASET_KINDS.items() if holds == kind)


@dataclasses.dataclass
class DataSettings(Settings):
    """Where the data come from and how ``tf.data`` prepares them."""

    dataset: str = option(
        "cifar10", "Data set: cifar10 (TFDS) or digits (offline, bundled with scikit-learn) "
        "for the image spaces; ptb (Penn Treebank text files in --data_dir) or python_docs "
        "(offline text: the Python documentation) for rnn.", choices=DATASETS)
    data_dir: str | None = option(
        None, "TFDS data directory holding cifar10 (default: ~/tensorflow_datasets); for "
        "ptb, the directory of ptb.train.txt, ptb.valid.txt and ptb.test.txt.",
        resumable=True)
    download: bool = option(True, "Let TFDS download CIFAR-10 when it is absent.",
                            resumable=True)
    num_valid: int = option(
        5000, "Training images held out as a validation split (the controller's, in "
        "search; final training uses none by default).", minimum=0, modes=("search", "final"),
        final=0)
    cutout: int = option(16, "Final: side of the cutout square in pixels; 0 disables.",
                         minimum=0, modes=("final",))
    data_parallel_calls: int = option(
        -1, "Parallel calls of the tf.data augmentation map; -1 autotunes.", resumable=True)
    data_prefetch: int = option(
        -1, "Batches tf.data prepares ahead of the step; -1 autotunes.", resumable=True)
    data_threads: int = option(
        0, "Size of a private tf.data thread pool; 0 uses TensorFlow's shared pool.",
        minimum=0, resumable=True)

    MODES = ("search", "final")

    def check(self) -> None:
        for name in ("data_parallel_calls", "data_prefetch"):
            value = getattr(self, name)
            need(value == -1 or value >= (1 if name == "data_parallel_calls" else 0),
                 f"{name} must be -1 (autotune) or a count, got {value}.")
