"""Stdlib tools over encodings and digests: ``json``, ``base64``, ``binascii``, ``hashlib``,
``hmac``, ``zlib`` and ``uuid`` (name-based UUIDs only: no clock, no randomness).

Text is encoded as UTF-8 before hashing or encoding; decoded bytes come back as UTF-8 text when
they are valid UTF-8, and as hexadecimal otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
import zlib
from typing import Literal

from papercraft.tools.stdlib.catalog import Catalog, ints, items, text

catalog = Catalog()

_ENCODED = text(20_000, 0)
_NAMESPACES = {"dns": uuid.NAMESPACE_DNS, "url": uuid.NAMESPACE_URL, "oid": uuid.NAMESPACE_OID,
               "x500": uuid.NAMESPACE_X500}


def _text_of(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex()


def _digest(algorithm: str, s: str) -> str:
    return hashlib.new(algorithm, s.encode("utf-8")).hexdigest()


# json


@catalog.tool("json.pretty", {"document": '{"b": [1, 2], "a": {"c": null}}', "indent": 2},
              indent=ints(0, 8))
def pretty(document: str, indent: int = 2, sort_keys: bool = False) -> str:
    """Re-indent a JSON document for reading."""
    return json.dumps(json.loads(document), indent=indent, sort_keys=sort_keys,
                      ensure_ascii=False)


@catalog.tool("json.minify", {"document": '{ "a" : [1, 2,  3] }'})
def minify(document: str) -> str:
    """Write a JSON document on one line without optional whitespace."""
    return json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False)


@catalog.tool("json.is_valid", {"document": '{"a": 1,}'})
def is_valid(document: str) -> bool:
    """Return True if the text is a well-formed JSON document."""
    try:
        json.loads(document)
    except json.JSONDecodeError:
        return False
    return True


@catalog.tool("json.get", {"document": '{"user": {"names": ["Ada", "Grace"]}}',
                           "path": ["user", "names", "1"]},
              path=items(50, items={"maxLength": 200}))
def get(document: str, path: list[str]) -> object:
    """The value at a path of object keys and list indices in a JSON document."""
    value = json.loads(document)
    for step in path:
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value


# base64 and binascii


@catalog.tool("base64.b64encode", {"s": "hello world"})
def b64encode(s: str) -> str:
    """Encode the UTF-8 bytes of the text with standard Base64."""
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


@catalog.tool("base64.b64decode", {"data": "aGVsbG8gd29ybGQ="}, data=_ENCODED)
def b64decode(data: str) -> str:
    """Decode standard Base64 (UTF-8 text, or hexadecimal for other bytes)."""
    return _text_of(base64.b64decode(data, validate=True))


@catalog.tool("base64.urlsafe_b64encode", {"s": "subjects?_d"})
def urlsafe_b64encode(s: str) -> str:
    """Encode the UTF-8 bytes of the text with the URL- and filesystem-safe Base64 alphabet."""
    return base64.urlsafe_b64encode(s.encode("utf-8")).decode("ascii")


@catalog.tool("base64.urlsafe_b64decode", {"data": "c3ViamVjdHM_X2Q="}, data=_ENCODED)
def urlsafe_b64decode(data: str) -> str:
    """Decode URL-safe Base64 (UTF-8 text, or hexadecimal for other bytes)."""
    return _text_of(base64.urlsafe_b64decode(data))


@catalog.tool("base64.b32encode", {"s": "hello"})
def b32encode(s: str) -> str:
    """Encode the UTF-8 bytes of the text with Base32."""
    return base64.b32encode(s.encode("utf-8")).decode("ascii")


@catalog.tool("base64.b32decode", {"data": "NBSWY3DP"}, data=_ENCODED)
def b32decode(data: str) -> str:
    """Decode Base32 (UTF-8 text, or hexadecimal for other bytes)."""
    return _text_of(base64.b32decode(data, casefold=True))


@catalog.tool("base64.b85encode", {"s": "hello"})
def b85encode(s: str) -> str:
    """Encode the UTF-8 bytes of the text with Base85."""
    return base64.b85encode(s.encode("utf-8")).decode("ascii")


@catalog.tool("base64.b85decode", {"data": "Xk~0{Zv"}, data=_ENCODED)
def b85decode(data: str) -> str:
    """Decode Base85 (UTF-8 text, or hexadecimal for other bytes)."""
    return _text_of(base64.b85decode(data))


@catalog.tool("binascii.hexlify", {"s": "hi!"})
def hexlify(s: str) -> str:
    """The hexadecimal representation of the UTF-8 bytes of the text."""
    return binascii.hexlify(s.encode("utf-8")).decode("ascii")


@catalog.tool("binascii.unhexlify", {"hexstr": "686921"}, hexstr=_ENCODED)
def unhexlify(hexstr: str) -> str:
    """The bytes of a hexadecimal string (UTF-8 text, or hexadecimal for other bytes)."""
    return _text_of(binascii.unhexlify(hexstr))


@catalog.tool("binascii.crc_hqx", {"s": "123456789", "value": 0xFFFF}, value=ints(0, 0xFFFF))
def crc_hqx(s: str, value: int = 0) -> int:
    """Compute the CRC-CCITT (XModem-style) checksum of the UTF-8 bytes of the text."""
    return binascii.crc_hqx(s.encode("utf-8"), value)


# hashlib and hmac


@catalog.tool("hashlib.md5", {"s": "hello"})
def md5(s: str) -> str:
    """The MD5 hex digest of the UTF-8 bytes of the text (not for security)."""
    return hashlib.md5(s.encode("utf-8"), usedforsecurity=False).hexdigest()


@catalog.tool("hashlib.sha1", {"s": "hello"})
def sha1(s: str) -> str:
    """The SHA-1 hex digest of the UTF-8 bytes of the text."""
    return _digest("sha1", s)


@catalog.tool("hashlib.sha224", {"s": "hello"})
def sha224(s: str) -> str:
    """The SHA-224 hex digest of the UTF-8 bytes of the text."""
    return _digest("sha224", s)


@catalog.tool("hashlib.sha256", {"s": "hello"})
def sha256(s: str) -> str:
    """The SHA-256 hex digest of the UTF-8 bytes of the text."""
    return _digest("sha256", s)


@catalog.tool("hashlib.sha384", {"s": "hello"})
def sha384(s: str) -> str:
    """The SHA-384 hex digest of the UTF-8 bytes of the text."""
    return _digest("sha384", s)


@catalog.tool("hashlib.sha512", {"s": "hello"})
def sha512(s: str) -> str:
    """The SHA-512 hex digest of the UTF-8 bytes of the text."""
    return _digest("sha512", s)


@catalog.tool("hashlib.sha3_256", {"s": "hello"})
def sha3_256(s: str) -> str:
    """The SHA3-256 hex digest of the UTF-8 bytes of the text."""
    return _digest("sha3_256", s)


@catalog.tool("hashlib.sha3_512", {"s": "hello"})
def sha3_512(s: str) -> str:
    """The SHA3-512 hex digest of the UTF-8 bytes of the text."""
    return _digest("sha3_512", s)


@catalog.tool("hashlib.blake2b", {"s": "hello", "digest_size": 32}, digest_size=ints(1, 64))
def blake2b(s: str, digest_size: int = 64) -> str:
    """The BLAKE2b hex digest (digest_size bytes) of the UTF-8 bytes of the text."""
    return hashlib.blake2b(s.encode("utf-8"), digest_size=digest_size).hexdigest()


@catalog.tool("hashlib.blake2s", {"s": "hello"}, digest_size=ints(1, 32))
def blake2s(s: str, digest_size: int = 32) -> str:
    """The BLAKE2s hex digest (digest_size bytes) of the UTF-8 bytes of the text."""
    return hashlib.blake2s(s.encode("utf-8"), digest_size=digest_size).hexdigest()


@catalog.tool("hmac.hexdigest", {"key": "secret", "message": "hello", "digest": "sha256"},
              key=text(1000))
def hmac_hexdigest(key: str, message: str,
                   digest: Literal["sha1", "sha256", "sha512"] = "sha256") -> str:
    """The HMAC of the message under the key (both UTF-8), as a hex digest."""
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), digest).hexdigest()


# zlib and uuid


@catalog.tool("zlib.crc32", {"s": "hello world"})
def crc32(s: str) -> int:
    """Compute the CRC-32 checksum of the UTF-8 bytes of the text."""
    return zlib.crc32(s.encode("utf-8"))


@catalog.tool("zlib.adler32", {"s": "hello world"})
def adler32(s: str) -> int:
    """Compute the Adler-32 checksum of the UTF-8 bytes of the text."""
    return zlib.adler32(s.encode("utf-8"))


@catalog.tool("zlib.compressed_size", {"s": "abc" * 100, "level": 9}, level=ints(0, 9))
def compressed_size(s: str, level: int = 6) -> dict[str, int]:
    """The sizes in bytes of the text's UTF-8 encoding before and after zlib compression."""
    data = s.encode("utf-8")
    return {"original": len(data), "compressed": len(zlib.compress(data, level))}


@catalog.tool("uuid.uuid5", {"namespace": "dns", "name": "python.org"}, name=text(1000))
def uuid5(namespace: Literal["dns", "url", "oid", "x500"], name: str) -> str:
    """Generate a UUID from the SHA-1 hash of a namespace and a name (deterministic)."""
    return str(uuid.uuid5(_NAMESPACES[namespace], name))


@catalog.tool("uuid.uuid3", {"namespace": "url", "name": "https://python.org"}, name=text(1000))
def uuid3(namespace: Literal["dns", "url", "oid", "x500"], name: str) -> str:
    """Generate a UUID from the MD5 hash of a namespace and a name (deterministic)."""
    return str(uuid.uuid3(_NAMESPACES[namespace], name))


@catalog.tool("uuid.parse", {"value": "{12345678-1234-5678-1234-567812345678}"},
              value=text(100, 1))
def parse_uuid(value: str) -> dict[str, object]:
    """Parse a UUID in any standard spelling: its canonical form, version and integer value."""
    parsed = uuid.UUID(value)
    return {"uuid": str(parsed), "version": parsed.version, "hex": parsed.hex,
            "int": str(parsed.int)}
