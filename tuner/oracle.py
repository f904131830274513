"""``ENASOracle``: the ENAS controller proposing keras-tuner trials, trained by REINFORCE.

Each trial's hyperparameters are one architecture's choices, declared as ``hp.Choice``s
with readable names (``normal/node2/input1``, ``normal/node2/op1``, ...) for an enas-tf
search space, or the user's own ``hp.Choice``s. When a trial ends, its objective becomes
the reward: the baseline moves, and after every ``num_aggregate`` completed trials one
Adam step is taken on the averaged policy gradients. Controller weights, baseline,
optimizer state and sampling RNG are part of ``get_state``/``set_state``, so keras-tuner's
own ``oracle.json`` resumes the policy with ``overwrite=False``, and a chief oracle
learns from every worker's trials in distributed tuning.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import keras_tuner
import numpy as np
import tensorflow as tf

from enas_tf.components import components_of
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.controllers.sequence_controller import SequenceController
from enas_tf.search_spaces.base import SearchSpace
from enas_tf.search_spaces.choices import ChoiceSearchSpace

TrialStatus = keras_tuner.engine.trial.TrialStatus


def _encode(value) -> dict[str, Any]:
    """An array as JSON-safe base64 (far faster to write than a list of floats)."""
    array = np.asarray(value)
    return {"dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def _decode(data: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(data["data"]), np.dtype(data["dtype"])).reshape(
        data["shape"])


def declare_search_space(space: SearchSpace, hp: keras_tuner.HyperParameters) -> None:
    """Declares one ``hp.Choice`` per decision of ``space`` (op decisions by op name).

    Args:
      space: an enas-tf search space (``MicroSearchSpace()``, ...).
      hp: the hypermodel's ``keras_tuner.HyperParameters``.

    Example:

    ```python
    hp = keras_tuner.HyperParameters()
    declare_search_space(MicroSearchSpace(num_nodes=3), hp)
    len(hp.space)            # one hp.Choice per decision of the space
    ```
    """
    for name, values in ChoiceSearchSpace.of(space).values.items():
        hp.Choice(name, values, ordered=False)


class ENASOracle(keras_tuner.Oracle):
    """An oracle whose proposals come from an ENAS LSTM controller.

    Args:
      objective: keras-tuner objective (name or ``keras_tuner.Objective``); maximised or
        minimised as its direction says (the reward is the negated value for ``min``).
      max_trials: total trials.
      search_space: an enas-tf space (``MicroSearchSpace()``, ``MacroSearchSpace(12)``)
        whose decisions become the trials' hyperparameters and which its official
        controller drives. If None, the space is the ``hp.Choice``s the hypermodel
        declares, under a ``SequenceController``.
      num_aggregate: completed trials averaged per controller update.
      learning_rate, entropy_weight, baseline_decay: REINFORCE settings (official ENAS
        defaults).
      lstm_size: controller LSTM units.
      tanh_constant: logits become ``tanh_constant * tanh(logits)``. "auto" (default):
        the space's official constant for an enas-tf space (micro 1.1, macro 1.5); off
        (None) for ``hp.Choice`` spaces, where a cap on the logits would keep the policy
        from ever settling on one choice.
      seed: seeds the controller (initialisation and sampling).
      **kwargs: go to ``keras_tuner.Oracle``.

    Example:

    ```python
    oracle = ENASOracle(objective="val_accuracy", max_trials=20, seed=1)
    search = keras_tuner.Tuner(oracle=oracle, hypermodel=build, directory="runs/kt")
    ```
    """

    def __init__(self, objective=None, max_trials: int = 10,
                 search_space: SearchSpace | None = None, num_aggregate: int = 1,
                 learning_rate: float = 0.0035, entropy_weight: float = 1e-4,
                 baseline_decay: float = 0.99, lstm_size: int = 64,
                 tanh_constant: float | str | None = "auto", seed: int | None = None,
                 **kwargs):
        hyperparameters = kwargs.pop("hyperparameters", None)
        if search_space is not None:
            hyperparameters = hyperparameters or keras_tuner.HyperParameters()
            declare_search_space(search_space, hyperparameters)
            kwargs.setdefault("allow_new_entries", False)
            kwargs.setdefault("tune_new_entries", False)
        super().__init__(objective=objective, max_trials=max_trials,
                         hyperparameters=hyperparameters, seed=seed, **kwargs)
        if seed is not None:  # keras-tuner's Oracle takes seed=0 for "no seed"
            self.seed = self._seed_state = seed
        if num_aggregate < 1:
            raise ValueError(f"num_aggregate must be >= 1, got {num_aggregate}.")
        self.search_space = search_space
        self.num_aggregate = num_aggregate
        components = components_of(search_space)
        if tanh_constant == "auto" and (components is None or components.tanh_constant is None):
            tanh_constant = None  # resolved to the space's official constant otherwise
        self.controller_settings = dict(lstm_size=lstm_size, tanh_constant=tanh_constant)
        self.reinforce_settings = dict(learning_rate=learning_rate,
                                       entropy_weight=entropy_weight,
                                       baseline_decay=baseline_decay)
        self.choices: ChoiceSearchSpace | None = None
        self.reinforce: Reinforce | None = None
        self.pending: list[tuple[list[int], float]] = []  # (arc, reward) since last update
        self.updates = 0
        self.baseline_started = False

    # --- the policy ----------------------------------------------------------------

    @property
    def controller(self):
        return None if self.reinforce is None else self.reinforce.controller

    def _ensure_controller(self) -> None:
        """Builds the controller once the space is known (keras-tuner fills it lazily)."""
        if self.reinforce is not None:
            return
        if self.search_space is not None:
            self.choices = ChoiceSearchSpace.of(self.search_space)
        else:
            self.choices = ChoiceSearchSpace(self._declared_choices())
        seed = int(self.seed)
        components = components_of(self.search_space)
        if components is not None and components.controller_class is not None:
            # An ENAS space drives its own official controller; others (DARTS's) the
            # generic one over their decisions.
            settings = dict(self.controller_settings)
            if settings["tanh_constant"] == "auto":
                settings["tanh_constant"] = components.tanh_constant
            controller = components.controller_class(self.search_space, seed=seed, **settings)
        else:
            controller = SequenceController(self.search_space or self.choices, seed=seed,
                                            **self.controller_settings)
        self.reinforce = Reinforce(controller, **self.reinforce_settings)
        self._sample = tf.function(lambda: controller.sample()[0])
        self._gradients_for = tf.function(lambda arc, reward: self.reinforce.gradients_for(
            arc, reward)[0])
        self._log_prob = tf.function(lambda arc: controller.evaluate(arc)[0])

    def _declared_choices(self) -> list[tuple[str, list[Any]]]:
        choices = []
        for hp in self.hyperparameters.space:
            if isinstance(hp, keras_tuner.engine.hyperparameters.Fixed):
                continue  # one value: nothing to decide
            if not isinstance(hp, keras_tuner.engine.hyperparameters.Choice):
                raise ValueError(
                    f"ENASOracle samples hp.Choice hyperparameters only; {hp.name!r} is "
                    f"{type(hp).__name__}. Declare it as hp.Choice, or fix it with "
                    "hp.Fixed.")
            if hp.conditions:
                raise ValueError(f"ENASOracle does not support conditional hyperparameters "
                                 f"({hp.name!r}).")
            choices.append((hp.name, list(hp.values)))
        if not choices:
            raise ValueError("the search space is empty: the hypermodel declared no hp.Choice.")
        return choices

    def best_probability(self, values: dict[str, Any]) -> float:
        """The policy's probability of sampling exactly ``values`` (for monitoring)."""
        self._ensure_controller()
        arc = self.choices.from_values(values)
        return float(tf.exp(self._log_prob(tf.constant(arc, tf.int32))))

    # --- keras-tuner hooks -----------------------------------------------------------

    def populate_space(self, trial_id):
        self._ensure_controller()
        arc = self._sample().numpy()
        return {"status": TrialStatus.RUNNING, "values": self.choices.to_values(arc)}

    def score_trial(self, trial):
        """Scores a completed trial (keras-tuner), then learns from it.

        keras-tuner calls this from ``end_trial`` (synchronised, also for workers' trials
        over gRPC), which saves the oracle afterwards, controller state included.
        """
        super().score_trial(trial)
        if trial.score is None or not math.isfinite(float(trial.score)):
            return  # keras-tuner marks the trial invalid
        self._ensure_controller()
        score = float(trial.score)
        reward = score if self.objective.direction == "max" else -score
        arc = self.choices.from_values(trial.hyperparameters.values)
        if not self.baseline_started:
            # Start the baseline at the first reward rather than 0: with few, costly
            # trials a baseline still climbing from 0 would reward every early sample.
            self.reinforce.baseline.assign(reward)
            self.baseline_started = True
        self.pending.append((list(arc), reward))
        if len(self.pending) >= self.num_aggregate:
            grads = [self._gradients_for(tf.constant(a, tf.int32), tf.constant(r, tf.float32))
                     for a, r in self.pending]
            self.reinforce.apply_gradients(grads)
            self.pending, self.updates = [], self.updates + 1

    def get_state(self):
        state = super().get_state()
        policy = None
        if self.reinforce is not None:
            policy = {
                "controller": [_encode(v.numpy()) for v in self.controller.trainable_variables],
                "rng_state": _encode(self.controller.rng.state.numpy()),
                "baseline": float(self.reinforce.baseline.numpy()),
                "optimizer": [_encode(v.numpy()) for v in self.reinforce.optimizer.variables],
            }
        state["enas"] = {"policy": policy, "pending": self.pending, "updates": self.updates,
                         "baseline_started": self.baseline_started}
        return state

    def set_state(self, state):
        super().set_state(state)
        enas = state.get("enas") or {}
        self.pending = [(list(a), float(r)) for a, r in enas.get("pending", [])]
        self.updates = int(enas.get("updates", 0))
        self.baseline_started = bool(enas.get("baseline_started", False))
        policy = enas.get("policy")
        if policy is None:
            return
        self.reinforce = None
        self._ensure_controller()
        for variable, value in zip(self.controller.trainable_variables, policy["controller"]):
            variable.assign(_decode(value))
        self.controller.rng.reset(_decode(policy["rng_state"]))
        self.reinforce.baseline.assign(policy["baseline"])
        for variable, value in zip(self.reinforce.optimizer.variables, policy["optimizer"]):
            variable.assign(_decode(value))
