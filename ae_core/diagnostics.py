"""A run that finished but failed to learn, found from its summary and history: each finding a
stable code and one sentence with the fix, for the Train page, the view pages, Compare and
``train --json``.

Pure: plain data in, plain data out (no TensorFlow), so any page can call it on stored runs. A
check whose measurement a summary lacks (a run stored before it was measured) finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ae_core.config import RunConfig

# The learning rate that usually trains our models with each optimizer: the fix a sentence offers.
TYPICAL_LEARNING_RATE = {"sgd": 0.1, "adam": 1e-3, "rmsprop": 1e-3, "rmsprop_tf1": 1e-3}
# A learning rate more than this factor from the typical one is named as the likely cause.
LEARNING_RATE_FACTOR = 10.0
# A test MSE at least this share of the mean example's is no better than answering the mean (a
# linear code of 2 on MNIST, PCA's best, is at about 0.83 of it).
NO_BETTER_THAN_MEAN_SHARE = 0.95
# A VAE latent dimension whose KL (nats, mean over test examples) is below this carries almost no
# information about the input (the usual "active unit" threshold).
INACTIVE_KL = 0.01
# A sparse layer's mean activation more than this factor above or below its target is off target.
SPARSITY_OFF_FACTOR = 2.0
# A history point's loss above this multiple of the phase's lowest loss before it is a divergence;
# window means smooth the batch noise, which stays well under it.
SPIKE_FACTOR = 3.0


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a stable ``code`` (for tests and scripts) and a sentence with the fix."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _learning_rate_problem(config: RunConfig) -> str | None:
    """'too high' or 'too low' when the run's learning rate is far from its optimizer's usual."""
    typical = TYPICAL_LEARNING_RATE.get(config.optimizer)
    if typical is None:
        return None
    if config.learning_rate > typical * LEARNING_RATE_FACTOR:
        return "too high"
    if config.learning_rate < typical / LEARNING_RATE_FACTOR:
        return "too low"
    return None


def _learning_rate_fix(config: RunConfig) -> str | None:
    problem = _learning_rate_problem(config)
    if problem is None:
        return None
    typical = TYPICAL_LEARNING_RATE[config.optimizer]
    bound = "or lower" if problem == "too high" else "or higher"
    return (
        f"the learning rate {config.learning_rate:g} is {problem} for {config.optimizer}; "
        f"try {typical:g} {bound}"
    )


def all_code_units_dead(summary: dict, history: Sequence[dict], config: RunConfig):
    dead, units = summary.get("dead_units") or [], summary.get("units") or []
    if not dead or not units or units[-1] == 0 or dead[-1] < units[-1]:
        return None
    fix = _learning_rate_fix(config)
    if fix is None and config.l1 > 0:
        fix = f"the L1 weight {config.l1:g} silences the code; try a tenth of it"
    if fix is None:
        fix = f"try a lower learning rate than {config.learning_rate:g}"
    return f"Every code unit is dead ({dead[-1]} of {units[-1]}): {fix}."


def _as_good_as_the_mean(summary: dict) -> bool:
    test_mse, baseline = summary.get("test_mse"), summary.get("mean_example_mse")
    if test_mse is None or not baseline:
        return False
    return test_mse >= NO_BETTER_THAN_MEAN_SHARE * baseline


def no_better_than_mean(summary: dict, history: Sequence[dict], config: RunConfig):
    if not _as_good_as_the_mean(summary):
        return None
    if any(cause(summary, history, config) for cause in (all_code_units_dead, posterior_collapse)):
        return None  # the cause's own sentence says so, with its fix
    test_mse, baseline = summary["test_mse"], summary["mean_example_mse"]
    fix = _learning_rate_fix(config) or (
        f"train for more steps than {summary.get('steps', config.steps):,}"
    )
    return (
        f"The output is no better than the mean training example (test MSE {test_mse:.4f}, the "
        f"mean's {baseline:.4f}): {fix}."
    )


def posterior_collapse(summary: dict, history: Sequence[dict], config: RunConfig):
    kl = summary.get("kl_per_dimension")
    if not kl:
        return None
    inactive = sum(value < INACTIVE_KL for value in kl)
    if inactive * 2 <= len(kl):
        return None
    if config.kl_weight > 1:
        fix = f"the KL weight {config.kl_weight:g} is too strong; try {config.kl_weight / 10:g}"
    else:
        fix = f"try a code size of {max(2, len(kl) - inactive)} or a smaller KL weight"
    return (
        f"Posterior collapse: {inactive} of {len(kl)} latent dimensions carry almost no "
        f"information (their KL is below {INACTIVE_KL:g}): {fix}."
    )


def sparsity_off_target(summary: dict, history: Sequence[dict], config: RunConfig):
    means = summary.get("mean_activation") or []
    if config.sparsity_weight <= 0 or not means:
        return None
    target = config.sparsity_target
    for layer in config.penalised_layers:
        mean = means[layer] if layer < len(means) else None
        if mean is None or target / SPARSITY_OFF_FACTOR <= mean <= target * SPARSITY_OFF_FACTOR:
            continue
        name = "code" if layer == len(means) - 1 else f"encoder layer {layer + 1}"
        return (
            f"The {name}'s mean activation is {mean:.3f}, far from its sparsity target "
            f"{target:g}: raise the sparsity weight (beta) from {config.sparsity_weight:g}, "
            "or train for more steps."
        )
    return None


def diverged_and_recovered(summary: dict, history: Sequence[dict], config: RunConfig):
    lowest: dict[int, float] = {}
    spike = None  # (the lowest loss before it, its loss, its step, its phase)
    for point in history:
        phase, loss = point.get("phase_index", 0), point.get("loss")
        if loss is None:
            continue
        before = lowest.get(phase)
        if before is not None and before > 0 and loss > SPIKE_FACTOR * before and spike is None:
            spike = (before, loss, point.get("step", 0), phase)
        lowest[phase] = loss if before is None else min(before, loss)
    if spike is None:
        return None
    before, peak, step, phase = spike
    last = [point["loss"] for point in history if point.get("phase_index", 0) == phase][-1]
    if last > SPIKE_FACTOR * before or _as_good_as_the_mean(summary):
        return None  # it did not come back: the other checks speak for that run
    fix = _learning_rate_fix(config) or (
        f"the learning rate {config.learning_rate:g} is on the edge of unstable for "
        f"{config.optimizer}; try {config.learning_rate / 3:.2g}"
    )
    return (
        f"The loss jumped from {before:.3g} to {peak:.3g} near step {step:,} and came back: {fix}."
    )


# Every check by its stable code, in the order a page lists what they find.
CHECKS: dict[str, Callable[[dict, Sequence[dict], RunConfig], str | None]] = {
    "all_code_units_dead": all_code_units_dead,
    "no_better_than_mean": no_better_than_mean,
    "posterior_collapse": posterior_collapse,
    "sparsity_off_target": sparsity_off_target,
    "diverged_and_recovered": diverged_and_recovered,
}


def diagnose(summary: dict | None, history: Sequence[dict], config: RunConfig) -> list[Diagnostic]:
    """What went wrong in a run with a model, from its ``summary`` and ``history`` (points as
    ``Progress.to_dict()``); empty for a healthy run, for one with no model to judge, and for a
    failed one (its reason says what went wrong)."""
    if not summary or not summary.get("model", True) or summary.get("test_mse") is None:
        return []
    if summary.get("status") == "failed":
        return []
    findings = []
    for code, check in CHECKS.items():
        message = check(summary, history, config)
        if message is not None:
            findings.append(Diagnostic(code, message))
    return findings
