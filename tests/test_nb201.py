"""The NAS-Bench-201 cell space: the benchmark's string, JSON, validation, pictures."""

import json

import pytest

from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.nb201 import OPS, RESNET_CELL, NasBench201SearchSpace
from enas_tf.search_spaces.pictures import to_png

SPACE = NasBench201SearchSpace()


def test_every_one_of_the_15625_cells_round_trips_as_string_integers_and_json():
    seen = set()
    for arc in SPACE.all_architectures():
        text = SPACE.to_arch_str(arc)
        assert SPACE.from_string(text) == arc
        assert SPACE.from_string(SPACE.to_string(arc)) == arc
        seen.add(text)
    assert len(seen) == 5 ** 6 == 15625
    for arc in [(0,) * 6, (4,) * 6, SPACE.from_string(RESNET_CELL)]:
        assert SPACE.from_json(json.loads(json.dumps(SPACE.to_json(arc)))) == arc
        edges_only = {k: v for k, v in SPACE.to_json(arc).items() if k != "arch_str"}
        assert SPACE.from_json(edges_only) == arc


def test_the_resnet_cell_reads_as_the_benchmark_writes_it():
    arc = SPACE.from_string(RESNET_CELL)
    assert [OPS[v] for v in arc] == ["nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect",
                                     "none", "skip_connect"]
    assert SPACE.describe(arc).splitlines() == [
        "n1 = nor_conv_3x3(n0)", "n2 = nor_conv_3x3(n1)",
        "n3 = skip_connect(n0) + skip_connect(n2)"]


@pytest.mark.parametrize("text, message", [
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|", "needs 3 node groups"),
    ("|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|skip_connect~2|",
     "node 2: needs 2 edge"),
    ("|nor_conv_3x3~0|+|none~1|nor_conv_3x3~0|+|skip_connect~0|none~1|skip_connect~2|",
     "expected the edge from node 0 here"),
    ("|conv_7x7~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
     "node 1, edge 'conv_7x7~0': unknown op 'conv_7x7'"),
    ("|nor_conv_3x3-0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
     "must be 'op~source'"),
    ("3 0 3 1 0 5", r"position 5 \(node3/from2\): 5 is out of range \[0, 4\]"),
])
def test_bad_cells_are_refused_naming_where_and_why(text, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        SPACE.from_string(text)


def test_json_for_another_space_or_with_a_disagreeing_string_is_refused():
    data = SPACE.to_json(SPACE.from_string(RESNET_CELL))
    with pytest.raises(InvalidArchitectureError, match="expected 'nb201'"):
        SPACE.from_json({**data, "search_space": "micro"})
    with pytest.raises(InvalidArchitectureError, match="disagrees"):
        SPACE.from_json({**data, "enas_string": "0 0 0 0 0 0"})
    with pytest.raises(InvalidArchitectureError, match="lacks edge"):
        SPACE.from_json({"edges": data["edges"][:5]})


def test_a_cell_draws_as_a_png():
    assert to_png(SPACE.draw(SPACE.from_string(RESNET_CELL)))[:4] == b"\x89PNG"
