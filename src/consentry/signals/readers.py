"""Every signal one resource carries, read at once: the HTTP response headers, the
page's meta tags, an image's embedded metadata. Each format's reader is its own
module; this one only hands each its input."""

from __future__ import annotations

from collections.abc import Mapping

from consentry.signals.aipref import read_content_usage
from consentry.signals.html import MediaKind, read_robots_meta, read_x_robots_tag
from consentry.signals.model import Reservation
from consentry.signals.tdmrep import read_tdmrep_headers, read_tdmrep_meta

__all__ = ["read_headers", "read_image", "read_meta"]

_TDM = ("tdm-reservation", "tdm-policy")


def read_headers(headers: Mapping[str, str], *, kind: MediaKind | None = None) -> Reservation:
    """The signals in a response's headers (names lower-cased, repeated fields joined
    with commas): Content-Usage, TDMRep's fields and X-Robots-Tag, the last read for
    a resource of ``kind`` (``noimageai`` binds images only)."""
    found: list[Reservation] = []
    if "content-usage" in headers:
        found.append(read_content_usage(headers["content-usage"]))
    if any(name in headers for name in _TDM):
        found.append(read_tdmrep_headers(headers))
    if "x-robots-tag" in headers:
        found.append(read_x_robots_tag(headers["x-robots-tag"]).reservation(kind=kind))
    return Reservation.merge(found)


def read_meta(meta: Mapping[str, str], *, kind: MediaKind | None = None) -> Reservation:
    """The signals in a page's meta tags, by lower-cased name: robots directives
    (``noai``, also per crawler) and TDMRep's."""
    found = [read_robots_meta(meta).reservation(kind=kind)]
    if any(name in meta for name in _TDM):
        found.append(read_tdmrep_meta(meta))
    return Reservation.merge(found)


def read_image(image: bytes) -> Reservation:
    """The signals embedded in an image: a CAWG training-and-data-mining assertion in
    its C2PA manifest (validated) and IPTC ``plus:DataMining`` in its XMP."""
    # Loaded for images only: the C2PA library is large.
    from consentry.signals.cawg import read_training_mining  # noqa: PLC0415
    from consentry.signals.xmp import read_image_data_mining  # noqa: PLC0415

    return read_training_mining(image) | read_image_data_mining(image)
