"""One strict JSON object on stdout, without rich: `--json` never imports it (rich costs
several times `python -c pass` at start-up)."""

from __future__ import annotations

import sys

JSON_VERSION = 3


def strict(value):
    """JSON has no NaN or Infinity: non-finite floats become null, at any depth."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) \
            else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def write_json(data: dict, stderr: bool = False) -> None:
    """One strict JSON object on stdout (no NaN/Infinity tokens); on stderr when
    asked (stdout carries a file: ``--png -``)."""
    import json     # here: the tables' path has no use for it

    text = json.dumps(strict(data), indent=2, allow_nan=False) + "\n"
    # in pieces: one huge write to a pipe whose reader has gone can come back as a
    # partial success, with no BrokenPipeError to say the rest was lost
    stream = sys.stderr if stderr else sys.stdout
    for i in range(0, len(text), 1 << 16):
        stream.write(text[i:i + (1 << 16)])
        stream.flush()

