"""The log's side of C2SP tlog-witness: submit a checkpoint, get a cosignature.

The log does not need to remember what each witness last saw: it starts from what it
believes and, on a 409 naming the witness's size, proves consistency from there and
asks again. A witness ahead of the checkpoint, or one that cosigned another root at the
same size, is a fork and is reported as such, never retried away. Only cosignature lines
that verify with the witness's known key are kept (C2SP: ignore unknown keys).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consentry.errors import InputError, VerificationError, WitnessError
from consentry.log.note import Checkpoint, signature_line, signature_lines
from consentry.log.witness import WitnessKey, cosignatures
from consentry.witness.service import SIZE_CONTENT_TYPE, WitnessRequest

__all__ = ["WitnessEndpoint", "request_cosignature"]

_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    """Where a witness listens (its submission prefix) and the key it cosigns with."""

    url: str
    key: WitnessKey

    @classmethod
    def parse(cls, text: str) -> WitnessEndpoint:
        """``URL VKEY``: a witness's submission prefix and its verifier key."""
        url, _, vkey = text.strip().partition(" ")
        if not url.startswith(("http://", "https://")) or not vkey.strip():
            raise InputError(
                f"witness {text!r} is not 'URL VKEY' (e.g. 'http://host:7380 name+id+key')"
            )
        return cls(url.rstrip("/"), WitnessKey.from_vkey(vkey.strip()))


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, str]:
    # WitnessEndpoint.parse admits only http(s) URLs, from the operator's witness list.
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers.get_content_type(), response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get_content_type(), exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        raise WitnessError(f"cannot reach witness {url} ({exc}); is it running?") from exc


def request_cosignature(
    witness: WitnessEndpoint,
    note: str,
    checkpoint: Checkpoint,
    proof_from: Callable[[int], Sequence[bytes]],
    *,
    old_size: int = 0,
    timeout: float = 10.0,
) -> list[str]:
    """The witness's verified cosignature lines for the signed ``note`` of
    ``checkpoint``. ``proof_from(m)`` gives the consistency proof from size ``m``.
    Raises ``WitnessError`` when the witness cannot be reached or refuses, and
    ``VerificationError`` when it has seen a history this checkpoint does not extend."""
    endpoint = witness.url + "/add-checkpoint"
    for _ in range(_ATTEMPTS):
        proof = tuple(proof_from(old_size)) if 0 < old_size < checkpoint.size else ()
        body = WitnessRequest(old_size, proof, note).to_body()
        status, content_type, text = _post(endpoint, body, timeout)
        if status == 200:
            return _verified_lines(witness, note + text, checkpoint)
        if status == 409 and content_type == SIZE_CONTENT_TYPE:
            known = _size(witness, text)
            if known > checkpoint.size:
                raise VerificationError(
                    f"witness {witness.key.name} has cosigned size {known}, past this "
                    f"checkpoint of {checkpoint.size}: submit the log's latest checkpoint"
                )
            old_size = known
            continue
        if status == 409:
            raise VerificationError(
                f"witness {witness.key.name} cosigned a different tree at size "
                f"{checkpoint.size}: the log's history forked ({text.strip()})"
            )
        raise WitnessError(f"witness {witness.key.name} answered {status}: {text.strip()}")
    raise WitnessError(
        f"witness {witness.key.name} kept moving (last size {old_size}); try again later"
    )


def _size(witness: WitnessEndpoint, text: str) -> int:
    size = text.strip()
    if not size.isdigit():
        raise WitnessError(f"witness {witness.key.name} sent {text!r} as its size")
    return int(size)


def _verified_lines(witness: WitnessEndpoint, cosigned: str, checkpoint: Checkpoint) -> list[str]:
    if not cosignatures(cosigned, checkpoint, [witness.key]):
        raise WitnessError(
            f"witness {witness.key.name} answered without a cosignature by its key "
            f"{witness.key.vkey()}"
        )
    _, lines = signature_lines(cosigned)
    return [
        signature_line(name, blob)
        for name, blob in lines
        if name == witness.key.name and blob[:4] == witness.key.key_id
    ]
