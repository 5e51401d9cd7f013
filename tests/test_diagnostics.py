"""Diagnostics that speak up: runs made to fail, each found with its code and a sentence with the
fix, and healthy runs that show none; the checks alone on made-up summaries and histories; and the
measurements they need in a run's summary (the mean example's MSE, a VAE's KL per dimension)."""

from __future__ import annotations

import numpy as np
import pytest

from ae_core.config import make_config
from ae_core.diagnostics import (
    INACTIVE_KL,
    NO_BETTER_THAN_MEAN_SHARE,
    SPIKE_FACTOR,
    Diagnostic,
    diagnose,
)

# Small runs made to fail the way a new user makes them fail (each a few seconds on digits).
FAILING = {
    # The slider at its top: every code unit dies within the first steps.
    "all_code_units_dead": ("stacked", {"learning_rate": 10.0, "steps": 300}),
    # The smallest learning rate, 20 steps: the output is still the initial guess.
    "no_better_than_mean": ("stacked", {"learning_rate": 1e-6, "steps": 20}),
    # The KL weight at its top: the encoder gives up the input.
    "posterior_collapse": ("vae", {"kl_weight": 100.0, "steps": 300}),
    # A target far below what a weak penalty reaches in 300 steps.
    "sparsity_off_target": (
        "sparse_kl",
        {
            "hidden": (32,),
            "activation": "sigmoid",
            "sparsity_target": 0.02,
            "sparsity_weight": 0.001,
            "steps": 300,
        },
    ),
}
HEALTHY = {"stacked": {}, "vae": {"code_size": 2}}


def codes(findings: list[Diagnostic]) -> list[str]:
    return [finding.code for finding in findings]


def findings_of(result) -> list[Diagnostic]:
    from ae_core.analysis import run_summary

    history = [point.to_dict() for point in result.history]
    return diagnose(run_summary(result), history, result.config)


def one_sentence(message: str) -> bool:
    return message[0].isupper() and message.endswith(".") and message.count(". ") == 0


# --- runs made to fail ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(FAILING))
def test_a_run_made_to_fail_says_so_with_the_fix(train_tiny, code):
    variant, settings = FAILING[code]
    result = train_tiny(variant, **settings)
    assert result.status == "done"  # it "finished": only the diagnostics say it did not learn
    findings = findings_of(result)
    assert codes(findings) == [code], [finding.message for finding in findings]
    message = findings[0].message
    assert one_sentence(message), message
    expected = {
        "all_code_units_dead": ["Every code unit is dead (8 of 8)", "10 is too high for adam"],
        "no_better_than_mean": ["no better than the mean", "1e-06 is too low for adam", "0.001"],
        "posterior_collapse": ["8 of 8 latent dimensions", "KL weight 100 is too strong", "10"],
        "sparsity_off_target": ["far from its sparsity target 0.02", "sparsity weight"],
    }[code]
    for words in expected:
        assert words in message, message


@pytest.mark.parametrize("variant", list(HEALTHY))
def test_a_healthy_run_shows_none(train_tiny, variant):
    assert findings_of(train_tiny(variant, **HEALTHY[variant])) == []


# --- the measurements -----------------------------------------------------------------------------


def test_the_summary_measures_the_mean_examples_mse(train_tiny, digits):
    from ae_core.analysis import run_summary

    summary = run_summary(train_tiny("stacked"))
    expected = np.mean((digits.x_train.mean(axis=0) - digits.x_test) ** 2)
    assert summary["mean_example_mse"] == pytest.approx(expected, rel=1e-5)
    assert summary["test_mse"] < 0.5 * summary["mean_example_mse"]  # it learned


def test_a_vaes_kl_per_dimension_adds_up_to_its_latent_loss(train_tiny, digits):
    from ae_core.analysis import latent_kl_per_dimension, objective_terms, run_summary

    result = train_tiny("vae", **HEALTHY["vae"])
    per_dimension = latent_kl_per_dimension(result.model, digits.x_test)
    assert len(per_dimension) == 2 and min(per_dimension) > INACTIVE_KL
    latent = objective_terms(result.model, digits.x_test)["latent"]  # kl_weight 1
    assert sum(per_dimension) == pytest.approx(latent, rel=1e-4)
    assert run_summary(result)["kl_per_dimension"] == pytest.approx(per_dimension)


def test_the_new_measurements_fit_the_summary_schema_and_old_summaries_still_load():
    from ae_core.run_schema import summary_problem

    config = make_config("vae", dataset="digits", code_size=2)
    old = {
        "run_id": "vae-0",
        "status": "done",
        "model": True,
        "test_mse": 0.07,
        "train_loss": 1.0,
        "loss_terms": {"reconstruction": 1.0},
        "mean_activation": [0.3, 0.1],
        "dead_units": [0, 0],
        "units": [16, 2],
        "steps": 10,
    }
    assert summary_problem(old) is None
    assert diagnose(old, [], config) == []  # without the measurements, those checks skip
    new = {**old, "mean_example_mse": 0.073, "kl_per_dimension": [0.0, 0.001]}
    assert summary_problem(new) is None
    assert codes(diagnose(new, [], config)) == ["posterior_collapse"]
    assert summary_problem({**new, "mean_example_mse": "0.07"}) is not None


# --- the checks alone -----------------------------------------------------------------------------

CONFIG = make_config("stacked", dataset="digits", hidden=(16,), code_size=4, learning_rate=0.01)
SUMMARY = {
    "status": "done",
    "model": True,
    "steps": 300,
    "test_mse": 0.02,
    "mean_example_mse": 0.07,
    "mean_activation": [0.4, 0.8],
    "dead_units": [1, 0],
    "units": [16, 4],
}


def history(losses: list[float], phases: list[int] | None = None) -> list[dict]:
    phases = phases or [0] * len(losses)
    return [
        {"step": 10 * (i + 1), "loss": loss, "phase_index": phase}
        for i, (loss, phase) in enumerate(zip(losses, phases, strict=True))
    ]


def test_a_loss_that_diverged_and_recovered_is_named_with_its_step():
    losses = [0.7, 0.5, 0.3, 0.2, 0.2 * SPIKE_FACTOR * 2, 0.6, 0.25, 0.2]
    findings = diagnose(SUMMARY, history(losses), CONFIG)
    assert codes(findings) == ["diverged_and_recovered"]
    message = findings[0].message
    assert one_sentence(message), message
    assert "from 0.2 to 1.2 near step 50" in message and "try 0.0033" in message


def test_batch_noise_a_new_phase_and_an_unrecovered_loss_are_not_a_recovery():
    noisy = [0.7, 0.5, 0.3, 0.35, 0.28, 0.33, 0.27]
    assert diagnose(SUMMARY, history(noisy), CONFIG) == []
    # Layer-wise training: a new phase starts from its own loss.
    phases = diagnose(SUMMARY, history([0.5, 0.1, 0.05, 2.0, 1.0], [0, 0, 0, 1, 1]), CONFIG)
    assert phases == []
    stuck = [0.7, 0.3, 0.2, 5.0, 4.0, 3.0]
    assert diagnose(SUMMARY, history(stuck), CONFIG) == []


def test_no_better_than_mean_is_measured_against_its_share():
    at_the_line = {**SUMMARY, "test_mse": NO_BETTER_THAN_MEAN_SHARE * 0.07}
    assert codes(diagnose(at_the_line, [], CONFIG)) == ["no_better_than_mean"]
    assert "train for more steps than 300" in diagnose(at_the_line, [], CONFIG)[0].message
    assert diagnose({**at_the_line, "test_mse": 0.9 * at_the_line["test_mse"]}, [], CONFIG) == []


def test_a_cause_found_speaks_for_the_mean_and_a_failed_run_for_itself():
    dead = {**SUMMARY, "dead_units": [16, 4], "test_mse": 0.08}
    assert codes(diagnose(dead, [], CONFIG)) == ["all_code_units_dead"]
    assert "try a lower learning rate than 0.01" in diagnose(dead, [], CONFIG)[0].message
    assert diagnose({**dead, "status": "failed"}, [], CONFIG) == []
    assert diagnose({**dead, "model": False}, [], CONFIG) == []


def test_sparsity_off_target_checks_each_penalised_layer():
    sparse = make_config(
        "sparse_kl",
        dataset="digits",
        hidden=(16,),
        code_size=4,
        activation="sigmoid",
        sparsity_target=0.1,
        sparsity_weight=0.1,
        sparsity_layers="all",
    )
    on_target = {**SUMMARY, "mean_activation": [0.12, 0.08]}
    assert diagnose(on_target, [], sparse) == []
    off = diagnose({**SUMMARY, "mean_activation": [0.35, 0.08]}, [], sparse)
    assert codes(off) == ["sparsity_off_target"]
    assert "encoder layer 1's mean activation is 0.350" in off[0].message
    # Without a sparsity penalty there is no target to miss.
    assert diagnose({**SUMMARY, "mean_activation": [0.35, 0.9]}, [], CONFIG) == []
