"""Capture times from an XMP packet, which is often all an edited or exported photo keeps.

XMP is XML from outside: it is parsed with a DTD refused (no entity expansion), and a packet that
does not parse is no time rather than an error, since the picture may still be good. A property is
written either as an attribute of ``rdf:Description`` or as a child element; both are read.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from temoin.collect.readers.stated import Stated, parse

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# (namespace, property) -> the capture source name it fills
_TIMES = {
    ("http://ns.adobe.com/exif/1.0/", "DateTimeOriginal"): "xmp:DateTimeOriginal",
    ("http://ns.adobe.com/xap/1.0/", "CreateDate"): "xmp:CreateDate",
    ("http://ns.adobe.com/photoshop/1.0/", "DateCreated"): "xmp:DateCreated",
}
MAX_XMP_BYTES = 4 * 1024 * 1024


def xmp_times(packet: bytes | str | None) -> dict[str, Stated]:
    """The capture times an XMP packet states, by source name."""
    if not packet or len(packet) > MAX_XMP_BYTES:
        return {}
    data = packet.encode("utf-8") if isinstance(packet, str) else packet
    data = data.strip(b"\x00 \r\n\t")
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return {}
    found: dict[str, Stated] = {}
    for description in root.iter(f"{{{_RDF}}}Description"):
        for (namespace, prop), name in _TIMES.items():
            if name in found:
                continue
            key = f"{{{namespace}}}{prop}"
            value = description.get(key)
            if value is None:
                child = description.find(key)
                value = _text(child) if child is not None else None
            stated = parse(value)
            if stated is not None:
                found[name] = stated
    return found


def _text(element: Element) -> str | None:
    """A property's value, also when written as a one-item ``rdf:Seq``/``rdf:Alt``."""
    if element.text and element.text.strip():
        return element.text
    item = element.find(f".//{{{_RDF}}}li")
    return item.text if item is not None else None
