"""``ENAS``: the one-line keras-tuner tuner around ``ENASOracle``.

The keras-tuner habit is one convenience tuner per oracle (``RandomSearch`` beside
``RandomSearchOracle``); this is ours. Each trial builds and fits the hypermodel as any
keras-tuner tuner does; the ENAS controller chooses its ``hp.Choice`` values and learns
from the objective.
"""

from __future__ import annotations

import keras_tuner

from enas_tf.search_spaces.base import SearchSpace
from tuner.objectives import objective_problem, reported_metrics
from tuner.oracle import ENASOracle


class ENAS(keras_tuner.Tuner):
    """keras-tuner search whose proposals come from an ENAS controller.

    Usage:

    ```python
    def build(hp):
        model = keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Flatten(),
            keras.layers.Dense(hp.Choice("units", [32, 64, 128]), activation="relu"),
            keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    import tuner

    search = tuner.ENAS(build, objective="val_accuracy", max_trials=10, seed=1,
                        directory="runs/kt", project_name="digits")
    search.search(x, y, validation_data=(vx, vy), epochs=5)
    best_model = search.get_best_models(1)[0]
    ```

    Args:
      hypermodel: a ``keras_tuner.HyperModel`` or a function ``hp -> compiled model``. Its
        hyperparameters must be ``hp.Choice`` (or ``hp.Fixed``): the controller samples one
        categorical decision per choice.
      objective: as in ``keras_tuner.RandomSearch`` (a name such as "val_accuracy" or a
        ``keras_tuner.Objective``); the reward is the objective, negated if minimised.
      max_trials: total trials.
      seed: seeds the controller's initialisation and sampling (0 too, unlike keras-tuner's
        own oracles, which read 0 as "unseeded").
      hyperparameters: as in ``keras_tuner.RandomSearch``, and so are
        ``tune_new_entries``, ``allow_new_entries``, ``max_retries_per_trial`` and
        ``max_consecutive_failed_trials``. The entries flags default to keras-tuner's
        (True), or to False when ``search_space`` fixes the space.
      search_space: optional enas-tf space (``MicroSearchSpace()``, ...) whose decisions
        become the hyperparameters, driven by that space's own controller.
      num_aggregate: the controller and its REINFORCE settings, with ``learning_rate``,
        ``entropy_weight``, ``baseline_decay``, ``lstm_size`` and ``tanh_constant``
        (see ``ENASOracle``).
      **kwargs: ``keras_tuner.Tuner`` arguments: ``directory``, ``project_name``,
        ``overwrite``, ``distribution_strategy``, ``executions_per_trial``, ...
    """

    def __init__(self, hypermodel=None, objective=None, max_trials: int = 10,
                 seed: int | None = None,
                 hyperparameters: keras_tuner.HyperParameters | None = None,
                 tune_new_entries: bool | None = None, allow_new_entries: bool | None = None,
                 max_retries_per_trial: int = 0, max_consecutive_failed_trials: int = 3,
                 search_space: SearchSpace | None = None, num_aggregate: int = 1,
                 learning_rate: float = 0.0035, entropy_weight: float = 1e-4,
                 baseline_decay: float = 0.99, lstm_size: int = 64,
                 tanh_constant: float | str | None = "auto", **kwargs):
        self.seed = seed
        entries = {name: value for name, value in (("tune_new_entries", tune_new_entries),
                                                   ("allow_new_entries", allow_new_entries))
                   if value is not None}
        oracle = ENASOracle(
            objective=objective, max_trials=max_trials, search_space=search_space,
            num_aggregate=num_aggregate, learning_rate=learning_rate,
            entropy_weight=entropy_weight, baseline_decay=baseline_decay,
            lstm_size=lstm_size, tanh_constant=tanh_constant, seed=seed,
            hyperparameters=hyperparameters, max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials, **entries)
        super().__init__(oracle, hypermodel, **kwargs)

    def search(self, *fit_args, **fit_kwargs):
        """As ``keras_tuner.Tuner.search``; an objective the model does not report fails
        here once, naming the metrics it does report, before the first trial."""
        if not fit_kwargs.get("callbacks") and self.oracle.objective is not None:
            model = self.hypermodel.build(self.oracle.get_space())
            validation = bool(fit_kwargs.get("validation_data") is not None
                              or fit_kwargs.get("validation_split"))
            problem = objective_problem(self.oracle.objective,
                                        reported_metrics(model, validation))
            if problem:
                raise keras_tuner.errors.FatalValueError(problem)
        return super().search(*fit_args, **fit_kwargs)

    def run_trial(self, trial, *fit_args, **fit_kwargs):
        """As ``keras_tuner.Tuner.run_trial``; a missing objective in the history (where
        ``search`` could not tell in advance) stops the search at the first trial."""
        results = super().run_trial(trial, *fit_args, **fit_kwargs)
        for history in results if isinstance(results, list) else [results]:
            logged = getattr(history, "history", None)
            problem = logged is not None and objective_problem(self.oracle.objective, logged)
            if problem:
                raise keras_tuner.errors.FatalValueError(problem)
        return results
