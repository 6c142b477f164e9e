"""Provisioning files: each vendor's file carries the account, parses in its syntax,
and a hostile display name cannot inject settings."""

from __future__ import annotations

import dataclasses
from xml.etree import ElementTree

import pytest

from drivers.sip.provisioning import (
    PhoneConfig,
    ProvisioningError,
    filename_for,
    normalise_mac,
    render,
    vendor_for,
)

PHONE = PhoneConfig("101", "Zr8kPq2mXw9vLt4s", "Reception", "192.168.1.10", 5060,
                    mac="00:15:65:AB:CD:EF")


def settings_of(text: str, sep: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        if sep in line and not line.startswith(("#", "<")):
            key, _, value = line.partition(sep)
            pairs[key.strip()] = value.strip()
    return pairs


def test_yealink_account_lines():
    cfg = settings_of(render("yealink", PHONE).decode(), "=")
    assert cfg["account.1.user_name"] == "101"
    assert cfg["account.1.password"] == PHONE.password
    assert cfg["account.1.sip_server.1.address"] == "192.168.1.10"
    assert cfg["account.1.sip_server.1.port"] == "5060"
    assert cfg["account.1.display_name"] == "Reception"


def test_grandstream_p_values_are_xml():
    phone = dataclasses.replace(PHONE, name='Sales & "Support" <1>')
    root = ElementTree.fromstring(render("grandstream", phone))
    config = root.find("config")
    assert root.findtext("mac") == "001565abcdef"
    assert config.findtext("P47") == "192.168.1.10:5060"
    assert config.findtext("P35") == "101" and config.findtext("P34") == PHONE.password
    assert config.findtext("P3") == 'Sales & "Support" <1>'


def test_fanvil_lines():
    cfg = settings_of(render("fanvil", PHONE).decode(), ":")
    assert cfg["SIP1 Register User"] == "101"
    assert cfg["SIP1 Register Pswd"] == PHONE.password
    assert cfg["SIP1 Register Addr"] == "192.168.1.10"


def test_newline_in_name_cannot_inject_a_setting():
    hostile = PhoneConfig("101", PHONE.password, "x\naccount.1.sip_server.1.address = evil",
                          "192.168.1.10")
    cfg = settings_of(render("yealink", hostile).decode(), "=")
    assert cfg["account.1.sip_server.1.address"] == "192.168.1.10"


def test_vendor_and_file_names():
    assert vendor_for("00:15:65:01:02:03") == "yealink"
    assert vendor_for("", "Grandstream GXP1625") == "grandstream"
    assert vendor_for("0c:38:3e:00:00:01") == "fanvil"
    assert vendor_for("aa:bb:cc:00:00:01") is None
    assert filename_for("grandstream", "000B82123456") == "cfg000b82123456.xml"
    assert filename_for("yealink", "00-15-65-ab-cd-ef") == "001565abcdef.cfg"
    assert normalise_mac("0015.65ab.cdef") == "001565abcdef"


@pytest.mark.parametrize("bad", [
    PhoneConfig("10a", "longenough1", "n", "h"),
    PhoneConfig("101", "short", "n", "h"),
    PhoneConfig("101", "longenough1", "n", "h", transport="tls"),
])
def test_bad_records_are_refused(bad):
    with pytest.raises(ProvisioningError):
        render("yealink", bad)
    with pytest.raises(ProvisioningError):
        normalise_mac("not-a-mac")
