"""ATA provisioning files carry the right SIP account (the XML is parsed, not grepped)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from drivers.ata.provisioning import (
    Account,
    ProvisioningError,
    analog_handsets,
    model_for_request,
    render,
)

ALICE = Account("201", "s3cr&t<pw>", "192.168.1.10", 5062, "Reception <desk>")
BOB = Account("202", "pw2", "192.168.1.10", 5060, "")


def test_grandstream_ht801_file_carries_the_account() -> None:
    name, body = render("ht801", "00:0B:82:12:34:56", [ALICE])
    assert name == "cfg000b82123456.xml"
    root = ET.fromstring(body)
    assert root.tag == "gs_provision"
    assert root.findtext("mac") == "000b82123456"
    config = root.find("config")
    values = {child.tag: child.text for child in config}
    assert values["P271"] == "1"
    assert values["P47"] == "192.168.1.10:5062"
    assert values["P35"] == "201" and values["P36"] == "201"
    assert values["P34"] == "s3cr&t<pw>"
    assert values["P3"] == "Reception <desk>"


def test_cisco_spa112_file_carries_both_lines() -> None:
    name, body = render("spa112", "0018f8-abcdef", [ALICE, BOB])
    assert name == "spa0018f8abcdef.xml"
    root = ET.fromstring(body)
    assert root.tag == "flat-profile"
    values = {child.tag: child.text for child in root}
    assert values["Line_Enable_1_"] == "Yes" and values["Line_Enable_2_"] == "Yes"
    assert values["Proxy_1_"] == "192.168.1.10:5062"
    assert values["User_ID_1_"] == "201" and values["Password_1_"] == "s3cr&t<pw>"
    assert values["Display_Name_1_"] == "Reception <desk>"
    assert values["User_ID_2_"] == "202" and values["Display_Name_2_"] == "202"
    assert values["Proxy_2_"] == "192.168.1.10:5060"


@pytest.mark.parametrize("model,mac,accounts", [
    ("ht801", "not-a-mac", [ALICE]),
    ("ht801", "000b82123456", []),
    ("ht801", "000b82123456", [ALICE, BOB]),  # one port
    ("ht999", "000b82123456", [ALICE]),
    ("spa112", "0018f8abcdef", [Account("", "x", "h")]),
    ("spa112", "0018f8abcdef", [Account("1", "x", "h", 70000)]),
])
def test_bad_input_gets_a_clear_error(model, mac, accounts) -> None:
    with pytest.raises(ProvisioningError):
        render(model, mac, accounts)


def test_request_names_map_back_to_the_device() -> None:
    assert model_for_request("/cfg000B82123456.xml") == ("grandstream", "000b82123456")
    assert model_for_request("spa0018f8abcdef.xml") == ("cisco", "0018f8abcdef")
    assert model_for_request("/cfg../../etc/passwd") is None


def test_ata_ports_listed_as_analog_handsets() -> None:
    rows = analog_handsets([
        {"model": "ht802", "mac": "000b82123456", "accounts": [ALICE]},
        {"model": "spa112", "mac": "0018f8abcdef", "accounts": [ALICE, BOB]},
    ])
    assert [(r["mac"], r["port"], r["extension"], r["provisioned"]) for r in rows] == [
        ("000b82123456", 1, "201", True),
        ("000b82123456", 2, "", False),  # the HT802's second port is set by hand
        ("0018f8abcdef", 1, "201", True),
        ("0018f8abcdef", 2, "202", True),
    ]
    assert all(r["kind"] == "analog_handset" for r in rows)
