"""engine/summary/messages.py: when the user's forward() fails, one line says where
(the module and its input, or a block's own code and what ran before) and what torch
said, with the in_features a Linear needs; all on torch's own errors from real
forwards recorded by dispatch.Recorder."""

from __future__ import annotations

import pytest

from convcli.engine.summary.dispatch import Recorder, counted_forward
from convcli.engine.summary.messages import (failure, first_line_of, is_user_error,
                                             meta_failure, user_line)
from convcli.errors import ConvError

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


def failed(model, shape):
    rec = Recorder(model)
    try:
        counted_forward(model, (torch.zeros(shape),), {}, rec)
    except Exception as e:  # noqa: BLE001 - what torch raised
        return e, rec
    raise AssertionError("the forward ran")


class Flat(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        y = self.conv(x)
        return self.fc(y.view(y.shape[0], 10))


def test_a_linear_with_the_wrong_in_features_gets_the_fix():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(100, 2))
    e, rec = failed(model, (2, 3, 8, 8))
    features = model[1](model[0](torch.zeros(2, 3, 8, 8))).shape[-1]   # what torch feeds it
    line = failure(e, rec)
    assert line.startswith(f"the forward pass failed in module '2' Linear(100, 2) on input "
                           f"[2, {features}]: RuntimeError: ")
    assert line.endswith(f"; it receives {features} features: use nn.Linear({features}, 2)")
    assert "\n" not in line
    assert is_user_error(e)


def test_a_blocks_own_code_names_what_ran_before_and_the_per_sample_size():
    e, rec = failed(Flat(), (2, 3, 6, 6))
    out = Flat().conv(torch.zeros(2, 3, 6, 6)).shape
    line = failure(e, rec)
    assert line.startswith("the forward pass failed in the model's own code (Flat.forward, "
                           f"outside any submodule), after conv (Conv2d, output {list(out)}): ")
    n = out[1] * out[2] * out[3]
    assert line.endswith(f"; per sample that output has {n:,} values "
                         f"({out[1]} * {out[2]} * {out[3]}), the in_features a Linear after a "
                         "flatten needs")


def test_before_any_submodule_and_without_a_recorder():
    class Early(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            raise ValueError("bad input")
    e, rec = failed(Early(), (1, 2))
    assert "before any submodule ran (input [1, 2]): ValueError: bad input" in failure(e, rec)
    assert failure(ValueError("x"), None) == "the forward pass failed: ValueError: x"


def test_meta_failure_names_module_op_and_the_users_line():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2))
    e, rec = failed(model, (1, 3))
    line = meta_failure(e, rec)
    assert line.startswith("in module '1' (Linear) at op aten::")
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in line
    e2, rec2 = failed(Flat(), (2, 3, 6, 6))
    assert meta_failure(e2, rec2).startswith(
        "at op aten::view at test_summary_messages.py:")       # the user's line, no module
    assert "in forward (return self.fc(y.view(y.shape[0], 10))): RuntimeError: shape " \
           "'[2, 10]' is invalid for input of size 128" in meta_failure(e2, rec2)


def test_a_wrapped_constructor_error_is_unwrapped():
    try:
        try:
            raise KeyError("depth")
        except KeyError:
            raise ConvError("building the model failed") from None
    except ConvError as wrapped:
        wrapped.__context__ = KeyError("depth")
        assert meta_failure(wrapped, None) == "KeyError: 'depth'"


def test_first_line_cuts_long_text_and_addresses():
    e = RuntimeError("Something broke in the kernel dispatch table. Then many more words "
                     "follow here <built-in method empty_like of type object at 0x7f00deadbeef>")
    assert first_line_of(e) == "RuntimeError: Something broke in the kernel dispatch table"
    short = first_line_of(RuntimeError("x. y at 0xABC"))
    assert short == "RuntimeError: x. y"
    assert len(first_line_of(RuntimeError("w" * 500))) <= len("RuntimeError: ") + 160


def test_user_line_is_empty_when_every_frame_is_library_code():
    assert user_line(ValueError("no traceback")) == ""


def test_is_user_error_only_for_shape_errors():
    assert is_user_error(RuntimeError("The size of tensor a (3) must match the size of "
                                      "tensor b (4)"))
    assert not is_user_error(RuntimeError("could not allocate"))
    assert not is_user_error(ValueError("cannot be multiplied"))       # not torch's type
