"""Pages that show the state of the build are read again only when that state changed.

A few pages say something about the build rather than their own source: the
front page names the version and commit the book was built from, the claims
pages list every claim in the result store, the build report says what this
build ran. Sphinx re-reads a page when its source or a file it noted as a
dependency changed; none of these states is a file. Such a page notes a
*stamp* of each state it shows (:func:`note`) while it is read, and
:func:`outdated` (an ``env-get-outdated`` handler) re-reads it only when a
stamp differs from the one it was read with. A rebuild with nothing changed
reads and writes no page at all.

Kinds of state:

- ``"source"``: the nnbook version and the commit of the source folder;
- ``"claims"``: which claims the result store holds (names, sizes, times);
- ``"report"``: this build's report without its build id (what ran or was
  reused and why, and the values that changed).
"""

from __future__ import annotations

import hashlib
import json

from sphinx.application import Sphinx

KEY = "nnbook_stamps"
KINDS = ("source", "claims", "report")


def current(app: Sphinx, kind: str) -> str:
    """The digest of the state ``kind`` as it is now."""
    if kind == "source":
        from nnbook import __version__
        from nnbook.book.build import git_commit

        cache = app.__dict__.setdefault("_nnbook_stamp_cache", {})
        if "source" not in cache:
            cache["source"] = f"{__version__} {git_commit(app.srcdir)}"
        text = cache["source"]
    elif kind == "claims":
        from nnbook.book.sphinxext import results_folder

        folder = results_folder(app)
        files = sorted(folder.glob("*/*.claim.json")) if folder.is_dir() else []
        text = json.dumps([(p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files])
    elif kind == "report":
        from nnbook.book.build import REPORT_KEY

        data = dict(getattr(app.env, REPORT_KEY, None) or {})
        data.pop("build", None)
        text = json.dumps(data, sort_keys=True, default=str)
    else:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return hashlib.sha256(text.encode()).hexdigest()


def note(env, kind: str) -> None:
    """Remember that the page being read shows the state ``kind``, as it is now."""
    stamps = getattr(env, KEY)
    stamps.setdefault(env.docname, {})[kind] = current(env.app, kind)


def outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """``env-get-outdated``: the pages read with a stamp that no longer matches."""
    stamps = getattr(env, KEY, {})
    now: dict[str, str] = {}
    stale = []
    for docname, kinds in stamps.items():
        if docname in removed:
            continue
        for kind, stamp in kinds.items():
            if kind not in now:
                now[kind] = current(app, kind)
            if now[kind] != stamp:
                stale.append(docname)
                break
    return sorted(stale)


def purge(app: Sphinx, env, docname: str) -> None:
    """``env-purge-doc``: a page read again notes its stamps anew."""
    getattr(env, KEY, {}).pop(docname, None)


def init(app: Sphinx) -> None:
    if not hasattr(app.env, KEY):
        setattr(app.env, KEY, {})


def setup(app: Sphinx) -> None:
    """Connect the handlers (called from :mod:`nnbook.book.sphinxext`)."""
    app.connect("builder-inited", init)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
