"""The loops: ``search.Search`` for every space and strategy, and the final training of
one architecture (``final.FinalTraining`` for images, ``final_lm.LanguageModelTraining``
for text), over the toolkit in ``enas_tf.training``."""


def make_final_training(config, arc, data, strategy=None):
    """The final training of ``arc`` on ``data``: a language model's for text (the
    recurrent space), else the image classifier's.

    Args:
      config: a ``FinalConfig`` (``FinalConfig.for_space(space, ...)``).
      arc: the architecture (``load_architecture``).
      data: ``ImageSplits`` or ``TextSplits``.
      strategy: a ``tf.distribute`` strategy; None: the one ``config`` asks for.

    Example:

    ```python
    result = make_final_training(FinalConfig.for_space("darts", dataset="digits"),
                                 found["arc"], load_dataset("digits")).run()
    ```
    """
    if data.metric.name == "perplexity":
        from enas_tf.loops.final_lm import LanguageModelTraining

        return LanguageModelTraining(config, arc, data, strategy)
    from enas_tf.loops.final import FinalTraining

    return FinalTraining(config, arc, data, strategy)
