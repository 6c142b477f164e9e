"""image-build/make-disk on a tiny root tree: the card layout, labels, timestamps, and that
two runs give the same bytes (no mmdebstrap, a few seconds)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool

from .conftest import IMAGE_BUILD

EPOCH = 1_700_000_000
MIB = 1024 * 1024
# (start MiB, size MiB, MBR type, label, filesystem), as docs/image.md promises.
LAYOUT = [(4, 256, "c", "BOOT", "vfat"), (260, 1280, "83", "root", "ext4"),
          (1540, 256, "83", "data", "ext4")]


def make_tree(base: Path) -> tuple[Path, Path]:
    root, boot = base / "root", base / "boot"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("callbox\n")
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "tool").write_bytes(bytes(range(256)) * 16)
    (root / "usr" / "bin" / "tool").chmod(0o755)
    (root / "usr" / "bin" / "alias").symlink_to("tool")
    (root / "var" / "lib" / "callbox").mkdir(parents=True)
    boot.mkdir()
    (boot / "config.txt").write_text("arm_64bit=1\n")
    for path in [*root.rglob("*"), *boot.rglob("*"), root, boot]:
        os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)
    return root, boot


def run_make_disk(root: Path, boot: Path, work: Path, image: Path) -> None:
    for tool in ("sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs"):
        require_tool(tool)
    work.mkdir()
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH),
           "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin"}
    result = subprocess.run([IMAGE_BUILD / "make-disk", root, boot, work, image], env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(8 * MIB), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def disk(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("disk")
    root, boot = make_tree(base)
    run_make_disk(root, boot, base / "work", base / "card.img")
    return base / "card.img"


def test_partition_table_is_the_documented_layout(disk: Path) -> None:
    table = json.loads(subprocess.run([require_tool("sfdisk"), "--json", str(disk)],
                                      capture_output=True, text=True, check=True).stdout)
    table = table["partitiontable"]
    assert table["label"] == "dos" and table["id"] == "0xc0ffee00"
    got = [(p["start"] // 2048, p["size"] // 2048, p["type"]) for p in table["partitions"]]
    assert got == [(start, size, kind) for start, size, kind, _, _ in LAYOUT]
    assert table["partitions"][0].get("bootable") is True
    assert disk.stat().st_size == (1540 + 256) * MIB


@pytest.mark.parametrize("start,size,kind,label,fstype", LAYOUT, ids=[x[3] for x in LAYOUT])
def test_filesystem_labels(disk: Path, start, size, kind, label, fstype) -> None:
    out = subprocess.run(
        [require_tool("blkid"), "--probe", "--offset", str(start * MIB), "--size",
         str(size * MIB), "-o", "export", str(disk)],
        capture_output=True, text=True, check=True).stdout
    fields = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert fields["LABEL"] == label and fields["TYPE"] == fstype


def test_root_files_and_timestamps(disk: Path, tmp_path: Path) -> None:
    root_img = tmp_path / "root.img"
    subprocess.run(["dd", f"if={disk}", f"of={root_img}", "bs=1M", "skip=260", "count=1280",
                    "conv=sparse", "status=none"], check=True)
    debugfs = require_tool("debugfs")
    text = subprocess.run([debugfs, "-R", "cat /etc/hostname", str(root_img)],
                          capture_output=True, text=True, check=True).stdout
    assert text == "callbox\n"
    link = subprocess.run([debugfs, "-R", "stat /usr/bin/alias", str(root_img)],
                          capture_output=True, text=True, check=True).stdout
    assert 'Fast link dest: "tool"' in link
    for path in ("/usr/bin/tool", "/etc", "/"):
        stat = subprocess.run([debugfs, "-R", f"stat {path}", str(root_img)],
                              capture_output=True, text=True, check=True).stdout
        times = [line.split("--")[0].split(":", 1)[1].strip() for line in stat.splitlines()
                 if line.split(":")[0].strip() in ("ctime", "atime", "mtime")]
        assert len(times) == 3
        assert all(int(t.split(":")[0], 16) == EPOCH for t in times), (path, times)


def test_boot_partition_holds_the_boot_tree(disk: Path) -> None:
    out = subprocess.run([require_tool("mtype"), "-i", f"{disk}@@{4 * MIB}", "::/config.txt"],
                         capture_output=True, text=True, check=True).stdout
    assert out == "arm_64bit=1\n"


def test_two_runs_give_the_same_bytes(disk: Path, tmp_path: Path) -> None:
    root, boot = make_tree(tmp_path)
    again = tmp_path / "again.img"
    run_make_disk(root, boot, tmp_path / "work", again)
    assert sha256(again) == sha256(disk)
