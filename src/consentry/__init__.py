"""consentry: consent at ingestion, accountability at publication."""

from consentry.errors import ConsentryError

__all__ = ["ConsentryError", "__version__"]

__version__ = "0.1.0"
