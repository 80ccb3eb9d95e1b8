"""Bad input to every public callable of nnbook: a named TypeError/ValueError, fast, never a silent NaN.

The callables are enumerated from the package (every public function and
class of every public module), so a new function is covered without being
listed here. Each module's test file ``tests/test_<module>.py`` gives, in a
dict ``VALID_CALLS``, a valid call of each of its public callables that needs
arguments (name -> function returning the keyword arguments); this test first
checks that call, then replaces one argument at a time by each entry of a
catalogue of bad values chosen from the argument's annotation:

- values of the wrong kind (a string, ``True`` for an integer, a complex number,
  an array of strings) must raise ``TypeError`` or ``ValueError`` naming the argument;
- NaN, infinities, arrays with NaN, empty arrays and arrays with an extra
  dimension must raise too (nothing computes on them silently);
- negative, zero and huge sizes may be legitimate for some arguments: they must
  raise a named error or return a finite result, within the time limit.

A call that runs past the time limit (a hang, an attempt to allocate a huge
array slowly) fails, and so does any non-finite number in a result.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import nnbook
import nnbook.book

TIME_LIMIT = 20.0  # seconds for one call with one bad argument (the machine may be loaded)
TESTS = Path(__file__).parent
# Modules whose public callables are Sphinx plumbing (roles, directives, event handlers): Sphinx calls them.
# The result store is the plumbing between nnbook.book and the extension; its files are validated when read.
# The build's life cycle (build, report_page) and the dependency records (rerun) are called by Sphinx and
# sphinx-gallery only, with the arguments they construct.
NOT_CALLED_BY_USERS = (
    "nnbook.book.sphinxext",
    "nnbook.book.store",
    "nnbook.book.build",
    "nnbook.book.report_page",
    "nnbook.book.rerun",
    "nnbook.book.frontpage",
    "nnbook.book.pages",
    "nnbook.book.stamps",
)


def public_modules() -> list[str]:
    names = ["nnbook"]
    for info in pkgutil.walk_packages(nnbook.__path__, "nnbook."):
        if not any(part.startswith("_") for part in info.name.split(".")) and info.name not in NOT_CALLED_BY_USERS:
            names.append(info.name)
    return names


def public_callables() -> Iterator[tuple[str, str, Callable]]:
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name, obj in sorted(vars(module).items()):
            if name.startswith("_") or not callable(obj) or getattr(obj, "__module__", None) != module_name:
                continue
            if "__mutmut_" in name:  # a mutant's copy of a function, which `nox -s mutate` adds to a module
                continue
            if inspect.isclass(obj) and (
                issubclass(obj, BaseException)
                or (dataclasses.is_dataclass(obj) and not hasattr(obj, "__post_init__"))  # a result record
                or name.startswith("_")
            ):
                continue
            yield module_name, name, obj


def module_tests_path(module_name: str) -> Path:
    return TESTS / f"test_{module_name.rsplit('.', 1)[-1] if module_name != 'nnbook' else 'nnbook'}.py"


def valid_calls(module_name: str) -> dict[str, Callable[[], dict]]:
    path = module_tests_path(module_name)
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(f"_bad_inputs_{path.stem}", path)
    if spec.name in sys.modules:
        return getattr(sys.modules[spec.name], "VALID_CALLS", {})
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, "VALID_CALLS", {})


def parameters(obj: Callable) -> list[inspect.Parameter]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p in signature.parameters.values() if p.kind not in skip and p.name != "self"]


def kind_of(param: inspect.Parameter) -> str:
    """What the argument is, from its annotation (strings, since modules use postponed annotations)."""
    text = str(param.annotation).replace("numpy", "np")
    if "Module" in text or "nn." in text or "Sequential" in text or "Linear" in text:
        return "module"
    if "Generator" in text:
        return "rng"
    if "Callable" in text:
        return "callable"
    if "ndarray" in text or "ArrayLike" in text:
        return "array"
    if "Sequence[int]" in text:
        return "int_sequence"
    if "Sequence[float]" in text:
        return "real_sequence"
    if text.startswith("bool"):
        return "bool"
    if text.split(" |")[0] in {"int", "int | None"} or text == "int":
        return "int"
    if text.split(" |")[0] == "float" or text == "float":
        return "real"
    if text.split(" |")[0] == "str" and "Path" not in text:
        return "str"
    return "other"


HUGE = 10**12
# (value, must_raise): must_raise=False means "a named error or a finite result, in time".
CATALOGUE: dict[str, list[tuple[str, object, bool]]] = {
    "int": [
        ("str", "3", True),
        ("bool", True, True),
        ("float", 2.5, True),
        ("complex", 1 + 2j, True),
        ("negative", -1, False),
        ("zero", 0, False),
        ("huge", HUGE, False),
    ],
    "real": [
        ("str", "0.5", True),
        ("bool", True, True),
        ("complex", 1 + 2j, True),
        ("nan", math.nan, True),
        ("inf", math.inf, True),
        ("negative", -1.0, False),
        ("zero", 0.0, False),
        ("huge", 1e300, False),
    ],
    "array": [
        ("str", "abc", True),
        ("strings", np.array(["a", "b"]), True),
        ("complex", "COMPLEX", True),
        ("nan", "NAN", True),
        ("inf", "INF", True),
        ("empty", "EMPTY", True),
        ("extra_dim", "EXTRA_DIM", True),
    ],
    "bool": [("str", "yes", True), ("none", None, True)],
    "str": [("int", 3, True), ("unknown", "no-such-choice", False)],
    "module": [("str", "net", True), ("inf_weights", "INF_MODEL", True)],
    "rng": [("str", "seed", True), ("negative", -1, True), ("float", 0.5, True)],
    "callable": [("int", 3, True)],
    "int_sequence": [("str", "12", True), ("bools", [True, False], True), ("negative", [-1], False)],
    "real_sequence": [("str", "12", True), ("nan", [math.nan], True)],
    "other": [],
}


def bad_value(token: object, good: object) -> object:
    """Turn a catalogue token into a bad value shaped like the valid one."""
    if not isinstance(token, str) or token not in {"COMPLEX", "NAN", "INF", "EMPTY", "EXTRA_DIM", "INF_MODEL"}:
        return token
    if token == "INF_MODEL":
        import copy

        model = copy.deepcopy(good)
        with torch.no_grad():
            next(model.parameters()).view(-1)[0] = math.inf
        return model
    array = np.asarray(good.detach().cpu() if torch.is_tensor(good) else good)
    if token == "COMPLEX":
        return array.astype(complex) + 1j
    if token in {"NAN", "INF"}:
        if array.dtype.kind not in "fc":
            array = array.astype(float)
        array = array.copy()
        array.flat[0] = math.nan if token == "NAN" else math.inf
        return array
    if token == "EMPTY":
        return array[:0]
    return array[..., None]


def names(message: str, name: str) -> bool:
    """Whether ``message`` names the argument ``name`` as a word of its own (``lr``, not ``XXlrXX`` or ``lr2``)."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", message) is not None


class Timeout(Exception):
    pass


def call_with_limit(function: Callable, kwargs: dict, limit: float = TIME_LIMIT):
    def alarm(signum, frame):
        raise Timeout(f"no answer within {limit} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return function(**kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def non_finite(result: object, depth: int = 0) -> str | None:
    """A description of the first non-finite number in ``result``, or None."""
    if depth > 4:
        return None
    if isinstance(result, float | np.floating) and not math.isfinite(result):
        return f"{result}"
    if isinstance(result, np.ndarray) and result.dtype.kind in "fc" and not np.all(np.isfinite(result)):
        return f"array with non-finite values (shape {result.shape})"
    if torch.is_tensor(result) and result.is_floating_point() and not bool(torch.isfinite(result).all()):
        return "tensor with non-finite values"
    if isinstance(result, torch.nn.Module):
        return next((f"parameter {n}" for n, p in result.named_parameters() if not torch.isfinite(p).all()), None)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        for field in dataclasses.fields(result):
            found = non_finite(getattr(result, field.name), depth + 1)
            if found:
                return f"{field.name}: {found}"
    if isinstance(result, list | tuple):
        return next((f for f in (non_finite(r, depth + 1) for r in result[:50]) if f), None)
    if isinstance(result, dict):
        return next((f for f in (non_finite(r, depth + 1) for r in list(result.values())[:50]) if f), None)
    return None


CASES = []
for _module, _name, _obj in public_callables():
    _params = parameters(_obj)
    CASES.append(pytest.param(_module, _name, _obj, id=f"{_module}.{_name}"))


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Calls run in an empty folder, outside a docs build, with figures closed afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNBOOK_RESULTS_DIR", raising=False)
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def baseline(module_name: str, name: str, obj: Callable) -> dict:
    params = parameters(obj)
    required = [p for p in params if p.default is inspect.Parameter.empty]
    calls = valid_calls(module_name)
    if name in calls:
        return calls[name]()
    if required:
        pytest.fail(
            f"{module_name}.{name} needs arguments: add VALID_CALLS[{name!r}] (a function returning valid keyword "
            f"arguments) to {module_tests_path(module_name).relative_to(TESTS.parent)}"
        )
    return {}


@pytest.mark.parametrize(("module_name", "name", "obj"), CASES)
def test_valid_call_works(module_name, name, obj):
    kwargs = baseline(module_name, name, obj)
    result = call_with_limit(obj, kwargs)
    assert non_finite(result) is None, f"{name} returned a non-finite value on a valid call"


@pytest.mark.parametrize(("module_name", "name", "obj"), CASES)
def test_bad_inputs_raise_named_errors(module_name, name, obj):
    params = parameters(obj)
    if not params:
        pytest.skip("takes no arguments")
    problems = []
    tried = 0
    for param in params:
        for label, token, must_raise in CATALOGUE[kind_of(param)]:
            kwargs = baseline(module_name, name, obj)
            good = kwargs.get(param.name, param.default)
            special = token if isinstance(token, str) else ""
            if special in {"COMPLEX", "NAN", "INF", "EMPTY", "EXTRA_DIM"} and (good is None or np.ndim(good) == 0):
                continue
            if special == "INF_MODEL" and not isinstance(good, torch.nn.Module):
                continue
            if token is None and "None" in str(param.annotation):
                continue  # None is a documented value of this argument
            kwargs[param.name] = bad_value(token, good)
            tried += 1
            try:
                result = call_with_limit(obj, kwargs)
            except Timeout as err:
                problems.append(f"{param.name}={label}: {err}")
                continue
            except nnbook.book.ClaimError:
                continue  # a claim's documented failure: the value is outside its bound
            except (TypeError, ValueError) as err:
                if not names(str(err), param.name):
                    problems.append(f"{param.name}={label}: {type(err).__name__} does not name it: {err}")
                continue
            except Exception as err:
                problems.append(f"{param.name}={label}: {type(err).__name__} instead of TypeError/ValueError: {err}")
                continue
            if must_raise:
                problems.append(f"{param.name}={label}: accepted without error")
            elif (found := non_finite(result)) is not None:
                problems.append(f"{param.name}={label}: returned a non-finite result ({found})")
    assert not problems, f"{module_name}.{name}:\n  " + "\n  ".join(problems)
    if tried == 0:
        pytest.skip("no argument of a kind the catalogue covers")
