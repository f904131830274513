"""Search strategies: how a search chooses architectures and learns which are good.

``Search`` (the loop) owns the supernet, its optimizer, the data, checkpoints and logs;
a strategy owns its architecture state (the ENAS controller, DARTS's architecture
weights) and decides what each shared-weight step trains and how the result is derived.
It sees the loop through a ``StrategyContext``. A new strategy is its own module with a
``SearchStrategy`` subclass (its settings, the supernet input it gives) decorated with
``register_strategy``; nothing here is edited for it.

Example:

```python
strategy_class = get_strategy("darts")
```
"""

from __future__ import annotations

from enas_tf.strategies.base import (STRATEGIES, SearchStrategy, StrategyContext,
                                     register_strategy)
# Imported in the order ``--strategy`` lists them; each module registers its strategy.
from enas_tf.strategies import enas  # noqa: F401,I001
from enas_tf.strategies import darts  # noqa: F401
from enas_tf.strategies import gdas  # noqa: F401
from enas_tf.strategies import random  # noqa: F401


def get_strategy(identifier: "str | type[SearchStrategy]") -> type[SearchStrategy]:
    """The strategy class named ``identifier`` (or ``identifier`` itself); ``ValueError``
    naming the known ones.

    Args:
      identifier: a ``--strategy`` value (``enas``, ``darts``, ``gdas``, ``random``, or
        one registered later) or a strategy class.

    Example:

    ```python
    get_strategy("gdas").space_defaults["nb201"]    # GDAS's settings on NB201
    ```
    """
    return STRATEGIES.get(identifier)


def strategy_names() -> tuple[str, ...]:
    """The registered strategies' names, built-in ones first.

    Example:

    ```python
    strategy_names()    # ('enas', 'darts', 'gdas', 'random', ...)
    ```
    """
    return STRATEGIES.names()


# The built-in strategies (``strategy_names()`` also lists strategies registered later).
STRATEGY_NAMES = strategy_names()

__all__ = ["STRATEGIES", "STRATEGY_NAMES", "SearchStrategy", "StrategyContext",
           "get_strategy", "register_strategy", "strategy_names"]
