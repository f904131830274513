"""keras-tuner integration: the ENAS controller as a keras-tuner Oracle, and tuners."""

from tuner.oracle import ENASOracle, declare_search_space
from tuner.supernet_tuner import ENASSupernetTuner

__all__ = ["ENASOracle", "ENASSupernetTuner", "declare_search_space"]
