import pytest

from enas_tf.config import FinalConfig, SearchConfig
from enas_tf.training.schedules import cosine_period, cosine_restarts_lr, epoch_learning_rate


def test_cosine_restarts_follow_sgdr_periods():
    lr = lambda e: cosine_restarts_lr(e, 0.05, 0.0005, t0=10, t_mul=2)
    assert lr(0) == pytest.approx(0.05)
    assert lr(5) == pytest.approx(0.0005 + 0.5 * 0.0495)  # half-way through period 1
    assert lr(9) < lr(8) < lr(1)
    assert lr(10) == pytest.approx(0.05)  # restart, period 2 lasts 20 epochs
    assert lr(20) == pytest.approx(0.0005 + 0.5 * 0.0495)
    assert lr(30) == pytest.approx(0.05)  # next restart
    # A 150-epoch search ends at lr_min: epoch 149 is the last of period [70, 150).
    assert lr(149) == pytest.approx(0.0005, abs=2e-5)


@pytest.mark.parametrize("space", ["darts", "nb201"])
def test_one_cosine_period_spans_a_run_of_any_length(space):
    """DARTS, GDAS and NAS-Bench-201 anneal over the whole run (``lr_t0=0``): shortened
    from Python, a run still ends near ``lr_min``; an explicit ``lr_t0`` still rules."""
    for config_class in (SearchConfig, FinalConfig):
        official = config_class.for_space(space)
        assert official.lr_t0 == 0 and cosine_period(official) == official.num_epochs
        short = config_class.for_space(space, num_epochs=10)
        last = epoch_learning_rate(short, 9)
        assert cosine_period(short) == 10
        assert last - short.lr_min < 0.03 * (short.lr_max - short.lr_min)
        assert epoch_learning_rate(short, 0) == pytest.approx(short.lr_max)
    assert cosine_period(SearchConfig.for_space("darts", num_epochs=10, lr_t0=50)) == 50
    warm = FinalConfig.for_space("darts", lr_t0=0, num_epochs=300,
                                 lr_schedule="warmup_cosine", lr_warmup_epochs=5)
    assert cosine_period(warm) == 295  # AutoDL counts its period without the warm-up


def test_official_defaults():
    config = SearchConfig().validate()
    assert (config.batch_size, config.num_epochs, config.filters, config.num_layers) == (
        160, 150, 20, 6)
    assert (config.controller_train_steps, config.controller_num_aggregate) == (30, 10)
    assert config.steps_for(45000) == 282


@pytest.mark.parametrize("overrides, message", [
    ({"filters": 5}, "filters must be an even number"),
    ({"dataset": "mnist"}, "unknown dataset 'mnist'; choose cifar10, cifar100, digits"),
    ({"keep_prob": 0.0}, "keep_prob must be in"),
    ({"lr_min": 0.1}, "lr_min <= lr_max"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
])
def test_bad_settings_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        SearchConfig(**overrides).validate()


def test_resume_compatibility():
    saved = SearchConfig().to_dict()
    assert SearchConfig(num_epochs=300).incompatible_changes(saved) == []
    assert SearchConfig(filters=36).incompatible_changes(saved) == ["filters"]
