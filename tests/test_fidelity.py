"""Each behaviour that follows the official code where enas-tf once differed, pinned on
hand-built examples (issue: GDAS as AutoDL-Projects builds it on the DARTS space,
DARTS-V1's step order, DARTS's cutout)."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_splits
from enas_tf.config import SearchConfig
from enas_tf.layers.darts_ops import torch_pool
from enas_tf.search_spaces.darts import NUM_EDGES, PRIMITIVES, DartsSearchSpace, edge_index
from enas_tf.supernet.darts import DartsSupernet
from enas_tf.supernet.darts_edges import MixedEdge
from enas_tf.supernet.mixing import sampled_output

pytestmark = pytest.mark.kernels


def test_gdas_edge_on_the_darts_space_is_the_chosen_op_times_its_weight():
    h = tf.constant([[1.0, -2.0], [3.0, 0.5]])
    row = tf.constant([0.1, 0.6, 0.3])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(row)
        autodl = sampled_output(h, row, tf.constant(1), rest=False)
        nb201 = sampled_output(h, row, tf.constant(1))
        total_autodl, total_nb201 = tf.reduce_sum(autodl), tf.reduce_sum(nb201)
    np.testing.assert_allclose(autodl, 0.6 * h.numpy())
    np.testing.assert_allclose(nb201, 0.6 * h.numpy() + 0.4)
    # Only the chosen weight learns on the DARTS space (MixedOp.forward_gdas) ...
    np.testing.assert_allclose(tf.convert_to_tensor(tape.gradient(total_autodl, row)),
                               [0.0, 2.5, 0.0])
    # ... every weight on NAS-Bench-201 (NAS201SearchCell.forward_gdas).
    np.testing.assert_allclose(tf.convert_to_tensor(tape.gradient(total_nb201, row)),
                               [4.0, 2.5, 4.0])


def test_gdas_edges_pool_without_batch_norm():
    x = tf.random.stateless_normal([2, 6, 6, 4], [1, 2])
    row = tf.one_hot(PRIMITIVES.index("avg_pool_3x3"), len(PRIMITIVES)) * 0.7
    index = tf.constant(PRIMITIVES.index("avg_pool_3x3"))
    gdas, darts = MixedEdge(4, 1, gdas=True), MixedEdge(4, 1)
    for edge in (gdas, darts):
        edge.build(x.shape)
    np.testing.assert_allclose(gdas(x, row, index), 0.7 * torch_pool(x, "avg", 1), rtol=1e-5,
                               atol=1e-6)
    pooled = darts(x, row, index).numpy()  # DARTS: a BN after the pool (the rest is 0 here)
    np.testing.assert_allclose(pooled.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(pooled.std(axis=(0, 1, 2)), 0.7, rtol=1e-2)


def test_gdas_search_network_has_autodls_head():
    space = DartsSearchSpace()
    darts = DartsSupernet(space, num_cells=3, filters=4).build_for((8, 8, 3))
    gdas = DartsSupernet(space, num_cells=3, filters=4, network="gdas").build_for((8, 8, 3))
    names = {w.name for w in gdas.trainable_weights} - {w.name for w in darts.trainable_weights}
    assert names == {"lastact_bn_gamma", "lastact_bn_beta"}
    extra = sum(int(np.prod(w.shape)) for w in gdas.trainable_weights) - sum(
        int(np.prod(w.shape)) for w in darts.trainable_weights)
    assert extra == 2 * 4 * 16  # BN scale and offset of the last cell's 4 x 4C channels
    assert SearchConfig.for_space("darts", strategy="gdas").search_network == "gdas"
    assert SearchConfig.for_space("darts_frc").search_network == "gdas"  # GDAS-FRC's own
    assert SearchConfig.for_space("darts").search_network == "darts"
    with pytest.raises(ValueError, match="search_network applies to the darts"):
        SearchConfig.for_space("nb201", search_network="gdas").validate()


def _alphas_where_the_rules_disagree():
    """Node 2 (edges from inputs 0 and 1): input 0 holds the two strongest entries
    (sep_conv_3x3 and max_pool_3x3); ``none`` is stronger still everywhere."""
    alpha = np.zeros((NUM_EDGES, len(PRIMITIVES)))
    alpha[:, PRIMITIVES.index("none")] = 5.0
    alpha[edge_index(2, 0), PRIMITIVES.index("sep_conv_3x3")] = 3.0
    alpha[edge_index(2, 0), PRIMITIVES.index("max_pool_3x3")] = 2.5
    alpha[edge_index(2, 1), PRIMITIVES.index("skip_connect")] = 1.0
    return alpha


def test_gdas_derivation_takes_the_two_strongest_op_input_pairs():
    space = DartsSearchSpace()
    alpha = _alphas_where_the_rules_disagree()
    gdas = space.to_genotype(space.derive_top_pairs(alpha, np.zeros_like(alpha)))
    darts = space.to_genotype(space.derive(alpha, np.zeros_like(alpha)))
    assert gdas.startswith("Genotype(normal=[('sep_conv_3x3', 0), ('max_pool_3x3', 0), ")
    assert darts.startswith("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ")
    assert "none" not in gdas and "none" not in darts


def _tiny_nb201_darts(tmp_path, arch_step):
    from enas_tf.loops.search import Search

    config = SearchConfig.for_space(
        "nb201", strategy="darts", arch_step=arch_step, num_layers=1, filters=4,
        batch_size=8, num_epochs=1, steps_per_epoch=1, output_dir=str(tmp_path / arch_step),
        seed=3, lr_max=0.5, lr_min=0.5)
    return Search(config, make_splits(32, 16, size=8))


@pytest.mark.parametrize("arch_step", ["before", "after"])
def test_the_architecture_step_reads_the_weights_of_its_turn(tmp_path, arch_step):
    """A probe: the validation loss the architecture step records is the supernet's on the
    weights before the weight step (DARTS) or after it (AutoDL's DARTS-V1)."""
    search = _tiny_nb201_darts(tmp_path, arch_step)
    method = search.method
    method.start_epoch(0)
    images, labels = next(iter(search.data.dataset("train", 8)))
    valid_images, valid_labels = next(iter(search.data.dataset("valid", 8)))

    def valid_loss():
        return float(method._ce(valid_images, valid_labels)[0])

    before = valid_loss()
    method.step(images, labels, valid_images, valid_labels)
    weights_moved = valid_loss()  # (the alphas moved too, by Adam's small first step)
    recorded = float(method.valid_sums[0]) / 8
    expected = before if arch_step == "before" else weights_moved
    other = weights_moved if arch_step == "before" else before
    assert abs(recorded - expected) < abs(recorded - other)
    assert abs(recorded - expected) < 0.05 * abs(before - weights_moved) + 1e-4


def test_second_order_refuses_the_architecture_step_after_the_weights():
    with pytest.raises(ValueError, match="give --arch_step=before"):
        SearchConfig.for_space("nb201", strategy="darts", unrolled=True).validate()
    assert SearchConfig.for_space("nb201", strategy="darts").arch_step == "after"
    assert SearchConfig.for_space("darts", strategy="darts").arch_step == "before"


def test_enas_lm_search_decay_is_its_codes_sum_of_fourth_powers():
    from enas_tf.training.lm_steps import enas_lm_decayed, weight_decay_term

    w_prev = tf.constant([[0.5, -1.0], [2.0, 0.0]])
    kernels = [tf.constant([3.0]), tf.constant([1.0, -2.0]), tf.constant([0.5])]
    sampled = [w_prev, *kernels]
    chosen = enas_lm_decayed(sampled)  # var_s = [w_prev] + w_skip[1:]
    assert len(chosen) == 3 and chosen[1] is kernels[1] and chosen[2] is kernels[2]
    by_hand = (0.5 ** 4 + 1.0 + 2.0 ** 4 + 0.0) / 2 + (1.0 + 2.0 ** 4) / 2 + 0.5 ** 4 / 2
    np.testing.assert_allclose(float(weight_decay_term(chosen, "enas_lm")), by_hand)
    np.testing.assert_allclose(float(weight_decay_term(sampled, "l2")),
                               0.25 + 1 + 4 + 9 + 1 + 4 + 0.25)
    assert SearchConfig.for_space("rnn", dataset="python_docs").search_decay == "enas_lm"


@pytest.mark.parametrize("rule, expected", [("corner", 12.25 ** 2), ("centre", 14.0 ** 2)])
def test_cutout_masks_the_area_its_rule_expects(rule, expected):
    """32x32, size 16: a uniform top-left corner covers 12.25 rows (and columns) on
    average, a uniform centre 14 (DARTS's ``utils.Cutout``), so 150.1 and 196 pixels."""
    from enas_tf.data.pipeline import cutout, cutout_corner

    image = tf.ones([32, 32, 1])

    @tf.function
    def masked(seed):
        corner, size = cutout_corner(seed, 16, 32, 32, rule)
        return 32 * 32 - tf.reduce_sum(cutout(image, size, corner))

    areas = [float(masked(tf.constant([i, 7]))) for i in range(3000)]
    assert abs(np.mean(areas) - expected) < 4 * np.std(areas) / np.sqrt(len(areas))
    assert max(areas) == 256.0


def test_darts_final_training_uses_the_centred_cutout():
    from enas_tf.config import FinalConfig

    assert FinalConfig.for_space("darts").cutout_rule == "centre"
    assert FinalConfig.for_space("micro").cutout_rule == "corner"
    splits = make_splits(16, 8).for_run(FinalConfig.for_space("darts"))
    assert splits.cutout_rule == "centre"


def test_gdas_retraining_schedule_is_autodls_warmup_cosine():
    from enas_tf.config import FinalConfig
    from enas_tf.training.schedules import epoch_learning_rate

    import main  # noqa: F401  (the flags, to read the flag file as the CLI does)

    main.FLAGS.unparse_flags()
    main.FLAGS(["main.py", "--flagfile=flags/cifar_gdas_final.cfg"])
    config = main.config_from_flags()
    assert isinstance(config, FinalConfig) and config.arc == "GDAS_V1"
    # Linear warm-up by steps, then cosine from epoch 5 over 295 epochs, 0 from epoch 295.
    np.testing.assert_allclose(epoch_learning_rate(config, 0, 0.5), 0.025 * 0.5 / 5)
    np.testing.assert_allclose(epoch_learning_rate(config, 4, 0.0), 0.025 * 4 / 5)
    np.testing.assert_allclose(epoch_learning_rate(config, 5), 0.025)
    np.testing.assert_allclose(epoch_learning_rate(config, 150),
                               0.025 * (1 + np.cos(np.pi * 145 / 295)) / 2)
    assert epoch_learning_rate(config, 294) > 0 and epoch_learning_rate(config, 295) == 0.0
