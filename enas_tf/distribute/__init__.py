"""Running enas-tf on several devices and machines (``tf.distribute`` strategies)."""

from enas_tf.distribute.collectives import (
    broadcast_from_first_replica,
    cross_replica_moments,
    cross_replica_sum,
)
from enas_tf.distribute.strategies import (
    DistributionError,
    is_chief,
    make_strategy,
    worker_output_dir,
)

__all__ = [
    "DistributionError",
    "broadcast_from_first_replica",
    "cross_replica_moments",
    "cross_replica_sum",
    "is_chief",
    "make_strategy",
    "worker_output_dir",
]
