"""``consentry serve`` and ``consentry invite``: the registry as an HTTP service, run by
its operator in the registry's home."""

from __future__ import annotations

import os

import typer

from consentry.cli._common import out, print_json, workspace

__all__ = ["invite", "serve", "status"]


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes."),
    invite_only: bool = typer.Option(
        False, "--invite-only", help="Register only parties with an invitation."
    ),
    rate: float = typer.Option(
        50.0, "--rate", help="Requests a second per key (per worker); 0 for no limit."
    ),
    checkpoint_every: float = typer.Option(
        2.0, "--checkpoint-every", help="Seconds between signed checkpoints of a growing log."
    ),
    witnesses: list[str] | None = typer.Option(
        None,
        "--witness",
        help="'URL VKEY': a witness asked to cosign every checkpoint (repeat for each).",
    ),
    quorum: int | None = typer.Option(
        None, "--quorum", help="How many of the --witness witnesses must cosign (default: all)."
    ),
    licence_token_lifetime: int = typer.Option(
        3600,
        "--licence-token-lifetime",
        min=1,
        max=86_400,
        help="Seconds an RSL licence token is good for (at most until its grant ends).",
    ),
) -> None:
    """Serve this registry over HTTP: the pages at /, the JSON API under /v1/, log tiles
    under /log/, and the RSL licence server of each owner under /rsl/OWNER_ID/."""
    import uvicorn

    from consentry.api.asgi import options_to_env
    from consentry.api.protocol import NoDelayProtocol
    from consentry.api.routes.olp import LIFETIME_ENV
    from consentry.api.service import ServiceOptions
    from consentry.errors import InputError
    from consentry.witness import WitnessEndpoint

    # Refused before serving, not at the first checkpoint.
    endpoints = [WitnessEndpoint.parse(text) for text in witnesses or ()]
    if quorum is not None and not 1 <= quorum <= len(endpoints):
        raise InputError(
            f"--quorum {quorum} needs between 1 and {len(endpoints)} witnesses: give "
            "--witness 'URL VKEY' for each"
        )

    with workspace() as ws:
        if not ws.registry_at_hand():
            from consentry.errors import ConfigurationError

            raise ConfigurationError(
                "no registry here to serve; run 'consentry init' first (or set CONSENTRY_HOME)"
            )
    options = ServiceOptions(
        invite_only=invite_only,
        rate_per_key=rate,
        rate_per_address=rate * 2,
        checkpoint_every=checkpoint_every,
        witnesses=tuple(witnesses or ()),
        quorum=quorum,
    )
    os.environ.update(options_to_env(options))
    os.environ[LIFETIME_ENV] = str(licence_token_lifetime)
    out.print(f"serving the registry on http://{host}:{port} ({workers} worker(s)); Ctrl-C stops")
    uvicorn.run(
        "consentry.web.asgi:from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        http=NoDelayProtocol,
    )


def invite(
    note: str = typer.Argument(..., help="Who the invitation is for (kept with it)."),
    days: int = typer.Option(14, "--days", min=1, help="Days it can be used in."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Make a single-use invitation to register with a registry served --invite-only."""
    from datetime import timedelta

    from consentry.app.served import invite as make_invitation

    with workspace() as ws:
        made = make_invitation(ws, note, valid_for=timedelta(days=days))
    if as_json:
        print_json({"token": made.token, "expires_at": made.expires_at, "note": made.note})
        return
    out.print(made.token)
    out.print(
        f"[dim]give it to {note}; it registers one party (CONSENTRY_INVITATION) until "
        f"{made.expires_at:%Y-%m-%d}[/dim]"
    )


def status(
    wait: float = typer.Option(
        0.0, "--wait", min=0.0, help="Seconds to wait for a served registry to answer."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Say which registry this machine acts on and how far its log has grown; with
    --wait, wait for a served registry that is starting to answer."""
    from consentry import app
    from consentry.cli._common import cli_settings

    settings = cli_settings()
    if settings.registry_url and wait:
        from consentry.client.http import RegistryClient

        client = RegistryClient(settings.registry_url)
        try:
            client.wait_until_answering(wait)
        finally:
            client.close()
    with workspace() as ws:
        found = app.registry_status(ws)
    if as_json:
        print_json(found)
        return
    out.print(f"registry at {found['registry']}: log of {found['log_size']:,} entries")
