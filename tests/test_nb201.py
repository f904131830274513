"""The NAS-Bench-201 space: the benchmark's string, JSON, validation, pictures; its
supernet, network and searches by every strategy; benchmark look-up."""

import json
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

import enas_tf.supernet.nb201 as nb201_supernet
from conftest import assert_reloads_in_a_fresh_process, make_splits
from enas_tf.config import SearchConfig
from enas_tf.lookup import BenchmarkLookupError, NasBench201ApiLookup, TableLookup, open_lookup
from enas_tf.models.nb201_network import NasBench201Network
from enas_tf.models.summary import trainable_parameters
from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.nb201 import OPS, RESNET_CELL, NasBench201SearchSpace
from enas_tf.search_spaces.pictures import to_png
from enas_tf.supernet.mixing import SampledMixing
from enas_tf.loops.search import Search

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


# --- the supernet, the benchmark's network and searches -------------------------------



def test_the_resnet_cell_network_has_the_benchmarks_size_and_reloads(tmp_path):
    model = NasBench201Network(SPACE.from_string(RESNET_CELL)).build_for((32, 32, 3))
    assert trainable_parameters(model) == 559_386
    assert model(tf.zeros([2, 32, 32, 3])).shape == (2, 10)
    small = NasBench201Network(SPACE.from_string(RESNET_CELL), filters=4, cells_per_stage=1,
                               num_classes=3).build_for((8, 8, 3))
    assert_reloads_in_a_fresh_process(small, tmp_path, "NasBench201Network")


@pytest.mark.kernels
def test_every_form_of_one_cell_gives_the_same_supernet_output():
    """The integers, the one-hot weights (DARTS's form) and a one-hot sample (GDAS's)
    run the same cell."""
    keras.utils.set_random_seed(0)
    supernet = nb201_supernet.NasBench201Supernet(SPACE, filters=4, cells_per_stage=1,
                                                  num_classes=3).build_for((8, 8, 3))
    images = tf.random.normal([4, 8, 8, 3], seed=1)
    arc = SPACE.from_string("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+"
                            "|skip_connect~0|none~1|nor_conv_3x3~2|")
    one_hot = tf.one_hot(arc, len(OPS))
    outputs = [supernet(images, tf.constant(arc)), supernet(images, {"cell": one_hot}),
               supernet(images, SampledMixing(one_hot, tf.constant(arc)))]
    for out in outputs[1:]:
        np.testing.assert_allclose(out.numpy(), outputs[0].numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(supernet(images, tf.constant([3] * 6)).numpy(), outputs[0].numpy())


@pytest.mark.kernels
def test_a_sampled_edge_runs_only_its_op(monkeypatch):
    counts = tf.Variable(tf.zeros([len(OPS)], tf.int32))
    original = nb201_supernet.nb201_op

    def counted(op, x, *kernels):
        with tf.control_dependencies([counts.scatter_nd_add([[op]], [1])]):
            return tf.identity(original(op, x, *kernels))

    monkeypatch.setattr(nb201_supernet, "nb201_op", counted)
    edge = tf.function(nb201_supernet.sampled_edge.python_function)
    x = tf.random.normal([2, 4, 4, 3])
    kernels = (tf.random.normal([1, 1, 3, 3]), tf.random.normal([3, 3, 3, 3]))
    for op in range(len(OPS)):
        before = counts.numpy().copy()
        edge(x, tf.one_hot(op, len(OPS)), tf.constant(op), *kernels)
        np.testing.assert_array_equal(counts.numpy() - before, np.eye(len(OPS))[op])


def _all_cells_table(path):
    """A synthetic benchmark: every cell's 'test accuracy' is 80 + 2 per 3x3 conv."""
    table = {SPACE.to_arch_str(arc): {"test_accuracy": 80.0 + 2 * sum(v == 3 for v in arc)}
             for arc in SPACE.all_architectures()}
    path.write_text(json.dumps({"cifar10": table}))
    return str(path)


@pytest.mark.parametrize("strategy", ["gdas", "darts", "enas", "random"])
def test_a_tiny_search_of_every_strategy_resumes_and_looks_its_cell_up(tmp_path, strategy):
    values = dict(strategy=strategy, dataset="digits", num_layers=1, filters=4, batch_size=8,
                  steps_per_epoch=2, num_valid=16, controller_train_steps=2,
                  controller_num_aggregate=2, derive_num_samples=3, derive_random_samples=2,
                  log_every=1, verbose=0, output_dir=str(tmp_path / "run"), seed=1,
                  benchmark_file=_all_cells_table(tmp_path / "table.json"))
    splits = make_splits(32, 16, size=8)
    Search(SearchConfig.for_space("nb201", num_epochs=1, **values), splits).run()
    again = Search(SearchConfig.for_space("nb201", num_epochs=2, **values), splits)
    assert again.restore() == 1
    result = again.run()
    assert result["epochs_trained"] == 2 and len(again.history) == 2
    cell = SPACE.to_arch_str(result["arc"])
    assert result["benchmark"]["arch_str"] == cell
    assert result["benchmark"]["test_accuracy"] == 80.0 + 2 * cell.count("nor_conv_3x3")
    assert result["benchmark"]["num_random"] == 2


def test_table_lookups_read_json_and_csv_and_name_what_is_missing(tmp_path):
    (tmp_path / "t.csv").write_text(f"arch_str,dataset,test_accuracy,valid_accuracy\n"
                                    f"{RESNET_CELL},cifar10,93.97,90.83\n")
    lookup = open_lookup(str(tmp_path / "t.csv"))
    assert lookup.query(RESNET_CELL) == {"test_accuracy": 93.97, "valid_accuracy": 90.83}
    with pytest.raises(BenchmarkLookupError, match="no data set 'cifar100'"):
        lookup.query(RESNET_CELL, "cifar100")
    with pytest.raises(BenchmarkLookupError, match="no entry for"):
        lookup.query(SPACE.to_arch_str([0] * 6))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(BenchmarkLookupError, match="cannot read the benchmark table"):
        TableLookup.from_file(str(tmp_path / "bad.json"))
    with pytest.raises(BenchmarkLookupError, match="does not exist"):
        open_lookup(str(tmp_path / "missing.pth"))


class FakeApi:
    """The part of ``NASBench201API`` / ``nats_bench`` the adapter uses."""

    def __init__(self, path=None, *args, **kwargs):
        self.path, self.calls = path, []

    def query_index_by_arch(self, arch_str):
        return 7 if arch_str == RESNET_CELL else -1

    def get_more_info(self, index, dataset, hp="12", is_random=True):
        self.calls.append((index, dataset, hp, is_random))
        return {"test-accuracy": 93.97, "valid-accuracy": 90.83, "train-loss": 0.1}


def test_the_official_api_adapter_asks_for_the_200_epoch_results(tmp_path, monkeypatch):
    lookup = NasBench201ApiLookup(FakeApi())
    assert lookup.query(RESNET_CELL, "cifar10-valid") == {
        "test_accuracy": 93.97, "valid_accuracy": 90.83, "index": 7}
    assert lookup.api.calls == [(7, "cifar10-valid", "200", False)]
    with pytest.raises(BenchmarkLookupError, match="no architecture"):
        lookup.query(SPACE.to_arch_str([0] * 6))
    with pytest.raises(BenchmarkLookupError, match="unknown benchmark data set"):
        lookup.query(RESNET_CELL, "mnist")
    # A file the official packages read: nats_bench.create(path, "tss", ...).
    path = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    path.write_bytes(b"")
    fake = types.ModuleType("nats_bench")
    fake.create = lambda p, space, fast_mode, verbose: FakeApi(p)
    monkeypatch.setitem(sys.modules, "nats_bench", fake)
    assert open_lookup(str(path)).api.path == str(path)
    monkeypatch.setitem(sys.modules, "nas_201_api", None)  # not installed
    (tmp_path / "NAS-Bench-201-v1_1-096897.pth").write_bytes(b"")
    with pytest.raises(BenchmarkLookupError, match="pip install nas-bench-201"):
        open_lookup(str(tmp_path / "NAS-Bench-201-v1_1-096897.pth"))
