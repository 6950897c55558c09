"""The shape DESIGN.md §4 promises: imports point inward, services never hold a
party's private key, and adapters only adapt."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

import consentry
from consentry.crypto import KeyPair

SOURCE = Path(consentry.__file__).parent

# Each top-level module or package of consentry, by layer: a layer imports only from
# the layers below it, never from its own or above, so no two packages form a circle.
LAYERS: dict[str, int] = {
    "errors": 0,
    "__init__": 1,
    "clock": 1,
    "ids": 1,
    "settings": 1,
    "_jit": 1,
    "_records": 1,
    "interrupts": 1,
    "replay": 0,
    "_opencv": 1,
    "_environ": 0,
    "crypto": 2,
    "terms": 2,
    "store": 2,
    "fingerprint": 3,
    "log": 3,
    "signals": 3,
    "index": 4,
    "witness": 4,
    # Compiles the kernels of fingerprint and index; registering and the gate run it first.
    "warmup": 5,
    "registry": 5,
    "check": 6,
    "gate": 8,
    "app": 9,
    "api": 10,
    # The pages are served beside the API, and verify a browser's signed requests as it does.
    "web": 11,
    # The CLI talks to a remote registry through the client when one is named.
    "client": 10,
    "cli": 12,
    "pipeline": 12,
    "__main__": 13,
}
ADAPTERS = {"cli", "pipeline", "api", "web", "client"}
SERVICES = ("consentry.registry", "consentry.gate", "consentry.check")


def _package_of(path: Path) -> str:
    return path.relative_to(SOURCE).parts[0].removesuffix(".py")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported consentry module) for every import in the file, including those
    made inside functions."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "consentry":
                for alias in node.names:
                    yield node.lineno, f"consentry.{alias.name}"
            elif node.module.startswith("consentry."):
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("consentry."):
                    yield node.lineno, alias.name


def _target(module: str) -> str:
    name = module.split(".")[1]
    return name if name in LAYERS else "__init__"


def test_every_package_has_a_layer() -> None:
    found = {_package_of(p) for p in SOURCE.rglob("*.py")}
    assert found <= set(LAYERS), f"give {sorted(found - set(LAYERS))} a layer in LAYERS"


def test_imports_point_inward_only() -> None:
    outward = []
    for path in sorted(SOURCE.rglob("*.py")):
        package = _package_of(path)
        for line, module in _imports(path):
            target = _target(module)
            if target != package and LAYERS[target] >= LAYERS[package]:
                outward.append(f"{path.relative_to(SOURCE)}:{line} imports {module}")
    assert not outward, "imports that point outward or sideways:\n" + "\n".join(outward)


_OPENS_REGISTRY = re.compile(r"(?<![A-Za-z_])Registry(\(|\.open|\.create)")


def test_adapters_reach_the_registry_only_through_the_application_layer() -> None:
    reaching = []
    for path in sorted(SOURCE.rglob("*.py")):
        if _package_of(path) not in ADAPTERS:
            continue
        for line, module in _imports(path):
            if module.startswith(("consentry.store", "consentry.registry.service")):
                reaching.append(f"{path.relative_to(SOURCE)}:{line} imports {module}")
        # The client's RemoteRegistry is a registry across HTTP: it opens no database.
        if _OPENS_REGISTRY.search(path.read_text("utf-8")):
            reaching.append(f"{path.relative_to(SOURCE)} opens a Registry itself")
    assert not reaching, "\n".join(reaching)


def _service_callables() -> Iterator[tuple[str, object]]:
    for root in SERVICES:
        package = importlib.import_module(root)
        names = [root] + [
            m.name for m in pkgutil.walk_packages(package.__path__, prefix=f"{root}.")
        ]
        for name in names:
            module = importlib.import_module(name)
            for attr, value in vars(module).items():
                if getattr(value, "__module__", None) != name:
                    continue
                if inspect.isfunction(value):
                    yield f"{name}.{attr}", value
                elif inspect.isclass(value):
                    for method, member in vars(value).items():
                        function = getattr(member, "__func__", member)
                        if inspect.isfunction(function):
                            yield f"{name}.{attr}.{method}", function


def test_no_service_takes_a_private_key() -> None:
    """Guarantee 7 by construction: a service acts for an ``Actor`` and signs through a
    ``Signer``; a private key never crosses into registry/, gate/ or check/."""
    holding = []
    checked = 0
    for name, function in _service_callables():
        checked += 1
        try:
            hints = typing.get_type_hints(function)
        except NameError:
            # A name only imported for type checking: read the annotation's text.
            hints = dict(inspect.get_annotations(function))  # type: ignore[arg-type]
        for parameter, hint in hints.items():
            text = hint if isinstance(hint, str) else repr(hint)
            if parameter == "return":
                continue
            if hint is KeyPair or "KeyPair" in text or "PrivateKey" in text:
                holding.append(f"{name}({parameter}: {text})")
    assert checked > 100, f"only {checked} service callables were found; the walk is broken"
    assert not holding, "services that take a private key:\n" + "\n".join(holding)


@pytest.mark.parametrize("prefix", ["consentry.cli"])
def test_adapter_modules_import_without_the_database_layer(prefix: str) -> None:
    """An adapter's module imports its dependencies when a command runs, so that
    ``--help`` and small commands start at once (checked in a fresh interpreter)."""
    import subprocess
    import sys

    probe = (
        "import sys, consentry.cli.app; "
        "heavy = sorted(m for m in ('sqlalchemy', 'numba', 'pygments', 'pyarrow', 'alembic') "
        "if m in sys.modules); print(','.join(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "", f"importing {prefix} loads {done.stdout.strip()}"
