"""Settings declared by their owners: option metadata, composition into run configs,
derived compatibility, the registries, and flags derived from the metadata."""

import dataclasses
import os
import subprocess
import sys

import pytest

from enas_tf.components import SPACES, get_components
from enas_tf.config import COMMON_PARTS, DrawConfig, FinalConfig, SearchConfig, compose
from enas_tf.options import MODES, Settings, check_field, fields_of, help_text, option
from enas_tf.registry import Registry
from enas_tf.strategies import STRATEGIES, get_strategy
from conftest import ROOT


@dataclasses.dataclass
class Toy(Settings):
    width: int = option(8, "Channels.", minimum=1, final=16)
    rate: float = option(0.1, "Drop rate.", within="[0, 1)")
    keep: float = option(1.0, "Keep.", within="(0, 1]")
    mode: str = option("fast", "How.", choices=("fast", "exact"))
    steps: int | None = option(None, "Steps.", minimum=1)
    only_search: bool = option(False, "Search only.", modes=("search",))

    def check(self):
        if self.mode == "exact" and self.rate:
            raise ValueError("exact mode needs rate=0.")


@pytest.mark.parametrize("values, message", [
    ({"width": 0}, "width must be >= 1, got 0."),
    ({"rate": 1.0}, "rate must be in [0, 1), got 1.0."),
    ({"keep": 0.0}, "keep must be in (0, 1], got 0.0."),
    ({"mode": "slow"}, "mode must be one of fast, exact, got 'slow'."),
    ({"steps": 0}, "steps must be >= 1 or unset, got 0."),
    ({"mode": "exact"}, "exact mode needs rate=0."),
])
def test_option_metadata_refuses_bad_values_in_one_line(values, message):
    with pytest.raises(ValueError) as error:
        Toy(**values).validate()
    assert str(error.value) == message


def test_good_values_pass_and_unset_optional_values_are_allowed():
    assert Toy(width=1, rate=0.0, keep=1.0, mode="exact", steps=None).validate().width == 1


def test_an_interval_that_cannot_be_read_is_refused_where_it_is_declared():
    with pytest.raises(ValueError, match="within must be an interval"):
        option(0.5, "x", within="0..1")
    with pytest.raises(TypeError, match="unknown modes"):
        option(0.5, "x", serch=1)


def test_composition_takes_the_fields_of_a_mode_with_its_defaults():
    final = compose("final", "ToyFinal", (Toy,))
    search = compose("search", "ToySearch", (Toy,))
    assert final().width == 16 and search().width == 8
    assert "only_search" in search.field_names() and "only_search" not in final.field_names()


def test_one_setting_declared_by_two_parts_is_refused():
    @dataclasses.dataclass
    class Other(Settings):
        width: int = option(4, "Also channels.")

    with pytest.raises(TypeError, match="setting width is declared by two parts"):
        fields_of((Toy, Other), "search")


def test_every_config_field_has_help_and_an_owner():
    owners = [part for part in COMMON_PARTS] + [c.settings for c in SPACES if c.settings] + [
        s.settings for s in STRATEGIES if s.settings]
    declared = {f.name for part in owners for f in dataclasses.fields(part)}
    for config_class in (SearchConfig, FinalConfig, DrawConfig):
        for field in dataclasses.fields(config_class):
            assert field.name in declared
            assert len(help_text(field)) > 10, field.name


def test_the_settings_of_a_space_or_strategy_live_in_its_own_module():
    assert get_strategy("gdas").settings.__module__ == "enas_tf.strategies.gdas"
    assert get_strategy("enas").settings.__module__ == "enas_tf.strategies.enas"
    assert get_components("macro").settings.__module__ == "enas_tf.components.macro"
    assert get_components("rnn").settings.__module__ == "enas_tf.components.rnn"
    assert {f.name for f in dataclasses.fields(get_strategy("gdas").settings)} == {
        "arch_lr", "arch_weight_decay", "arch_beta1", "arch_beta2", "tau_max", "tau_min",
        "gdas_derivation"}


@pytest.mark.parametrize("space, strategies", [
    ("micro", ["enas", "random"]), ("macro", ["enas", "random"]),
    ("rnn", ["enas", "darts", "gdas", "random"]),
    ("darts", ["darts", "gdas"]), ("darts_frc", ["darts", "gdas"]),
    ("nb201", ["enas", "darts", "gdas", "random"]),
])
def test_which_strategies_search_a_space_is_derived_from_both_declarations(space, strategies):
    components = get_components(space)
    assert [s.name for s in STRATEGIES if s.can_search(components)] == strategies
    for strategy in STRATEGIES:
        config = SearchConfig.for_space(space, strategy=strategy.name,
                                        dataset="python_docs" if space == "rnn" else "digits")
        if strategy.name in strategies:
            config.validate()
        else:
            with pytest.raises(ValueError, match=f"it is searched by: {', '.join(strategies)}"):
                config.validate()


def test_an_exclusive_setting_is_refused_when_its_owner_is_not_chosen():
    with pytest.raises(ValueError) as error:
        SearchConfig.for_space("macro", weight_sharing="compact", dataset="digits").validate()
    assert str(error.value) == "weight_sharing applies to the micro space."
    SearchConfig(weight_sharing="compact").validate()
    with pytest.raises(ValueError) as error:
        SearchConfig.for_space("darts", strategy="gdas", unrolled=True).validate()
    assert str(error.value) == "unrolled (the second-order gradient) applies to strategy darts."


def test_a_strategys_own_defaults_on_a_space_come_from_the_strategy():
    gdas = SearchConfig.for_space("darts", strategy="gdas")
    darts = SearchConfig.for_space("darts")
    assert (gdas.nesterov, gdas.weight_decay) == (True, 5e-4)
    assert (darts.nesterov, darts.weight_decay) == (False, 3e-4)
    assert SearchConfig.for_space("nb201", strategy="darts").num_epochs == 50
    assert SearchConfig.for_space("nb201", strategy="enas").lstm_size == 32
    assert SearchConfig.for_space("nb201").num_epochs == 250


def test_resumable_settings_come_from_the_metadata():
    resumable = set(SearchConfig().resumable_changes())
    assert {"num_epochs", "output_dir", "devices", "verbose", "benchmark_file"} <= resumable
    assert not {"filters", "lr_max", "strategy", "tau_max", "seed"} & resumable
    assert "eval_every" in FinalConfig().resumable_changes()


def test_the_registry_takes_names_or_objects_and_refuses_a_second_object_of_a_name():
    registry = Registry("widget")

    @dataclasses.dataclass(frozen=True)
    class Widget:
        name: str

    first = registry.register(Widget("a"))
    assert registry.get("a") is first and registry.get(first) is first
    assert registry.register(first) is first and registry.names() == ("a",)
    with pytest.raises(ValueError, match="a widget named 'a' is already registered"):
        registry.register(Widget("a"))
    with pytest.raises(ValueError, match=r"unknown widget 'b'; known: a\."):
        registry.get("b")


def test_every_mode_has_one_kind_of_default_per_field():
    for mode, config_class in zip(MODES, (SearchConfig, FinalConfig, DrawConfig)):
        assert config_class.MODE == mode
        for field in dataclasses.fields(config_class):
            check_field(field, field.default)  # every default passes its own checks


def test_the_cli_help_is_the_field_metadata():
    done = subprocess.run([sys.executable, "main.py", "--helpfull"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    text = " ".join(done.stdout.split())  # absl's help exits 1 after printing
    for field in dataclasses.fields(SearchConfig):
        assert f"--{field.name}:" in text or f"--[no]{field.name}:" in text
    assert "GDAS: Gumbel-softmax temperature of the first epoch." in text
    assert "(default: 6 in search, 15 in final, 24 in draw)" in text
    assert "nb201 (the NAS-Bench-201 cell)" in text


def test_a_strategy_sees_the_search_through_a_narrow_context(tmp_path):
    from conftest import make_splits, tiny_config

    from enas_tf import Search
    from enas_tf.strategies import StrategyContext

    search = Search(tiny_config(tmp_path), make_splits(num_train=16, num_valid=16))
    context = search.method.context
    assert isinstance(context, StrategyContext) and not hasattr(search.method, "search")
    assert context.supernet is search.supernet and context.distribution is search.distribution
    assert {f.name for f in dataclasses.fields(context)} == {
        "config", "search_space", "components", "supernet", "optimizer", "distribution",
        "data", "metric", "count_correct"}
