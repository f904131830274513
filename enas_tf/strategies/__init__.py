"""Search strategies: how a search chooses architectures and learns which are good.

``Search`` (the loop) owns the supernet, its optimizer, the data, checkpoints and logs;
a strategy owns its architecture state (the ENAS controller, DARTS's architecture
weights) and decides what each shared-weight step trains and how the result is derived.
A new strategy is a module here with a ``SearchStrategy`` subclass and one line in
``STRATEGIES``.

Example::

    strategy_class = get_strategy("darts")
"""

from __future__ import annotations

import importlib

# Strategy name -> "module:class".
STRATEGIES: dict[str, str] = {
    "enas": "enas_tf.strategies.enas:ENASStrategy",
    "darts": "enas_tf.strategies.darts:DARTSStrategy",
    "gdas": "enas_tf.strategies.gdas:GDASStrategy",
    "random": "enas_tf.strategies.random:RandomStrategy",
}
STRATEGY_NAMES = tuple(STRATEGIES)


def get_strategy(name: str):
    """The strategy class called ``name``; ``ValueError`` naming the known ones."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGY_NAMES)}.")
    module, attribute = STRATEGIES[name].split(":")
    return getattr(importlib.import_module(module), attribute)
