"""Stdlib tools over web and network notation: ``urllib.parse``, ``ipaddress`` and ``html``.

Pure string work: nothing here opens a connection or resolves a name.
"""

from __future__ import annotations

import html
import ipaddress
import urllib.parse
from typing import Literal

from papercraft.tools.stdlib.catalog import Catalog, ints, text

catalog = Catalog()

_URL = text(2000, 1)
_ADDRESS = text(50, 2)
_NETWORK = text(50, 2)


# urllib.parse


@catalog.tool("urllib.quote", {"s": "a b&c/d"}, safe=text(50))
def quote(s: str, safe: str = "/") -> str:
    """Percent-encode the text for use in a URL path (characters in safe are kept)."""
    return urllib.parse.quote(s, safe=safe)


@catalog.tool("urllib.unquote", {"s": "a%20b%26c"})
def unquote(s: str) -> str:
    """Replace %xx escapes by their single-character equivalent."""
    return urllib.parse.unquote(s)


@catalog.tool("urllib.quote_plus", {"s": "a b&c"})
def quote_plus(s: str) -> str:
    """Percent-encode the text for a query string, spaces as '+'."""
    return urllib.parse.quote_plus(s)


@catalog.tool("urllib.unquote_plus", {"s": "a+b%26c"})
def unquote_plus(s: str) -> str:
    """Like unquote, but also replace '+' by a space (query strings)."""
    return urllib.parse.unquote_plus(s)


@catalog.tool("urllib.urlparse", {"url": "https://user@example.com:8080/a/b?x=1&y=2#top"},
              url=_URL)
def urlparse(url: str) -> dict[str, object]:
    """Split a URL into scheme, netloc, path, params, query, fragment, hostname and port."""
    parts = urllib.parse.urlparse(url)
    return {"scheme": parts.scheme, "netloc": parts.netloc, "path": parts.path,
            "params": parts.params, "query": parts.query, "fragment": parts.fragment,
            "hostname": parts.hostname, "port": parts.port, "username": parts.username}


@catalog.tool("urllib.parse_qs", {"query": "x=1&y=2&x=3"}, query=_URL)
def parse_qs(query: str) -> dict[str, list[str]]:
    """Parse a query string into a mapping of names to lists of values."""
    return urllib.parse.parse_qs(query)


@catalog.tool("urllib.urlencode", {"values": {"q": "tool use", "page": "2"}},
              values={"additionalProperties": {"maxLength": 1000}})
def urlencode(values: dict[str, str]) -> str:
    """Encode a mapping of names to values as a percent-encoded query string."""
    return urllib.parse.urlencode(values)


@catalog.tool("urllib.urljoin", {"base": "https://example.com/a/b.html", "url": "../c.html"},
              base=_URL, url=_URL)
def urljoin(base: str, url: str) -> str:
    """Join a base URL and a possibly relative URL to form an absolute URL."""
    return urllib.parse.urljoin(base, url)


# ipaddress


@catalog.tool("ipaddress.info", {"address": "192.168.1.10"}, address=_ADDRESS)
def address_info(address: str) -> dict[str, object]:
    """Facts about an IPv4 or IPv6 address: version, private, global, loopback, multicast..."""
    ip = ipaddress.ip_address(address)
    return {"address": str(ip), "version": ip.version, "is_private": ip.is_private,
            "is_global": ip.is_global, "is_loopback": ip.is_loopback,
            "is_multicast": ip.is_multicast, "is_link_local": ip.is_link_local,
            "is_reserved": ip.is_reserved}


@catalog.tool("ipaddress.to_int", {"address": "10.0.0.1"}, address=_ADDRESS)
def to_int(address: str) -> int:
    """The integer value of an IPv4 or IPv6 address."""
    return int(ipaddress.ip_address(address))


@catalog.tool("ipaddress.from_int", {"value": 167772161, "version": 4},
              value=ints(0, 2**63))
def from_int(value: int, version: Literal[4, 6] = 4) -> str:
    """The IPv4 (version 4) or IPv6 (version 6) address with this integer value."""
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


@catalog.tool("ipaddress.network", {"network": "192.168.0.0/22"}, network=_NETWORK)
def network(network: str, strict: bool = False) -> dict[str, object]:
    """A network's address, netmask, broadcast address, prefix length and number of addresses."""
    net = ipaddress.ip_network(network, strict=strict)
    return {"network": str(net), "network_address": str(net.network_address),
            "netmask": str(net.netmask), "broadcast_address": str(net.broadcast_address),
            "prefixlen": net.prefixlen, "num_addresses": str(net.num_addresses)}


@catalog.tool("ipaddress.contains", {"network": "10.0.0.0/8", "address": "10.20.30.40"},
              network=_NETWORK, address=_ADDRESS)
def contains(network: str, address: str) -> bool:
    """Return True if the address lies in the network."""
    return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)


@catalog.tool("ipaddress.collapse", {"networks": ["192.0.2.0/25", "192.0.2.128/25"]},
              networks={"maxItems": 1000, "items": {"maxLength": 50}})
def collapse(networks: list[str]) -> list[str]:
    """Collapse a list of networks of one IP version into the fewest covering networks."""
    nets = [ipaddress.ip_network(net, strict=False) for net in networks]
    return [str(net) for net in ipaddress.collapse_addresses(nets)]


@catalog.tool("ipaddress.summarize_range", {"first": "192.0.2.0", "last": "192.0.2.130"},
              first=_ADDRESS, last=_ADDRESS)
def summarize_range(first: str, last: str) -> list[str]:
    """The fewest networks that exactly cover the addresses from first to last."""
    start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
    return [str(net) for net in ipaddress.summarize_address_range(start, end)]


# html


@catalog.tool("html.escape", {"s": "<a href=\"x\">Tom & Jerry</a>"})
def escape(s: str, quote: bool = True) -> str:
    """Replace the characters &, < and > (and quotes) by HTML-safe sequences."""
    return html.escape(s, quote=quote)


@catalog.tool("html.unescape", {"s": "&lt;b&gt;caf&eacute; &amp; &#955;&lt;/b&gt;"})
def unescape(s: str) -> str:
    """Convert named and numeric character references to the characters they stand for."""
    return html.unescape(s)
