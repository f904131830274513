"""TensorBoard pictures of a search: what the policy believes, once per epoch.

``controller/choice_probabilities`` is a heat-map of every decision's choice
probabilities, ``controller/most_likely_architecture`` a drawing of the architecture
that takes the likeliest choice at every step (its integer string as the text
``controller/most_likely_architecture_string``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from enas_tf.controllers.base import Controller
from enas_tf.search_spaces.pictures import summary_image

PROBABILITY_SAMPLES = 20  # samples averaged into the heat-map's marginal probabilities


def write_policy_pictures(controller: Controller, epoch: int,
                          sample_fn: Callable | None = None) -> tuple[int, ...]:
    """Writes the policy's pictures at step ``epoch`` to the default summary writer;
    returns the most likely architecture. ``sample_fn``: a compiled
    ``controller.sample_with_probabilities``."""
    space = controller.search_space
    # Sample with a copy of the RNG state, so drawing does not change the search.
    state = tf.identity(controller.rng.state)
    probabilities = controller.choice_probabilities(PROBABILITY_SAMPLES, sample_fn)
    controller.rng.reset(state)
    likely = space.validate(controller.most_likely().numpy())
    tf.summary.image("controller/choice_probabilities", summary_image(
        space.draw_probabilities(probabilities, f"choice probabilities after epoch {epoch}")))
    tf.summary.image("controller/most_likely_architecture", summary_image(
        space.draw(likely, f"most likely architecture after epoch {epoch}")))
    tf.summary.text("controller/most_likely_architecture_string", space.to_string(likely))
    tf.summary.scalar("controller/mean_top_choice_probability",
                      float(np.mean([p.max() for p in probabilities])))
    return likely
