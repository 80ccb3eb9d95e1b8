"""Sphinx configuration of nnbook: MyST chapters, a sphinx-gallery of experiments, furo."""

from __future__ import annotations

import os

import nnbook

project = "nnbook"
author = "The nnbook authors"
copyright = "2026, The nnbook authors"
release = version = nnbook.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
    "sphinx_copybutton",
    "sphinxcontrib.bibtex",
    "nnbook.book.sphinxext",
    "nnbook.book.frontpage",
]

# --- Sources -------------------------------------------------------------------------------------------------------
# sphinx-gallery writes a notebook next to each example page; myst_nb would read those as sources too.
# Exercises are included at the end of their chapter (nnbook.book.frontpage), not pages of their own.
exclude_patterns = ["_build", "auto_gallery/**/*.ipynb", "**.ipynb_checkpoints", "README.md", "exercises/*"]
templates_path = ["_templates"]
numfig = True
nitpicky = True
# Types of other libraries in signatures and numpydoc type lines have no inventory offline; our own must resolve.
nitpick_ignore_regex = [(r"py:(class|obj|data|func|meth|attr|mod|exc)", r"(?!nnbook\b).*")]

# --- MyST ----------------------------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "substitution", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True
nb_execution_mode = "off"  # the gallery runs the code; chapters are narrative

# Two examples run at once, one per core, each with one BLAS/OpenMP thread: threaded BLAS on busy cores spins
# and can be 20x slower. Worker processes inherit these before they import numpy or torch.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# --- The chapter registry: the ONE list of the book's chapters ------------------------------------------------------
# Each chapter's gallery folder (also the namespace of its recorded results) and its page, in book order. The table
# of contents, the gallery's order and the claims page follow from it; adding a chapter is one line here, one page
# and one gallery folder.
nnbook_chapters = {
    "double_descent": "chapters/01-double-descent",
    "gradients": "chapters/02-gradients",
    "sgd": "chapters/03-sgd",
    "expressivity": "chapters/04-expressivity",
    "initialisation": "chapters/05-initialisation",
    "ood": "chapters/06-ood",
    "backprop": "chapters/07-backprop",
    "data_movement": "chapters/08-data-movement",
    "transfer": "chapters/09-transfer",
}
# NNBOOK_CHAPTERS=a,b builds only those chapters (their pages and examples): for authors working on one chapter.
_all_chapters = dict(nnbook_chapters)
if os.environ.get("NNBOOK_CHAPTERS"):
    _only = [name.strip() for name in os.environ["NNBOOK_CHAPTERS"].split(",") if name.strip()]
    _unknown = sorted(set(_only) - set(_all_chapters))
    if _unknown:
        raise ValueError(f"NNBOOK_CHAPTERS names unknown chapters {_unknown}; known: {sorted(_all_chapters)}")
    nnbook_chapters = {name: doc for name, doc in _all_chapters.items() if name in _only}
    exclude_patterns += [f"{doc}.md" for name, doc in _all_chapters.items() if name not in _only]
_selected = "|".join(nnbook_chapters)

sphinx_gallery_conf = {
    "examples_dirs": ["../gallery"],
    "gallery_dirs": ["auto_gallery"],
    # Only the selected chapters' scripts execute (sphinx-gallery matches ignore_pattern against file names only,
    # so a chapter is selected by the full path here); the others keep the outputs of their last run.
    "filename_pattern": rf"/({_selected})/plot_",
    "ignore_pattern": r"__init__\.py",
    "subsection_order": [f"../gallery/{name}" for name in _all_chapters],
    "within_subsection_order": "nnbook.book.frontpage.ExamplesInChapterOrder",  # the order the chapter uses them
    "doc_module": ("nnbook",),
    "backreferences_dir": "backreferences",
    "reference_url": {"nnbook": None},
    # Run before AND after each example: the seeds reset, and nnbook.book.rerun.track, which records the nnbook
    # modules each example imported (with content hashes) so that a change to one re-runs exactly the examples
    # that use it (see nnbook/book/rerun.py); it must stay last.
    "reset_modules": ("matplotlib", "nnbook.book.rerun.reset_seeds", "nnbook.book.rerun.track"),
    "reset_modules_order": "both",
    "download_all_examples": True,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "abort_on_example_error": False,  # run every example, then fail the build naming each one that raised
    "only_warn_on_example_error": False,
    "show_memory": False,
    "write_computation_times": True,  # the pages are rewritten to a plain table (no scripts from a CDN)
    # Examples run in this many worker processes (NNBOOK_GALLERY_PARALLEL=1 runs them one after another).
    "parallel": int(os.environ.get("NNBOOK_GALLERY_PARALLEL", "2")),
}

# --- API reference ---------------------------------------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# --- Citations -------------------------------------------------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- HTML ------------------------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = "nnbook: deep neural networks, executed"
html_static_path = ["_static"]
html_js_files = ["nnbook.js"]
html_search_scorer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_static", "search_scorer.js")
html_last_updated_fmt = None
copybutton_exclude = ".linenos, .gp, .go"
