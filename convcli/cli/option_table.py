"""Every option and argument of every command, once: ``OPTIONS`` (name -> OptionDef:
its flags, its one meaning, type, choices, parser, default and help) and ``COMMANDS``
(command -> the names it takes, with per-command help, defaults and the spellings it
still accepts for one version). A name means one thing on every command that has it.

Typer's options (options.py), the fast path (fast_path.py), value completion and
docs/options.md (option_docs.py) are all built from this table; option_values.py
applies the parsers, so a word such as ``--dtype half`` is read in one place. Pure
data and the standard library: the fast path imports it before anything else.
"""

from __future__ import annotations

from typing import Any

CONV_PANEL = "Convolution"
TRAIN_PANEL = "Training memory (--train)"
FIELD_PANEL = "Receptive field (--rf, --field)"
BUDGETS_PANEL = "Budgets (CI)"
DIST_PANEL = "Several GPUs (--gpus, --strategy)"
MAIN = ""           # panel: Typer's first one (Options), whatever the command's panel


class OptionDef:
    """One name: ``decls`` as Typer takes them (``--bias/--no-bias`` for a flag pair),
    ``kind`` one of argument, text, flag, multiple; ``parser`` a name in
    option_values.PARSERS (None: the text as typed); ``choices`` what the shell
    completes (and, where ``parser`` is 'choice', all that is accepted). A plain class:
    a NamedTuple costs the fast path a millisecond to define."""

    __slots__ = ("name", "decls", "meaning", "help", "metavar", "kind", "default", "parser",
                 "choices", "panel")

    def __init__(self, name: str, decls: tuple[str, ...], meaning: str, help: str,
                 metavar: str | None = None, kind: str = "text", default: Any = None,
                 parser: str | None = None, choices: tuple[str, ...] = (),
                 panel: str | None = None):
        self.name, self.decls, self.meaning, self.help = name, decls, meaning, help
        self.metavar, self.kind, self.default, self.parser = metavar, kind, default, parser
        self.choices, self.panel = choices, panel


DTYPES = ("float32", "float64", "float16", "bfloat16")
DEVICES = ("auto", "cpu", "cuda", "cuda:0", "cuda:1")
_SIZE_FORMS = "8GiB, 512M, 50% (of free memory)"


def _d(name: str, decls: tuple[str, ...] | str, meaning: str, help: str,
       metavar: str | None = None, **kw) -> OptionDef:
    return OptionDef(name, (decls,) if isinstance(decls, str) else decls, meaning, help,
                     metavar, **kw)


_DEFS = [
    # ---- the conv layer (ConvArgs; conv_args.py) ----------------------------------
    _d("out_channels", ("--out-channels", "-o"), "output channels of the conv",
       "Output channels.", "INT", panel=CONV_PANEL),
    _d("kernel_size", ("--kernel-size", "-k"), "kernel size per spatial dim",
       "Kernel size: 3, or one per spatial dim as 3,5 or 3x5.", "INT", panel=CONV_PANEL),
    _d("in_channels", ("--in-channels", "-i"), "input channels of the conv",
       "Input channels (default: read from INPUT; if given it must match, and it picks the "
       "reading where INPUT's rank allows two).", "INT", panel=CONV_PANEL),
    _d("stride", ("--stride", "-s"), "stride per spatial dim",
       "Stride (one per dim as for -k).", "INT", default="1", panel=CONV_PANEL),
    _d("padding", ("--padding", "-p"), "padding per side, or same/valid",
       "Padding per side: 1, one per dim as 1,2, same (stride 1 only) or valid (= 0).",
       "PAD", default="0", choices=("same", "valid"), panel=CONV_PANEL),
    _d("dilation", ("--dilation", "-d"), "dilation per spatial dim",
       "Dilation (one per dim as for -k).", "INT", default="1", panel=CONV_PANEL),
    _d("groups", ("--groups", "-g"), "groups of the conv",
       "Groups: must divide both channel counts; groups = in_channels is depthwise.", "INT",
       default="1", panel=CONV_PANEL),
    _d("bias", "--bias/--no-bias", "whether the conv has a bias",
       "Learnable bias (torch's default: on).", kind="flag", default=True, panel=CONV_PANEL),
    _d("padding_mode", "--padding-mode", "how the conv fills its padding",
       "How padding is filled: zeros, reflect, replicate or circular (transposed convs: "
       "zeros only).", "STR", default="zeros", parser="choice",
       choices=("zeros", "reflect", "replicate", "circular"), panel=CONV_PANEL),
    _d("transposed", ("--transposed", "-t"), "ConvTranspose instead of Conv",
       "ConvTranspose instead of Conv.", kind="flag", default=False, panel=CONV_PANEL),
    _d("output_padding", "--output-padding", "a transposed conv's extra output size",
       "Extra size on one side of a transposed conv's output (< stride or dilation; one per "
       "dim as for -k).", "INT", default="0", panel=CONV_PANEL),
    _d("dims", "--dims", "number of spatial dims of the conv (1 to 3)",
       "Spatial dims, 1 to 3 (default: a tuple option's length, else an -i that fits only "
       "one reading of INPUT, else 2 when INPUT's rank allows it: 3 is C,H,W, 4 is "
       "N,C,H,W).", "N", choices=("1", "2", "3"), panel=CONV_PANEL),
    # ---- positionals ----------------------------------------------------------------
    _d("input", "INPUT", "the input tensor: its shape (N may be left out), or a file",
       "Input shape: 4x3x64x64, 4,3,64,64 or '(4, 3, 64, 64)'; N may be left out "
       "(unbatched).", kind="argument"),
    _d("code", "CONV", "the conv as torch constructor text",
       "The conv as torch code, e.g. \"Conv2d(16, 32, 3, stride=2, padding=1)\" (nn. or "
       "torch.nn. optional; print(model)'s form too); options given beside it must agree.",
       kind="argument"),
    _d("layers", "LAYERS", "the layers of net, as text",
       "torch layer constructors separated by commas or newlines, as in an nn.Sequential: "
       "\"Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)\"; or what print(model) shows "
       "for an nn.Sequential. nn. and torch.nn. prefixes, comments and arithmetic "
       "(64 * 4 * 4) are fine; nothing is executed.", kind="argument"),
    _d("model", "MODEL", "the nn.Module summary runs",
       "FILE.py:NAME (NAME an nn.Module class, a function returning a module, or a "
       "module-level instance such as model = resnet18(); it may be left out when the file "
       "holds one), or package.module:NAME (torchvision.models:resnet50). The file is RUN, "
       "as `python FILE.py` would run it.", kind="argument"),
    # ---- what every command may share ----------------------------------------------
    _d("dtype", "--dtype", "element type of the tensors",
       "Element type of the tensors, which the byte counts assume: float32 (4 bytes), "
       "float64, float16 or bfloat16.", "DTYPE", default="float32", parser="dtype",
       choices=DTYPES, panel=MAIN),
    _d("sweep", "--sweep", "several values of conv options at once, one row each",
       "Ask for several values at once: k=3,5,7 (one value per dim with x: k=3x3,5x5); "
       "repeat for every combination. One row each.", "SWEEP", kind="multiple"),
    _d("json", "--json", "one JSON object on stdout",
       "One JSON object on stdout (docs/json.md).", kind="flag", default=False, panel=MAIN),
    _d("device", "--device", "where torch runs",
       "Where to run: auto (cuda if available), cpu, cuda or cuda:N.", "DEVICE",
       default="auto", parser="device", choices=DEVICES),
    _d("seed", "--seed", "seed of the random values",
       "Seed for the random input and the default init.", "INT", default="0", parser="int"),
    _d("max_memory", "--max-memory", "the memory budget of a real run",
       f"Refuse runs estimated above this: {_SIZE_FORMS}. Default: 75% of available RAM, "
       "90% of free GPU memory.", "SIZE", parser="size"),
    _d("at", "--at", "an output position, one index per spatial dim",
       "Output position for the receptive field: one index per spatial dim, as 3 or 3,4 "
       "(default: the middle).", "INDEX", parser="ints"),
    _d("channel", "--channel", "an output channel",
       "Output channel for the receptive field (default 0).", "INT", parser="int"),
    _d("png", "--png", "a PNG file to draw the picture to",
       "Also draw it to a PNG (needs matplotlib, from the plot extra: pip install "
       "'convcli\\[plot]').", "FILE", parser="file"),
    _d("svg", "--svg", "an SVG file to draw the picture to",
       "Also draw it to an SVG (needs matplotlib, as --png).", "FILE", parser="file"),
    # ---- shape and params -------------------------------------------------------------
    _d("explain", ("--explain", "-e"), "the formula per spatial dim",
       "Show the formula per spatial dim with the numbers in.", kind="flag", default=False),
    _d("padding_from", "--padding-from", "the framework whose padding word --padding is",
       "tf, keras or onnx: read --padding as that framework's word (tf and keras: SAME or "
       "VALID; keras: causal; onnx: SAME_UPPER, SAME_LOWER or VALID) and print the explicit "
       "padding and the PyTorch code (F.pad + conv) that reproduce it.", "NAME",
       parser="choice", choices=("tf", "keras", "onnx")),
    _d("compare_groups", "--compare-groups", "one row per valid groups value",
       "One row per valid groups value, plus depthwise and depthwise-separable.",
       kind="flag", default=False),
    _d("conventions", "--conventions", "what other counting tools report",
       "What other counting tools would report for this layer (needs INPUT): torch's "
       "flop_counter, fvcore, ptflops, thop, ultralytics-thop, torchinfo, calflops "
       "(DeepSpeed), torchscan and torchprofile.", kind="flag", default=False),
    # ---- show and solve ---------------------------------------------------------------
    _d("along", "--along", "the spatial dim the window slides along",
       "Spatial dim the window slides along (default: the last, W).", "INT", parser="int"),
    _d("input_size", "--input-size", "spatial input size(s), no batch or channel dims",
       "Spatial input size(s): 32, or one per dim as 32x24 (no batch or channel dims).",
       "SIZES", parser="ints"),
    _d("output_size", "--output-size", "wanted spatial output size(s)",
       "Wanted spatial output size(s): 16 or 16x12. Leave out with --transposed and -k to "
       "get the decoder of that conv.", "SIZES", parser="ints"),
    _d("max_kernel", "--max-kernel", "the largest kernel size solve tries",
       "Largest kernel size to try.", "INT", default="7", parser="int"),
    _d("max_stride", "--max-stride", "the largest stride solve tries", "Largest stride.",
       "INT", default="4", parser="int"),
    _d("max_dilation", "--max-dilation", "the largest dilation solve tries",
       "Largest dilation.", "INT", default="3", parser="int"),
    _d("max_padding", "--max-padding", "the largest padding solve tries",
       "Largest padding per side (default: as far as the window reaches from its "
       "centre, dilation*(kernel-1) in all as padding='same' adds; transposed: "
       "dilation*(kernel-1) per side).", "INT", parser="int"),
    _d("limit", ("--limit", "-n"), "how many answers are shown",
       "Show the simplest N solutions (0: all).", "N", default="12", parser="int"),
    # ---- run and verify ---------------------------------------------------------------
    _d("weight_file", "--weight-file", "a .npy file with the conv's weight",
       "Weight to use, a .npy file (shape checked); default: the module's init under "
       "--seed.", "FILE"),
    _d("bias_file", "--bias-file", "a .npy file with the conv's bias",
       "Bias to use, a .npy file of shape (C_out,).", "FILE"),
    _d("channels_last", "--channels-last", "channels_last memory format",
       "channels_last memory format for input and weight (2d/3d, batched).", kind="flag",
       default=False),
    _d("repeat", ("--repeat", "-r"), "how many timed calls", "Timed calls.", "N",
       default="10", parser="int"),
    _d("warmup", "--warmup", "how many untimed calls first", "Untimed calls first.", "N",
       default="2", parser="int"),
    _d("save", "--save", "a .npy file the output is written to",
       "Write the output to a .npy file (atomically; never over INPUT, also not through a "
       "hard link; a symbolic link is written through: the file it points to is replaced).",
       "FILE", parser="file"),
    _d("threads", "--threads", "torch's CPU threads",
       "torch CPU threads for the run, 1 to the machine's CPU count (default: torch's; 1 is "
       "steadier on a busy machine).", "INT", parser="int"),
    _d("tune", "--tune", "time the other layouts and dtypes",
       "Also time contiguous vs channels_last, cudnn.benchmark off/on (CUDA) and each "
       "--dtype; mark the fastest.", kind="flag", default=False),
    _d("cases", "--cases", "how many random configurations",
       "Random configurations (valid and invalid) for the built-in suite (default 1000, at "
       "most 100,000).", "N", parser="int"),
    _d("atol", "--atol", "absolute tolerance",
       "Absolute tolerance instead of the calibrated bound (with --rtol, or its default per "
       "dtype: float64 1e-10, float32 1e-4, float16 1e-2, bfloat16 5e-2).", "FLOAT",
       parser="tolerance"),
    _d("rtol", "--rtol", "relative tolerance",
       "Relative tolerance instead of the calibrated bound (with --atol, or its default per "
       "dtype: float64 1e-8, float32 1e-4, float16 1e-2, bfloat16 2e-2).", "FLOAT",
       parser="tolerance"),
    _d("fail_fast", ("--fail-fast", "-x"), "stop at the first failure",
       "Stop at the first failing configuration.", kind="flag", default=False),
    _d("junit", "--junit", "a JUnit XML file for CI",
       "Also write JUnit XML (one testcase per check) for CI.", "FILE"),
]
_DEFS += [
    # ---- net and summary --------------------------------------------------------------
    _d("file", ("--file", "-f"), "a text file holding the layers",
       "Read LAYERS from a text file (e.g. the body of an nn.Sequential); - reads standard "
       "input.", "PATH"),
    _d("set_", "--set", "NAME=VALUE for the names the model uses",
       "Values for the names the layers use, as tutorial code writes them, NAME=VALUE "
       "separated by commas: --set nz=100,ngf=64 for ConvTranspose2d(nz, ngf * 8, 4, 1, 0).",
       "VALUES", kind="multiple"),
    _d("train", "--train", "training memory for one step",
       "Per row and in total: parameter, gradient and optimizer-state bytes, and the "
       "activations autograd saves for backward, for one step at the input's batch.",
       kind="flag", default=False, panel=TRAIN_PANEL),
    _d("optimizer", "--optimizer", "the optimizer whose state is counted",
       "The optimizer whose state is counted (what it really keeps per trainable "
       "parameter): sgd, sgd-momentum, adam, adamw or none.", "NAME", default="adamw",
       parser="choice", choices=("sgd", "sgd-momentum", "adam", "adamw", "none"),
       panel=TRAIN_PANEL),
    _d("rf", "--rf", "receptive field size, jump and start per row",
       "Per row and spatial dim: the receptive field's size (the largest over the row's "
       "positions at this input), jump (input positions per output step) and start (output "
       "0's first input index; negative: in the padding).", kind="flag", default=False,
       panel=FIELD_PANEL),
    _d("field", "--field", "the row whose receptive field is drawn",
       "Draw the input region behind one output position of a row: ROW, a row number or a "
       "module name, or ROW@POS with POS one index per spatial dim (default: the centre); "
       "the part of the window in the padding is marked.", "ROW", panel=FIELD_PANEL),
    _d("inputs", "--input", "the input shapes forward() receives",
       "What forward() receives, e.g. 1x3x224x224. Repeat it for more arguments; NAME= "
       "before the shape makes a keyword argument and :DTYPE after it another dtype: "
       "--input ids=1x8:int64 --input mask=1x8:bool.", "SHAPE", kind="multiple"),
    _d("args", "--args", "constructor arguments as a Python literal",
       "Constructor arguments as a Python literal: a tuple is positional, a dict keyword, "
       "anything else one argument: --args \"{ 'num_classes': 10 }\".", "LITERAL"),
    _d("depth", "--depth", "rows for the blocks down to this depth",
       "Rows for the blocks down to depth N (1: the model's children), each with the params "
       "and MACs of everything inside it; deeper calls roll up into them.", "N",
       parser="depth"),
    _d("amp", "--amp", "autocast's low-precision dtype",
       "Autocast to bf16 or fp16 (low-precision activations, fp32 master weights); "
       "bfloat16, float16 and half are the same words as for --dtype.", "DTYPE",
       parser="amp", choices=("bf16", "fp16"), panel=TRAIN_PANEL),
    _d("budget", "--budget", "the memory a training step must fit",
       "The largest batch whose training step fits SIZE (e.g. 16GiB), and what dominates. "
       "Implies --train.", "SIZE", parser="budget", panel=TRAIN_PANEL),
    _d("measure", "--measure", "one real training step, measured",
       "Also run one real step: with --device cuda, its peak of torch.cuda's "
       "max_memory_allocated; on the CPU, the saved-tensor bytes of a real forward. Implies "
       "--train.", kind="flag", default=False, panel=TRAIN_PANEL),
    # ---- apply --------------------------------------------------------------------------
    # ---- summary's frozen modules and several GPUs ----------------------------------
    _d("freeze", "--freeze", "modules whose parameters are frozen",
       "Freeze the parameters of this module (a name from named_modules, e.g. layer1, or "
       "all); repeatable. Frozen parameters count as frozen, get no gradient and no "
       "optimizer state.", "PREFIX", kind="multiple", panel=TRAIN_PANEL),
    _d("unfreeze", "--unfreeze", "modules trained again after --freeze",
       "Train this module again after --freeze: --freeze all --unfreeze fc fine-tunes the "
       "head; repeatable.", "PREFIX", kind="multiple", panel=TRAIN_PANEL),
    _d("gpus", "--gpus", "data-parallel ranks, counted per GPU",
       "Per GPU of N data-parallel ranks (--input is one GPU's batch); with --measure, "
       "launch N local processes on torch.distributed. Implies --train.", "N", parser="int",
       panel=DIST_PANEL),
    _d("strategy", "--strategy", "how the ranks share the model",
       "ddp (default), zero1, zero2, zero3 or fsdp (FSDP2 fully_shard). With --budget and "
       "no --gpus: the fewest GPUs each strategy needs. Implies --train.", "NAME",
       choices=("ddp", "zero1", "zero2", "zero3", "fsdp"), panel=DIST_PANEL),
    _d("shard_unit", "--shard-unit", "the modules fsdp/zero3 wrap as units",
       "fsdp/zero3: the modules wrapped as units, a class name or a module-name prefix "
       "(comma-separated); default: every top-level block.", "NAME", panel=DIST_PANEL),
    _d("checkpoint", "--checkpoint", "modules under activation checkpointing",
       "Activation checkpointing on these modules (class name or name prefix): only their "
       "inputs are kept, one block is recomputed at a time. Implies --train.", "NAME",
       panel=DIST_PANEL),
    _d("offload", "--offload", "what is moved to host memory",
       "optimizer (zero1-3) or params (zero3, fsdp): moved to host memory, shown as host "
       "bytes.", "WHAT", choices=("optimizer", "params"), panel=DIST_PANEL),
    # ---- CI budgets (net, summary; cli/budget_options.py checks them) -----------------------------
    _d("max_params", "--max-params", "a budget on the parameter count",
       "Fail (exit 1) when the model has more parameters than N (25M, 4.1G: k, M, G are "
       "powers of 1000).", "N", panel=BUDGETS_PANEL),
    _d("max_macs", "--max-macs", "a budget on one forward's MACs",
       "Fail (exit 1) when one forward does more multiply-accumulates than N (4.1G).", "N",
       panel=BUDGETS_PANEL),
    _d("max_activations", "--max-activations", "a budget on the activations' bytes",
       "Fail (exit 1) when every layer's output together takes more than SIZE in --dtype "
       "(512MiB, 2GiB).", "SIZE", panel=BUDGETS_PANEL),
    _d("max_train_memory", "--max-train-memory", "a budget on one training step's bytes",
       "Fail (exit 1) when one training step (--train's total, with its --optimizer and "
       "--amp) takes more than SIZE (16GiB). Implies --train.", "SIZE", panel=BUDGETS_PANEL),
    _d("format", "--format", "the report's form: table, json or markdown",
       "table (for people), json (as --json) or markdown (GitHub tables for a pull request "
       "comment or $GITHUB_STEP_SUMMARY).", "FORMAT", default="table",
       choices=("table", "json", "markdown"), panel=BUDGETS_PANEL),
    _d("weight", "--weight", "the conv's weight values: a named kernel or a literal",
       "A name: edge-vertical, edge-horizontal, sobel-x, sobel-y, laplacian, box, gaussian, "
       "identity, sharpen (sized by -k); or a nested list such as '[[1, 0, -1], [1, 0, -1], "
       "[1, 0, -1]]' (read, never run): used for every (out, in) channel pair, or the whole "
       "weight when it has its shape. Default: the module's init under --seed.", "KERNEL",
       choices=("edge-vertical", "edge-horizontal", "sobel-x", "sobel-y", "laplacian", "box",
                "gaussian", "identity", "sharpen")),
    _d("init", "--init", "the weight initialised as torch.nn.init does",
       "Initialise the weight as torch.nn.init does, under --seed: normal[:MEAN,STD], "
       "uniform[:A,B], kaiming[:A] (kaiming_normal), kaiming_uniform, xavier[:GAIN] "
       "(xavier_uniform), xavier_normal, constant[:VALUE], zeros or ones.", "NAME",
       choices=("normal", "uniform", "kaiming", "kaiming_uniform", "xavier", "xavier_normal",
                "constant", "zeros", "ones")),
    _d("bias_value", "--bias-value", "every output channel's bias value",
       "Every output channel's bias (default: 0 with --weight, else the init).", "VALUE"),
    _d("pattern", "--pattern", "the pattern that fills the INPUT shape",
       "Fill the INPUT shape with a pattern: square, impulse, checker, ramp or stripes "
       "(default: standard normal under --seed).", "NAME", parser="choice",
       choices=("square", "impulse", "checker", "ramp", "stripes")),
    _d("gray", "--gray", "an image read as one grey channel",
       "Read an image INPUT as one grey channel.", kind="flag", default=False),
    _d("resize", "--resize", "the size an image is resized to",
       "Resize an image INPUT (default: its own size).", "HxW"),
    _d("values", "--values", "print the tensors' values",
       "Print input, weight, bias and output: numbers up to 16x16 per channel, a heatmap "
       "above; with --json, every value as nested lists.", kind="flag", default=False),
    _d("dot", "--dot", "the dot product behind one output",
       "The dot product behind one output value: patch, kernel, products, their sum plus "
       "bias, and torch's value.", kind="flag", default=False),
]
OPTIONS: dict[str, OptionDef] = {d.name: d for d in _DEFS}
CONV_NAMES = ("out_channels", "kernel_size", "in_channels", "stride", "padding", "dilation",
              "groups", "bias", "padding_mode", "transposed", "output_padding", "dims")
