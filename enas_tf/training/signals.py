"""Stopping a run cleanly on SIGTERM or SIGINT.

A signal that raised ``KeyboardInterrupt`` straight away could land inside TensorFlow
(while it traces a ``tf.function``, say) and surface as an unrelated error. Instead the
handler only records the request; the loops call ``check_stop()`` between steps (every
progress update does), where stopping is safe: the last checkpoint is whole and nothing
is half-written. A second signal stops at once, for a run stuck outside the loops.

Example:

```python
stop_on_signals()            # the CLI does this; a notebook keeps Ctrl-C as it is
for step in range(steps):
    train_step()
    check_stop()             # raises StopRequested once a signal came
```
"""

from __future__ import annotations

import signal

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number
_requested: list[int] = []


class StopRequested(KeyboardInterrupt):
    """A SIGTERM or SIGINT asked the run to stop; raised at the next safe point."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, 128 + self.signum)


def _request_stop(signum, frame) -> None:
    _requested.append(signum)
    if len(_requested) > 1:  # asked twice: the loop is not reaching a safe point
        raise StopRequested(_requested[0])


def stop_on_signals() -> None:
    """SIGTERM (a scheduler's stop) and SIGINT (Ctrl-C) ask the run to stop at its next
    safe point (``check_stop``); a second one stops at once."""
    _requested.clear()
    for signum in EXIT_CODES:
        signal.signal(signum, _request_stop)


def stop_requested() -> int | None:
    """The signal that asked to stop, or None."""
    return _requested[0] if _requested else None


def check_stop() -> None:
    """Raises ``StopRequested`` if a signal asked the run to stop."""
    if _requested:
        raise StopRequested(_requested[0])
