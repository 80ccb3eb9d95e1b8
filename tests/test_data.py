"""nnbook.data: bundled sets, the IDX reader on files the tests write, and synthetic sets."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from nnbook import data


def _write_idx(path, array: np.ndarray, code: int = 0x08, compress: bool = False) -> None:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as handle:
        handle.write(payload)


def test_digits_curvy_setup():
    split = data.digits_curvy()
    assert split.X_train.shape == (898, 64) and split.X_test.shape == (899, 64)
    assert np.linalg.norm(split.X_train, axis=1).max() <= 1.0
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.testing.assert_array_equal(split.y_train, np.where(np.isin(digits.target[:898], [0, 3, 6, 8, 9]), 1, -1))
    np.testing.assert_allclose(split.X_test * 16 * 8, digits.data[898:])


def test_mnist_sample_is_real_mnist():
    X, y = data.mnist_sample()
    assert X.shape == (5000, 784) and y.shape == (5000,)
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert set(np.unique(y)) == set(range(10))


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


def test_load_mnist_from_a_folder(tmp_path):
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 7), ("t10k", 3)):
        _write_idx(
            tmp_path / f"{prefix}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            compress=True,
        )
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    X, y = data.load_mnist(tmp_path, "test")
    assert X.shape == (3, 784) and y.shape == (3,) and X.max() <= 1.0
    assert data.load_mnist(tmp_path)[0].shape == (7, 784)


def test_load_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        data.load_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((2, 2), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="header declares"):
        data.load_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="path"):
        data.load_idx(tmp_path / "missing")


def test_load_mnist_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        data.load_mnist(tmp_path, "validation")
    with pytest.raises(ValueError, match="directory"):
        data.load_mnist(tmp_path / "nope")
    with pytest.raises(ValueError, match="train-images"):
        data.load_mnist(tmp_path)


def test_torchvision_loader_agrees_when_available(tmp_path):
    try:
        import torchvision  # noqa: F401
    except Exception as err:  # CPU torch with a CUDA torchvision raises RuntimeError, not ImportError
        pytest.skip(f"torchvision does not import here: {type(err).__name__}: {err}")
    from torchvision.datasets.mnist import read_image_file

    images = np.random.default_rng(2).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "img", images)
    np.testing.assert_array_equal(read_image_file(str(tmp_path / "img")).numpy(), data.load_idx(tmp_path / "img"))


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
