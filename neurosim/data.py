"""Data sets: an IDX reader for MNIST and Fashion-MNIST, and scikit-learn's bundled 8x8 digits.

Inputs are scaled to [0, 1] (the neurons' range; in the circuit, volts) and flattened; labels are integers.
MNIST and Fashion-MNIST are read from a directory the user names, holding the four original files
(``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
each gzip-compressed with ``.gz`` or plain). The digits set ships with scikit-learn and needs no files.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from .errors import NeurosimError

#: IDX type codes (third byte of the magic number) and their big-endian numpy types.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: Where Debian's ``dataset-fashion-mnist`` package installs its files; the default for that data set.
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")

DATASETS = ("digits", "mnist", "fashion-mnist")


class DataError(NeurosimError, ValueError):
    """A data file or directory that cannot be read as asked; the message names it."""


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or plain, told apart by content) into an array of its own type and shape.

    The format: two zero bytes, a type code, the number of dimensions d, then d big-endian uint32 sizes, then the
    data row-major. A file that is missing, has a wrong magic number, or is shorter or longer than its header says
    raises :class:`DataError` naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise DataError(f"{path}: damaged or truncated gzip data ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: IDX header truncated or with {ndim} dimensions")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(f"{path}: {state}: {len(raw)} bytes where shape {shape} needs {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


@dataclass(frozen=True)
class Dataset:
    """Train and test examples: ``x_*`` of shape (n, n_inputs) with values in [0, 1], ``y_*`` integer labels.
    ``digest``: the data set's identity, a SHA-256 of its whole content as read (:func:`content_digest`; the four
    IDX files' images and labels, or the bundled digits), whatever the directory and the subset kept; "" unknown
    (a data set made in code)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    digest: str = ""

    @property
    def n_inputs(self) -> int:
        return self.x_train.shape[1]


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.exists():
            return candidate
    raise DataError(f"{directory}: no file {stem}.gz or {stem}")


def load_idx_directory(directory: str | os.PathLike, name: str) -> Dataset:
    """MNIST-format data set from ``directory`` (the four original IDX files). Pixels scaled by 1/255."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"data directory {directory}: does not exist or is not a directory")
    arrays, read = {}, {}
    for part, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(labels) == 0:
            raise DataError(
                f"{directory}: {prefix} images {images.shape} and labels {labels.shape} do not match"
            )
        if images.dtype != np.uint8:
            raise DataError(f"{directory}: {prefix} images hold {images.dtype} values; expected unsigned bytes")
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{directory}: {prefix} labels hold {labels.dtype} values; expected integers 0..9")
        if labels.min() < 0 or labels.max() > 9:
            raise DataError(f"{directory}: {prefix} labels range over {labels.min()}..{labels.max()}; expected 0..9")
        arrays[f"x_{part}"] = images.reshape(len(images), -1).astype(np.float64) / 255.0
        arrays[f"y_{part}"] = labels.astype(np.int64)
        read[part] = (images, labels)
    if arrays["x_train"].shape[1] != arrays["x_test"].shape[1]:
        raise DataError(f"{directory}: training images of {arrays['x_train'].shape[1]} pixels, test images of "
                        f"{arrays['x_test'].shape[1]}; both sets need one image size")
    return Dataset(name=name, n_classes=10, digest=content_digest(*read["train"], *read["test"]), **arrays)


def check_same_data(expected: str, data: Dataset, where) -> None:
    """Refuse (:class:`DataError`, one line) data whose identity is not ``expected`` (a run's
    :attr:`~neurosim.store.Run.data_digest`; "" checks nothing): a run resumed, exported or evaluated on data
    other than it trained on, ``where`` naming the directory read."""
    if expected and data.digest and data.digest != expected:
        raise DataError(f"{where}: not the data this run trained on (its {data.name} digest {data.digest[:12]}..., the "
                        f"run's {expected[:12]}...); give the directory of the same files")


def content_digest(*arrays) -> str:
    """SHA-256 of ``arrays`` (their dtypes, shapes and bytes, in order): a data set's identity."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str} {a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def load_digits(n_train: int = 1437) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images, 64 inputs, pixels 0-16 scaled by 1/16): the first
    ``n_train`` examples train, the rest test."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    return Dataset("digits", x[:n_train], y[:n_train], x[n_train:], y[n_train:], n_classes=10,
                   digest=content_digest(bunch.data, bunch.target))


def load_dataset(
    name: str, data_dir: str | os.PathLike | None = None, n_train: int | None = None, n_test: int | None = None
) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASETS`), keeping the first ``n_train`` training and the first
    ``n_test`` test examples (all when None).

    ``mnist`` needs ``data_dir``; ``fashion-mnist`` defaults to Debian's ``dataset-fashion-mnist`` location.
    """
    if name == "digits":
        data = load_digits()
    elif name in ("mnist", "fashion-mnist"):
        if data_dir is None:
            if name == "fashion-mnist" and FASHION_MNIST_DEBIAN.is_dir():
                data_dir = FASHION_MNIST_DEBIAN
            else:
                raise DataError(
                    f"dataset {name!r} needs a data directory holding its four IDX files (--data-dir DIR)"
                )
        data = load_idx_directory(data_dir, name)
    else:
        raise DataError(f"dataset={name!r}: unknown; choose one of {', '.join(DATASETS)}")
    for label, n, available in (("n_train", n_train, len(data.x_train)), ("n_test", n_test, len(data.x_test))):
        if n is not None and not 1 <= n <= available:
            raise DataError(f"{label}={n}: data set {name!r} has {available} examples, allowed 1..{available}")
    return Dataset(
        name=data.name,
        x_train=data.x_train[:n_train],
        y_train=data.y_train[:n_train],
        x_test=data.x_test[:n_test],
        y_test=data.y_test[:n_test],
        n_classes=data.n_classes,
        digest=data.digest,
    )
