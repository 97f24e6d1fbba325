"""Output targets that are not regular files (issue 25): a character or block device,
a FIFO, a socket, /dev/stdout and `-` are written into, never replaced, also through
a symbolic link; regular files keep the atomic replace. In-process for the writer
(files.py), as real processes for the commands that write files."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading

import pytest

from conftest import ROOT
from convcli.files import atomic_write, check_writable, is_stream


def _reader(path: str, into: list[bytes]) -> threading.Thread:
    def read():
        with open(path, "rb") as f:
            into.append(f.read())
    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def test_a_fifo_is_written_into(tmp_path):
    fifo = str(tmp_path / "r.xml")
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _reader(fifo, got)
    check_writable(fifo, "--junit")     # checked, not opened: no reader is consumed
    atomic_write(fifo, lambda f: f.write(b"<xml/>"), "--junit")
    t.join(30)
    assert got == [b"<xml/>"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["r.xml"]


def test_a_link_to_a_fifo_is_followed_to_decide(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "r.xml"
    link.symlink_to(fifo)
    got: list[bytes] = []
    t = _reader(str(fifo), got)
    atomic_write(str(link), lambda f: f.write(b"through"), "--junit")
    t.join(30)
    assert got == [b"through"] and link.is_symlink() and stat.S_ISFIFO(os.stat(fifo).st_mode)


def _null_device(path) -> bool:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))     # /dev/null's numbers
        return True
    except (PermissionError, OSError):
        return False


@pytest.mark.parametrize("through_link", [False, True])
def test_a_character_device_is_written_into_not_replaced(tmp_path, through_link):
    dev = tmp_path / "null"
    if not _null_device(dev):
        pytest.skip("making a device node needs CAP_MKNOD")
    target = tmp_path / "r.xml"
    if through_link:
        target.symlink_to(dev)
    else:
        target = dev
    atomic_write(str(target), lambda f: f.write(b"gone"), "--junit")
    assert stat.S_ISCHR(os.stat(dev).st_mode)
    assert sorted(os.listdir(tmp_path)) == sorted({"null", target.name})


def test_a_socket_is_connected_and_written_into(tmp_path):
    path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    got: list[bytes] = []

    def serve():
        conn, _ = server.accept()
        with conn:
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            got.append(data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        atomic_write(path, lambda f: f.write(b"over the socket"), "--junit")
        t.join(30)
    finally:
        server.close()
    assert got == [b"over the socket"] and stat.S_ISSOCK(os.stat(path).st_mode)


def test_regular_files_and_new_names_keep_the_atomic_replace(tmp_path):
    assert not is_stream(str(tmp_path / "new.xml"))
    (tmp_path / "old.xml").write_bytes(b"x")
    assert not is_stream(str(tmp_path / "old.xml"))
    assert is_stream("-") and is_stream("/dev/null") and is_stream("/dev/stdout")
    assert not is_stream("/proc/no/such/file")


def _process(*argv, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "convcli", *argv], env=env, timeout=240,
                          **kwargs)


SHOW = ["show", "1x1x6x6", "-o", "1", "-k", "3"]


@pytest.mark.parametrize("option, magic", [("--png", b"\x89PNG"), ("--svg", b"<?xml")])
def test_a_picture_to_dash_goes_to_stdout_alone(tmp_path, option, magic):
    pytest.importorskip("matplotlib")
    r = _process(*SHOW, option, "-", cwd=tmp_path, capture_output=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(magic)
    assert b"Conv2d(1, 1, 3)" in r.stderr        # the table went to stderr
    assert os.listdir(tmp_path) == []            # no file named '-'


def test_junit_to_dash_and_to_dev_stdout_in_a_pipe(tmp_path):
    pytest.importorskip("torch")
    for target in ("-", "/dev/stdout"):
        r = _process("verify", "-i", "4", "-o", "4", "-k", "1", "--input", "1x4x8x8",
                     "--junit", target, cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("<?xml") and r.stdout.rstrip().endswith("</testsuites>")
        assert os.listdir(tmp_path) == []


def test_junit_into_a_device_node_keeps_the_node(tmp_path):
    pytest.importorskip("torch")
    dev = tmp_path / "null"
    if not _null_device(dev):
        pytest.skip("making a device node needs CAP_MKNOD")
    link = tmp_path / "report.xml"
    link.symlink_to(dev)
    r = _process("verify", "-i", "4", "-o", "4", "-k", "1", "--input", "1x4x8x8", "--junit",
                 str(link), cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISCHR(os.stat(dev).st_mode) and link.is_symlink()
