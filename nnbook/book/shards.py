"""Sharded builds: each machine executes a deterministic share of the examples; a merge builds the site.

For a book that outgrows one machine, the examples are split into ``n``
shards the way the PyTorch tutorials split theirs across CI runners:

1. each of ``n`` jobs runs ``nox -s docs -- --shard i/n`` (``i`` = 1..n). The
   build executes only the examples of shard ``i`` (:func:`assign`: the
   examples sorted by name, dealt out longest first when a durations file
   gives their times, else in turn) and reads no chapter; its
   ``docs/auto_gallery`` folder is the job's artifact;
2. one job downloads the ``n`` artifacts and runs
   ``nox -s docs_merge -- <artifact 1> ... <artifact n>``: :func:`merge`
   copies each executed example's generated files, dependency record and
   results into ``docs/auto_gallery``, then the ordinary build runs with
   ``nnbook_no_execution`` set, so every example is reused (the build fails
   if any would run) and the site is assembled without executing anything.

A merge refuses two shards that executed the same example, or that wrote the
same result with different content.

Examples
--------
>>> assign(["a/p1.py", "a/p2.py", "b/p3.py"], 2)
[['a/p1.py', 'b/p3.py'], ['a/p2.py']]
>>> assign(["a/p1.py", "a/p2.py", "b/p3.py"], 2, {"a/p1.py": 10.0, "a/p2.py": 4.0, "b/p3.py": 5.0})
[['a/p1.py'], ['a/p2.py', 'b/p3.py']]
>>> parse("2/3")
(2, 3)
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from nnbook._validation import check_int
from nnbook.book import rerun, store

MAX_SHARDS = 256


def parse(spec: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``1 <= i <= n <= MAX_SHARDS``; ``ValueError`` otherwise."""
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a str like '2/4' (shard i of n), got {type(spec).__name__}")
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match:
        raise ValueError(f"spec must give a shard as i/n (e.g. 2/4), got {spec!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count <= MAX_SHARDS:
        raise ValueError(f"spec must be a shard i/n with 1 <= i <= n <= {MAX_SHARDS}, got {spec!r}")
    return index, count


def assign(names: Iterable[str], count: int, seconds: Mapping[str, float] | None = None) -> list[list[str]]:
    """Split example names into ``count`` shards, the same way on every machine.

    With ``seconds`` (each example's run time from an earlier build; unknown
    ones count as the median) the longest examples are placed first, each on
    the least loaded shard; without it every example weighs the same and they
    are dealt out in name order. Each shard's list is sorted by name.
    """
    count = check_int(count, "count", min_value=1, max_value=MAX_SHARDS)
    if isinstance(names, str):
        raise TypeError("names must be an iterable of example names, got a single str")
    names = list(names)
    if not all(isinstance(n, str) for n in names):
        raise TypeError("names must be an iterable of example names (str)")
    names = sorted(set(names))
    known = sorted(float(s) for s in (seconds or {}).values())
    default = known[len(known) // 2] if known else 1.0
    weight = {n: float((seconds or {}).get(n, default)) for n in names}
    loads = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(names, key=lambda n: (-weight[n], n)) if seconds else names:
        target = min(range(count), key=lambda k: (loads[k], k))
        shards[target].append(name)
        loads[target] += weight[name]
    return [sorted(s) for s in shards]


def pattern(examples: Iterable[rerun.Example]) -> str:
    """A sphinx-gallery ``filename_pattern`` that matches exactly these examples' scripts."""
    ends = [re.escape(os.sep + os.path.join(*Path(e.name).parts)) + "$" for e in examples]
    return "(" + "|".join(ends) + ")" if ends else r"(?!)"


def durations(gallery: Path) -> dict[str, float]:
    """Each example's last run time in seconds, from the dependency records under ``gallery``."""
    times = {}
    for path in sorted(Path(gallery).glob("**/*.run.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            times[record["example"]] = float(record["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return times


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def merge(shards: Iterable[Path], into: Path, results: str = "_results") -> list[str]:
    """Copy every example a shard executed (files, record, results) into the gallery folder ``into``.

    Returns the merged examples' names. Raises ``ValueError`` when two shards
    executed the same example or wrote one result with different content, or
    when a shard holds no executed example.
    """
    if not isinstance(results, str):
        raise TypeError(f"results must be a str (the results folder inside each gallery), got {type(results).__name__}")
    into = Path(into)
    origin: dict[str, Path] = {}
    for shard in map(Path, shards):
        merged_here = 0
        for record_path in sorted(shard.glob("**/*.run.json")):
            record = json.loads(record_path.read_text(encoding="utf-8"))
            folder, stem = record_path.parent, record_path.name.removesuffix(".run.json")
            if record.get("status") != "ok" or not (folder / f"{stem}.py.md5").is_file():
                continue  # not executed by this shard (or it failed there)
            name = record["example"]
            if name in origin:
                raise ValueError(f"example {name} was executed by two shards: {origin[name]} and {shard}")
            origin[name] = shard
            for path in rerun.generated_files(folder, stem):
                _copy(path, into / path.relative_to(shard))
            for kind, result in record["results"]:
                for path in store.files_of(shard / results, result, kind):
                    if not path.is_file():
                        continue  # an optional file (a table without tolerances)
                    target = into / results / path.relative_to(shard / results)
                    if target.exists() and not filecmp.cmp(path, target, shallow=False):
                        raise ValueError(f"result {result} differs between shards ({path} and {target})")
                    _copy(path, target)
            merged_here += 1
        if merged_here == 0:
            raise ValueError(f"shard {shard} holds no executed example (is it a shard's gallery folder?)")
    return sorted(origin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnbook.book.shards", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    merging = commands.add_parser("merge", help="merge shards' gallery folders into one")
    merging.add_argument("shards", nargs="+", help="the gallery folders (docs/auto_gallery) of the shard builds")
    merging.add_argument("--into", default="docs/auto_gallery", help="the gallery folder of the final build")
    timing = commands.add_parser("durations", help="print each example's last run time as JSON")
    timing.add_argument("gallery", nargs="?", default="docs/auto_gallery")
    args = parser.parse_args(argv)
    if args.command == "durations":
        print(json.dumps(durations(Path(args.gallery)), indent=1, sort_keys=True))
        return 0
    names = merge([Path(s) for s in args.shards], Path(args.into))
    print(f"merged {len(names)} examples from {len(args.shards)} shards into {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
