"""Which names of the option table (option_table.py) each command takes, and what
differs per command: the help's wording (the meaning stays the table's), a default,
whether it is required, the panel, and the old spellings still accepted for one
version (each says so on stderr; CHANGELOG.md lists them). Standard library only.
"""

from __future__ import annotations

from typing import Any

from convcli.cli.option_table import BUDGETS_PANEL, FIELD_PANEL, TRAIN_PANEL

_SAME: Any = object()     # the table's default


class Use:
    """One name on one command (plain classes: the fast path imports this module)."""

    __slots__ = ("help", "default", "required", "old", "parser", "metavar", "panel")

    def __init__(self, help: str | None = None, default: Any = _SAME, required: bool = False,
                 old: tuple[str, ...] = (), parser: str | None = None,
                 metavar: str | None = None, panel: str | None = None):
        self.help, self.default, self.required, self.old = help, default, required, old
        self.parser, self.metavar, self.panel = parser, metavar, panel


class Conv:
    """The conv options a command offers (conv_options() reads this): ``required``: -o
    and -k have no default; ``exclude``: not offered; other ``defaults`` and ``help``;
    ``code``: the conv as torch constructor text too (the CONV argument)."""

    __slots__ = ("required", "exclude", "defaults", "help", "code")

    def __init__(self, required: bool = True, exclude: tuple[str, ...] = (),
                 defaults: dict[str, Any] | None = None, help: dict[str, str] | None = None,
                 code: bool = True):
        self.required, self.exclude = required, exclude
        self.defaults, self.help, self.code = defaults or {}, help or {}, code


class Command:
    """``panel``: where options without their own go; ``conv``: the conv options or
    None; ``uses``: name -> Use, in --help order."""

    __slots__ = ("panel", "conv", "uses")

    def __init__(self, panel: str | None, conv: Conv | None, uses: dict[str, Use]):
        self.panel, self.conv, self.uses = panel, conv, uses


BYTES_DTYPE = ("Element type the byte counts assume: float32 (4 bytes), float64, float16 "
               "or bfloat16.")
_FROM_INPUT = "Input channels (default: read from INPUT; required without it)."
_CHANNELS_ONLY = "Channels, only to fill in the printed layers."
_SHAPE_AS_INPUT = "Input shape, e.g. 1x16x8x8 (N may be left out)"
_FIELD_AT = Use("Output position of --field's row: one index per spatial dim, as 3 or 3,4 "
                "(default: the centre); the same as ROW@POS.", panel=FIELD_PANEL)
_FIELD_PNG = Use("Also draw --field's picture to a PNG (default row: the last with a "
                 "field; needs matplotlib).", panel=FIELD_PANEL)
_FIELD_SVG = Use("Also draw --field's picture to an SVG (default row: the last with a "
                 "field; needs matplotlib).", panel=FIELD_PANEL)

# net's, summary's and diff's CI budgets (cli/budget_options.py checks them and ends the
# command)
_BUDGETS = {"max_params": Use(), "max_macs": Use(), "max_activations": Use(),
            "max_train_memory": Use()}
_ENDING = {"format": Use(), "junit": Use("Also write a JUnit XML report with one test per "
                                         "budget.", panel=BUDGETS_PANEL)}
_CPU_MODEL_MEMORY = Use("For a model that must run for real on the CPU (data-dependent "
                        "forward): refuse if its tensors would pass this (8GiB, 50%). "
                        "Default: 75% of the available RAM.")

COMMANDS: dict[str, Command] = {
    "shape": Command(None, Conv(), {
        "input": Use(required=True), "dtype": Use(BYTES_DTYPE), "explain": Use(),
        "json": Use(), "padding_from": Use(), "sweep": Use()}),
    "params": Command(None, Conv(help={"in_channels": _FROM_INPUT}), {
        "input": Use(_SHAPE_AS_INPUT + ", to add the output shape, MACs/FLOPs and bytes.",
                     old=("--input",)),
        "compare_groups": Use(), "dtype": Use(BYTES_DTYPE), "json": Use(),
        "conventions": Use(), "sweep": Use()}),
    "show": Command(None, Conv(exclude=("bias", "padding_mode"),
                               help={"in_channels": _FROM_INPUT}), {
        "input": Use("Input shape, e.g. 1x16x8x8 (without it: the channel map only, and "
                     "--in-channels is needed)."),
        "along": Use(old=("--dim",)), "at": Use(), "channel": Use(), "png": Use(),
        "svg": Use(), "json": Use()}),
    "solve": Command(None, Conv(required=False, code=False, exclude=("groups", "bias", "padding_mode",
                                                          "output_padding"),
                                defaults={"stride": None, "padding": None, "dilation": None},
                                help={"in_channels": _CHANNELS_ONLY,
                                      "out_channels": _CHANNELS_ONLY}), {
        "input_size": Use(required=True, old=("--input",)),
        "output_size": Use(old=("--output",)), "max_kernel": Use(), "max_stride": Use(),
        "max_dilation": Use(), "max_padding": Use(), "limit": Use(), "json": Use()}),
    "net": Command(None, None, {
        "input": Use("Input shape of the first layer, e.g. 1x3x32x32.", required=True),
        "layers": Use(), "file": Use(), "set_": Use(), "train": Use(), "optimizer": Use(),
        "rf": Use(), "field": Use(), "at": _FIELD_AT, "png": _FIELD_PNG, "svg": _FIELD_SVG,
        **_BUDGETS, **_ENDING, "dtype": Use(BYTES_DTYPE), "json": Use()}),
    "summary": Command(None, None, {
        "model": Use(required=True),
        "inputs": Use(required=True),
        "args": Use(),
        "set_": Use("Constructor keyword arguments as NAME=VALUE separated by commas (Python "
                    "literals), as for net: --set num_classes=10 (with --args, they add to "
                    "its keywords)."),
        "depth": Use(), "rf": Use(), "field": Use(), "at": _FIELD_AT, "png": _FIELD_PNG,
        "svg": _FIELD_SVG,
        "train": Use(), "freeze": Use(), "unfreeze": Use(), "optimizer": Use(), "amp": Use(),
        "budget": Use(), "measure": Use(),
        "device": Use("Where --measure runs its step: auto (cuda if available), cpu, cuda or "
                      "cuda:N.", panel=TRAIN_PANEL),
        "gpus": Use(), "strategy": Use(), "shard_unit": Use(), "checkpoint": Use(),
        "offload": Use(),
        "max_memory": _CPU_MODEL_MEMORY,
        **_BUDGETS, **_ENDING, "dtype": Use(BYTES_DTYPE), "json": Use()}),
    "run": Command("Run", Conv(), {
        "input": Use("Input shape (4x3x64x64; random normal under --seed) or a .npy file (- "
                     "reads standard input).", required=True),
        "weight_file": Use(), "bias_file": Use(), "seed": Use(), "device": Use(),
        "dtype": Use("Element type of the run: float32, float64, float16 or bfloat16 "
                     "(default: the INPUT .npy's, else float32); with --tune a comma list "
                     "of those to try, as float32,bfloat16.", default=None, parser="dtypes"),
        "channels_last": Use(), "repeat": Use(), "warmup": Use(), "save": Use(),
        "max_memory": Use(), "threads": Use(), "tune": Use(),
        "sweep": Use("Run several values at once: k=3,5,7 (one value per dim with x: "
                     "k=3x3,5x5); repeat for every combination. One timed run each, at most "
                     "100; not with --tune, --save or what --weight-file fixes."),
        "json": Use()}),
    "verify": Command("Verification", Conv(required=False, help={"in_channels": _FROM_INPUT}), {
        "input": Use("Input shape for one configuration (default 2 x C_in x 12 per dim, or "
                     "larger for wide kernels).", old=("--input",)),
        "cases": Use(),
        "seed": Use("Seed for the random configurations and tensors."),
        "device": Use("Where torch runs the convolutions: auto (cuda if available), cpu, "
                      "cuda or cuda:N; the numpy reference runs on the CPU."),
        "dtype": Use("Element type torch computes in: float32, float64, float16 or bfloat16; "
                     "the float64 reference allows its tolerance."),
        "atol": Use(), "rtol": Use(), "fail_fast": Use(), "junit": Use(),
        "max_memory": Use("Refuse one configuration estimated above this, as run does: "
                          "8GiB, 512M, 50% (of free memory). Default: 75% of available "
                          "RAM."),
        "json": Use()}),
    "apply": Command("Values", Conv(required=False, help={
        "out_channels": "Output channels (default 1; a whole-weight literal sets it).",
        "kernel_size": "Kernel size (default 3; a --weight literal sets it)."}), {
        "input": Use("A shape (1x1x8x8) filled by --pattern or seeded random values, an "
                     "image (PNG, JPEG) or a .npy file; - reads any of them from standard "
                     "input.", required=True),
        "weight": Use(old=("--kernel",)), "init": Use(), "bias_value": Use(), "pattern": Use(),
        "gray": Use(), "resize": Use(),
        "seed": Use("Seed of the random input and the default init."),
        "dtype": Use("Element type torch computes in: float32 or float64."),
        "values": Use(), "dot": Use(),
        "at": Use("The output position for --dot, one index per spatial dim as 3 or 3,4 "
                  "(default: the middle)."),
        "channel": Use("The output channel for --dot (default 0)."),
        "png": Use("Draw input, kernel and output side by side per channel (up to 8; needs "
                   "matplotlib: pip install 'convcli\\[plot]')."),
        "svg": Use("Draw the same picture to an SVG (needs matplotlib, as --png)."),
        "max_memory": Use("Refuse inputs estimated above this, as 8GiB or 50% (default: 75% "
                          "of available RAM)."),
        "json": Use()}),
    "diff": Command(None, None, {
        "base": Use(required=True), "head": Use(required=True),
        "inputs": Use("For a model on either side: what forward() receives, as in summary."),
        "args": Use("For a model: constructor arguments as a Python literal, as in summary."),
        "depth": Use(), "train": Use(), "optimizer": Use(), "amp": Use(),
        "max_memory": _CPU_MODEL_MEMORY, **_BUDGETS,
        "max_params_increase": Use(), "max_macs_increase": Use(),
        "max_activations_increase": Use(), "max_train_memory_increase": Use(),
        **_ENDING, "dtype": Use(BYTES_DTYPE), "json": Use()}),
}


def default_of(command: str, name: str) -> Any:
    """The default of ``name`` on ``command``: the per-command one, else the table's."""
    from convcli.cli.option_table import OPTIONS

    use = COMMANDS[command].uses.get(name, Use())
    return OPTIONS[name].default if use.default is _SAME else use.default
