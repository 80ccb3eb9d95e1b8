"""Tests of nnbook.transfer_task: upscaling, the digits task and its split, balanced label subsets."""

from __future__ import annotations

import functools

import numpy as np

from nnbook import transfer, transfer_task
from nnbook.data import CURVY_DIGITS


@functools.cache
def task() -> transfer_task.DigitsTask:
    return transfer_task.digits_task(n_val=200, n_test=597, seed=0)


VALID_CALLS = {
    "upscale_images": lambda: {"images": np.full((2, 3, 3), 0.5), "size": 6, "margin": 1},
    "digits_task": lambda: {"n_val": 100, "n_test": 100, "seed": 1},
    "label_subset": lambda: {"y": np.array([0, 0, 1, 1, 1]), "n": 3, "rng": 0},
}


def test_upscale_keeps_constants_and_frames_them():
    out = transfer_task.upscale_images(np.full((2, 8, 8), 0.25), size=20, margin=4).reshape(2, 28, 28)
    np.testing.assert_allclose(out[:, 4:24, 4:24], 0.25, rtol=0, atol=1e-7)
    out[:, 4:24, 4:24] = 0
    assert not out.any()


def test_upscale_to_the_same_size_is_the_identity_and_stays_in_range():
    images = np.random.default_rng(0).uniform(0, 1, (3, 8, 8))
    np.testing.assert_allclose(transfer_task.upscale_images(images, size=8, margin=0), images.reshape(3, 64), atol=1e-7)
    up = transfer_task.upscale_images(images)
    assert up.shape == (3, 784) and up.dtype == np.float32 and up.min() >= 0 and up.max() <= 1


def test_upscale_is_bilinear_interpolation():
    """Doubling a ramp: with half-pixel centres, the new pixels sit at +-1/4 of an old pixel."""
    ramp = np.tile(np.arange(4.0) / 3.0, (4, 1))[None]
    row = transfer_task.upscale_images(ramp, size=8, margin=0).reshape(8, 8)[0]
    centres = np.clip((np.arange(8) + 0.5) / 2 - 0.5, 0, 3)  # source coordinates of the new pixel centres
    np.testing.assert_allclose(row, centres / 3.0, atol=1e-6)


def test_task_parts_shapes_labels_and_upscaling():
    t = task()
    assert (t.X_train.shape, t.X_val.shape, t.X_test.shape) == ((1000, 784), (200, 784), (597, 784))
    assert (t.pixels_train.shape, t.pixels_val.shape, t.pixels_test.shape) == ((1000, 64), (200, 64), (597, 64))
    assert t.X_train.dtype == np.float32 and t.y_train.dtype == np.int64
    np.testing.assert_array_equal(t.y_train, np.isin(t.digit_train, CURVY_DIGITS))
    np.testing.assert_array_equal(t.y_test, np.isin(t.digit_test, CURVY_DIGITS))
    np.testing.assert_array_equal(t.X_test, transfer_task.upscale_images(t.pixels_test.reshape(-1, 8, 8)))
    assert 0.4 < t.y_train.mean() < 0.6


def test_task_parts_are_disjoint_and_cover_the_digits():
    from sklearn.datasets import load_digits

    t = task()
    everything = load_digits().data / 16.0
    rows = {row.tobytes(): i for i, row in enumerate(everything)}
    found = [rows[r.tobytes()] for part in (t.pixels_train, t.pixels_val, t.pixels_test) for r in part]
    # duplicate images in the data would map to one index; the split itself is a permutation
    assert len(found) == 1797 and len(set(found)) == len(rows)


def test_task_same_seed_same_split():
    a, b = transfer_task.digits_task(seed=3), transfer_task.digits_task(seed=3)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.digit_test, transfer_task.digits_task(seed=4).digit_test)


def test_label_subset_balances_and_is_seeded():
    y = task().y_train
    idx = transfer_task.label_subset(y, 21, rng=5)
    assert len(set(idx.tolist())) == 21 and sorted(np.bincount(y[idx]).tolist()) == [10, 11]
    np.testing.assert_array_equal(idx, transfer_task.label_subset(y, 21, rng=5))
    assert not np.array_equal(idx, transfer_task.label_subset(y, 21, rng=6))
    assert sorted(transfer_task.label_subset(y, len(y), rng=0).tolist()) == list(range(len(y)))


def test_label_subset_fills_from_the_larger_class():
    y = np.array([0, 0] + [1] * 10)
    idx = transfer_task.label_subset(y, 8, rng=0)
    assert np.bincount(y[idx]).tolist() == [2, 6]


def test_former_import_paths_give_the_same_objects():
    """The names moved out of nnbook.transfer are still importable from it, as the same objects."""
    from nnbook.transfer import MAX_SIDE, DigitsTask, digits_task, label_subset, upscale_images

    assert DigitsTask is transfer_task.DigitsTask and digits_task is transfer_task.digits_task
    assert upscale_images is transfer_task.upscale_images and label_subset is transfer_task.label_subset
    assert MAX_SIDE is transfer_task.MAX_SIDE and transfer.digits_task is transfer_task.digits_task
