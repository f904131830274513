"""The toolkit the loops (``enas_tf.loops``) are made of: compiled steps, optimizers,
schedules, progress bars, the run directory, checkpoints, signals, safety checks and
summaries. Nothing here imports a loop, a strategy or serving."""
