"""The target task of the transfer chapter: scikit-learn's digits in MNIST's frame, curvy against angular.

scikit-learn's 1797 8x8 digits are upscaled to the 28x28 frame of MNIST
(:func:`upscale_images`), relabelled "curvy" (0, 3, 6, 8, 9) against
"angular" and split at random into a training pool, a validation set and a
test set (:func:`digits_task`, a :class:`DigitsTask`); :func:`label_subset`
draws a class-balanced labelled subset of a given size from the pool. The
transfer chapter teaches it in "The target task: other digits, other labels";
the methods compared on it are in :mod:`nnbook.transfer`.

Examples
--------
>>> task = digits_task(n_val=200, n_test=597, seed=0)
>>> task.X_train.shape, task.pixels_train.shape, task.X_val.shape, task.X_test.shape
((1000, 784), (1000, 64), (200, 784), (597, 784))
>>> sorted(set(task.y_train.tolist()))
[0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook._validation import check_array, check_int, check_rng, check_seed
from nnbook.data import CURVY_DIGITS

MAX_SIDE = 64  # largest upscaled image side


@dataclass(frozen=True)
class DigitsTask:
    """The transfer target: scikit-learn's digits, curvy (1) against angular (0), in two resolutions.

    Three disjoint parts: a pool of training images from which the labelled
    subsets are drawn, a validation set (to choose learning rates) and a test set.
    """

    X_train: np.ndarray  # (n_pool, 784) float32 in [0, 1]: the digits upscaled to 28x28, for the networks
    pixels_train: np.ndarray  # (n_pool, 64) float64 in [0, 1]: the original 8x8 pixels, for boosting
    y_train: np.ndarray  # (n_pool,) int64, 1 = curvy digit
    digit_train: np.ndarray  # (n_pool,) int64, the digit 0-9
    X_val: np.ndarray  # (n_val, 784)
    pixels_val: np.ndarray  # (n_val, 64)
    y_val: np.ndarray  # (n_val,)
    X_test: np.ndarray  # (n_test, 784)
    pixels_test: np.ndarray  # (n_test, 64)
    y_test: np.ndarray  # (n_test,)
    digit_test: np.ndarray  # (n_test,)


def upscale_images(images: np.ndarray, size: int = 20, margin: int = 4) -> np.ndarray:
    """Bilinear upscaling of square grey images to ``size x size``, framed by ``margin`` zero pixels.

    The defaults give MNIST's layout: a 20x20 digit in a 28x28 frame.

    Parameters
    ----------
    images : ndarray, shape (n, h, w)
        Values in ``[0, 1]``.
    size : int
        Side of the upscaled image (1 to 64).
    margin : int
        Zero pixels added on every side (``0 <= 2 * margin + size <= 64``).

    Returns
    -------
    ndarray, shape (n, (size + 2 * margin) ** 2), float32 in [0, 1]
        Flattened row by row.

    Examples
    --------
    >>> upscale_images(np.ones((1, 2, 2)), size=2, margin=1).reshape(4, 4)
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]], dtype=float32)
    """
    images = check_array(images, "images", ndim=3, dtype="float32")
    if images.min(initial=0.0) < 0 or images.max(initial=0.0) > 1:
        raise ValueError(f"images must hold values in [0, 1], got [{images.min():g}, {images.max():g}]")
    size = check_int(size, "size", min_value=1, max_value=MAX_SIDE)
    margin = check_int(margin, "margin", min_value=0, max_value=(MAX_SIDE - size) // 2)
    x = torch.from_numpy(images)[:, None]
    up = nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    framed = nn.functional.pad(up, (margin, margin, margin, margin))
    return framed.reshape(len(images), -1).numpy()


def digits_task(n_val: int = 200, n_test: int = 597, *, seed: int = 0) -> DigitsTask:
    """scikit-learn's 1797 digits as a two-class transfer target, split at random into pool, validation and test.

    The pixels (0-16) are divided by 16; :func:`upscale_images` puts each digit
    in a 20x20 box inside a 28x28 frame, as in MNIST. Labels: 1 for the curvy
    digits ``nnbook.data.CURVY_DIGITS`` (0, 3, 6, 8, 9), 0 for the others.

    Parameters
    ----------
    n_val, n_test : int
        Validation and test images (each at least 50, together at most 1697);
        the other images form the training pool.
    seed : int
        Seed of the random split.

    Returns
    -------
    DigitsTask
    """
    from sklearn.datasets import load_digits

    n_val = check_int(n_val, "n_val", min_value=50, max_value=1647)
    n_test = check_int(n_test, "n_test", min_value=50, max_value=1697 - n_val)
    order = np.random.default_rng(check_seed(seed)).permutation(1797)
    digits = load_digits()
    images = digits.images[order] / 16.0
    X, pixels = upscale_images(images), images.reshape(len(images), -1)
    digit = digits.target[order].astype(np.int64)
    y = np.isin(digit, CURVY_DIGITS).astype(np.int64)
    te, va, tr = slice(None, n_test), slice(n_test, n_test + n_val), slice(n_test + n_val, None)
    return DigitsTask(
        X[tr], pixels[tr], y[tr], digit[tr], X[va], pixels[va], y[va], X[te], pixels[te], y[te], digit[te]
    )


def label_subset(y: np.ndarray, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Indices of ``n`` labelled examples drawn without replacement, classes as balanced as ``y`` allows.

    Each class gets ``n // k`` examples (``k`` classes), the first ``n % k``
    classes one more, all of a class when it has too few (the others then make
    up the difference).

    Parameters
    ----------
    y : ndarray of int, shape (m,)
    n : int
        Subset size, ``k <= n <= m``.
    rng : Generator, int or None

    Returns
    -------
    ndarray of int64, shape (n,), in random order

    Examples
    --------
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> idx = label_subset(y, 4, rng=0)
    >>> np.bincount(y[idx]).tolist(), len(set(idx.tolist()))
    ([2, 2], 4)
    """
    y = check_array(y, "y", ndim=1, dtype="integer")
    classes, counts = np.unique(y, return_counts=True)
    n = check_int(n, "n", min_value=len(classes), max_value=len(y))
    rng = check_rng(rng)
    take = np.zeros(len(classes), dtype=np.int64)
    while take.sum() < n:  # water-filling: one more example for each class that still has some
        room = np.flatnonzero(take < counts)
        take[room[: n - take.sum()]] += 1
    chosen = [rng.choice(np.flatnonzero(y == c), t, replace=False) for c, t in zip(classes, take, strict=True)]
    return rng.permutation(np.concatenate(chosen)).astype(np.int64)
