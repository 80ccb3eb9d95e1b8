"""The one place where nnbook checks the arguments of its public functions.

In the spirit of scikit-learn's ``check_scalar`` and ``check_array``: each
checker takes the value and the argument's name, returns the value in the form
the caller computes with, and otherwise raises

- :class:`TypeError` when the value is of the wrong kind (a ``str`` for an
  integer, ``True`` for an integer, a complex number for a real one), and
- :class:`ValueError` when it is of the right kind but the wrong value
  (negative, NaN, the wrong shape, too large to compute in reasonable time),

with a message that names the argument, says what was expected and shows what
was given. Sizes that set the cost of a computation are bounded *before* the
work is spent (:func:`check_work`).

Examples
--------
>>> check_int(3, "depth", min_value=0)
3
>>> check_int(True, "depth")
Traceback (most recent call last):
    ...
TypeError: depth must be an integer, got bool True
>>> check_real(float("nan"), "lr", min_value=0, min_inclusive=False)
Traceback (most recent call last):
    ...
ValueError: lr must be a finite real number, got nan
>>> check_choice("relu", "activation", ("relu", "tanh"))
'relu'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

# Default bound on the number of elements an array argument (or a result) may have: 2**27 float64 = 1 GiB.
MAX_ELEMENTS = 2**27
_DTYPES = ("real", "integer", "float32")


def _shown(value: object) -> str:
    """``type value`` as an error message shows what was given (long values shortened)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _range_text(min_value, max_value, min_inclusive: bool, max_inclusive: bool) -> str:
    parts = []
    if min_value is not None:
        parts.append(f"{'>=' if min_inclusive else '>'} {min_value}")
    if max_value is not None:
        parts.append(f"{'<=' if max_inclusive else '<'} {max_value}")
    return " and ".join(parts)


def _check_range(number, name: str, kind: str, min_value, max_value, min_inclusive=True, max_inclusive=True):
    low = min_value is not None and (number < min_value if min_inclusive else number <= min_value)
    high = max_value is not None and (number > max_value if max_inclusive else number >= max_value)
    if low or high:
        bounds = _range_text(min_value, max_value, min_inclusive, max_inclusive)
        raise ValueError(f"{name} must be {kind} {bounds}, got {number!r}")
    return number


def check_int(value: object, name: str, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """An integer (Python or numpy, not ``bool``) within ``[min_value, max_value]``, as a Python ``int``.

    Examples
    --------
    >>> check_int(np.int64(5), "width", min_value=1)
    5
    >>> check_int(0, "width", min_value=1)
    Traceback (most recent call last):
        ...
    ValueError: width must be an integer >= 1, got 0
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_shown(value)}")
    return _check_range(int(value), name, "an integer", min_value, max_value)


def check_real(
    value: object,
    name: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """A finite real number (not ``bool``, not complex) within the given bounds, as a Python ``float``.

    Examples
    --------
    >>> check_real(np.float32(0.5), "noise", min_value=0)
    0.5
    >>> check_real(1 + 2j, "noise")
    Traceback (most recent call last):
        ...
    TypeError: noise must be a real number, got complex (1+2j)
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite real number, got {number!r}")
    return _check_range(number, name, "a real number", min_value, max_value, min_inclusive, max_inclusive)


def check_bool(value: object, name: str) -> bool:
    """A ``bool`` (Python or numpy), as a Python ``bool``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {_shown(value)}")
    return bool(value)


def check_choice(value: object, name: str, choices: Iterable[Any]) -> Any:
    """One of ``choices``; the error lists the valid ones.

    Examples
    --------
    >>> check_choice("sigmoid", "activation", ["relu", "tanh"])
    Traceback (most recent call last):
        ...
    ValueError: activation must be one of 'relu', 'tanh', got 'sigmoid'
    """
    options = tuple(choices)
    valid = ", ".join(repr(c) for c in options)
    try:
        found = value in options
    except TypeError:  # an unhashable value against a set, say
        found = False
    if not found:
        if options and not isinstance(value, type(options[0])):
            raise TypeError(f"{name} must be one of {valid}, got {_shown(value)}")
        raise ValueError(f"{name} must be one of {valid}, got {value!r}")
    return value


def check_array(
    value: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    dtype: str = "real",
    finite: bool = True,
    min_rows: int = 1,
    max_elements: int | None = MAX_ELEMENTS,
) -> np.ndarray:
    """An array of real (or integer) numbers with the given dimensions, as a numpy array.

    Parameters
    ----------
    value : array_like
        Lists, numpy arrays and CPU torch tensors are accepted.
    name : str
        The argument's name, for messages.
    ndim : int or sequence of int, optional
        Allowed numbers of dimensions.
    shape : sequence of (int or None), optional
        Required shape; ``None`` entries match any length.
    dtype : {"real", "integer", "float32"}
        ``"real"`` returns float64, ``"float32"`` float32 (both reject complex, bool, strings and objects);
        ``"integer"`` returns int64 and rejects non-integral values.
    finite : bool
        Reject NaN and infinities.
    min_rows : int
        Minimum length of the first axis (0 allows empty arrays).
    max_elements : int or None
        Maximum number of elements, checked before any conversion work.

    Examples
    --------
    >>> check_array([[1, 2], [3, 4]], "X", ndim=2).dtype
    dtype('float64')
    >>> check_array(np.ones((2, 3)), "X", shape=(None, 2))
    Traceback (most recent call last):
        ...
    ValueError: X must have shape (any, 2), got (2, 3)
    >>> check_array([1.5, 2.0], "y", dtype="integer")
    Traceback (most recent call last):
        ...
    ValueError: y must hold integers, got non-integral values such as 1.5
    """
    check_choice(dtype, "dtype", _DTYPES)
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, str | bytes) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {_shown(value)}")
    size = getattr(value, "size", None)
    if max_elements is not None and isinstance(size, numbers.Integral) and size > max_elements:
        raise ValueError(f"{name} has {size} elements, more than the limit of {max_elements}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {err}") from None
    if max_elements is not None and array.size > max_elements:
        raise ValueError(f"{name} has {array.size} elements, more than the limit of {max_elements}")
    kind = array.dtype.kind
    if kind == "b" or kind not in "iuf":
        what = "complex numbers" if kind == "c" else f"dtype {array.dtype}"
        raise TypeError(f"{name} must be an array of real numbers, got {what}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), got {array.ndim} (shape {array.shape})")
    if shape is not None:
        if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape, strict=True)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "")
            raise ValueError(f"{name} must have shape {want}), got {array.shape}")
    if array.ndim > 0 and array.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {array.shape}")
    if dtype == "integer":
        if kind == "f":
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} must hold finite integers, got NaN or inf")
            bad = array[array != np.round(array)]
            if bad.size:
                raise ValueError(f"{name} must hold integers, got non-integral values such as {bad.flat[0]:g}")
        return array.astype(np.int64, copy=False)
    out = array.astype(np.float32 if dtype == "float32" else np.float64, copy=False)
    if finite and not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must hold finite numbers, got NaN or inf")
    return out


def check_same_length(**arrays: object) -> int:
    """All arrays have the same first-axis length; returns it.

    Examples
    --------
    >>> check_same_length(X=np.ones((3, 2)), y=np.ones(4))
    Traceback (most recent call last):
        ...
    ValueError: X and y must have the same number of rows, got 3 and 4
    """
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        names = " and ".join(lengths)
        values = " and ".join(str(v) for v in lengths.values())
        raise ValueError(f"{names} must have the same number of rows, got {values}")
    return next(iter(lengths.values()))


def check_same_shape(**arrays: np.ndarray) -> tuple[int, ...]:
    """All arrays have the same shape; returns it.

    Examples
    --------
    >>> check_same_shape(a=np.ones((2, 1)), b=np.ones(2))
    Traceback (most recent call last):
        ...
    ValueError: a and b must have the same shape, got (2, 1) and (2,)
    """
    shapes = {name: tuple(np.shape(a)) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        names = " and ".join(shapes)
        values = " and ".join(str(s) for s in shapes.values())
        raise ValueError(f"{names} must have the same shape, got {values}")
    return next(iter(shapes.values()))


def check_seed(seed: object, name: str = "seed") -> int:
    """A seed: an integer in ``[0, 2**63 - 1]``."""
    return check_int(seed, name, min_value=0, max_value=2**63 - 1)


def check_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a generator, a seed or ``None`` (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool | np.bool_) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"{name} must be a numpy Generator, an integer seed or None, got {_shown(rng)}")
    return np.random.default_rng(check_seed(rng, name))


def check_callable(value: object, name: str) -> Callable:
    """A callable."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {_shown(value)}")
    return value


def check_instance(value: object, name: str, kind: type, what: str) -> Any:
    """An instance of ``kind`` (described to the user as ``what``).

    Examples
    --------
    >>> check_instance("x", "ax", int, "a matplotlib Axes")
    Traceback (most recent call last):
        ...
    TypeError: ax must be a matplotlib Axes, got str 'x'
    """
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, got {_shown(value)}")
    return value


def check_module(model: object, name: str = "model"):
    """A :class:`torch.nn.Module` whose parameters are all finite."""
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    for pname, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise ValueError(f"{name} has non-finite values in parameter {pname!r}")
    return model


def check_work(amount: float, name: str, limit: float, what: str = "elements") -> None:
    """Refuse a computation whose size ``amount`` (set by argument ``name``) exceeds ``limit``.

    Examples
    --------
    >>> check_work(10**12, "depth", 10**8, "linear pieces")
    Traceback (most recent call last):
        ...
    ValueError: depth asks for 1000000000000 linear pieces, more than the limit of 100000000
    """
    if amount > limit:
        raise ValueError(f"{name} asks for {amount} {what}, more than the limit of {limit}")
