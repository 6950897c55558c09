"""The ``consentry`` command: parses, calls a service, prints. Nothing else."""

from __future__ import annotations

import typer

from consentry import __version__
from consentry.cli._common import key_store, out, print_json, settings, state
from consentry.cli.check import check, sketch_app
from consentry.cli.demo import demo
from consentry.cli.gate import gate_app
from consentry.cli.license import license_app
from consentry.cli.log import LOG_KEY, log_app, usage_app
from consentry.cli.parties import licensee_app, owner_app
from consentry.cli.terms import terms_app
from consentry.cli.witness import witness_app
from consentry.cli.works import work_app
from consentry.crypto import KeyPair
from consentry.registry import Registry
from consentry.store import current_revision, open_engine

__all__ = ["app"]

app = typer.Typer(
    name="consentry",
    help="Consent at ingestion, accountability at publication: register works, set terms, "
    "license them, and keep a signed record of every change.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(owner_app, name="owner")
app.add_typer(licensee_app, name="licensee")
app.add_typer(work_app, name="work")
app.add_typer(terms_app, name="terms")
app.add_typer(license_app, name="license")
app.add_typer(gate_app, name="gate")
app.add_typer(log_app, name="log")
app.add_typer(usage_app, name="usage")
app.add_typer(witness_app, name="witness")
app.add_typer(sketch_app, name="sketch")
app.command("check")(check)
app.command("demo")(demo)


def _version(value: bool) -> None:
    if value:
        out.print(f"consentry {__version__}")
        raise typer.Exit


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Registry at $CONSENTRY_HOME (default ./.consentry) or $CONSENTRY_DATABASE_URL."""
    state.debug = debug


@app.command("init")
def init(as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Create (or upgrade) the registry database and the log's signing key."""
    config = settings()
    engine = open_engine(config.database_url)
    existed = current_revision(engine) is not None
    engine.dispose()
    Registry.create(config.database_url).close()
    store = key_store()
    if not store.has(LOG_KEY):
        store.save(LOG_KEY, KeyPair.generate())
    log_key = store.load(LOG_KEY).public
    url = config.database_url
    if as_json:
        print_json(
            {
                "database": url,
                "home": str(config.home),
                "log_key_id": log_key.key_id,
                "created": not existed,
            }
        )
        return
    verb = "upgraded" if existed else "created"
    out.print(f"registry {verb}: {url}")
    out.print(f"log key {log_key.key_id} in {store.path(LOG_KEY)}")
