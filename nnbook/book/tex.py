"""TeX to readable text, for the places of a page where MathJax does not run.

Alt texts of figures (sphinx-gallery takes them from matplotlib titles such as
``Step $1/\\lambda_{\\max}$``), the tooltips of gallery thumbnails and the
snippets of the search page show text as it is. :func:`tex_to_text` turns the
TeX of such text into what a reader would say: Greek letters and symbols as
Unicode, ``\\frac{a}{b}`` as ``a/b``, digit superscripts as ``²``, other
scripts as ``_max`` / ``^(x+1)``, accents as combining marks, and the math
delimiters removed. No backslash and no ``$`` is left; text without TeX comes
back unchanged.

Examples
--------
>>> tex_to_text(r"Step $1/\\lambda_{\\max}$: the rate is set by $\\kappa$")
'Step 1/λ_max: the rate is set by κ'
>>> tex_to_text(r"the loss \\|Xw - y\\|^2 / 2n with \\hat y = \\sigma(w^\\top x)")
'the loss ‖Xw - y‖² / 2n with ŷ = σ(wᵀ x)'
>>> tex_to_text(r"\\frac{\\partial f}{\\partial t} and \\sqrt{x^2 + 1}")
'∂f/∂t and √(x² + 1)'
>>> tex_to_text("plot_depth_width.py, no TeX here")
'plot_depth_width.py, no TeX here'
"""

from __future__ import annotations

import re
import unicodedata

GREEK_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon "
    "phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
).split()
GREEK = {
    name: unicodedata.lookup(
        f"GREEK {'CAPITAL' if name[0].isupper() else 'SMALL'} LETTER {name.upper().replace('LAMBDA', 'LAMDA')}"
    )
    for name in GREEK_NAMES
}
SYMBOLS = {
    **GREEK,
    "varepsilon": "ε",
    "epsilon": "ϵ",
    "vartheta": "ϑ",
    "varphi": "φ",
    "varrho": "ϱ",
    "varsigma": "ς",
    "ell": "ℓ",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "top": "ᵀ",
    "intercal": "ᵀ",
    "prime": "′",
    "star": "⋆",
    "ast": "∗",
    "cdot": "·",
    "cdots": "⋯",
    "ldots": "…",
    "dots": "…",
    "times": "×",
    "div": "÷",
    "pm": "±",
    "mp": "∓",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "propto": "∝",
    "equiv": "≡",
    "ll": "≪",
    "gg": "≫",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "mapsto": "↦",
    "Rightarrow": "⇒",
    "iff": "⇔",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "emptyset": "∅",
    "forall": "∀",
    "exists": "∃",
    "odot": "⊙",
    "otimes": "⊗",
    "oplus": "⊕",
    "circ": "∘",
    "|": "‖",
    "lVert": "‖",
    "rVert": "‖",
    "Vert": "‖",
    "lvert": "|",
    "rvert": "|",
    "vert": "|",
    "mid": "|",
    "langle": "⟨",
    "rangle": "⟩",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "{": "{",
    "}": "}",
    "%": "%",
    "$": "$",
    "&": "&",
    "#": "#",
    "_": "_",
    "sum": "Σ",
    "prod": "∏",
    "int": "∫",
}
SPACES = {",": " ", ";": " ", ":": " ", ">": " ", "!": "", " ": " ", "quad": " ", "qquad": " ", "\\": " "}
FUNCTIONS = set(
    "log ln exp sin cos tan tanh sinh cosh arcsin arccos arctan max min sup inf lim arg det dim ker deg gcd Pr".split()
)
IGNORED = set("left right big Big bigg Bigg bigl bigr Bigl Bigr displaystyle textstyle limits nolimits".split())
FONTS = set("mathrm mathbf mathit mathsf mathtt mathcal mathscr mathfrak boldsymbol bm operatorname".split())
TEXT = set("text textrm textbf textit mbox".split())
BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ"}
ACCENTS = {
    "hat": "\u0302",
    "widehat": "\u0302",
    "bar": "\u0304",
    "overline": "\u0305",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "dot": "\u0307",
    "ddot": "\u0308",
    "vec": "\u20d7",
}
SUPERSCRIPTS = dict(zip("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ", strict=True))
SUBSCRIPTS = dict(zip("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", strict=True))
DELIMITERS = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$")
LARGE = {"Σ", "∏", "∫"}
PREFIXES = {"partial", "nabla"}


class _Reader:
    """A recursive-descent reader of TeX math: atoms, groups, commands and scripts."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def command(self) -> str:
        """The control sequence at the position (after its backslash): a word or one other character."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos].isalpha():
            self.pos += 1
        if self.pos == start and self.pos < len(self.text):
            self.pos += 1
        return self.text[start : self.pos]

    def skip_space(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def group(self) -> str:
        """Read until the ``}`` closing a group opened just before the position."""
        out = self.sequence(stop="}")
        if self.peek() == "}":
            self.pos += 1
        return out

    def raw_group(self) -> str:
        """The literal text of the next ``{...}`` group (for ``\\text``), or of the next character."""
        self.skip_space()
        if self.peek() != "{":
            return self.atom()
        depth, start = 0, self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            depth += {"{": 1, "}": -1}.get(char, 0)
            self.pos += 1
            if depth == 0:
                break
        return self.text[start + 1 : self.pos - 1]

    def argument(self) -> str:
        """A command's argument: the next group or atom, spaces before it skipped."""
        self.skip_space()
        return self.atom()

    def atom(self) -> str:
        char = self.peek()
        if not char:
            return ""
        self.pos += 1
        if char == "{":
            return self.group()
        if char == "\\":
            return self.control(self.command())
        if char == "~":
            return " "
        if char == "&":
            return " "
        return char

    def control(self, name: str) -> str:
        if name in SPACES:
            return SPACES[name]
        if name in IGNORED:
            return ""
        if name in SYMBOLS:
            if name in PREFIXES:
                self.skip_space()  # ∂f, ∇L: an operator on what follows
            return SYMBOLS[name]
        if name in FUNCTIONS:
            self.skip_space()
            nxt = self.peek()
            return name + (" " if nxt.isalnum() or nxt == "\\" else "")
        if name == "frac" or name == "dfrac" or name == "tfrac":
            top, bottom = self.argument(), self.argument()
            return f"{_wrap(top)}/{_wrap(bottom)}"
        if name == "sqrt":
            self.skip_space()
            index = ""
            if self.peek() == "[":
                self.pos += 1
                index = self.sequence(stop="]")
                self.pos += 1
            body = self.argument()
            root = {"": "√", "3": "∛", "4": "∜"}.get(index, f"{index}√")
            return root + _wrap(body)
        if name in ACCENTS:
            body = self.argument()
            return body + ACCENTS[name] if len(body) == 1 else f"{body}{ACCENTS[name]}"
        if name == "mathbb":
            body = self.argument()
            return "".join(BLACKBOARD.get(c, c) for c in body)
        if name in FONTS:
            return self.argument()
        if name in TEXT:
            return self.raw_group()
        return name  # an unknown command reads as its name

    def sequence(self, stop: str = "") -> str:
        """Atoms with their scripts, until ``stop`` or the end."""
        out: list[str] = []
        while self.pos < len(self.text) and self.peek() != stop:
            char = self.peek()
            if char in "^_":
                self.pos += 1
                script = self.argument()
                out.append(_superscript(script) if char == "^" else _subscript(script))
                continue
            piece = self.atom()
            if piece in LARGE and out and out[-1][-1:].isalnum():
                piece = " " + piece
            out.append(piece)
        return "".join(out)


def _wrap(text: str) -> str:
    """``text`` as one operand of ``/`` or ``√``: in parentheses unless it is a single word or number."""
    text = text.strip()
    if re.fullmatch(r"\(.*\)|\[.*\]", text) or not re.search(r"[\s+\-=,/<>±·×]", text):
        return text
    return f"({text})"


def _superscript(text: str) -> str:
    if text and all(c in SUPERSCRIPTS or c in "ᵀ′⋆∗" for c in text):
        return "".join(SUPERSCRIPTS.get(c, c) for c in text)
    return "^" + (text if len(text) <= 1 else f"({text})")


def _subscript(text: str) -> str:
    if text and all(c in SUBSCRIPTS for c in text):
        return "".join(SUBSCRIPTS[c] for c in text)
    return "_" + (text if re.fullmatch(r"\w*", text) else f"({text})")


def tex_to_text(text: str) -> str:
    """``text`` with its TeX (delimited by ``$``, ``\\(`` or ``\\[``, or bare) read as plain Unicode text."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if "\\" not in text and "$" not in text and "^" not in text and "{" not in text:
        return text
    plain = _Reader(DELIMITERS.sub("", text)).sequence()
    return unicodedata.normalize("NFC", re.sub(r"[ \t]{2,}", " ", plain).strip())
