"""Progress output: a line with rate and ETA in logs, a live bar on terminals, nothing
at verbose=0."""

import io
import time

import pytest

from enas_tf.training.progress import EpochClock, Progress, format_duration


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_log_lines_carry_counts_rate_eta_and_averaged_values():
    stream = io.StringIO()
    progress = Progress(4, verbose=1, title="epoch 1/2", stream=stream, log_interval=0.0,
                        stateful=["lr"])
    for step, (loss, lr) in enumerate([(4.0, 0.1), (2.0, 0.05)], 1):
        time.sleep(0.01)
        progress.update(step, [("loss", loss), ("lr", lr)])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    # The first step also traces: no rate and no ETA until a second one has run.
    assert lines[0].startswith("epoch 1/2: 1/4 steps, ETA after the next update")
    assert lines[-1].startswith("epoch 1/2: 2/4 steps, ")
    assert "steps/s, ETA " in lines[-1]
    assert "loss: 3.0000" in lines[-1] and "lr: 0.0500" in lines[-1]  # mean vs latest
    progress.update(4, [("loss", 0.0), ("lr", 0.01)])
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("epoch 1/2: 4/4 steps") and "ETA" not in last


def test_log_lines_are_rate_limited_but_the_last_always_prints():
    stream = io.StringIO()
    progress = Progress(100, verbose=1, stream=stream, log_interval=3600.0)
    for step in range(1, 101):
        progress.update(step, [("loss", 1.0)])
    assert len(stream.getvalue().splitlines()) == 1


def test_terminal_gets_a_live_bar_and_verbose_0_prints_nothing():
    terminal = _Terminal()
    progress = Progress(3, verbose=1, title="derive", stream=terminal)
    assert progress.bar is not None
    quiet = io.StringIO()
    silent = Progress(3, verbose=0, stream=quiet)
    for step in range(1, 4):
        silent.update(step, [("loss", 1.0)])
    assert quiet.getvalue() == "" and silent.bar is None


def test_durations_and_epoch_eta():
    assert format_duration(5) == "5s"
    assert format_duration(75) == "1m15s"
    assert format_duration(4000) == "1h06m40s"
    clock = EpochClock(num_epochs=4)
    # The first epoch of a process includes tracing: no ETA from it alone.
    assert clock.lap(1) == "done in 0s, ETA after the next epoch (this one included tracing)"
    clock.laps[0] = 100.0  # a slow (tracing) first epoch must not weigh in
    assert clock.lap(2).startswith("done in 0s, ETA 0s")
    assert "ETA" not in clock.lap(4)


def test_a_stop_request_raises_at_the_next_progress_update(monkeypatch):
    import signal

    from enas_tf.training import signals

    monkeypatch.setattr(signals, "_requested", [])
    progress = Progress(5, verbose=0)
    progress.update(1)
    signals._requested.append(signal.SIGTERM)
    with pytest.raises(signals.StopRequested) as stop:
        progress.update(2)
    assert stop.value.exit_code == 143 and str(stop.value) == "SIGTERM"


class _DeviceValue:
    """Stands for a loss still on the device: counts how often the host reads it."""

    reads = 0

    def __init__(self, value):
        self.value = value

    def __float__(self):
        _DeviceValue.reads += 1
        return float(self.value)


def test_step_metrics_read_device_values_only_at_log_points(tmp_path):
    import tensorflow as tf

    from enas_tf.training.progress import StepMetrics

    tf.register_tensor_conversion_function(
        _DeviceValue, lambda v, dtype=None, name=None, as_ref=False: tf.constant(
            v.value, dtype or tf.float32))
    writer = tf.summary.create_file_writer(str(tmp_path))
    metrics = StepMetrics(steps=10, first_global_step=1, learning_rate=0.1, log_every=4,
                          verbose=0, title="epoch 1/1", writer=writer)
    _DeviceValue.reads = 0
    for step in range(10):
        metrics.record(step, _DeviceValue(1.0 + step), _DeviceValue(0.5))
    assert _DeviceValue.reads == 2 * 4  # loss and accuracy at steps 0, 4, 8 and the last
    means = metrics.means()  # means computed on the device, read once
    assert means["loss"] == 5.5 and means["accuracy"] == 0.5 and means["learning_rate"] == 0.1
