"""The final-training contract of every space's final model, for models with nothing that
ramps during training (no drop-path): ``set_training_progress`` does nothing and
``progress_stats`` reports nothing.

Example:

```python
class MyFinalNetwork(NothingRamps, keras.Model):
    ...
```
"""

from __future__ import annotations


class NothingRamps:
    """Mixin: the no-op ``set_training_progress`` / ``progress_stats`` of a final model."""

    def set_training_progress(self, progress: float, epoch_progress: float | None = None) -> None:
        """Called every step with ``(step + 1) / total_steps``; nothing follows it here."""

    def progress_stats(self) -> dict[str, float]:
        """What follows training progress, for the epoch logs: nothing here."""
        return {}
