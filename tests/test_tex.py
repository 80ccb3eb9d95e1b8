"""TeX read as plain text, for alt texts, tooltips and search snippets (nnbook.book.tex)."""

from __future__ import annotations

import re

import pytest

from nnbook.book.tex import tex_to_text

VALID_CALLS = {"tex_to_text": lambda: {"text": r"$\sigma(z)$"}}

# Alt texts and tooltips that the gallery produced, and what a reader should see instead.
CASES = [
    (r"Step $1/\lambda_{\max}$: the rate is set by $\kappa$", "Step 1/λ_max: the rate is set by κ"),
    (r"Classification error of sign$(f(x))$", "Classification error of sign(f(x))"),
    (r"Four ReLU units ($\varepsilon = 0.3$)", "Four ReLU units (ε = 0.3)"),
    (r"Jacobian $J = \mathrm{diag}(\hat y) - \hat y\hat y^\top$", "Jacobian J = diag(ŷ) - ŷŷᵀ"),
    (r"with \sigma(z) = 1/(1+e^{-z}), whose derivative", "with σ(z) = 1/(1+e^(-z)), whose derivative"),
    (r"its gradient is \frac1n\sum_i (\hat y_i - y_i)\, x_i", "its gradient is 1/n Σ_i (ŷ_i - y_i) x_i"),
    (r"evaluate \log\sigma without overflow", "evaluate log σ without overflow"),
    (r"the adjoint \bar t = \partial f / \partial t", "the adjoint t̄ = ∂f / ∂t"),
    (r"L(a) = \frac1n \lVert \Phi a - y \rVert^2", "L(a) = 1/n ‖ Φ a - y ‖²"),
    (r"f(x) = \sqrt{x^2 + e^{x^2}}", "f(x) = √(x² + e^(x²))"),
    (r"\frac{\partial \hat y_i}{\partial z_j} = \hat y_i(\delta_{ij} - \hat y_j)", "∂ŷ_i/∂z_j = ŷ_i(δ_ij - ŷ_j)"),
    (r"the minimiser $w^\star$ and $x \in \mathbb{R}^{d}$", "the minimiser w⋆ and x ∈ ℝ^d"),
    (r"\(W_{\ell}\) and \[x^{-1}\]", "W_ℓ and x⁻¹"),
    (r"\text{test error} \leq 10^{-3}", "test error ≤ 10⁻³"),
    (r"\operatorname{sign}(Xw - y) \cdot \mathcal{L}_1", "sign(Xw - y) · L₁"),
]


@pytest.mark.parametrize(("tex", "text"), CASES)
def test_tex_reads_as_text(tex, text):
    assert tex_to_text(tex) == text


@pytest.mark.parametrize("tex", [tex for tex, _ in CASES] + [r"\unknowncommand{x}", r"{unbalanced \frac{1}", "a}b{"])
def test_no_backslash_or_dollar_is_left(tex):
    text = tex_to_text(tex)
    assert "\\" not in text and "$" not in text
    if tex in dict(CASES):  # TeX's groups are read, not shown
        assert not re.search(r"[{}]", text)


@pytest.mark.parametrize("text", ["plot_depth_width.py, no TeX here", "2N/n = 1", "a (b) [c] - d", ""])
def test_text_without_tex_is_unchanged(text):
    assert tex_to_text(text) == text


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="text"):
        tex_to_text(3)
