"""What rate limits count a client by: an IPv4 address, or an IPv6 address's /64."""

from __future__ import annotations

import pytest

from server.extensions import client_network


@pytest.mark.parametrize("address, key", [
    ("203.0.113.7", "203.0.113.7"),                                  # IPv4: the address itself
    ("198.51.100.255", "198.51.100.255"),
    ("127.0.0.1", "127.0.0.1"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),                        # IPv6: its /64
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2:FFFF:FFFF:FFFF:FFFF", "2001:db8:1:2::/64"),       # however it is written
    ("2001:0db8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),                        # the next /64 is someone else
    ("2001:db8::1", "2001:db8::/64"),
    ("::1", "::/64"),
    ("fe80::1%eth0", "fe80::/64"),                                   # a zone is not part of the network
    ("::ffff:203.0.113.7", "203.0.113.7"),                           # IPv4 through a dual-stack socket
    ("::ffff:198.51.100.8", "198.51.100.8"),
    ("", ""),                                                        # not an address: as it is
    ("unknown", "unknown"),
    ("203.0.113.7, 10.0.0.1", "203.0.113.7, 10.0.0.1"),
])
def test_client_network(address, key):
    assert client_network(address) == key
