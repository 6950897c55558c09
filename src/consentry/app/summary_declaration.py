"""What only the provider can say in a public summary of training content: who it is,
which model, its modalities, the datasets and crawlers no gate run sees, and its
measures. No manifest records these; the provider declares them in an ``--about`` JSON
file (and a few command options), and the summary shows them as its declaration.

The file's fields are the template's (``summary_template.SECTIONS``), checked against
``summary.schema.json``'s ``declaration`` definition, so a misspelt field is refused
rather than silently left out of a public document.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from consentry.app.summary_template import SECTIONS, DeclaredKind
from consentry.errors import InputError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = ["DeclaredValue", "ProviderDeclaration", "summary_schema"]

DeclaredValue = str | bool | tuple[str, ...] | Mapping[str, str]

_KINDS = {f.key: f.kind for s in SECTIONS for f in s.fields}


@functools.cache
def summary_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a summary's JSON, shipped with the package;
    its ``$defs.declaration`` is the ``--about`` file's."""
    text = resources.files("consentry.app").joinpath("summary.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _declaration_validator() -> Draft202012Validator:
    # Loaded only when an --about file is read: jsonschema is slow to import.
    from jsonschema import Draft202012Validator  # noqa: PLC0415

    schema = summary_schema()
    return Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/declaration"}
    )


def _value(key: str, raw: Any) -> DeclaredValue:
    """A declared value in its field's shape (the schema has checked the JSON types)."""
    kind = _KINDS[key]
    if kind is DeclaredKind.LIST:
        return tuple(str(v) for v in raw)
    if kind is DeclaredKind.PER_MODALITY and isinstance(raw, Mapping):
        return MappingProxyType({str(k): str(v) for k, v in raw.items()})
    if kind is DeclaredKind.YES_NO:
        return bool(raw)
    return str(raw)


@dataclass(frozen=True, slots=True)
class ProviderDeclaration:
    """The provider's answers to the template's fields, by field key; a key left out
    is a field the provider has not declared (the summary says so). ``sme``: the
    provider declares itself a small or medium-sized enterprise, for which the template
    asks for fewer crawled domain names (section 2.3)."""

    values: Mapping[str, DeclaredValue] = field(default_factory=lambda: MappingProxyType({}))
    sme: bool = False

    def get(self, key: str) -> DeclaredValue | None:
        return self.values.get(key)

    @classmethod
    def from_json(cls, document: Any, *, source: str = "--about") -> ProviderDeclaration:
        """The declaration ``document`` holds. Raises ``InputError`` naming the first
        field that does not match the template's (``$defs.declaration``)."""
        errors = sorted(_declaration_validator().iter_errors(document), key=lambda e: e.path)
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.absolute_path) or "(document)"
            raise InputError(
                f"{source}: {where}: {first.message}; give the template's fields as "
                "docs/summary.md lists them"
            )
        values = {k: _value(k, v) for k, v in document.items() if k != "sme"}
        return cls(MappingProxyType(values), sme=bool(document.get("sme", False)))

    @classmethod
    def read(
        cls,
        path: Path | None = None,
        *,
        provider: str | None = None,
        model: str | None = None,
        sme: bool | None = None,
    ) -> ProviderDeclaration:
        """The declaration in the JSON file ``path`` (if any), with ``provider``,
        ``model`` and ``sme`` given as options in place of the file's. Raises
        ``InputError`` for a file that cannot be read or is not a declaration."""
        declared = cls()
        if path is not None:
            try:
                document = json.loads(path.read_text("utf-8"))
            except OSError as exc:
                raise InputError(f"cannot read --about {path} ({exc.strerror})") from exc
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"--about {path} is not JSON ({exc}); give a JSON object") from exc
            declared = cls.from_json(document, source=f"--about {path}")
        values = dict(declared.values)
        for option, key, given in (
            ("--provider", "provider", provider),
            ("--model", "model", model),
        ):
            if given is not None:
                if not given.strip():
                    raise InputError(f"{option} is empty; give the {key}'s name, or leave it out")
                values[key] = given.strip()
        return cls(MappingProxyType(values), sme=declared.sme if sme is None else sme)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.values.items():
            out[key] = (
                dict(value)
                if isinstance(value, Mapping)
                else (list(value) if isinstance(value, tuple) else value)
            )
        return {**out, "sme": self.sme}
