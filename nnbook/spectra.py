"""The local linearisation of a network and the spectrum of its Jacobian.

Near parameters ``w`` a network is linear in its parameters,
``f(x, w') ~ f(x, w) + <grad_w f(x, w), w' - w>``. Stacking the per-example
gradients of ``n`` inputs gives the ``n x m`` Jacobian ``J``; its SVD
``J = U S V^T`` orders the directions of parameter space by how strongly they
move the outputs. The columns of ``U S`` are the *principal features*: the
functions of ``x`` (sampled at the inputs) that a small parameter change can
add to the network, the first ones cheaply, the ones with tiny singular values
hardly at all. ``J J^T`` is the (empirical) neural tangent kernel.

Examples
--------
>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))
>>> per_example_jacobian(net, np.linspace(-1, 1, 5)).shape  # 5 inputs, 3 + 3 + 3 + 1 parameters
(5, 10)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from nnbook import _validation as v

MAX_JACOBIAN_ELEMENTS = 2**26  # n * m bound: 512 MiB of float64
MAX_FEATURES = 1000
CHUNK = 4096  # inputs per vectorised pass, to bound the memory of the per-example gradients


def _inputs(x: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """``x`` as an ``(n, d)`` tensor with the dtype and on the device of ``like`` (a parameter)."""
    x = v.check_array(x, "x", ndim=(1, 2))
    return torch.as_tensor(x.reshape(len(x), -1), dtype=like.dtype).to(like.device)


def per_example_jacobian(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Gradients of the scalar output at each input with respect to all parameters, one row per input.

    Vectorised with ``torch.func``: ``vmap`` over the inputs of ``grad`` of a
    ``functional_call`` of the model, so no Python loop runs over examples. The
    model is evaluated as in evaluation mode (batch normalisation uses its
    running statistics) on a copy; the model itself is not changed.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch ``(b, d)`` to ``(b, 1)`` or ``(b,)``.
    x : ndarray, shape (n,) or (n, d)
        A 1-D array is read as ``n`` scalar inputs.

    Returns
    -------
    ndarray, shape (n, m), float64
        Row ``i`` is ``grad_w f(x_i, w)`` in the model's dtype, flattened in
        ``model.parameters()`` order; ``m`` counts every parameter.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Linear(1, 1)  # f(x) = w x + b: the gradient is (x, 1)
    >>> per_example_jacobian(net, np.array([2.0, -1.0])).tolist()
    [[2.0, 1.0], [-1.0, 1.0]]
    """
    model = copy.deepcopy(v.check_module(model)).eval()
    params = {name: p.detach() for name, p in model.named_parameters()}
    if not params:
        raise ValueError("model has no parameters to differentiate")
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    inputs = _inputs(x, next(iter(params.values())))
    m = sum(p.numel() for p in params.values())
    v.check_work(inputs.shape[0] * m, "x", MAX_JACOBIAN_ELEMENTS, "Jacobian entries (inputs x parameters)")

    def output(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, (p, buffers), (xi[None],))
        if out.numel() != 1:
            raise ValueError(f"model must have one output per input, got output shape {tuple(out.shape)}")
        return out.reshape(())

    per_example = vmap(grad(output), in_dims=(None, 0), chunk_size=CHUNK)(params, inputs)
    rows = [per_example[name].reshape(len(inputs), -1) for name in params]
    return torch.cat(rows, dim=1).double().cpu().numpy()


@dataclass(frozen=True)
class Spectrum:
    """The SVD ``J = U S V^T`` of a per-example Jacobian, its leading part kept."""

    singular_values: np.ndarray  # (r,) all of them, descending, r = min(n, m)
    features: np.ndarray  # (n, k) principal features U[:, :k] * S[:k], sampled at the inputs
    directions: np.ndarray  # (m, k) right singular vectors V[:, :k]: the parameter directions
    x: np.ndarray  # (n, d) the inputs the Jacobian was taken at
    num_parameters: int  # m

    def rank(self, rtol: float = 1e-6) -> int:
        """Number of singular values above ``rtol`` times the largest."""
        rtol = v.check_real(rtol, "rtol", min_value=0.0)
        s = self.singular_values
        return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0

    def energy(self, k: int) -> float:
        """Fraction ``sum_{i<k} s_i^2 / sum_i s_i^2`` of the squared Frobenius norm in the top ``k`` directions."""
        k = v.check_int(k, "k", min_value=0)
        s2 = self.singular_values**2
        return float(s2[:k].sum() / s2.sum())


def linearisation_spectrum(model: nn.Module, x: np.ndarray, *, num_features: int = 10) -> Spectrum:
    """Singular values and principal features of the linearisation of ``model`` at inputs ``x``.

    The sign of each singular pair is fixed so that the feature's entry of
    largest magnitude is positive (the SVD leaves it free).

    Parameters
    ----------
    model : torch.nn.Module
        As for :func:`per_example_jacobian`.
    x : ndarray, shape (n,) or (n, d)
    num_features : int
        ``k``: leading features and directions kept (capped at ``min(n, m)``);
        0 computes the singular values only.

    Returns
    -------
    Spectrum

    Examples
    --------
    >>> from torch import nn
    >>> s = linearisation_spectrum(nn.Linear(1, 1), np.array([1.0, 2.0]))  # J = [[1, 1], [2, 1]]
    >>> s.singular_values.round(6).tolist(), s.rank(), round(s.energy(1), 6)
    ([2.618034, 0.381966], 2, 0.979157)
    """
    k = v.check_int(num_features, "num_features", min_value=0, max_value=MAX_FEATURES)
    jac = per_example_jacobian(model, x)
    inputs = np.asarray(x, dtype=float).reshape(len(jac), -1)
    if k == 0:  # singular values only: LAPACK skips the singular vectors, about twice as fast
        s = np.linalg.svd(jac, compute_uv=False)
        return Spectrum(s, np.zeros((len(jac), 0)), np.zeros((jac.shape[1], 0)), inputs, jac.shape[1])
    u, s, vt = np.linalg.svd(jac, full_matrices=False)
    k = min(k, s.size)
    u, vt = u[:, :k], vt[:k]
    flip = np.sign(u[np.abs(u).argmax(axis=0), np.arange(k)])
    flip[flip == 0] = 1.0
    u, vt = u * flip, vt * flip[:, None]
    return Spectrum(s, u * s[:k], vt.T.copy(), inputs, jac.shape[1])


def feature_functions(model: nn.Module, spectrum: Spectrum, x: np.ndarray) -> np.ndarray:
    """The principal features as functions: ``J(x) V_k`` at any inputs ``x``.

    At the spectrum's own inputs this equals ``spectrum.features``; elsewhere
    it shows how a parameter step along each principal direction moves the
    network's output, for instance outside the range of the training inputs.

    Parameters
    ----------
    model : torch.nn.Module
        The model (same parameters) the spectrum was computed for.
    spectrum : Spectrum
    x : ndarray, shape (n', ...) as for :func:`per_example_jacobian`

    Returns
    -------
    ndarray, shape (n', k)

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Linear(1, 1)
    >>> s = linearisation_spectrum(net, np.array([1.0, -1.0]))
    >>> np.allclose(feature_functions(net, s, np.array([1.0, -1.0])), s.features)
    True
    """
    if not isinstance(spectrum, Spectrum):
        raise TypeError(f"spectrum must be a Spectrum, got {type(spectrum).__name__}")
    jac = per_example_jacobian(model, x)
    if jac.shape[1] != spectrum.num_parameters:
        raise ValueError(
            f"model has {jac.shape[1]} parameters but the spectrum was computed for {spectrum.num_parameters}"
        )
    return jac @ spectrum.directions


def critical_learning_rate(spectrum: Spectrum, momentum: float = 0.0) -> float:
    """Largest stable step of (heavy-ball) gradient descent on the mean squared error of the linearised model.

    For ``L(w) = mean_i (f(x_i, w) - y_i)^2`` the Gauss-Newton curvature is
    ``(2 / n) J^T J``, with largest eigenvalue ``2 s_1^2 / n``; gradient
    descent with momentum ``beta`` on a quadratic is stable for
    ``lr < 2 (1 + beta) / lambda_max = (1 + beta) n / s_1^2``.

    Examples
    --------
    >>> from torch import nn
    >>> s = linearisation_spectrum(nn.Linear(1, 1), np.array([1.0, -1.0]))  # s_1^2 = 2, n = 2
    >>> round(critical_learning_rate(s, momentum=0.9), 12)
    1.9
    """
    if not isinstance(spectrum, Spectrum):
        raise TypeError(f"spectrum must be a Spectrum, got {type(spectrum).__name__}")
    beta = v.check_real(momentum, "momentum", min_value=0.0, max_value=1.0, max_inclusive=False)
    s1 = float(spectrum.singular_values[0])
    if s1 == 0:
        return float("inf")
    return (1.0 + beta) * len(spectrum.x) / s1**2


def layer_inputs(model: nn.Sequential, x: np.ndarray) -> list[np.ndarray]:
    """What each module of a ``Sequential`` receives on inputs ``x`` (evaluation mode, no gradients).

    Returns
    -------
    list of ndarray
        ``len(model) + 1`` arrays: entry ``i`` is the input of ``model[i]``,
        the last one the model's output.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(-1.0), net[0].bias.zero_()
    >>> [h[:, 0].tolist() for h in layer_inputs(net, np.array([[2.0], [-3.0]]))]
    [[2.0, -3.0], [-2.0, 3.0], [0.0, 3.0]]
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    model = copy.deepcopy(v.check_module(model)).eval()
    h = _inputs(x, next(model.parameters()))
    out = [h.double().cpu().numpy()]
    with torch.no_grad():
        for module in model:
            h = module(h)
            out.append(h.double().cpu().numpy())
    return out


def block_jacobian_singular_values(block: nn.Module, h: np.ndarray) -> np.ndarray:
    """Singular values of the input-output Jacobian ``d block(h) / d h`` at each row of ``h``.

    Parameters
    ----------
    block : torch.nn.Module
        Maps ``(n, w)`` to ``(n, w)`` row by row (no batch statistics), e.g. a
        residual block or ``Sequential(Linear, ReLU)``.
    h : ndarray, shape (n, w)

    Returns
    -------
    ndarray, shape (n, w)
        Descending in each row.

    Examples
    --------
    >>> from nnbook.sines import ResidualBlock
    >>> block = ResidualBlock(3)
    >>> with torch.no_grad():
    ...     _ = block.linear.weight.zero_()
    >>> block_jacobian_singular_values(block, np.ones((2, 3))).tolist()  # h + b: the Jacobian is I
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    block = copy.deepcopy(v.check_module(block, "block")).eval()
    param = next(block.parameters())
    h = torch.as_tensor(v.check_array(h, "h", ndim=2), dtype=param.dtype).to(param.device)
    v.check_work(h.shape[0] * h.shape[1] ** 2, "h", MAX_JACOBIAN_ELEMENTS, "Jacobian entries (rows x width^2)")
    jac = vmap(torch.func.jacrev(lambda row: block(row[None])[0]))(h)
    return torch.linalg.svdvals(jac.detach().double()).cpu().numpy()


def draw_spectrum(
    axes: object,
    spectrum: Spectrum,
    *,
    x_grid: np.ndarray | None = None,
    features_grid: np.ndarray | None = None,
    num_values: int = 20,
    num_features: int = 10,
) -> None:
    """Draw a spectrum on three axes (made with :func:`nnbook.plotting.new_figure`), without importing matplotlib.

    Left: the top ``num_values`` singular values (log scale). Middle: the top
    ``num_features`` principal features against ``x`` (at the spectrum's own
    inputs, or as lines on ``x_grid`` when ``features_grid = J(x_grid) V`` from
    :func:`feature_functions` is given). Right: feature 2 against feature 1,
    coloured by ``x``. Only for scalar inputs.

    Parameters
    ----------
    axes : sequence of three matplotlib Axes
    spectrum : Spectrum
    x_grid : ndarray, shape (g,), optional
    features_grid : ndarray, shape (g, k), optional
    num_values, num_features : int
    """
    if not isinstance(spectrum, Spectrum):
        raise TypeError(f"spectrum must be a Spectrum, got {type(spectrum).__name__}")
    if spectrum.x.shape[1] != 1:
        raise ValueError(f"draw_spectrum needs scalar inputs, got inputs of shape {spectrum.x.shape}")
    ax_values, ax_features, ax_pair = axes
    s = spectrum.singular_values[: v.check_int(num_values, "num_values", min_value=1)]
    ax_values.bar(np.arange(1, s.size + 1), s, color="C0")
    ax_values.set(yscale="log", xlabel="index k", ylabel=r"singular value $\sigma_k$")
    k = min(v.check_int(num_features, "num_features", min_value=1), spectrum.features.shape[1])
    if (x_grid is None) != (features_grid is None):
        raise ValueError("give both x_grid and features_grid, or neither")
    if x_grid is None:
        x, order = spectrum.x[:, 0], np.argsort(spectrum.x[:, 0])
        for i in range(k):
            ax_features.plot(x[order], spectrum.features[order, i], lw=1.0 if i >= 2 else 2.0, label=f"{i + 1}")
    else:
        x_grid = v.check_array(x_grid, "x_grid", ndim=1)
        features_grid = v.check_array(features_grid, "features_grid", shape=(x_grid.size, None))
        for i in range(min(k, features_grid.shape[1])):
            ax_features.plot(x_grid, features_grid[:, i], lw=1.0 if i >= 2 else 2.0, label=f"{i + 1}")
    ax_features.set(xlabel="x", ylabel="principal feature")
    ax_features.legend(title="feature", ncols=2, fontsize=7, title_fontsize=7)
    if spectrum.features.shape[1] >= 2:
        points = ax_pair.scatter(spectrum.features[:, 0], spectrum.features[:, 1], c=spectrum.x[:, 0], s=3)
        ax_pair.figure.colorbar(points, ax=ax_pair, label="x")
    ax_pair.set(xlabel="feature 1", ylabel="feature 2")
