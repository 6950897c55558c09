"""A royalty statement for one owner: what the manifests of gate runs bill for the
owner's works, reconciling with each manifest to the cent (decimal arithmetic only).

Each manifest lists, per registered work used, its title, owner, units, unit price
and amount (``gate/run.py``); the statement takes the owner's lines and totals them
per currency, and checks every line's ``amount = units x unit_price`` on the way.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, DecimalException, localcontext
from pathlib import Path
from typing import Any

from consentry.app.log import WorkUse, owner_uses, usage
from consentry.app.workspace import Workspace
from consentry.clock import format_time
from consentry.errors import InputError
from consentry.registry import PartyKind
from consentry.terms.money import MONEY_CONTEXT

__all__ = [
    "EarnedLine",
    "Earnings",
    "EarningsRow",
    "Owed",
    "OwedLine",
    "RoyaltyStatement",
    "StatementLine",
    "licensee_owed",
    "owner_earnings",
    "owner_statement",
    "royalty_statement",
]

_COLUMNS = (
    "run",
    "work",
    "title",
    "grant",
    "items",
    "units",
    "unit",
    "unit_price",
    "amount",
    "currency",
)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One work's use in one run, as its manifest bills it."""

    run_id: str
    work_id: str
    title: str
    grant_id: str
    items: int
    units: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    currency: str

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "work_id": self.work_id,
            "title": self.title,
            "grant_id": self.grant_id,
            "items": self.items,
            "units": str(self.units),
            "unit": self.unit,
            "unit_price": str(self.unit_price),
            "amount": str(self.amount),
            "currency": self.currency,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatementLine:
        return cls(
            str(data["run_id"]),
            str(data["work_id"]),
            str(data["title"]),
            str(data["grant_id"]),
            int(data["items"]),
            Decimal(str(data["units"])),
            str(data["unit"]),
            Decimal(str(data["unit_price"])),
            Decimal(str(data["amount"])),
            str(data["currency"]),
        )


@dataclass(frozen=True, slots=True)
class RoyaltyStatement:
    """What the given runs owe one owner, line by line, with totals per currency."""

    owner_id: str
    owner_name: str
    lines: tuple[StatementLine, ...]

    def totals(self) -> dict[str, Decimal]:
        """The amount owed per currency: the exact sum of the lines."""
        out: dict[str, Decimal] = {}
        with localcontext(MONEY_CONTEXT):
            for line in self.lines:
                out[line.currency] = out.get(line.currency, Decimal(0)) + line.amount
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "owner_id": self.owner_id,
            "owner_name": self.owner_name,
            "lines": [line.to_json() for line in self.lines],
            "totals": {c: str(a) for c, a in self.totals().items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoyaltyStatement:
        return cls(
            str(data["owner_id"]),
            str(data["owner_name"]),
            tuple(StatementLine.from_json(line) for line in data["lines"]),
        )

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for line in self.lines:
            row = line.to_json()
            writer.writerow(
                [row["run_id"], *(row[c] for c in ("work_id", "title", "grant_id", "items"))]
                + [row[c] for c in ("units", "unit", "unit_price", "amount", "currency")]
            )
        return buffer.getvalue()

    def to_markdown(self) -> str:
        name = self.owner_name or self.owner_id
        out = [f"# Royalty statement for {name} ({self.owner_id})", ""]
        if not self.lines:
            return "\n".join([*out, "No priced use of this owner's works.", ""])
        out += [
            "| run | work | title | grant | items | units | unit | unit price | amount |",
            "| --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |",
        ]
        for line in self.lines:
            out.append(
                f"| {line.run_id} | {line.work_id} | {line.title} | {line.grant_id} | "
                f"{line.items} | {line.units} | {line.unit} | {line.unit_price} | "
                f"{line.amount} {line.currency} |"
            )
        out.append("")
        out += [f"Total: {amount} {currency}" for currency, amount in self.totals().items()]
        return "\n".join([*out, ""])


def _manifest_body(path: Path) -> dict[str, Any]:
    target = path / "manifest.json" if path.is_dir() else path
    try:
        data = json.loads(target.read_text())
    except OSError as exc:
        raise InputError(f"cannot read manifest {target} ({exc.strerror})") from exc
    except ValueError as exc:
        raise InputError(f"{target} is not a manifest: not JSON ({exc})") from exc
    body = data.get("manifest") if isinstance(data, dict) else None
    if not isinstance(body, dict) or body.get("type") != "consentry.training-manifest":
        raise InputError(f"{target} is not a training manifest")
    return body


def _line(run_id: str, work: dict[str, Any], where: object) -> StatementLine:
    """A manifest's line for one work, checked to multiply out."""
    try:
        line = StatementLine(
            run_id,
            str(work["work_id"]),
            str(work.get("title") or ""),
            str(work["grant_id"]),
            int(work["items"]),
            Decimal(str(work["units"])),
            str(work["unit"]),
            Decimal(str(work["unit_price"])),
            Decimal(str(work["amount"])),
            str(work["currency"]),
        )
    except (KeyError, DecimalException, ValueError) as exc:
        raise InputError(f"{where}: a work line of the manifest is malformed") from exc
    with localcontext(MONEY_CONTEXT):
        billed = line.units * line.unit_price
    if billed != line.amount:
        raise InputError(
            f"{where}: {line.work_id} bills {line.amount}, not its units times its "
            f"unit price ({line.units} x {line.unit_price})"
        )
    return line


def _in_order(lines: Sequence[StatementLine]) -> tuple[StatementLine, ...]:
    """Run by run as given, each run's works by title: the same order however the
    statement was gathered."""
    runs = {run: n for n, run in enumerate(dict.fromkeys(line.run_id for line in lines))}
    return tuple(sorted(lines, key=lambda x: (runs[x.run_id], x.title, x.work_id)))


def royalty_statement(
    manifests: Sequence[Path], *, owner_id: str, owner_name: str = ""
) -> RoyaltyStatement:
    """The statement for ``owner_id`` over the manifests (``manifest.json`` files or the
    run folders holding them). Raises ``InputError`` for an unreadable manifest, or a
    line whose amount is not its units times its unit price."""
    lines = []
    for path in manifests:
        body = _manifest_body(path)
        for work in body.get("works", ()):
            if work.get("owner_id") != owner_id or work.get("amount") is None:
                continue
            owner_name = owner_name or str(work.get("owner_name", ""))
            lines.append(_line(str(body["run_id"]), work, path))
    return RoyaltyStatement(owner_id, owner_name, _in_order(lines))


def owner_statement(ws: Workspace, owner_id: str) -> RoyaltyStatement:
    """The statement for ``owner_id`` from the registry alone: every manifest on the
    log that lists one of the owner's works (``usage``), as its licensee signed it.
    Only the owner asks, as for ``usage``: its key must be here."""
    _, found = usage(ws, owner_id)
    name = ws.registry.parties.get(owner_id, PartyKind.OWNER).name
    lines = [
        _line(used.run_id, used.billed, f"manifest of run {used.run_id}")
        for used in found
        if used.billed is not None and used.billed.get("amount") is not None
    ]
    return RoyaltyStatement(owner_id, name, _in_order(lines))


@dataclass(frozen=True, slots=True)
class EarnedLine:
    """A statement line with who used the work and when its manifest was recorded."""

    line: StatementLine
    licensee_id: str
    licensee_name: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class EarningsRow:
    """What one licensee (or one work) earned the owner in one currency."""

    id: str
    name: str
    currency: str
    amount: Decimal
    uses: int


@dataclass(frozen=True, slots=True)
class Earnings:
    """What the owner's works earned between ``since`` (inclusive) and ``until``
    (exclusive), either open: the lines, and their sums per licensee and per work."""

    owner_id: str
    owner_name: str
    since: datetime | None
    until: datetime | None
    lines: tuple[EarnedLine, ...]

    def statement(self) -> RoyaltyStatement:
        return RoyaltyStatement(
            self.owner_id, self.owner_name, _in_order([e.line for e in self.lines])
        )

    def totals(self) -> dict[str, Decimal]:
        return self.statement().totals()

    def by_licensee(self) -> list[EarningsRow]:
        return _summed((e.licensee_id, e.licensee_name or e.licensee_id, e) for e in self.lines)

    def by_work(self) -> list[EarningsRow]:
        return _summed((e.line.work_id, e.line.title or e.line.work_id, e) for e in self.lines)

    def to_csv(self) -> str:
        """The statement's columns, each line with when and by whom (one row a line)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("recorded_at", "licensee", "licensee_name", *_COLUMNS))
        for earned in self.lines:
            row = earned.line.to_json()
            writer.writerow(
                [format_time(earned.recorded_at), earned.licensee_id, earned.licensee_name]
                + [row["run_id"], *(row[c] for c in ("work_id", "title", "grant_id", "items"))]
                + [row[c] for c in ("units", "unit", "unit_price", "amount", "currency")]
            )
        return buffer.getvalue()


def _summed(keyed: Iterable[tuple[str, str, EarnedLine]]) -> list[EarningsRow]:
    """Rows by (id, currency), largest amount first; exact decimal sums."""
    sums: dict[tuple[str, str], tuple[str, Decimal, int]] = {}
    with localcontext(MONEY_CONTEXT):
        for key, name, earned in keyed:
            currency = earned.line.currency
            _, amount, uses = sums.get((key, currency), (name, Decimal(0), 0))
            sums[(key, currency)] = (name, amount + earned.line.amount, uses + 1)
    rows = [EarningsRow(k, n, c, a, u) for (k, c), (n, a, u) in sums.items()]
    return sorted(rows, key=lambda r: (r.currency, -r.amount, r.name, r.id))


def owner_earnings(
    ws: Workspace,
    owner_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    uses: Sequence[WorkUse] | None = None,
) -> Earnings:
    """What the manifests on the log bill for ``owner_id``'s works (as
    ``owner_statement``), recorded in ``[since, until)``; ``uses``: the owner's
    ``owner_uses`` when already read. Only the owner asks."""
    if since is not None and until is not None and since >= until:
        raise InputError("the period's start must come before its end", field="since")
    name = ws.registry.parties.get(owner_id, PartyKind.OWNER).name
    lines = []
    for use in owner_uses(ws, owner_id) if uses is None else uses:
        used = use.usage
        if used.billed is None or used.billed.get("amount") is None:
            continue
        if (since is not None and use.recorded_at < since) or (
            until is not None and use.recorded_at >= until
        ):
            continue
        line = _line(used.run_id, used.billed, f"manifest of run {used.run_id}")
        lines.append(EarnedLine(line, used.licensee_id, used.licensee_name, use.recorded_at))
    lines.sort(key=lambda e: (e.recorded_at, e.line.run_id, e.line.title, e.line.work_id))
    return Earnings(owner_id, name, since, until, tuple(lines))


@dataclass(frozen=True, slots=True)
class OwedLine:
    """A line of one of the licensee's manifests: what it owes the work's owner."""

    line: StatementLine
    owner_id: str
    owner_name: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Owed:
    """What the licensee's manifests recorded in ``[since, until)`` (either open) bill,
    line by line, and summed per owner and per work."""

    licensee_id: str
    since: datetime | None
    until: datetime | None
    lines: tuple[OwedLine, ...]

    def totals(self) -> dict[str, Decimal]:
        """The amount owed per currency: the exact sum of the lines."""
        out: dict[str, Decimal] = {}
        with localcontext(MONEY_CONTEXT):
            for owed in self.lines:
                currency = owed.line.currency
                out[currency] = out.get(currency, Decimal(0)) + owed.line.amount
        return dict(sorted(out.items()))

    def by_owner(self) -> list[EarningsRow]:
        return _owed_sums((o.owner_id, o.owner_name or o.owner_id, o) for o in self.lines)

    def by_work(self) -> list[EarningsRow]:
        return _owed_sums((o.line.work_id, o.line.title or o.line.work_id, o) for o in self.lines)

    def to_csv(self) -> str:
        """The statement's columns, each line with when it was recorded and whose work
        it is (one row a line)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("recorded_at", "owner", "owner_name", *_COLUMNS))
        for owed in self.lines:
            row = owed.line.to_json()
            writer.writerow(
                [format_time(owed.recorded_at), owed.owner_id, owed.owner_name]
                + [row["run_id"], *(row[c] for c in ("work_id", "title", "grant_id", "items"))]
                + [row[c] for c in ("units", "unit", "unit_price", "amount", "currency")]
            )
        return buffer.getvalue()


def _owed_sums(keyed: Iterable[tuple[str, str, OwedLine]]) -> list[EarningsRow]:
    """Rows by (id, currency), largest amount first; exact decimal sums."""
    sums: dict[tuple[str, str], tuple[str, Decimal, int]] = {}
    with localcontext(MONEY_CONTEXT):
        for key, name, owed in keyed:
            currency = owed.line.currency
            _, amount, uses = sums.get((key, currency), (name, Decimal(0), 0))
            sums[(key, currency)] = (name, amount + owed.line.amount, uses + 1)
    rows = [EarningsRow(k, n, c, a, u) for (k, c), (n, a, u) in sums.items()]
    return sorted(rows, key=lambda r: (r.currency, -r.amount, r.name, r.id))


def licensee_owed(
    ws: Workspace,
    licensee_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Owed:
    """What the licensee's manifests on the registry, recorded in ``[since, until)``,
    bill its works' owners, each line checked to multiply out (as a statement's).
    Only the licensee asks: its key (or, served, its signed session) must be here."""
    from consentry.app.gating import runs_of  # noqa: PLC0415 (the gate's modules are heavy)

    if since is not None and until is not None and since >= until:
        raise InputError("the period's start must come before its end", field="since")
    runs, _ = runs_of(ws, licensee_id=licensee_id)
    lines = []
    for run in runs:
        if run.manifest is None or run.recorded_at is None:
            continue
        if (since is not None and run.recorded_at < since) or (
            until is not None and run.recorded_at >= until
        ):
            continue
        for work in run.manifest.get("works", ()):
            if not isinstance(work, dict) or work.get("amount") is None:
                continue
            line = _line(run.run_id, work, f"manifest of run {run.run_id}")
            owner = str(work.get("owner_id") or "")
            lines.append(OwedLine(line, owner, str(work.get("owner_name") or ""), run.recorded_at))
    lines.sort(key=lambda o: (o.recorded_at, o.line.run_id, o.line.title, o.line.work_id))
    return Owed(licensee_id, since, until, tuple(lines))
