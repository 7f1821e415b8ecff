"""HS_SITE, HS_SITE.6 and HS_SITE.PREFIX data (``handle-protocol.md`` §6.5) and server hashing.

A site is a set of servers that together hold one copy of a service's handles; which server
holds a handle is fixed by the hash rule of §10.3 (:meth:`SiteData.server_for`).

Server addresses are always 16 bytes. IPv4 is 12 zero bytes followed by the 4 address bytes,
*not* the ``::ffff:`` mapped form, so an address whose first 12 bytes are zero reads as IPv4.

Unknown flag bits, hash options, interface types and protocols round-trip unchanged: a decoder
that refused them would make a record written by a newer server unreadable. The JSON form of a
site is in :mod:`idnode.identifiers.jsonvalue`.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
from dataclasses import dataclass

from idnode.errors import InvalidValue
from idnode.protocol.wire import Parser, Writer

__all__ = [
    "FLAG_MULTI_PRIMARY",
    "FLAG_PRIMARY",
    "HashOption",
    "IPAddress",
    "Interface",
    "InterfaceProtocol",
    "InterfaceType",
    "ServerRecord",
    "SiteData",
    "address_from_ip",
    "handle_hash",
    "ip_from_address",
]

FLAG_PRIMARY = 0x80
FLAG_MULTI_PRIMARY = 0x40
_KNOWN_FLAGS = FLAG_PRIMARY | FLAG_MULTI_PRIMARY
ADDRESS_SIZE = 16
_V4_PAD = bytes(12)
_INT32_MIN = -(2**31)
# a prefix-less name belongs to the root namespace for prefix hashing (CNRI getPrefixPart).
_NO_SLASH_PREFIX = b"0.NA"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HashOption(enum.IntEnum):
    """Which part of a handle picks the server within a site (§10.3)."""

    PREFIX = 0
    SUFFIX = 1
    HANDLE = 2


class InterfaceType(enum.IntEnum):
    """What an interface serves; bit 0 is admin, bit 1 is query."""

    OUT_OF_SERVICE = 0
    ADMIN = 1
    QUERY = 2
    ADMIN_AND_QUERY = 3


class InterfaceProtocol(enum.IntEnum):
    UDP = 0
    TCP = 1
    HTTP = 2
    HTTPS = 3


def _uint(name: str, value: object, bits: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(reason=f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise InvalidValue(reason=f"{name} {value} is out of range 0..{(1 << bits) - 1}")


def _bytes(name: str, value: object) -> None:
    if not isinstance(value, bytes):
        raise InvalidValue(reason=f"{name} must be bytes, got {type(value).__name__}")


def _tuple_of(name: str, value: object, cls: type) -> None:
    if not isinstance(value, tuple) or not all(isinstance(item, cls) for item in value):
        raise InvalidValue(reason=f"{name} must be a tuple of {cls.__name__}")


def address_from_ip(ip: str | IPAddress) -> bytes:
    """The 16-byte wire address of ``ip`` (text or an :mod:`ipaddress` object).

    IPv4 and IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``) both become 12 zero bytes plus
    the IPv4 address, as Java's ``InetAddress`` yields them to CNRI.

    :raises InvalidValue: ``ip`` is not an IP address (host names are not resolved here).
    """
    if isinstance(ip, str):
        try:
            ip = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise InvalidValue(reason=f"address {ip!r} is not an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return _V4_PAD + ip.packed
    return ip.packed


def ip_from_address(address: bytes) -> IPAddress:
    """Read a 16-byte wire address: 12 leading zero bytes mean IPv4."""
    if address[:12] == _V4_PAD:
        return ipaddress.IPv4Address(address[12:])
    return ipaddress.IPv6Address(address)


@dataclass(frozen=True, slots=True)
class Interface:
    """One way to reach a server.

    :ivar type: an :class:`InterfaceType` (0 out of service, 1 admin, 2 query, 3 both).
    :ivar protocol: an :class:`InterfaceProtocol` (0 UDP, 1 TCP, 2 HTTP, 3 HTTPS).
    :ivar port: the port (an ``int4`` on the wire).
    """

    type: int
    protocol: int
    port: int

    def __post_init__(self) -> None:
        _uint("interface type", self.type, 8)
        _uint("interface protocol", self.protocol, 8)
        _uint("interface port", self.port, 32)

    @property
    def query(self) -> bool:
        return bool(self.type & InterfaceType.QUERY)

    @property
    def admin(self) -> bool:
        return bool(self.type & InterfaceType.ADMIN)

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> Interface:
        return cls(parser.get_uint8(), parser.get_uint8(), parser.get_uint32())

    def write(self, writer: Writer) -> None:
        writer.put_uint8(self.type)
        writer.put_uint8(self.protocol)
        writer.put_uint32(self.port)


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """One server of a site.

    :ivar server_id: the server's number within the site.
    :ivar address: exactly 16 bytes (see the module docstring); :attr:`ip` reads it.
    :ivar public_key: the server's key in HS_PUBKEY layout, possibly empty.
    """

    server_id: int
    address: bytes
    public_key: bytes = b""
    interfaces: tuple[Interface, ...] = ()

    def __post_init__(self) -> None:
        _uint("server id", self.server_id, 32)
        _bytes("server address", self.address)
        if len(self.address) != ADDRESS_SIZE:
            raise InvalidValue(
                reason=f"server address is {len(self.address)} bytes, not {ADDRESS_SIZE}")
        _bytes("server public key", self.public_key)
        _tuple_of("server interfaces", self.interfaces, Interface)

    @classmethod
    def from_ip(cls, server_id: int, ip: str | IPAddress, public_key: bytes = b"",
                interfaces: tuple[Interface, ...] = ()) -> ServerRecord:
        """Build a record from a text or :mod:`ipaddress` address.

        :raises InvalidValue: ``ip`` is not an IP address, or another field is out of range.
        """
        return cls(server_id, address_from_ip(ip), public_key, interfaces)

    @property
    def ip(self) -> IPAddress:
        return ip_from_address(self.address)

    def interface_for(self, protocol: int, admin: bool = False) -> Interface | None:
        """The first interface speaking ``protocol`` that serves admin (or query) requests."""
        for interface in self.interfaces:
            if interface.protocol == protocol and (interface.admin if admin
                                                   else interface.query):
                return interface
        return None

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> ServerRecord:
        server_id = parser.get_uint32()
        address = parser.get_bytes(ADDRESS_SIZE)
        public_key = parser.get_counted_bytes()
        count = parser.get_count(6)
        interfaces = tuple(Interface.from_wire_parser(parser) for _ in range(count))
        return cls(server_id, address, public_key, interfaces)

    def write(self, writer: Writer) -> None:
        writer.put_uint32(self.server_id)
        writer.put_bytes(self.address)
        writer.put_counted_bytes(self.public_key)
        writer.put_uint32(len(self.interfaces))
        for interface in self.interfaces:
            interface.write(writer)


def _java_abs(value: int) -> int:
    # Java's Math.abs overflows on the one int32 without a positive counterpart.
    return value if value >= 0 or value == _INT32_MIN else -value


def _java_rem(value: int, divisor: int) -> int:
    remainder = abs(value) % divisor
    return -remainder if value < 0 else remainder


def handle_hash(handle: str, hash_option: int = HashOption.HANDLE) -> int:
    """The §10.3 hash of ``handle``: MD5 of the selected part, upper-cased (ASCII only).

    The result is the absolute value of the digest's last 4 bytes read as a big-endian
    signed 32-bit integer, in Java semantics: ``-2**31`` stays negative.

    :param hash_option: a :class:`HashOption`. Without a ``/`` the prefix is ``0.NA`` and the
        suffix is the whole handle.
    :raises InvalidValue: unknown hash option.
    """
    raw = handle.encode("utf-8", "surrogatepass")
    head, slash, tail = raw.partition(b"/")
    if hash_option == HashOption.HANDLE:
        part = raw
    elif hash_option == HashOption.PREFIX:
        part = head if slash else _NO_SLASH_PREFIX
    elif hash_option == HashOption.SUFFIX:
        part = tail if slash else raw
    else:
        raise InvalidValue(reason=f"HS_SITE hash option {hash_option} is not 0, 1 or 2")
    digest = hashlib.md5(part.upper(), usedforsecurity=False).digest()
    return _java_abs(int.from_bytes(digest[-4:], "big", signed=True))


@dataclass(frozen=True, slots=True)
class SiteData:
    """A parsed HS_SITE value.

    :ivar version: the data format version (1).
    :ivar serial: the site's serial number; clients compare it to detect stale site info.
    :ivar hash_option: a :class:`HashOption`.
    :ivar attributes: (name, value) byte pairs such as ``desc`` or ``domain``.
    :ivar reserved_flags: flag bits other than primary and multi-primary, kept for round trips.
    """

    version: int = 1
    protocol_major: int = 2
    protocol_minor: int = 10
    serial: int = 1
    primary: bool = True
    multi_primary: bool = False
    hash_option: int = HashOption.HANDLE.value
    hash_filter: bytes = b""
    attributes: tuple[tuple[bytes, bytes], ...] = ()
    servers: tuple[ServerRecord, ...] = ()
    reserved_flags: int = 0

    def __post_init__(self) -> None:
        _uint("site version", self.version, 16)
        _uint("site protocol major version", self.protocol_major, 8)
        _uint("site protocol minor version", self.protocol_minor, 8)
        _uint("site serial number", self.serial, 16)
        if not isinstance(self.primary, bool) or not isinstance(self.multi_primary, bool):
            raise InvalidValue(reason="site primary and multi-primary flags must be booleans")
        _uint("site hash option", self.hash_option, 8)
        _bytes("site hash filter", self.hash_filter)
        _uint("site reserved flags", self.reserved_flags, 8)
        if self.reserved_flags & _KNOWN_FLAGS:
            raise InvalidValue(reason="site reserved flags overlap primary/multi-primary bits")
        _tuple_of("site attributes", self.attributes, tuple)
        for pair in self.attributes:
            if len(pair) != 2 or not all(isinstance(part, bytes) for part in pair):
                raise InvalidValue(reason="site attribute must be a (name, value) bytes pair")
        _tuple_of("site servers", self.servers, ServerRecord)

    @property
    def flags(self) -> int:
        """The flags byte as written on the wire."""
        return ((FLAG_PRIMARY if self.primary else 0)
                | (FLAG_MULTI_PRIMARY if self.multi_primary else 0) | self.reserved_flags)

    def attribute(self, name: str) -> str | None:
        """The first attribute called ``name`` (exact match), as text, or None."""
        wanted = name.encode("utf-8")
        for key, value in self.attributes:
            if key == wanted:
                return value.decode("utf-8", "replace")
        return None

    def server_index(self, handle: str) -> int:
        """The 0-based index of the server holding ``handle`` (§10.3).

        For the single hash ``-2**31`` Java's ``%`` gives a negative number and CNRI's
        resolver fails; this takes the absolute value, as CNRI's replication code does.

        :raises InvalidValue: the site has no servers or an unknown hash option.
        """
        if not self.servers:
            raise InvalidValue(reason="HS_SITE has no servers")
        return abs(_java_rem(handle_hash(handle, self.hash_option), len(self.servers)))

    def server_for(self, handle: str) -> ServerRecord:
        """The server holding ``handle``; see :meth:`server_index`."""
        return self.servers[self.server_index(handle)]

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> SiteData:
        version = parser.get_uint16()
        major = parser.get_uint8()
        minor = parser.get_uint8()
        serial = parser.get_uint16()
        flags = parser.get_uint8()
        hash_option = parser.get_uint8()
        hash_filter = parser.get_counted_bytes()
        count = parser.get_count(8)
        attributes = tuple((parser.get_counted_bytes(), parser.get_counted_bytes())
                           for _ in range(count))
        count = parser.get_count(28)  # id + address + key length + interface count
        servers = tuple(ServerRecord.from_wire_parser(parser) for _ in range(count))
        return cls(version, major, minor, serial, bool(flags & FLAG_PRIMARY),
                   bool(flags & FLAG_MULTI_PRIMARY), hash_option, hash_filter, attributes,
                   servers, flags & ~_KNOWN_FLAGS & 0xFF)

    @classmethod
    def from_bytes(cls, data: bytes) -> SiteData:
        parser = Parser(data, "HS_SITE")
        site = cls.from_wire_parser(parser)
        parser.expect_end()
        return site

    def to_bytes(self) -> bytes:
        writer = Writer()
        writer.put_uint16(self.version)
        writer.put_uint8(self.protocol_major)
        writer.put_uint8(self.protocol_minor)
        writer.put_uint16(self.serial)
        writer.put_uint8(self.flags)
        writer.put_uint8(self.hash_option)
        writer.put_counted_bytes(self.hash_filter)
        writer.put_uint32(len(self.attributes))
        for name, value in self.attributes:
            writer.put_counted_bytes(name)
            writer.put_counted_bytes(value)
        writer.put_uint32(len(self.servers))
        for server in self.servers:
            server.write(writer)
        return writer.getvalue()
