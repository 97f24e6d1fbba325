import os

import pytest

from convcli import EnvironmentProblem
from convcli.files import atomic_write, check_writable


def test_atomic_write_replaces_whole(tmp_path):
    target = tmp_path / "sub" / "r.xml"
    atomic_write(str(target), lambda f: f.write(b"new"), "--junit")
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode
    assert [p.name for p in target.parent.iterdir()] == ["r.xml"]


def test_failure_mid_write_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "y.npy"
    target.write_bytes(b"old")

    def half(f):
        f.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(str(target), half, "--save")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["y.npy"]


def test_os_error_becomes_environment_problem(tmp_path):
    def full(f):
        raise OSError(28, "No space left on device")

    with pytest.raises(EnvironmentProblem, match=r"--save: cannot write .*No space left on "
                                                 r"device.*nothing was written"):
        atomic_write(str(tmp_path / "y.npy"), full, "--save")
    assert os.listdir(tmp_path) == []


def test_check_writable_refuses_unwritable_place():
    with pytest.raises(EnvironmentProblem, match="--junit: cannot write '/proc/x/r.xml'"):
        check_writable("/proc/x/r.xml", "--junit")
