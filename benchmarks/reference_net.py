"""The network the speed benchmarks share, and our compiled training chunk on it.

784-300-30-300-784 sigmoid autoencoder, Adam 1e-3, MSE, on the MNIST training digits: the net of
the classic TensorFlow 1 tutorial, so trainer_speed.py, step_profile.py and model_batching.py
measure the same work.
"""

from __future__ import annotations

LAYERS = (784, 300, 30, 300, 784)
LEARNING_RATE = 1e-3


def reference_config(dataset_name: str, batch_size: int, steps: int):
    from ae_core.config import make_config

    return make_config(
        "stacked",
        dataset=dataset_name,
        hidden=LAYERS[1:2],
        code_size=LAYERS[2],
        activation="sigmoid",
        output_activation="sigmoid",
        loss="mse",
        optimizer="adam",
        learning_rate=LEARNING_RATE,
        init="glorot_uniform",
        batch_size=batch_size,
        steps=steps,
    )


def our_chunk_loop(dataset, batch_size: int):
    """The project's own compiled chunk (``ae_core.trainer``) on the reference net, compiled
    now; returns ``run(steps) -> steps done``."""
    import math

    from ae_core.trainer import POINTS_PER_PHASE, CompiledModel

    config = reference_config(dataset.name, batch_size, 240_000 // batch_size)
    compiled = CompiledModel(config, dataset)
    compiled.start(config)
    runner = compiled.runners[0]
    window = max(1, math.ceil(config.steps / POINTS_PER_PHASE))
    return lambda steps: runner.run(steps, window)[3]
