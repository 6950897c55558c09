"""The ``consentry`` command: parses, calls the application layer, prints. Nothing else."""

from __future__ import annotations

import typer

from consentry import __version__
from consentry.cli._common import out, print_json, state, workspace
from consentry.cli.check import check, sketch_app
from consentry.cli.demo import demo
from consentry.cli.gate import gate_app
from consentry.cli.license import license_app
from consentry.cli.log import log_app, usage_app
from consentry.cli.manifest import manifest_app
from consentry.cli.parties import licensee_app, owner_app
from consentry.cli.royalties import royalties_app
from consentry.cli.serve import invite, serve, status
from consentry.cli.signals import signals_app
from consentry.cli.summary import summary
from consentry.cli.terms import terms_app
from consentry.cli.witness import witness_app
from consentry.cli.works import work_app

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
app.add_typer(manifest_app, name="manifest")
app.add_typer(log_app, name="log")
app.add_typer(usage_app, name="usage")
app.add_typer(royalties_app, name="royalties")
app.add_typer(witness_app, name="witness")
app.add_typer(sketch_app, name="sketch")
app.add_typer(signals_app, name="signals")
app.command("check")(check)
app.command("summary")(summary)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("invite")(invite)
app.command("status")(status)


def _version(value: bool) -> None:
    if value:
        out.print(f"consentry {__version__}")
        raise typer.Exit


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    registry: str | None = typer.Option(
        None,
        "--registry",
        help="A served registry's URL (as CONSENTRY_REGISTRY): act on it from this machine.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Registry at $CONSENTRY_HOME (default ./.consentry) or $CONSENTRY_DATABASE_URL, or
    served at $CONSENTRY_REGISTRY (--registry); this party's own keys in $CONSENTRY_KEYS
    (default ~/.config/consentry/keys)."""
    state.debug = debug
    state.registry_url = registry


@app.command("init")
def init(as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Create (or upgrade) the registry database; give its log a key, once.

    Against a registry another machine initialised, the log key it recorded is kept and
    no second one is made."""
    from consentry import app as application

    with workspace() as ws:
        done = application.init(ws)
    if as_json:
        print_json(done.to_json())
        return
    verb = "created" if done.created else "up to date"
    out.print(f"registry {verb}: {done.database_url}")
    if done.log_key_file is not None:
        out.print(f"log key {done.log.public.key_id} in {done.log_key_file}")
    else:
        out.print(
            f"log key {done.log.public.key_id} is held by the registry's operator "
            "(this home verifies the log; it does not sign it)"
        )
