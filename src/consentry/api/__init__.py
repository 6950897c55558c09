"""The registry as an HTTP service (``consentry serve``): a JSON API under ``/v1/``
over the application layer, every request signed by its party (RFC 9421), every error
an RFC 9457 problem. See ``docs/service.md``."""

from consentry.api.app import create_app
from consentry.api.service import Service, ServiceOptions

__all__ = ["Service", "ServiceOptions", "create_app"]
