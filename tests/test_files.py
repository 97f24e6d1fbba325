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


def test_check_writable_creates_no_folder(tmp_path):
    """--junit newdir/r.xml: the folder appears only when the report is written."""
    check_writable(str(tmp_path / "new" / "deeper" / "r.xml"), "--junit")
    assert os.listdir(tmp_path) == []


def test_check_writable_refuses_a_file_on_the_way(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(EnvironmentProblem, match="Not a directory"):
        check_writable(str(tmp_path / "plain" / "r.xml"), "--junit")


def test_a_symlink_target_is_written_through(tmp_path):
    real = tmp_path / "real" / "y.npy"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.npy"
    link.symlink_to(real)
    atomic_write(str(link), lambda f: f.write(b"new"), "--save")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"
    assert sorted(os.listdir(real.parent)) == ["y.npy"]


def test_sigterm_while_writing_leaves_no_temp_file(tmp_path):
    import signal

    from convcli.errors import Terminated
    from convcli.process import install_signal_handlers

    before = signal.getsignal(signal.SIGTERM)
    install_signal_handlers()
    try:
        def killed(f):
            f.write(b"partial")
            os.kill(os.getpid(), signal.SIGTERM)
            f.write(b"never")

        with pytest.raises(Terminated):
            atomic_write(str(tmp_path / "y.npy"), killed, "--save")
    finally:
        signal.signal(signal.SIGTERM, before)
    assert os.listdir(tmp_path) == []


def test_signals_wait_for_the_end_of_a_deferred_section():
    import signal

    from convcli.process import signals_deferred

    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("the section finished")
    assert done == ["the section finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
