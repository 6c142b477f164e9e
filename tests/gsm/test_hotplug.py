"""Recognising modems by USB identity, finding them again by IMEI, the udev rule."""

from __future__ import annotations

import re
from pathlib import Path

from drivers.base import CallerId
from drivers.gsm.models import MODELS
from drivers.hotplug import FoundModem, Hotplug, TtyPort, group_modems, scan_udev, udev_rules
from drivers.sim.host import SimHost
from drivers.sim.models import QuectelEC25, SimcomSIM7600

from .conftest import Recorder, close_rig, make_rig, wait_for

RULES = Path(__file__).resolve().parents[2] / "systemd" / "70-callbox-modems.rules"


def ports(vid, pid, device, ifaces, base=0):
    return [TtyPort(f"/dev/ttyUSB{base + i}", vid, pid, iface, device)
            for i, iface in enumerate(ifaces)]


def test_modems_are_recognised_by_usb_id_and_interface_not_tty_order():
    found = group_modems(
        ports(0x2C7C, 0x0125, "/sys/usb1/1-1", [4, 3, 2, 1, 0], base=0)  # reversed order
        + ports(0x1E0E, 0x9001, "/sys/usb1/1-2", [0, 1, 2, 3, 4, 5], base=5)
        + ports(0x0403, 0x6001, "/sys/usb1/1-3", [0], base=11)  # an FTDI cable: not ours
        + ports(0x12D1, 0x1001, "/sys/usb1/1-4", [0, 1], base=12)  # AT port not there yet
    )
    assert found == [
        FoundModem(MODELS["ec25"], "/sys/usb1/1-1", "/dev/ttyUSB2", "/dev/ttyUSB3"),
        FoundModem(MODELS["sim7600"], "/sys/usb1/1-2", "/dev/ttyUSB7", "/dev/ttyUSB9"),
    ]


def test_suggested_settings_use_the_udev_rule_names():
    tag = "platform-xhci-hcd_0-usb-0_1_2_0"
    found = group_modems([TtyPort(f"/dev/ttyUSB{i}", 0x1E0E, 0x9001, i, "/sys/u/1-2", tag)
                          for i in range(6)])
    assert found[0].suggested_settings() == {
        "at": f"/dev/callbox/sim7600-{tag}-at", "audio": f"/dev/callbox/sim7600-{tag}-audio",
        "model": "sim7600"}
    assert 'SYMLINK+="callbox/sim7600-$env{ID_PATH_TAG}-at"' in udev_rules()
    bare = group_modems(ports(0x12D1, 0x1506, "/sys/usb1/1-1", [0, 1, 2]))[0]
    assert bare.suggested_settings() == {"at": "/dev/ttyUSB2", "model": "e3372"}


def test_model_without_voice_has_no_audio_port():
    found = group_modems(ports(0x12D1, 0x1506, "/sys/usb1/1-1", [0, 1, 2]))
    assert found[0].model.key == "e3372" and found[0].audio is None


def test_scanning_this_machine_does_not_fail():
    assert isinstance(scan_udev(), list)


def test_udev_rule_file_is_the_generated_one_and_well_formed():
    text = RULES.read_text()
    assert text == udev_rules()
    rule = re.compile(r'^([A-Z_]+(\{[^}]+\})?(==|!=|=|\+=)"[^"]*"(, )?)+$')
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert rule.match(line), line
    assert text.count('ENV{ID_MM_DEVICE_IGNORE}="1"') >= 2 * len(MODELS)
    assert 'SYMLINK+="callbox/ec25-$env{ID_PATH_TAG}-audio"' in text


class SimBus:
    """A scanner over simulated modems, as udev would list them."""

    def __init__(self) -> None:
        self.hosts: list[SimHost] = []

    def scan(self) -> list[FoundModem]:
        out = []
        for i, host in enumerate(self.hosts):
            if host.ports.at_path:
                key = "sim7600" if isinstance(host.sim, SimcomSIM7600) else "ec25"
                out.append(FoundModem(MODELS[key], f"/sys/sim/{i}", host.ports.at_path,
                                      host.ports.audio_path))
        return out


async def test_hotplug_finds_a_modem_by_imei_among_others():
    from appliance.clock import LoopClock

    clock = LoopClock()
    bus = SimBus()
    hotplug = Hotplug(clock, scan=bus.scan)
    for sim in (QuectelEC25(clock, imei="860000000000001", sim_busy_seconds=0),
                SimcomSIM7600(clock, imei="860000000000002", sim_busy_seconds=0)):
        host = SimHost(sim, on_enumerate=lambda ports: hotplug.changed())
        host.start()
        bus.hosts.append(host)
    try:
        found = await hotplug.wait_for("860000000000002", timeout=5)
        assert found == {"at": bus.hosts[1].ports.at_path, "audio": bus.hosts[1].ports.audio_path}
        assert await hotplug.wait_for("869999999999999", timeout=0.3) is None
    finally:
        for host in bus.hosts:
            host.close()


async def test_supervisor_with_hotplug_follows_a_renumbered_modem():
    rig = await make_rig("ec25", poll_seconds=0.3)
    bus = SimBus()
    bus.hosts.append(rig.simhost)
    hotplug = Hotplug(rig.host.clock, scan=bus.scan)
    rig.simhost.on_enumerate = lambda ports: hotplug.changed()
    rig.channel.supervisor.locator = hotplug
    try:
        await rig.up()
        old = rig.channel.settings["at"]
        rig.sim.hang()
        await wait_for(lambda: rig.simhost.enumerations == 2, timeout=25, what="re-enumerated")
        await rig.up(timeout=15)
        assert rig.channel.settings["at"] == rig.simhost.ports.at_path != old
        rec = Recorder()
        rig.channel.originate("+74951234567", CallerId(), rec)
        await wait_for(lambda: "answered" in rec.kinds(), what="call after renumbering")
    finally:
        await close_rig(rig)


class FakeAttributes(dict):
    def asstring(self, key):
        return self[key]


class FakeDevice:
    """The few pyudev.Device features port_from_udev reads."""

    def __init__(self, node, parents, properties=None):
        self.device_node = node
        self._parents = parents
        self.properties = properties or {}

    def find_parent(self, subsystem, device_type=None):
        return self._parents.get((subsystem, device_type))


class FakeParent:
    def __init__(self, sys_path, **attributes):
        self.sys_path = sys_path
        self.attributes = FakeAttributes(attributes)


def test_port_from_udev_reads_usb_ids_and_interface_number():
    from drivers.hotplug import port_from_udev

    usb = FakeParent("/sys/devices/usb1/1-1", idVendor="2c7c", idProduct="0125")
    iface = FakeParent("/sys/devices/usb1/1-1/1-1:1.2", bInterfaceNumber="02")
    device = FakeDevice("/dev/ttyUSB7", {("usb", "usb_device"): usb,
                                         ("usb", "usb_interface"): iface},
                        {"ID_PATH_TAG": "platform-xhci-hcd_0-usb-0_1_1_0"})
    assert port_from_udev(device) == TtyPort("/dev/ttyUSB7", 0x2C7C, 0x0125, 2,
                                             "/sys/devices/usb1/1-1",
                                             "platform-xhci-hcd_0-usb-0_1_1_0")
    assert port_from_udev(FakeDevice("/dev/ttyS0", {})) is None  # not on USB
    broken = FakeDevice("/dev/ttyUSB8", {("usb", "usb_device"): FakeParent("/x"),
                                         ("usb", "usb_interface"): iface})
    assert port_from_udev(broken) is None  # attributes missing: skipped, no crash
