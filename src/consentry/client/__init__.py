"""The CLI's client of a served registry (``$CONSENTRY_REGISTRY``): a workspace whose
registry is across HTTP. The party's keys stay in its own key folder and sign here."""

from consentry.client.workspace import RemoteWorkspace

__all__ = ["RemoteWorkspace"]
