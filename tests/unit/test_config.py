"""unsock.config: the UNSOCK_* variables as the Python side reads them."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unsock import Config, ConfigError, Range

octets = st.tuples(*[st.integers(0, 255)] * 4)


@given(octets, st.integers(0, 32))
def test_range_round_trips(o: tuple[int, int, int, int], prefix: int) -> None:
    text = ".".join(map(str, o)) + f"/{prefix}"
    assert str(Range.parse(text)) == text


@given(octets, st.integers(0, 32), octets)
def test_covers_agrees_with_ipaddress(
    base: tuple[int, int, int, int], prefix: int, probe: tuple[int, int, int, int]
) -> None:
    r = Range.parse(".".join(map(str, base)) + f"/{prefix}")
    probe_s = ".".join(map(str, probe))
    network = ipaddress.ip_network(f"{r.address}/{prefix}", strict=False)
    assert r.covers(probe_s) == (ipaddress.ip_address(probe_s) in network)
    # the same address, IPv4-mapped as Java writes it, matches the same way
    assert r.covers(f"::ffff:{probe_s}") == r.covers(probe_s)


@given(st.binary(min_size=16, max_size=16), st.integers(0, 128))
def test_ipv6_ranges_round_trip(packed: bytes, prefix: int) -> None:
    text = f"{ipaddress.IPv6Address(packed)}/{prefix}"
    r = Range.parse(text)
    assert Range.parse(str(r)) == r
    assert str(r) == f"{ipaddress.IPv6Address(packed).exploded}/{prefix}"


def test_lists_and_mapped_addresses() -> None:
    cfg = Config.from_env({"UNSOCK_DIR": "/x", "UNSOCK_ADDR": "127.0.0.0/8,::1/128"})
    assert [str(r) for r in cfg.ranges] == ["127.0.0.0/8", "0000:0000:0000:0000:0000:0000:0000:0001/128"]
    assert cfg.ranges[0].covers("::ffff:127.0.0.5")
    assert not cfg.ranges[1].covers("127.0.0.1")


def test_defaults_match_the_original() -> None:
    cfg = Config.from_env({"UNSOCK_DIR": "/run/u"})
    assert [str(r) for r in cfg.ranges] == ["127.175.0.0/32"]
    assert cfg.port == -1
    assert cfg.mode is None
    assert cfg.socket_path(5432).as_posix() == "/run/u/5432.sock"


def test_to_env_is_read_back_unchanged() -> None:
    cfg = Config.from_env(
        {"UNSOCK_DIR": "/x/", "UNSOCK_ADDR": "10.0.0.1/24", "UNSOCK_PORT": "80", "UNSOCK_MODE": "660",
         "UNSOCK_BLOCK_INET6": "1"}
    )
    assert Config.from_env(cfg.to_env()) == cfg


@pytest.mark.parametrize("name", ["UNSOCK_BLOCK_INET", "UNSOCK_ACCEPT_CONVERT_VSOCK"])
def test_switches_name_the_variable(name: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}='on' is not a valid switch"):
        Config.from_env({"UNSOCK_DIR": "/x", name: "on"})


def test_dir_length_counts_bytes_not_characters() -> None:
    # 48 two-byte characters: 96 bytes + "/" is one byte too long.
    with pytest.raises(ConfigError, match="97 bytes long"):
        Config.from_env({"UNSOCK_DIR": "/" + "é" * 48})


ENV_NAMES = ["UNSOCK_DIR", "UNSOCK_ADDR", "UNSOCK_PORT", "UNSOCK_MODE", "UNSOCK_BLOCK_INET", "UNSOCK_DEBUG"]
ENV_VALUES = st.one_of(st.text(max_size=20), st.lists(st.sampled_from(["/", "1", "0", "-", ".", ":", "/8", "127", ","]),
                                                      max_size=6).map("".join))  # fmt: skip


@given(st.dictionaries(st.sampled_from(ENV_NAMES), ENV_VALUES))
def test_any_environment_is_read_or_refused_with_a_config_error(env: dict[str, str]) -> None:
    """The reader fails only with ConfigError (tests/fuzz checks it agrees with the shim's); what
    it accepts reads back unchanged from to_env()."""
    try:
        config = Config.from_env(env)
    except ConfigError as e:
        assert str(e).split("=", 1)[0].split(" ", 1)[0] in ENV_NAMES
        return
    assert Config.from_env(config.to_env()) == config
