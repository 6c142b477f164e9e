"""One phone per ATA port: the migration that allows several phones per MAC keeps every
row and id, and the admin service refuses a port the device does not have, in words,
saving nothing."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from appliance.admin import Admin, ValidationError
from appliance.store import open_store
from appliance.store.schema import MIGRATIONS, migrate
from tests.core.test_cli import callbox, one_line_error

PORTS_MIGRATION = next(n for n, (name, _sql) in enumerate(MIGRATIONS, 1)
                       if name.startswith("phones: one phone per ATA port"))

OLD_PHONES = [  # (id, extension, name, password, mac, model, created_at) as before ports
    (3, "101", "Anna's desk", "a" * 24, "001565aabbcc", "Yealink T31P", 1700000000.0),
    (7, "102", "", "b" * 24, None, "", 1700000001.0),
    (8, "103", "Softphone", "c" * 24, None, "", 1700000002.0),
    (9, "201", "Front desk", "d" * 24, "000b82123456", "HT802", 1700000003.0),
]


def test_migration_keeps_every_phone_and_id_and_allows_a_second_port(tmp_path):
    conn = sqlite3.connect(tmp_path / "callbox.db", isolation_level=None)
    migrate(conn, target=PORTS_MIGRATION - 1)  # the schema a box had before ports
    conn.executemany("INSERT INTO phones(id, extension, name, password, mac, model, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", OLD_PHONES)
    conn.execute("INSERT INTO operators(name, extension, created_at) VALUES ('Anna', '101', 1)")
    with pytest.raises(sqlite3.IntegrityError):  # what the old schema refused
        conn.execute("INSERT INTO phones(extension, password, mac, created_at) "
                     "VALUES ('202', 'x', '000b82123456', 1)")
    conn.close()

    store = open_store(tmp_path)  # migrates to the latest version
    try:
        rows = store.query("SELECT id, extension, name, password, mac, model, created_at, port "
                           "FROM phones ORDER BY id")
        assert [tuple(r.values())[:7] for r in rows] == OLD_PHONES
        assert {r["port"] for r in rows} == {1}
        assert store.query("SELECT extension FROM operators") == [{"extension": "101"}]
        conn = sqlite3.connect(tmp_path / "callbox.db", isolation_level=None)
        conn.execute("INSERT INTO phones(extension, password, mac, port, created_at) "
                     "VALUES ('202', 'x', '000b82123456', 2, 1)")
        with pytest.raises(sqlite3.IntegrityError):  # one phone per port of a device
            conn.execute("INSERT INTO phones(extension, password, mac, port, created_at) "
                         "VALUES ('203', 'x', '000b82123456', 2, 1)")
        with pytest.raises(sqlite3.IntegrityError):  # there is no port 0
            conn.execute("INSERT INTO phones(extension, password, mac, port, created_at) "
                         "VALUES ('204', 'x', 'aabbccddeeff', 0, 1)")
        conn.close()
    finally:
        store.close()


def test_migration_is_all_or_nothing(tmp_path):
    """A failure inside the rebuild (here: a phones table a hand edit broke) leaves the
    file at the previous version with the old table, not half rebuilt."""
    conn = sqlite3.connect(tmp_path / "callbox.db", isolation_level=None)
    migrate(conn, target=PORTS_MIGRATION - 1)
    conn.executemany("INSERT INTO phones(id, extension, name, password, mac, model, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", OLD_PHONES)
    conn.execute("CREATE TABLE phones_by_port (x)")  # the name the rebuild needs is taken
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, target=PORTS_MIGRATION)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == PORTS_MIGRATION - 1
    assert conn.execute("SELECT count(*) FROM phones").fetchone()[0] == len(OLD_PHONES)
    conn.close()


@pytest.fixture
def admin(tmp_path):
    store = open_store(tmp_path)
    yield Admin(store)
    store.close()


def refused(admin: Admin, coro) -> dict[str, str]:
    before = admin.phones()
    with pytest.raises(ValidationError) as info:
        asyncio.run(coro)
    assert admin.phones() == before  # nothing saved
    return info.value.errors


HT802 = "00:0B:82:12:34:56"


def test_each_port_of_a_two_port_ata_is_its_own_phone(admin):
    one = asyncio.run(admin.add_phone("201", name="Hall", mac=HT802, model="HT802"))
    two = asyncio.run(admin.add_phone("202", name="Kitchen", mac=HT802, model="Grandstream HT802",
                                      port="2"))
    assert (one["port"], two["port"]) == (1, 2)
    assert [(p["extension"], p["mac"], p["port"]) for p in admin.phones()] == [
        ("201", "000b82123456", 1), ("202", "000b82123456", 2)]


@pytest.mark.parametrize("kwargs,field,message", [
    ({"mac": HT802, "model": "HT802", "port": 3}, "port", "this ATA has ports 1 to 2"),
    ({"mac": HT802, "model": "HT801", "port": "2"}, "port", "this ATA has ports 1 to 1"),
    ({"mac": HT802, "model": "SPA112", "port": "0"}, "port", "this ATA has ports 1 to 2"),
    ({"mac": "001565aabbcc", "model": "Yealink T31P", "port": 2}, "port",
     "a desk phone has port 1 only"),
    ({"mac": HT802, "model": "HT802", "port": "two"}, "port",
     "a port is a whole number from 1"),
    ({"mac": HT802, "model": "HT802", "port": "-1"}, "port",
     "a port is a whole number from 1"),
    ({"mac": HT802, "model": "HT802", "port": "\u00b2"}, "port",
     "a port is a whole number from 1"),
    ({"mac": HT802, "model": "HT802", "port": "1" * 40}, "port",
     "a port is a whole number from 1"),
    ({"model": "HT802", "port": 2}, "mac", "an ATA port needs the ATA's MAC address"),
])
def test_a_port_the_device_does_not_have_is_refused(admin, kwargs, field, message):
    errors = refused(admin, admin.add_phone("201", **kwargs))
    assert errors == {field: message}


def test_a_taken_port_another_model_or_a_desk_phone_on_an_ata_mac_is_refused(admin):
    asyncio.run(admin.add_phone("201", mac=HT802, model="HT802"))
    assert refused(admin, admin.add_phone("202", mac=HT802, model="HT802")) == {
        "port": "this port of the ATA already has a phone: extension 201"}
    assert refused(admin, admin.add_phone("202", mac=HT802, model="SPA112", port=2)) == {
        "model": "this MAC address is already set up as HT802"}
    assert refused(admin, admin.add_phone("202", mac=HT802, model="Yealink T31P")) == {
        "mac": "another phone has this MAC address"}
    asyncio.run(admin.add_phone("101", mac="001565aabbcc", model="Yealink T31P"))
    assert refused(admin, admin.add_phone("102", mac="001565aabbcc", model="HT802",
                                          port=2)) == {
        "mac": "another phone has this MAC address"}


def test_editing_a_phone_moves_it_between_ports_and_keeps_its_password(admin):
    asyncio.run(admin.add_phone("201", mac=HT802, model="HT802"))
    kept = asyncio.run(admin.add_phone("202", mac=HT802, model="HT802", port=2))
    assert refused(admin, admin.update_phone("202", mac=HT802, model="HT802", port=1)) == {
        "port": "this port of the ATA already has a phone: extension 201"}
    assert refused(admin, admin.update_phone("202", mac=HT802, model="HT802", port=2,
                                             password="short")) == {
        "password": "use at least 12 characters (or leave empty to keep it)"}
    assert refused(admin, admin.update_phone("999", mac=HT802, model="HT802")) == {
        "extension": "no such phone"}
    asyncio.run(admin.delete_phone("201"))
    asyncio.run(admin.update_phone("202", name="Kitchen", mac=HT802, model="HT802", port=1))
    moved = admin.phone("202")
    assert (moved["port"], moved["name"], moved["password"]) == (1, "Kitchen",
                                                                kept["password"])
    asyncio.run(admin.update_phone("202", mac=HT802, model="HT802", port=2))  # its own port
    assert admin.phone("202")["port"] == 2


def test_cli_adds_a_phone_on_an_ata_port_and_refuses_a_missing_one(tmp_path):
    open_store(tmp_path).close()
    assert callbox("phone", "add", "201", "--mac", HT802, "--model", "HT802",
                   data=tmp_path).returncode == 0
    added = callbox("phone", "add", "202", "--mac", HT802, "--model", "HT802", "--port", "2",
                    data=tmp_path)
    assert added.returncode == 0, added.stderr
    line = one_line_error(callbox("phone", "add", "203", "--mac", HT802, "--model", "HT802",
                                  "--port", "3", data=tmp_path))
    assert "port" in line and "1 to 2" in line
    listing = callbox("phone", "list", data=tmp_path).stdout.splitlines()
    assert [row.split()[0] for row in listing] == ["201", "202"]
    assert listing[1].rstrip().endswith("HT802 port 2")


def test_ata_file_carries_every_port_and_leaves_out_rows_that_do_not_fit(tmp_path):
    """What the box serves for an ATA's MAC: one file with each port's account; a row
    typed into the database by hand with a port or model the ATA does not have is left
    out, and the ports that are right are still served."""
    from types import SimpleNamespace
    from xml.etree import ElementTree

    from appliance.provisioning import render_for_mac

    store = open_store(tmp_path)
    try:
        admin = Admin(store)
        asyncio.run(admin.add_phone("201", name="Hall", mac=HT802, model="HT802"))
        asyncio.run(admin.add_phone("202", name="Kitchen", mac=HT802, model="HT802", port=2))
        store.writer.execute("INSERT INTO phones(extension, password, mac, port, model, "
                             "created_at) VALUES ('203', 'x', '000b82123456', 3, 'HT802', 1)")
        store.writer.flush()
        box = SimpleNamespace(
            store=store, board=SimpleNamespace(channels={}),
            daemon=SimpleNamespace(config=SimpleNamespace(sip_address=("192.0.2.5", 5070))))
        content_type, body = render_for_mac(box, "000B82123456", "Grandstream HT802",
                                            "cfg000b82123456.xml")
        assert content_type == "application/xml"
        config = {c.tag: c.text for c in ElementTree.fromstring(body).find("config")}
        assert (config["P35"], config["P34"], config["P47"]) == (
            "201", admin.phone("201")["password"], "192.0.2.5:5070")
        assert (config["P735"], config["P734"], config["P703"]) == (
            "202", admin.phone("202")["password"], "Kitchen")
        assert "203" not in body.decode()
        assert render_for_mac(box, "001565000000", "", "cfg001565000000.xml") is None
    finally:
        store.close()
