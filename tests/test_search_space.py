import json

import numpy as np
import pytest

from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.micro import (MICRO_OPS, PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace,
                                         unused_nodes)

SPACE = MicroSearchSpace(5)


def test_decisions_follow_official_layout():
    assert SPACE.num_decisions == 40
    names = [d.name for d in SPACE.decisions[:4]]
    assert names == ["normal/node2/input1", "normal/node2/op1",
                     "normal/node2/input2", "normal/node2/op2"]
    assert SPACE.decisions[20].name == "reduce/node2/input1"
    # Node i may take any of the i earlier nodes as input.
    assert [d.num_choices for d in SPACE.decisions[0:20:4]] == [2, 3, 4, 5, 6]
    assert all(d.num_choices == 5 for d in SPACE.decisions[1::2])


def test_published_arc_parses_to_documented_nodes():
    arc = SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC)
    data = SPACE.to_json(arc)
    assert data["normal"][0] == {"node": 2, "inputs": [0, 0],
                                 "ops": ["avg_pool_3x3", "sep_conv_3x3"]}
    assert data["reduce"][1] == {"node": 3, "inputs": [0, 0],
                                 "ops": ["max_pool_3x3", "avg_pool_3x3"]}
    normal, reduce = SPACE.split(arc)
    assert unused_nodes(normal, 5) == [2, 3, 4, 5, 6]
    assert unused_nodes(reduce, 5) == [2, 4, 5, 6]


@pytest.mark.parametrize("seed", range(20))
def test_string_and_json_round_trip(seed):
    arc = SPACE.random_architecture(np.random.default_rng(seed))
    assert SPACE.from_string(SPACE.to_string(arc)) == arc
    data = json.loads(json.dumps(SPACE.to_json(arc)))
    assert SPACE.from_json(data) == arc
    assert SPACE.from_json({"enas_string": data["enas_string"]}) == arc


@pytest.mark.parametrize("text, message", [
    ("0 1 0 1", "must have 40 integers, got 4"),
    (PUBLISHED_ENAS_MICRO_ARC.replace("0 2 0 0", "2 2 0 0", 1),
     r"position 0 \(normal/node2/input1\): 2 is out of range \[0, 1\]"),
    (PUBLISHED_ENAS_MICRO_ARC[:-1] + "5", r"position 39 \(reduce/node6/op2\): 5 is out of range"),
    (PUBLISHED_ENAS_MICRO_ARC.replace("0", "x", 1), "position 0: 'x' is not an integer"),
])
def test_bad_strings_name_position_and_reason(text, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        SPACE.from_string(text)


def test_bad_json_names_the_node():
    data = SPACE.to_json(SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC))
    data["reduce"][2]["ops"][1] = "conv_7x7"
    with pytest.raises(InvalidArchitectureError, match="reduce/node4/op2: unknown op 'conv_7x7'"):
        SPACE.from_json(data)
    data = SPACE.to_json(SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC))
    data["normal"][3]["inputs"] = [1]
    with pytest.raises(InvalidArchitectureError, match="normal/node5: needs exactly 2 inputs"):
        SPACE.from_json(data)
    with pytest.raises(InvalidArchitectureError, match="search space 'macro'"):
        SPACE.from_json({"search_space": "macro"})


def test_json_string_mismatch_is_rejected():
    data = SPACE.to_json(SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC))
    data["normal"][0]["ops"] = [MICRO_OPS[4], MICRO_OPS[4]]
    with pytest.raises(InvalidArchitectureError, match="disagrees"):
        SPACE.from_json(data)
