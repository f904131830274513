"""enas-tf: weight-sharing neural architecture search (ENAS, DARTS, GDAS) for TensorFlow 2 /
Keras, over image cells and networks and recurrent cells.

The public API, usable from a notebook:

```python
from enas_tf import Search, SearchConfig, load_dataset
data = load_dataset("digits")
result = Search(SearchConfig(dataset="digits", num_layers=1, filters=8,
                             aux_weight=0, batch_size=64, num_epochs=5,
                             output_dir="runs/nb"), data).run()
macro = SearchConfig.for_space("macro", dataset="digits", num_layers=6, filters=16,
                               batch_size=64, num_epochs=5, output_dir="runs/nb_macro")
darts = SearchConfig.for_space("darts", dataset="digits", num_layers=5, filters=8,
                               num_valid=748, num_epochs=5, output_dir="runs/nb_darts")
text = load_dataset("python_docs")          # the recurrent space: language models
rnn = SearchConfig.for_space("rnn", dataset="python_docs", num_nodes=6, hidden_size=64,
                             batch_size=32, num_epochs=5, output_dir="runs/nb_rnn")
lm = make_final_training(FinalConfig.for_space("rnn", dataset="python_docs",
                                               hidden_size=128, num_epochs=5),
                         arc, text).run()    # arc: e.g. the rnn search's result["arc"]
mine = ImageSplits.from_arrays(x, y, validation_split=0.2)   # your own arrays
Search(SearchConfig.for_space("darts", num_layers=5, filters=8), mine).run()
```

Importing the package registers every Keras layer and model it defines, so saved
``.keras`` models load with ``keras.models.load_model``.
"""

from enas_tf.components import SPACE_NAMES, get_components, register_space, space_names
from enas_tf.config import DrawConfig, FinalConfig, SearchConfig
from enas_tf.controllers.macro_controller import MacroController
from enas_tf.controllers.micro_controller import MicroController
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.controllers.rnn_controller import RecurrentCellController
from enas_tf.data import (DataNotFoundError, DataSource, ImageSplits, TextSplits, load_dataset,
                          register_dataset, resolve_dataset)
from enas_tf.layers.rnn_cell import EnasRnnCell
from enas_tf.export import load_architecture
from enas_tf.models.darts_final import FinalDartsNetwork
from enas_tf.models.macro_fixed import FinalMacroNetwork, FixedMacroNetwork
from enas_tf.models.micro_final import FinalMicroNetwork
from enas_tf.models.micro_fixed import FixedMicroNetwork
from enas_tf.models.nb201_network import NasBench201Network
from enas_tf.models.rnn_lm import RecurrentLanguageModel
from enas_tf.search_spaces.base import InvalidArchitectureError, SearchSpace
from enas_tf.search_spaces.darts import PUBLISHED_GENOTYPES, DartsSearchSpace
from enas_tf.search_spaces.macro import PUBLISHED_ENAS_MACRO_ARC, MacroSearchSpace
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace
from enas_tf.search_spaces.nb201 import NasBench201SearchSpace
from enas_tf.search_spaces.rnn import ENAS_LM_CELL, RecurrentCellSearchSpace
from enas_tf.serving import export_savedmodel
from enas_tf.strategies import (STRATEGY_NAMES, SearchStrategy, StrategyContext, get_strategy,
                                 register_strategy, strategy_names)
from enas_tf.strategies.darts import DARTSStrategy
from enas_tf.strategies.enas import ENASStrategy
from enas_tf.strategies.gdas import GDASStrategy
from enas_tf.supernet.darts import DartsSupernet
from enas_tf.supernet.macro import MacroSupernet
from enas_tf.supernet.micro import MicroSupernet
from enas_tf.supernet.nb201 import NasBench201Supernet
from enas_tf.supernet.darts_rnn import DartsRecurrentSupernet
from enas_tf.supernet.rnn import RecurrentSupernet
from enas_tf.loops import make_final_training
from enas_tf.loops.final import FinalTraining
from enas_tf.loops.final_lm import LanguageModelTraining
from enas_tf.loops.search import MicroSearch, Search

__version__ = "0.1.0"

__all__ = [
    "DARTSStrategy", "DartsSearchSpace", "DartsSupernet", "ENASStrategy",
    "FinalDartsNetwork", "GDASStrategy", "NasBench201Network", "NasBench201SearchSpace",
    "NasBench201Supernet", "PUBLISHED_GENOTYPES", "STRATEGY_NAMES", "get_strategy",
    "DataNotFoundError", "FinalConfig", "FinalMacroNetwork", "FinalMicroNetwork",
    "FinalTraining", "FixedMacroNetwork", "FixedMicroNetwork", "ImageSplits",
    "InvalidArchitectureError", "MacroController", "MacroSearchSpace", "MacroSupernet",
    "MicroController", "MicroSearch", "MicroSearchSpace", "MicroSupernet",
    "PUBLISHED_ENAS_MACRO_ARC", "PUBLISHED_ENAS_MICRO_ARC", "Reinforce", "SPACE_NAMES",
    "Search", "SearchConfig", "SearchSpace", "get_components", "load_architecture",
    "load_dataset", "ENAS_LM_CELL", "EnasRnnCell", "LanguageModelTraining",
    "RecurrentCellController", "RecurrentCellSearchSpace", "RecurrentLanguageModel",
    "RecurrentSupernet", "DartsRecurrentSupernet", "TextSplits", "export_savedmodel",
    "make_final_training",
    "DrawConfig", "SearchStrategy", "StrategyContext", "register_space", "register_strategy",
    "space_names", "strategy_names", "DataSource", "register_dataset", "resolve_dataset",
]
