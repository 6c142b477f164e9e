"""ATA provisioning files carry the right SIP account (the XML is parsed, not grepped)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from drivers.ata.provisioning import (
    Account,
    ProvisioningError,
    analog_handsets,
    ata_model,
    model_for_request,
    render,
)

ALICE = Account("201", "s3cr&t<pw>", "192.168.1.10", 5062, "Reception <desk>")
BOB = Account("202", "pw2", "192.168.1.10", 5060, "")


def gs_values(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)
    assert root.tag == "gs_provision"
    return {child.tag: child.text for child in root.find("config")}


def test_grandstream_ht801_file_carries_the_account() -> None:
    name, body = render("ht801", "00:0B:82:12:34:56", {1: ALICE})
    assert name == "cfg000b82123456.xml"
    assert ET.fromstring(body).findtext("mac") == "000b82123456"
    values = gs_values(body)
    assert values["P271"] == "1"
    assert values["P47"] == "192.168.1.10:5062"
    assert values["P35"] == "201" and values["P36"] == "201"
    assert values["P34"] == "s3cr&t<pw>"
    assert values["P3"] == "Reception <desk>"
    assert values["P31"] == "1" and values["P130"] == "0"  # registers, over UDP
    assert not {"P401", "P735", "P747"} & set(values)  # no second port on an HT801


# FXS port 2's P-values, from Grandstream's HT80x configuration template (checked against
# published templates, not against our own table)
HT802_PORT2 = {"active": "P401", "server": "P747", "user": "P735", "auth": "P736",
               "password": "P734", "name": "P703", "registration": "P731"}


def test_grandstream_ht802_file_carries_both_ports_accounts() -> None:
    name, body = render("ht802", "000b82123456", {1: ALICE, 2: BOB})
    assert name == "cfg000b82123456.xml"
    values = gs_values(body)
    assert (values["P271"], values["P35"], values["P34"]) == ("1", "201", "s3cr&t<pw>")
    port2 = {key: values[p] for key, p in HT802_PORT2.items()}
    assert port2 == {"active": "1", "server": "192.168.1.10:5060", "user": "202",
                     "auth": "202", "password": "pw2", "name": "202", "registration": "1"}


def test_grandstream_ht802_with_only_port_2_leaves_port_1_alone() -> None:
    values = gs_values(render("ht802", "000b82123456", {2: BOB})[1])
    assert values["P735"] == "202" and values["P401"] == "1"
    assert not {"P271", "P35", "P34", "P47"} & set(values)


def spa_values(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)
    assert root.tag == "flat-profile"
    return {child.tag: child.text for child in root}


def test_cisco_spa112_file_carries_both_lines() -> None:
    name, body = render("spa112", "0018f8-abcdef", {1: ALICE, 2: BOB})
    assert name == "spa0018f8abcdef.xml"
    values = spa_values(body)
    assert values["Line_Enable_1_"] == "Yes" and values["Line_Enable_2_"] == "Yes"
    assert values["Proxy_1_"] == "192.168.1.10:5062"
    assert values["User_ID_1_"] == "201" and values["Password_1_"] == "s3cr&t<pw>"
    assert values["Display_Name_1_"] == "Reception <desk>"
    assert values["User_ID_2_"] == "202" and values["Password_2_"] == "pw2"
    assert values["Display_Name_2_"] == "202"
    assert values["Proxy_2_"] == "192.168.1.10:5060"


def test_cisco_spa112_line_2_alone() -> None:
    values = spa_values(render("spa112", "0018f8abcdef", {2: BOB})[1])
    assert values["User_ID_2_"] == "202" and values["Line_Enable_2_"] == "Yes"
    assert not any(key.endswith("_1_") for key in values)


@pytest.mark.parametrize("model,mac,accounts", [
    ("ht801", "not-a-mac", {1: ALICE}),
    ("ht801", "000b82123456", {}),
    ("ht801", "000b82123456", {1: ALICE, 2: BOB}),  # one port
    ("ht802", "000b82123456", {3: ALICE}),
    ("spa112", "0018f8abcdef", {0: ALICE}),
    ("ht999", "000b82123456", {1: ALICE}),
    ("spa112", "0018f8abcdef", {1: Account("", "x", "h")}),
    ("spa112", "0018f8abcdef", {1: Account("1", "x", "h", 70000)}),
])
def test_bad_input_gets_a_clear_error(model, mac, accounts) -> None:
    with pytest.raises(ProvisioningError):
        render(model, mac, accounts)


def test_request_names_map_back_to_the_device() -> None:
    assert model_for_request("/cfg000B82123456.xml") == ("grandstream", "000b82123456")
    assert model_for_request("spa0018f8abcdef.xml") == ("cisco", "0018f8abcdef")
    assert model_for_request("/cfg../../etc/passwd") is None


@pytest.mark.parametrize("typed,key", [
    ("HT802", "ht802"), ("Grandstream HT-802", "ht802"), ("ht 801", "ht801"),
    ("Cisco SPA112", "spa112"), ("linksys spa-112", "spa112"),
    ("Yealink T31P", None), ("", None), (None, None),
])
def test_typed_models_name_the_ata(typed, key) -> None:
    found = ata_model(typed)
    assert (found.key if found else None) == key


def phone(ext, mac, port, model):
    return {"extension": ext, "mac": mac, "port": port, "model": model, "name": ""}


def test_each_ata_port_is_its_own_row_and_free_ports_are_shown() -> None:
    rows = analog_handsets([
        phone("101", "001565aabbcc", 1, "Yealink T31P"),
        phone("201", "000b82123456", 2, "HT802"),
        phone("202", "0018f8abcdef", 1, "SPA112"),
        phone("203", "0018f8abcdef", 2, "SPA112"),
        phone("204", "c074ad000001", 1, "HT801"),
        phone("205", None, 1, "SPA112"),  # typed in by hand, no MAC: no free ports known
    ])
    assert [(r.get("extension"), r["mac"], r["port"], r["free_port"], r["device"])
            for r in rows] == [
        ("101", "001565aabbcc", 1, False, None),
        ("201", "000b82123456", 2, False, "Grandstream HT802"),
        (None, "000b82123456", 1, True, "Grandstream HT802"),  # port 1 not set up yet
        ("202", "0018f8abcdef", 1, False, "Cisco SPA112"),
        ("203", "0018f8abcdef", 2, False, "Cisco SPA112"),
        ("204", "c074ad000001", 1, False, "Grandstream HT801"),
        ("205", None, 1, False, "Cisco SPA112"),
    ]
