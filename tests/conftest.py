"""Settings every test shares, and fixtures for the small datasets and models the tests train.

At import, before any test module loads ae_core: point AE_DATA_DIR at the MNIST test split kept
beside the repository (when the caller has not set it), switch downloads off by default, so no
test ever waits on the network, and point AE_RUNS_DIR at a fresh temporary folder. TensorFlow is
imported only by the fixtures that train, so the tests of configs and the registry stay fast.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

if "AE_DATA_DIR" not in os.environ and SHARED_MNIST_DIR.exists():
    os.environ["AE_DATA_DIR"] = str(SHARED_MNIST_DIR)
os.environ.setdefault("AE_OFFLINE", "1")
# No test writes into a user's own runs folder; tests that look at runs use their own tmp_path.
os.environ["AE_RUNS_DIR"] = tempfile.mkdtemp(prefix="ae-test-runs-")

# What every run summary (the CLI's --json object included) must hold, as the engine issue lists.
SUMMARY_KEYS = frozenset(
    {
        "run_id",
        "variant",
        "dataset",
        "steps",
        "seconds",
        "samples_per_s",
        "train_loss",
        "test_mse",
        "loss_terms",
        "mean_activation",
        "dead_units",
    }
)

# Small enough to train in a few seconds on two cores, big enough to learn something.
TINY_DIGITS_SETTINGS = {
    "dataset": "digits",
    "hidden": (32,),
    "code_size": 8,
    "steps": 600,
    "learning_rate": 0.005,
}


@pytest.fixture(scope="session")
def summary_keys() -> frozenset[str]:
    return SUMMARY_KEYS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits: 1,500 train and 297 test vectors of 64 values in [0, 1]."""
    from ae_core.data import load_dataset

    return load_dataset("digits")


@pytest.fixture(scope="session")
def toy3d():
    """1,000 + 200 centred 3-D points near a plane."""
    from ae_core.data import load_dataset

    return load_dataset("toy3d")


@pytest.fixture(scope="session")
def train_config() -> Callable:
    """``train_config(config)``: the TrainResult for a RunConfig, trained once per session."""
    from ae_core.data import load_dataset
    from ae_core.trainer import train

    finished = {}

    def run(config):
        if config.run_id not in finished:
            result = train(config, load_dataset(config.dataset))
            assert result.status == "done", result.reason
            assert result.steps_done == config.steps
            finished[config.run_id] = result
        return finished[config.run_id]

    return run


@pytest.fixture(scope="session")
def train_tiny(train_config) -> Callable:
    """``train_tiny(variant, **settings)``: a small model trained on digits (TINY_DIGITS_SETTINGS,
    then ``settings`` on top); equal configs share one training run."""
    from ae_core.config import make_config

    def run(variant: str, **settings):
        return train_config(make_config(variant, **{**TINY_DIGITS_SETTINGS, **settings}))

    return run


@pytest.fixture(scope="session")
def build_untrained() -> Callable:
    """``build_untrained(variant, **settings)``: a freshly initialised model and its config."""
    from ae_core import registry
    from ae_core.config import make_config
    from ae_core.data import dataset_info

    def build(variant: str, **settings):
        config = make_config(variant, **{**TINY_DIGITS_SETTINGS, **settings})
        model = registry.get(variant).build(config, dataset_info(config.dataset).input_dim)
        return model, config

    return build
