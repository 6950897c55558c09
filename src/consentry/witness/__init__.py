"""A transparency-log witness (C2SP tlog-witness) and the log's client for it.

A witness follows logs by their verifier keys, cosigns each checkpoint that is
consistent with the last one it cosigned, and remembers that one durably; the log asks
its witnesses after signing, so that a client trusting a quorum of them sees the same
history as everyone else.
"""

from consentry.witness.client import WitnessEndpoint, request_cosignature
from consentry.witness.server import WitnessServer, running
from consentry.witness.service import Witness, WitnessReply, WitnessRequest
from consentry.witness.state import CosignedState, WitnessState

__all__ = [
    "CosignedState",
    "Witness",
    "WitnessEndpoint",
    "WitnessReply",
    "WitnessRequest",
    "WitnessServer",
    "WitnessState",
    "request_cosignature",
    "running",
]
