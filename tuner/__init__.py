"""keras-tuner integration: the ENAS controller as a keras-tuner Oracle, and tuners.

``ENAS`` is the one-line tuner (like ``keras_tuner.RandomSearch``); ``ENASOracle`` the
oracle under it; ``ENASSupernetTuner`` trains one shared supernet across trials.
"""

from tuner.enas_tuner import ENAS
from tuner.oracle import ENASOracle, declare_search_space
from tuner.supernet_tuner import ENASSupernetTuner

__all__ = ["ENAS", "ENASOracle", "ENASSupernetTuner", "declare_search_space"]
