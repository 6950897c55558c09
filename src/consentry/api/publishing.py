"""The served log signs itself: a thread per worker that, every
``ServiceOptions.checkpoint_every`` seconds, signs a checkpoint once the log has grown
and has the configured witnesses cosign it (``consentry.app.remote_log``).

Workers that share the operator's home take turns through a lock file, so one worker at
a time signs and asks the witnesses; workers on other machines over the same database
are kept to one history by the log itself (one checkpoint per size, compare-and-swap).
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from consentry.api.service import Service
from consentry.app.remote_log import Publication, publish_checkpoint
from consentry.app.served import ServedWorkspace
from consentry.errors import ConsentryError
from consentry.witness import WitnessEndpoint

__all__ = ["Checkpointer"]

_log = logging.getLogger("consentry.api.checkpointer")

THREAD_NAME = "consentry-checkpointer"
_STOP_WAIT = 60.0


@contextmanager
def _turn(lock: Path) -> Iterator[bool]:
    """Whether this worker has the turn: an exclusive lock on ``lock``, not waited for
    (a worker that is signing now will have signed what this one would)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Checkpointer:
    """Signs ``service``'s log as it grows, until stopped. It runs only where the
    operator's home holds the log key and ``checkpoint_every`` is positive."""

    def __init__(self, service: Service) -> None:
        self._service = service
        options = service.options
        self._every = options.checkpoint_every
        self._witnesses = tuple(WitnessEndpoint.parse(w) for w in options.witnesses)
        self._quorum = options.quorum
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = service.settings.home / "checkpointer.lock"

    def _workspace(self) -> ServedWorkspace:
        # The operator's own: the home, with the log key, and the worker's registry.
        return ServedWorkspace(self._service.settings, self._service.registry, None)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start signing, when this worker can: otherwise say why, once."""
        if self._every <= 0:
            return
        if not self._workspace().log_key_file.exists():
            _log.warning(
                "this home holds no log key: checkpoints are signed where it is held "
                "(the operator's home, 'consentry log checkpoint')"
            )
            return
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the step in progress (a witness may take its timeout to answer)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=_STOP_WAIT)
            self._thread = None

    def step(self) -> Publication | None:
        """One turn: sign and have cosigned what has grown; ``None`` when nothing had,
        or another worker of this home has the turn."""
        with _turn(self._lock) as mine:
            if not mine:
                return None
            return publish_checkpoint(self._workspace(), self._witnesses, self._quorum)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                published = self.step()
            except ConsentryError as exc:
                _log.warning("the log was not checkpointed: %s", exc)
            except Exception:
                # A fault in one step must not end the signing for the worker's life:
                # it is logged whole (as the API logs a failed request) and retried.
                _log.exception("the checkpointer failed; trying again in %ss", self._every)
            else:
                if published is not None:
                    self._report(published)
            self._stopping.wait(self._every)

    def _report(self, published: Publication) -> None:
        size = published.signed.checkpoint.size
        _log.info("checkpoint of size %d published", size)
        for name, reason in published.refused.items():
            _log.warning("witness %s did not cosign size %d: %s", name, size, reason)
        if not published.quorum_met:
            _log.warning(
                "checkpoint of size %d has %d of the %d cosignatures needed; asking again",
                size,
                published.cosigned,
                published.needed,
            )
