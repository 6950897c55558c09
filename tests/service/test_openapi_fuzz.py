"""The service against its own OpenAPI document: schemathesis sends what the document
allows (a bounded number of examples per operation) to a real server on loopback; no
answer is a server error, and every answer fits the schema for its status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from consentry import app
from consentry.api import create_app
from consentry.registry import PartyKind
from consentry.settings import Settings
from tests.service.conftest import serving

# The operations, read from the document the service makes (no server needed for that).
OPERATIONS = sorted(
    (method.upper(), path)
    for path, methods in create_app(Settings.from_env({})).openapi()["paths"].items()
    for method in methods
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    home = tmp_path_factory.mktemp("fuzzed")
    served = Settings(
        home=home, database_url=f"sqlite:///{home / 'registry.db'}", keys_dir=home / "keys"
    )
    with app.Workspace(served) as ws:
        app.init(ws)
        owner = app.create_party(ws, PartyKind.OWNER, "Ada")
        app.create_party(ws, PartyKind.LICENSEE, "Lab")
        works = home / "works"
        works.mkdir()
        (works / "GPL-3").write_text(Path("/usr/share/common-licenses/GPL-3").read_text())
        app.register_works(ws, [works], owner_id=owner.party.id)
    with serving(served) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_answer_is_a_server_error_or_outside_its_schema(
    api_schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    operation = api_schema.find_operation_by_path(method, path)
    assert operation is not None, f"{method} {path} is not in the served document"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()
