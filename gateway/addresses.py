"""Who the client is, by address: the peer, or behind proxies we trust, the address they saw.

`TRUSTED_PROXIES` lists the networks (CIDR) of the proxies in front of the gateway. Only when
the peer is one of them is `X-Forwarded-For` read, and then from the right: each proxy
appends the address it saw, so the right-most entry that is not a trusted proxy is the first
one a proxy we trust vouched for; entries left of it are whatever the client wrote. Without
trusted proxies the header is never read, whoever sends it.

Per-address limits count IPv6 clients by their /64: one host holds a whole /64, and would
otherwise get a fresh bucket for each of its addresses.
"""

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 192.168.1.7` -> networks; a bad entry raises ValueError naming it."""
    networks = []
    for entry in (part.strip() for part in cidrs.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an address or network"
                                 ) from exc
    return tuple(networks)


class ClientAddresses:
    def __init__(self, trusted_proxies: tuple[Network, ...]) -> None:
        self.trusted_proxies = trusted_proxies

    def client_of(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: the peer's own unless the peer is a trusted proxy."""
        if not (self.trusted_proxies and forwarded_for and self._trusted(peer)):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",")]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop if _address(hop) is not None else peer
        return hops[0] or peer  # every hop is ours: the first one is as far as we can see

    def _trusted(self, address: str) -> bool:
        parsed = _address(address)
        return parsed is not None and any(parsed in net for net in self.trusted_proxies)


def bucket_of(address: str) -> str:
    """The rate-limit bucket of an address: itself for IPv4, its /64 for IPv6."""
    if ":" not in address:
        return address
    return _ipv6_bucket(address)


@lru_cache(maxsize=4096)
def _ipv6_bucket(address: str) -> str:
    parsed = _address(address)
    if not isinstance(parsed, ipaddress.IPv6Address):
        return address
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, 64), strict=False))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
