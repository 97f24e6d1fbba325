"""engine/summary/isolation.py: inside user_code() the user's prints and writes to
file descriptor 1 go to stderr, os._exit raises a ConvError; afterwards stdout and
os._exit are what they were, also after an exception."""

from __future__ import annotations

import os
import sys

import pytest

from convcli.engine.summary.isolation import user_code
from convcli.errors import ConvError


def test_print_and_descriptor_1_go_to_stderr(capfd):
    with user_code():
        print("from print")
        os.write(1, b"from fd 1\n")
        sys.stdout.write("from sys.stdout\n")
    print("after")
    out, err = capfd.readouterr()
    assert out == "after\n"
    assert "from print\n" in err and "from fd 1\n" in err and "from sys.stdout\n" in err


def test_os_exit_is_refused_and_restored():
    real = os._exit
    with user_code():
        with pytest.raises(ConvError, match=r"called os\._exit\(3\); convcli cannot give a "
                                            "summary of a model that ends the process"):
            os._exit(3)
    assert os._exit is real


def test_an_exception_inside_restores_everything(capfd):
    real, stdout = os._exit, sys.stdout
    with pytest.raises(ValueError):
        with user_code():
            raise ValueError("the model failed")
    assert os._exit is real and sys.stdout is stdout
    os.write(1, b"back on stdout\n")
    out, _ = capfd.readouterr()
    assert out == "back on stdout\n"


def test_without_a_descriptor_1_it_still_runs(monkeypatch):
    def no_dup(fd):
        raise OSError("bad file descriptor")
    monkeypatch.setattr(os, "dup", no_dup)
    with user_code():
        with pytest.raises(ConvError):
            os._exit(0)
