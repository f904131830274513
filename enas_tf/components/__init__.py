"""Search spaces by name: importing this package registers the built-in ones.

See ``enas_tf.components.base`` for what a space declares; a new space is its own module
calling ``register_space`` (nothing here is edited for it).
"""

from enas_tf.components.base import (SPACES, SpaceComponents, components_of, get_components,
                                     register_space, space_names)
# Imported in the order ``--search_space`` lists them; each module registers its space.
from enas_tf.components import micro  # noqa: F401,I001
from enas_tf.components import macro  # noqa: F401
from enas_tf.components import darts  # noqa: F401
from enas_tf.components import nb201  # noqa: F401
from enas_tf.components import rnn  # noqa: F401

# The built-in spaces (``space_names()`` also lists spaces registered later).
SPACE_NAMES = space_names()

__all__ = ["SPACES", "SPACE_NAMES", "SpaceComponents", "components_of", "get_components",
           "register_space", "space_names"]
