import numpy as np
import pytest
import tensorflow as tf

from enas_tf.controllers.micro_controller import MicroController
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace

SPACE = MicroSearchSpace(5)


def test_samples_are_valid_and_log_prob_is_consistent():
    controller = MicroController(SPACE, seed=3)
    sample = tf.function(controller.sample)
    seen = set()
    for _ in range(50):
        arc, log_prob, entropy = sample()
        values = SPACE.validate(arc.numpy())  # raises if out of range
        seen.add(values)
        again, entropy_again = controller.evaluate(arc)
        assert float(again) == pytest.approx(float(log_prob), rel=1e-5)
        assert float(entropy_again) == pytest.approx(float(entropy), rel=1e-5)
        assert float(log_prob) < 0 and float(entropy) > 0
    assert len(seen) == 50  # a stochastic policy, not a constant


def test_initial_op_probabilities_match_official_op_bias():
    controller = MicroController(SPACE, seed=0)
    probs = controller.probabilities(SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC))
    normal_op, reduce_op = probs[1], probs[21]
    np.testing.assert_allclose(normal_op, [0.315, 0.315, 0.123, 0.123, 0.123], atol=0.003)
    np.testing.assert_allclose(reduce_op, [0.254, 0.254, 0.164, 0.164, 0.164], atol=0.003)
    # Index decisions are bounded by the tanh constant, so no index starts near-certain.
    assert probs[16].shape == (6,) and probs[16].max() < 0.5


def _train_toward(reward_fn, decision, choice, updates=20):
    controller = MicroController(SPACE, seed=0)
    reinforce = Reinforce(controller, learning_rate=0.05, entropy_weight=0.0)
    step = tf.function(lambda: reinforce.sample_gradients(reward_fn))
    reference = SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC)
    before = controller.probabilities(reference)[decision][choice]
    for _ in range(updates):
        reinforce.apply_gradients([step()[0] for _ in range(10)])
    return before, controller.probabilities(reference)[decision][choice], reinforce


def test_reinforce_moves_probability_toward_rewarded_choice():
    # Reward avg_pool on reduce/node2/op1 (decision 21). The official tanh scaling caps
    # this op at ~26% (sep-convs keep their +10 bias), so a rise of 2+ points in 20
    # updates is a clear, deterministic signal; the control rewards everything else.
    decision, avg_pool = 21, 2
    before, after, reinforce = _train_toward(
        lambda arc: tf.cast(tf.equal(arc[decision], avg_pool), tf.float32), decision, avg_pool)
    assert before == pytest.approx(0.164, abs=0.003)
    assert after > before + 0.02, (before, after)
    assert 0.0 < float(reinforce.baseline) < 1.0
    _, after_control, _ = _train_toward(
        lambda arc: tf.cast(tf.not_equal(arc[decision], avg_pool), tf.float32), decision, avg_pool)
    assert after_control < before - 0.01, (before, after_control)
