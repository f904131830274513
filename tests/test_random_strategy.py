"""Random search with weight sharing: the baseline strategy over the ENAS spaces."""

import json

import numpy as np
import pytest

from conftest import make_splits, tiny_config
from enas_tf.config import SearchConfig
from enas_tf.loops.search import Search


def test_random_architectures_are_uniform_and_valid(tmp_path):
    search = Search(tiny_config(tmp_path, strategy="random", num_nodes=3),
                    make_splits(32, 16))
    space, method = search.search_space, search.method
    arcs = np.array([space.validate(method.sample_arc().numpy()) for _ in range(400)])
    for position, decision in enumerate(space.decisions):  # every choice of every decision
        counts = np.bincount(arcs[:, position], minlength=decision.num_choices)
        assert len(counts) == decision.num_choices and counts.min() > 0, decision.name
    ops = arcs[:, 1::2].ravel()  # op decisions: 5 choices, about 1/5 each
    assert np.allclose(np.bincount(ops) / len(ops), 0.2, atol=0.05)


@pytest.mark.parametrize("space", [{}, {"search_space": "macro", "num_layers": 3,
                                        "tanh_constant": 1.5}])
def test_a_tiny_random_search_derives_and_resumes(tmp_path, space):
    data = make_splits(32, 16)
    config = dict(strategy="random", keep_prob=1.0, **space)
    first = Search(tiny_config(tmp_path, **config), data)
    first.run()
    best = first.method.most_likely()
    second = Search(tiny_config(tmp_path, num_epochs=2, **config), data)
    assert second.restore() == 1
    assert second.method.most_likely() == best  # the best-so-far is checkpointed
    result = second.run()
    saved = json.loads((tmp_path / "derived_arc.json").read_text())
    assert saved["strategy"] == "random" and saved["arc"] == list(result["arc"])
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert history[-1]["random_best_accuracy"] >= history[0]["random_best_accuracy"]


def test_random_search_needs_an_arc_supernet():
    with pytest.raises(ValueError, match="strategy random does not search the darts space"):
        SearchConfig.for_space("darts", strategy="random").validate()
