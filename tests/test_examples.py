"""Every example runs, with short settings, so none can rot unnoticed."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples",
                                                                     f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_has_a_test():
    tested = {"keras_tuner_enas", "keras_tuner_supernet"}
    assert {f[:-3] for f in os.listdir(os.path.join(ROOT, "examples"))
            if f.endswith(".py")} == tested


def test_the_one_line_tuner_example_compares_enas_with_random_search(tmp_path, capsys):
    results = load_example("keras_tuner_enas").main(
        ["--trials", "3", "--epochs", "2", "--seeds", "1", "--directory", str(tmp_path)])
    assert [r["tuner"] for r in results] == ["ENAS", "RandomSearch"]
    for result in results:
        assert 0.1 < result["best_val"] <= 1.0 and 0.0 < result["test"] <= 1.0
        assert result["mean_val"] <= result["best_val"] and result["seconds"] > 0
    printed = capsys.readouterr().out
    assert "3 trials x 2 epochs per tuner" in printed
    assert "ENAS: best test accuracy" in printed and "RandomSearch: best test" in printed


def test_the_supernet_example_trains_both_searches_best_cells_and_exports(tmp_path, capsys):
    results = load_example("keras_tuner_supernet").main(
        ["--trials", "2", "--steps", "2", "--final_epochs", "1", "--directory",
         str(tmp_path)])
    assert set(results) == {"ENAS", "random"}
    for result in results.values():
        assert 0.0 <= result["search_val"] <= 1.0 and 0.0 <= result["test_accuracy"] <= 1.0
        assert len(result["arc"]) == 40  # both cells of a 5-node micro architecture
    assert os.path.isfile(os.path.join(results["ENAS"]["savedmodel"], "saved_model.pb"))
    assert "savedmodel" not in results["random"]
    assert "trained 1 epochs from scratch" in capsys.readouterr().out


@pytest.mark.slow
def test_the_one_line_tuner_example_reaches_real_accuracy(tmp_path):
    """The default budget reaches what the README promises (~3 minutes)."""
    results = load_example("keras_tuner_enas").main(["--directory", str(tmp_path)])
    assert min(r["test"] for r in results) > 0.95
