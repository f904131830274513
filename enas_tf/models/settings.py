"""The network skeleton's settings, shared by the spaces that build cells or layers into
a network (micro, macro, DARTS, NAS-Bench-201; the recurrent space uses ``num_nodes``).

Example:

```python
NetworkSettings(num_layers=2, filters=8).validate()
```
"""

from __future__ import annotations

import dataclasses

from enas_tf.options import Settings, need, option


def check_network_args(filters: int | None, keep_prob: float | None = None) -> None:
    """The skeleton's argument checks, shared by the config and the networks: channels
    even (factorized reductions split them in two), keep probability in (0, 1]."""
    need(filters is None or (filters >= 2 and filters % 2 == 0),
         f"filters must be an even number >= 2 (factorized reductions split channels in "
         f"two), got {filters}.")
    need(keep_prob is None or 0.0 < keep_prob <= 1.0,
         f"keep_prob must be in (0, 1], got {keep_prob}.")


@dataclasses.dataclass
class NetworkSettings(Settings):
    """Depth, width and regularisation of the network a space builds."""

    num_layers: int = option(
        6, "Official child_num_layers: micro networks have num_layers + 2 cells, macro "
        "networks num_layers layers.", minimum=1, final=15, draw=24)
    num_nodes: int = option(5, "Searched nodes per cell (B - 2).", minimum=1)
    filters: int = option(20, "Channels C of the first stage (stem has 3C; doubles at each "
                          "reduction).", modes=("search", "final"), final=36)
    keep_prob: float = option(0.9, "Dropout keep probability before the classifier.",
                              within="(0, 1]", modes=("search", "final"), final=0.8)
    aux_weight: float = option(0.4, "Auxiliary-head loss weight; 0 removes the auxiliary "
                               "head.", minimum=0, modes=("search", "final"))
    drop_path_keep_prob: float = option(
        0.6, "Final: drop-path keep probability of the last cell at the end of training "
        "(ramps with depth and progress).", within="(0, 1]", modes=("final",))

    def check(self) -> None:
        check_network_args(getattr(self, "filters", None))
