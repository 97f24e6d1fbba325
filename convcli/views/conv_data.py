"""`shape` and `params` as --json dicts: the counts of one conv, the formula per dim,
the groups comparison. No rich here: the `--json` path never imports it."""

from __future__ import annotations

from convcli.calculator.costs import CONVENTION, ConvCounts
from convcli.calculator.groups import GroupsRow, layout_summary
from convcli.calculator.interpret import Interpretation
from convcli.views.jsonout import JSON_VERSION

# groups listed in full up to these counts; beyond, the first and last few and a count
JSON_GROUPS = (32, 32)


def counts_dict(c: ConvCounts, reading: Interpretation | None = None) -> dict:
    spec = c.spec
    layout, omitted = layout_summary(spec, *JSON_GROUPS) if spec.groups > 1 else ([], 0)
    return {
        "version": JSON_VERSION,
        "layer": spec.torch_repr(),
        "conv": spec.as_dict(),
        "batched": None if c.input_shape is None else len(c.input_shape) == spec.dims + 2,
        "input_shape": None if c.input_shape is None else list(c.input_shape),
        "output_shape": None if c.output_shape is None else list(c.output_shape),
        "weight_shape": list(spec.weight_shape),
        "bias_shape": None if spec.bias_shape is None else list(spec.bias_shape),
        "params": spec.num_params,
        "weight_params": spec.num_weight,
        "bias_params": spec.num_params - spec.num_weight,
        "macs": c.macs,
        "flops": c.flops,
        "bias_adds": c.bias_adds,
        "dtype": c.dtype,
        "bytes": c.bytes.as_dict(),
        "groups_layout": [g.as_dict() for g in layout],
        "groups_layout_omitted": omitted,
        "interpretation": None if reading is None else reading.as_dict(spec.transposed),
        "notes": notes(c, reading),
        "counting": CONVENTION,
    }


def notes(c: ConvCounts, reading: Interpretation | None) -> list[str]:
    """How INPUT was read (when the rank alone decided between readings), then what
    torch does differently for this input."""
    first = None if reading is None else reading.note(c.spec.transposed)
    return ([first] if first else []) + list(c.notes)


def explain_dicts(explanation) -> list[dict]:
    """`--json`'s `explain`: one object per spatial dim."""
    return [{"dim": e.dim, "size_in": e.size_in, "size_out": e.size_out, "formula": e.formula,
             "padding": [e.pad_left, e.pad_right], "note": e.note} for e in explanation]


def groups_rows_dict(rows: list[GroupsRow]) -> list[dict]:
    base = rows[0]
    return [{"label": r.label, "groups": r.groups, "params": r.params, "macs": r.macs,
             "saving": round(r.saving(base), 6), "saved_params": r.saved(base),
             "yours": r.yours, "note": r.note,
             "layer": None if r.spec is None else r.spec.torch_repr()}
            for r in rows if not r.omitted]


def compare_groups_omitted(rows: list[GroupsRow]) -> int:
    """How many valid groups values --compare-groups left out (listed: the smallest,
    the largest and the user's own)."""
    return sum(r.omitted for r in rows)
