"""Keeping the user's code off convcli's stdout.

``user_code()`` is the context in which summary runs the user's file, constructor and
forward(): everything written to standard output, by ``print`` (sys.stdout) or by
``os.write(1, ...)`` and C code (file descriptor 1), goes to stderr, so that stdout
carries only the table or the one JSON object; and ``os._exit`` raises a ConvError
instead of ending the process with no output.
"""

from __future__ import annotations

import contextlib
import os
import sys

from convcli.errors import ConvError


@contextlib.contextmanager
def user_code():
    with _fd1_to_stderr(), contextlib.redirect_stdout(sys.stderr), _no_os_exit():
        yield


@contextlib.contextmanager
def _fd1_to_stderr():
    try:
        sys.stdout.flush()
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no descriptor 1 to protect
        yield
        return
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(saved)
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if sys.__stdout__ is not None:
                sys.__stdout__.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def _no_os_exit():
    real = os._exit

    def refuse(code=0):
        raise ConvError(f"the model's code called os._exit({code}); convcli cannot give a "
                        "summary of a model that ends the process")

    os._exit = refuse
    try:
        yield
    finally:
        os._exit = real
