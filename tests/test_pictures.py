"""Pictures: cell drawings show the architecture's ops and wiring, heat-maps show the
probabilities they are given, the policy's pictures leave the search unchanged."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf.controllers.micro_controller import MicroController
from enas_tf.search_spaces.choices import ChoiceSearchSpace
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace
from enas_tf.search_spaces.micro_pictures import cell_layout, node_depths
from enas_tf.search_spaces.pictures import SHORT_OP_NAMES, decision_groups, save_png, to_png
from enas_tf.training.summaries import write_policy_pictures

SPACE = MicroSearchSpace(5)
PUBLISHED = SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC)


def test_node_depths_follow_the_wiring():
    normal, reduce = SPACE.split(PUBLISHED)
    # The published normal cell reads only the cell inputs: every node at depth 1.
    assert node_depths(normal, 5) == [0, 0, 1, 1, 1, 1, 1]
    # Reduce: node 4 reads node 3 (depth 1), so it sits at depth 2.
    assert node_depths(reduce, 5) == [0, 0, 1, 1, 2, 1, 1]
    chain = [0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 1, 0, 4, 0, 0, 0, 5, 0, 1, 0]
    assert node_depths(chain, 5) == [0, 0, 1, 2, 3, 4, 5]
    positions = cell_layout(chain, 5)
    assert len(set(positions.values())) == len(positions) == 8  # inputs, 5 nodes, output


def test_cell_drawing_labels_every_slot_with_its_op(tmp_path):
    figure = SPACE.draw(PUBLISHED, "published")
    normal_ax, reduce_ax = figure.axes
    for ax, cell in zip((normal_ax, reduce_ax), SPACE.split(PUBLISHED)):
        texts = [t.get_text() for t in ax.texts]
        expected = sorted(SHORT_OP_NAMES[SPACE.ops[op]] for op in cell[1::2])
        assert sorted(t for t in texts if t in SHORT_OP_NAMES.values()) == expected
        assert {"c[k-2]", "c[k-1]", "concat"} <= set(texts)
    path = save_png(figure, str(tmp_path / "arc.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_heat_map_shows_the_given_probabilities():
    rng = np.random.default_rng(0)
    probabilities = [rng.dirichlet(np.ones(d.num_choices)) for d in SPACE.decisions]
    figure = SPACE.draw_probabilities(probabilities)
    groups = decision_groups(SPACE.decisions)
    assert [name for name, _ in groups] == [
        "normal: input node", "normal: op", "reduce: input node", "reduce: op"]
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 4
    for ax, (_, members) in zip(panels, groups):
        grid = np.asarray(ax.images[0].get_array().filled(np.nan))
        for row, decision in enumerate(members):
            n = SPACE.decisions[decision].num_choices
            np.testing.assert_allclose(grid[row, :n], probabilities[decision])
            assert np.isnan(grid[row, n:]).all()  # impossible choices stay blank


def test_any_space_draws_as_a_table():
    space = ChoiceSearchSpace([("units", [16, 32]), ("activation", ["relu", "tanh"])])
    figure = space.draw((1, 0))
    cells = {c.get_text().get_text() for c in figure.axes[0].tables[0].get_celld().values()}
    assert {"units", "32", "activation", "relu"} <= cells
    assert to_png(space.draw_probabilities([np.array([0.2, 0.8]), np.array([0.5, 0.5])]))


def test_most_likely_takes_the_top_choice_and_sampled_probabilities_are_exact():
    controller = MicroController(SPACE, seed=1)
    likely = SPACE.validate(controller.most_likely().numpy())
    probs = controller.probabilities(likely)
    assert [int(np.argmax(p)) for p in probs] == list(likely)
    arc, sampled_probs = controller.sample_with_probabilities()
    for mine, exact in zip(sampled_probs, controller.probabilities(arc.numpy())):
        np.testing.assert_allclose(mine.numpy(), exact, rtol=1e-5)
    marginals = controller.choice_probabilities(5)
    np.testing.assert_allclose([m.sum() for m in marginals], 1.0, rtol=1e-5)


def test_policy_pictures_do_not_change_what_the_controller_samples(tmp_path):
    controller = MicroController(SPACE, seed=2)
    twin = MicroController(SPACE, seed=2)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default(step=1):
        likely = write_policy_pictures(controller, 1)
    assert likely == SPACE.validate(twin.most_likely().numpy())
    for _ in range(3):
        np.testing.assert_array_equal(controller.sample()[0].numpy(), twin.sample()[0].numpy())


def test_drawing_a_bad_architecture_names_the_problem():
    with pytest.raises(ValueError, match="must have 40 integers, got 3"):
        SPACE.draw([1, 2, 3])
    bad = list(PUBLISHED)
    bad[1] = 9
    with pytest.raises(ValueError, match=r"position 1 \(normal/node2/op1\): 9 is out of range"):
        SPACE.draw(bad)
