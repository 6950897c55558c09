"""No event outside the log (issue 20, point 2): a registry made when leaves waited in
``log_pending`` for ``log checkpoint`` is upgraded with every waiting leaf given its
index, oldest first, and the queue gone; the audit then finds every event a leaf."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from consentry.crypto import KeyPair
from consentry.fingerprint import fingerprint_bytes
from consentry.log import NoteVerifier
from consentry.registry import FileFingerprint, PartyKind, Registry
from consentry.store import migrate
from consentry.store.engine import _alembic_config
from tests.conftest import real_text
from tests.security.test_state_rows import _drop_append_only_triggers

ORIGIN = "consentry.test/log"


def test_leaves_left_waiting_by_an_older_registry_are_put_on_the_log(engine: Engine) -> None:
    migrate(engine)
    registry = Registry(engine)
    log_key, owner_key = KeyPair.generate(), KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Ada", owner_key)
    registry.log.checkpoint(log_key, ORIGIN)
    files = [
        FileFingerprint(n, fingerprint_bytes(n, real_text(n).encode()))
        for n in ("GPL-3", "MPL-2.0")
    ]
    list(registry.works.register(owner.id, owner_key, files))
    engine.dispose()
    # What an older registry held: the entries after the checkpoint still waiting.
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    _drop_append_only_triggers(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO log_pending (event_seq, data) "
                "SELECT event_seq, data FROM log_entries WHERE idx >= 1"
            )
        )
        connection.execute(text("DELETE FROM log_entries WHERE idx >= 1"))
        connection.execute(text("UPDATE log_state SET size = 1 WHERE id = 1"))
    engine.dispose()

    migrate(engine)
    assert "log_pending" not in inspect(engine).get_table_names()
    registry = Registry(engine)
    assert registry.log.size() == 3
    registry.log.checkpoint(log_key, ORIGIN)
    assert registry.log.audit(NoteVerifier(ORIGIN, log_key.public)) == {
        "entries": 3,
        "checkpoints": 2,
    }
