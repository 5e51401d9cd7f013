"""A Keras model file we did not write ourselves (an imported run's, or one read back from a run
folder): the model is built by our own code from the run's config, the file's own description of
it is only compared with ours, never deserialised, and only weights are taken from the file, once
every dataset of its weights file has been checked against that model's weights (names, shapes,
dtypes, plain contiguous storage, declared against stored size), before any is read.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ae_core.config import RunConfig
from ae_core.errors import BAD_JSON, first_line

if TYPE_CHECKING:
    from ae_core.model import Autoencoder

# The files of a Keras 3 ``.keras`` archive, which is itself a zip.
KERAS_ARCHIVE_FILES = frozenset({"metadata.json", "config.json", "model.weights.h5"})
# A model file of this app is a few MB; anything far bigger is refused unread.
MAX_MODEL_FILE_BYTES = 60 * 1024 * 1024


class ModelFileRefused(ValueError):
    """A model file (or a zip) that is refused; ``problem`` says why in one sentence."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def open_zip(data: bytes, what: str, hint: str = "") -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ModelFileRefused(f"{what} is not a zip archive{hint}") from None


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    # read() would inflate whatever the header claims; a capped stream read cannot be bombed.
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        # Bad CRC, broken deflate data, an unsupported compression or an encrypted member.
        raise ModelFileRefused(
            f"{info.filename} cannot be read from the archive ({error})"
        ) from None
    if len(data) > limit:
        raise ModelFileRefused(
            f"{info.filename} is larger than the {limit // 1024} KB a run's file can be"
        )
    return data


def _class_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("class_name"), str):
            yield value["class_name"]
        for item in value.values():
            yield from _class_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _class_names(item)


def check_plain_hdf5(data: bytes, what: str, layout: _WeightsLayout | None = None) -> None:
    """Refuse HDF5 files that reach outside themselves (links, external storage, virtual data)
    and, given the ``layout`` of the model they are for, any dataset that is not one of its
    weights as Keras writes it. Only the file's metadata is read, never a dataset's data."""
    import h5py

    problems: list[str] = []
    try:
        weights = h5py.File(io.BytesIO(data), "r")
    except OSError:
        raise ModelFileRefused(f"{what} has no readable HDF5 weights file") from None
    with weights:

        def check_link(name: str, link) -> None:
            if not isinstance(link, h5py.HardLink):
                problems.append(f"{name} is a {type(link).__name__}")

        datasets: dict[str, h5py.Dataset] = {}

        def check_object(name: str, item) -> None:
            if isinstance(item, h5py.Dataset):
                if item.external or item.is_virtual:
                    problems.append(f"{name} stores its data outside the file")
                elif item.dtype.kind not in "fiub":
                    problems.append(f"{name} holds {item.dtype} values, not numbers")
                datasets[name] = item

        weights.visititems_links(check_link)
        if not problems:
            weights.visititems(check_object)
        if problems:
            raise ModelFileRefused(f"{what} is not a plain weights file: {problems[0]}")
        problem = _layout_problem(datasets, layout) if layout is not None else None
    if problem:
        raise ModelFileRefused(f"{what} does not fit this run's model: {problem}")


def _layout_problem(datasets: dict, layout: _WeightsLayout) -> str | None:
    """What in a weights file's datasets differs from the weights of the model they are for:
    names, shapes, dtypes, filters (Keras writes plain contiguous data) and the bytes stored
    against those the shape declares."""
    for name, item in datasets.items():
        if name not in layout.datasets:
            return f"{name} is not one of its weights"
        shape, dtype = layout.datasets[name]
        if item.shape != shape or item.dtype != dtype:
            return (
                f"{name} is declared as {item.dtype} of shape {item.shape} ({item.nbytes:,} "
                f"bytes), where the model has {dtype} of shape {shape}"
            )
        if item.id.get_create_plist().get_nfilters() or item.chunks is not None:
            return f"{name} is stored chunked or filtered (compressed), which Keras never writes"
        stored = item.id.get_storage_size()
        if stored != item.nbytes:
            return f"{name} stores {stored:,} bytes of the {item.nbytes:,} its shape declares"
    missing = sorted(set(layout.datasets) - set(datasets))
    if missing:
        return f"it lacks {missing[0]}"
    return None


@dataclass(frozen=True)
class _WeightsLayout:
    """The weights file Keras writes for a model: each dataset's shape and dtype, by path, and
    the file's size."""

    datasets: dict[str, tuple[tuple[int, ...], Any]]  # shape, numpy dtype
    file_size: int


# Weights layouts by the shape signature of the config they are for (it decides every shape).
_LAYOUTS: dict[tuple, _WeightsLayout] = {}
_LAYOUTS_LOCK = threading.Lock()  # the app loads models from several threads
_MAX_LAYOUTS = 64
# What a weights file may hold beyond the file Keras writes here for the same model (HDF5
# metadata of another version); a model description is at most this big (ours are about 1 KB).
_WEIGHTS_SLACK = 64 * 1024
_DESCRIPTION_LIMIT = 64 * 1024


def weights_layout(model: Autoencoder) -> _WeightsLayout:
    """The layout of ``model``'s weights file, from a save of it by Keras (freshly built models
    of one shape signature share it, so it is made once per signature)."""
    import h5py

    key = model.run_config.shape_signature
    layout = _LAYOUTS.get(key)
    if layout is None:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "expected.weights.h5"
            model.save_weights(path)
            datasets = {}

            def note(name: str, item) -> None:
                if isinstance(item, h5py.Dataset):
                    datasets[name] = (item.shape, item.dtype)

            with h5py.File(path, "r") as weights:
                weights.visititems(note)
            layout = _WeightsLayout(datasets, path.stat().st_size)
        with _LAYOUTS_LOCK:
            if len(_LAYOUTS) >= _MAX_LAYOUTS:
                _LAYOUTS.pop(next(iter(_LAYOUTS)))
            _LAYOUTS[key] = layout
    return layout


def model_file_limit(layout: _WeightsLayout) -> int:
    """The most bytes a ``.keras`` file of a model with this layout may hold."""
    return min(layout.file_size + _WEIGHTS_SLACK + _DESCRIPTION_LIMIT, MAX_MODEL_FILE_BYTES)


def build_model(config: RunConfig) -> Autoencoder:
    from ae_core import registry
    from ae_core.data import dataset_info

    return registry.get(config.variant).build(config, dataset_info(config.dataset).input_dim)


def model_from_keras_archive(data: bytes, config: RunConfig, what: str) -> Autoencoder:
    """Our model for ``config``, built by our code, with the weights from a ``.keras`` archive."""
    model = build_model(config)
    load_keras_archive(model, data, what)
    return model


def load_keras_archive(model: Autoencoder, data: bytes, what: str) -> None:
    """Load into ``model`` (built by our code) the weights of a ``.keras`` archive.

    The archive's own model description is only compared with ours, never deserialised; every
    dataset of its weights file is checked against ``model``'s weights before any is read.
    """
    config = model.run_config
    layout = weights_layout(model)
    with open_zip(data, what) as archive:
        infos = archive.infolist()
        if {info.filename for info in infos} != KERAS_ARCHIVE_FILES or len(infos) != 3:
            raise ModelFileRefused(f"{what} is not a Keras model file of the expected layout")
        by_name = {info.filename: info for info in infos}
        description = read_member(archive, by_name["config.json"], _DESCRIPTION_LIMIT)
        weights = read_member(archive, by_name["model.weights.h5"], weights_file_limit(layout))
    try:
        described = json.loads(description)
    except BAD_JSON:
        raise ModelFileRefused(f"{what} has an unreadable model description") from None
    foreign = sorted(set(_class_names(described)) - {"Autoencoder", "VariationalAutoencoder"})
    expected = {
        "module": type(model).__module__,
        "class_name": type(model).__name__,
        "run_config": config.to_dict(),
        "input_dim": model.input_dim,
    }
    if not isinstance(described, dict) or not isinstance(described.get("config"), dict):
        described = {"config": {}}
    seen = {
        "module": described.get("module"),
        "class_name": described.get("class_name"),
        "run_config": described["config"].get("run_config"),
        "input_dim": described["config"].get("input_dim"),
    }
    if foreign:
        layers = ", ".join(foreign[:5])
        lambda_note = " (a Lambda layer runs arbitrary code)" if "Lambda" in foreign else ""
        raise ModelFileRefused(
            f"{what} is not an Autoencoder Lab model: it contains {layers}{lambda_note}"
        )
    if seen != expected:
        raise ModelFileRefused(f"{what} does not describe the model of this run's config")
    load_weights_file(model, weights, what)


def weights_file_limit(layout: _WeightsLayout) -> int:
    """The most bytes a ``.weights.h5`` file of a model with this layout may hold."""
    return layout.file_size + _WEIGHTS_SLACK


def load_weights_file(model: Autoencoder, weights: bytes, what: str) -> None:
    """Load into ``model`` (built by our code) a ``.weights.h5`` file, once every dataset in it
    has been checked against ``model``'s weights."""
    layout = weights_layout(model)
    if len(weights) > weights_file_limit(layout):
        raise ModelFileRefused(
            f"{what} is larger than the {weights_file_limit(layout) // 1024} KB this run's "
            "weights can be"
        )
    check_plain_hdf5(weights, what, layout)
    with tempfile.TemporaryDirectory() as scratch:
        weights_path = Path(scratch) / "model.weights.h5"
        weights_path.write_bytes(weights)
        del weights
        try:
            model.load_weights(weights_path)
        except (ValueError, KeyError, OSError) as error:
            raise ModelFileRefused(
                f"{what} does not fit this run's model ({first_line(error)})"
            ) from None


def keras_file_bytes(model: Autoencoder) -> bytes:
    """``model`` as a ``.keras`` file written here by Keras (for a download, or the store): our
    own serialisation of a model our code built, never the bytes of an upload."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.keras"
        model.save(path)
        return path.read_bytes()


def weights_file_bytes(model: Autoencoder) -> bytes:
    """``model``'s weights as Keras writes a ``.weights.h5`` file (read back with
    ``load_weights_file``)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.weights.h5"
        model.save_weights(path)
        return path.read_bytes()
