"""``ENASSupernetTuner``: keras-tuner trials that share one supernet's weights.

A trial is one architecture proposed by ``ENASOracle``. It trains the shared supernet for
``steps_per_trial`` SGD steps on that architecture, then reports the architecture's
accuracy on one validation batch as ``val_accuracy``. Weight sharing makes a trial cost
a few steps, not a training from scratch. The supernet and its optimizer are checkpointed
in the project directory, so ``overwrite=False`` resumes them with the oracle.
``get_best_models()`` returns the final Keras network of the best architectures.
"""

from __future__ import annotations

import os

import keras
import keras_tuner
import tensorflow as tf

from enas_tf.data.pipeline import ImageSplits
from enas_tf.models.micro_final import FinalMicroNetwork
from enas_tf.search_spaces.choices import ChoiceSearchSpace
from enas_tf.search_spaces.micro import MicroSearchSpace
from enas_tf.supernet.micro import MicroSupernet
from enas_tf.training.optimizers import shared_weight_sgd
from enas_tf.training.steps import SearchSteps
from tuner.oracle import ENASOracle, declare_search_space


class ENASSupernetTuner(keras_tuner.Tuner):
    """Tunes ENAS micro architectures with a shared-weight supernet.

    Args:
      data: image splits; trials train on ``train`` and are scored on ``valid``.
      max_trials: number of architectures to try.
      num_nodes, num_layers, filters, weight_sharing: the supernet (see
        ``MicroSupernet``).
      batch_size, steps_per_trial, learning_rate, l2_reg: shared-weight training.
      final_num_layers, final_filters: size of the models ``get_best_models`` builds.
      final_aux_head: whether those models have the auxiliary head; None: when the images
        are large enough for it (at least 20 pixels a side).
      oracle_kwargs: extra ``ENASOracle`` arguments (seed, learning_rate, ...).
      oracle: another oracle to propose the architectures instead of ENAS's, e.g.
        ``keras_tuner.oracles.RandomSearchOracle(max_trials=20, seed=0)`` for the
        random-search baseline on the same shared weights. Its objective and search space
        are set here (``val_accuracy`` over the micro decisions); its own ``max_trials``
        applies, not this tuner's.
      **kwargs: go to ``keras_tuner.Tuner`` (``directory``, ``project_name``,
        ``overwrite``).

    Example:

    ```python
    search = ENASSupernetTuner(load_dataset("digits"), max_trials=20, num_nodes=3,
                               directory="runs/kt", project_name="supernet")
    search.search()                           # examples/keras_tuner_supernet.py
    ```
    """

    def __init__(self, data: ImageSplits, max_trials: int = 20, num_nodes: int = 5,
                 num_layers: int = 1, filters: int = 8, batch_size: int = 64,
                 steps_per_trial: int = 10, learning_rate: float = 0.05, l2_reg: float = 1e-4,
                 final_num_layers: int = 15, final_filters: int = 36,
                 final_aux_head: bool | None = None, weight_sharing: str = "official",
                 oracle_kwargs: dict | None = None, seed: int = 0,
                 oracle: keras_tuner.Oracle | None = None, **kwargs):
        self.data, self.batch_size, self.steps_per_trial = data, batch_size, steps_per_trial
        if final_aux_head is None:
            final_aux_head = min(data.image_shape[:2]) >= 20
        self.final_sizes = (final_num_layers, final_filters, final_aux_head)
        self.search_space = MicroSearchSpace(num_nodes)
        # Built here, not taken from the oracle: a worker's oracle is a gRPC client.
        self.choices = ChoiceSearchSpace.of(self.search_space)
        keras.utils.set_random_seed(seed)
        self.supernet = MicroSupernet(self.search_space, num_layers=num_layers, filters=filters,
                                      num_classes=data.num_classes, use_aux_head=False,
                                      weight_sharing=weight_sharing).build_for(data.image_shape)
        self.sgd = shared_weight_sgd(learning_rate, 0.9, 5.0, self.supernet.trainable_variables)
        objective = keras_tuner.Objective("val_accuracy", "max")
        if oracle is None:
            oracle = ENASOracle(objective=objective, max_trials=max_trials,
                                search_space=self.search_space, seed=seed,
                                **(oracle_kwargs or {}))
        else:
            if oracle_kwargs:
                raise ValueError("oracle_kwargs configure the ENAS oracle; give them to "
                                 "your own oracle instead.")
            oracle.objective = objective
            declare_search_space(self.search_space, oracle.hyperparameters)
            oracle.allow_new_entries = oracle.tune_new_entries = False
        # The REINFORCE update lives in the oracle; these steps only train shared weights.
        self.steps = SearchSteps(self.supernet, self.sgd, reinforce=None,
                                 strategy=tf.distribute.get_strategy(),
                                 global_batch_size=batch_size, l2_reg=l2_reg, aux_weight=0.0)
        self.weights_checkpoint = tf.train.Checkpoint(supernet=self.supernet, optimizer=self.sgd)
        self._train_batches = iter(data.dataset("train", batch_size, shuffle_seed=seed,
                                                augment=True, repeat=True,
                                                drop_remainder=True))
        self._valid_batches = iter(data.dataset("valid", batch_size, shuffle_seed=seed + 1,
                                                repeat=True, drop_remainder=True))
        super().__init__(oracle=oracle, **kwargs)

    def architecture(self, hyperparameters: keras_tuner.HyperParameters) -> tuple[int, ...]:
        """The flat architecture of a trial's hyperparameters."""
        return self.choices.from_values(hyperparameters.values)

    def run_trial(self, trial, *args, **kwargs):
        arc = tf.constant(self.architecture(trial.hyperparameters), tf.int32)
        for _ in range(self.steps_per_trial):
            images, labels = next(self._train_batches)
            loss, _ = self.steps.train_step(images, labels, arc)
        images, labels = next(self._valid_batches)
        correct, count = self.steps.count_correct(images, labels, arc)
        return {"val_accuracy": float(correct) / float(count), "loss": float(loss)}

    def load_model(self, trial) -> keras.Model:
        """The final network of the trial's architecture, untrained, ready to train."""
        num_layers, filters, aux_head = self.final_sizes
        return FinalMicroNetwork(
            self.architecture(trial.hyperparameters), num_nodes=self.search_space.num_nodes,
            num_layers=num_layers, filters=filters, num_classes=self.data.num_classes,
            use_aux_head=aux_head).build_for(self.data.image_shape)

    def save_model(self, trial_id, model, step=0):
        """Nothing per trial: the shared weights are saved with the tuner (``save``)."""

    def save(self):
        super().save()
        self.weights_checkpoint.write(self._weights_path)

    def reload(self):
        super().reload()
        if tf.io.gfile.exists(self._weights_path + ".index"):
            self.weights_checkpoint.read(self._weights_path).assert_existing_objects_matched()

    @property
    def _weights_path(self) -> str:
        return os.path.join(self.project_dir, "supernet", "weights")

