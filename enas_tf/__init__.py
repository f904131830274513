"""enas-tf: weight-sharing neural architecture search (ENAS) for TensorFlow 2 / Keras.

The public API, usable from a notebook::

    from enas_tf import SearchConfig, MicroSearch, load_dataset
    data = load_dataset("digits")
    result = MicroSearch(SearchConfig(dataset="digits", num_layers=1, filters=8,
                                      aux_weight=0, batch_size=64, num_epochs=5,
                                      output_dir="runs/nb"), data).run()
"""

from enas_tf.config import FinalConfig, SearchConfig
from enas_tf.controllers.micro_controller import MicroController
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.data import DataNotFoundError, ImageSplits, load_dataset
from enas_tf.export import load_architecture
from enas_tf.models.micro_final import FinalMicroNetwork
from enas_tf.models.micro_fixed import FixedMicroNetwork
from enas_tf.search_spaces.base import InvalidArchitectureError, SearchSpace
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace
from enas_tf.supernet.micro import MicroSupernet
from enas_tf.training.final import FinalTraining
from enas_tf.training.search import MicroSearch

__version__ = "0.1.0"

__all__ = [
    "DataNotFoundError", "FinalConfig", "FinalMicroNetwork", "FinalTraining",
    "FixedMicroNetwork", "ImageSplits", "InvalidArchitectureError", "MicroController",
    "MicroSearch", "MicroSearchSpace", "MicroSupernet", "PUBLISHED_ENAS_MICRO_ARC",
    "Reinforce", "SearchConfig", "SearchSpace", "load_architecture", "load_dataset",
]
