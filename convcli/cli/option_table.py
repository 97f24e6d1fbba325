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

from typing import TYPE_CHECKING, Any

CONV_PANEL = "Convolution"
TRAIN_PANEL = "Training memory (--train)"
FIELD_PANEL = "Receptive field (--rf, --field)"
BUDGETS_PANEL = "Budgets (CI)"
DIST_PANEL = "Several GPUs (--gpus, --strategy)"
CHANGE_PANEL = "Budgets on the change (HEAD - BASE)"
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

if TYPE_CHECKING:       # annotations only: nothing to build at start-up
    Decls = tuple[str, ...] | str       # one flag, or the flags of one option


def _d(name: str, decls: Decls, meaning: str, help: str, metavar: str | None = None,
       **kw) -> OptionDef:
    """Any option; the constructors below fill in what a kind always has (calling OptionDef
    themselves: the fast path builds this table on every start)."""
    return OptionDef(name, (decls,) if isinstance(decls, str) else decls, meaning, help,
                     metavar, **kw)


def _arg(name: str, metavar: str, meaning: str, help: str) -> OptionDef:   # positional
    return OptionDef(name, (metavar,), meaning, help, None, "argument")


def _flag(name: str, decls: Decls, meaning: str, help: str, default: bool = False,
          panel: str | None = None) -> OptionDef:        # on/off (--bias/--no-bias: a pair)
    return OptionDef(name, (decls,) if isinstance(decls, str) else decls, meaning, help,
                     None, "flag", default, None, (), panel)


def _conv(name: str, decls: Decls, meaning: str, help: str, metavar: str = "INT",
          default: str | None = None, parser: str | None = None,
          choices: tuple[str, ...] = ()) -> OptionDef:    # ConvArgs reads its text
    return OptionDef(name, (decls,) if isinstance(decls, str) else decls, meaning, help,
                     metavar, "text", default, parser, choices, CONV_PANEL)


def _int(name: str, decls: Decls, meaning: str, help: str, default: str | None = None,
         metavar: str = "INT", panel: str | None = None) -> OptionDef:   # ASCII digits
    return OptionDef(name, (decls,) if isinstance(decls, str) else decls, meaning, help,
                     metavar, "text", default, "int", (), panel)


def _count(name: str, decls: Decls, meaning: str, help: str, default: str | None = None,
           panel: str | None = None) -> OptionDef:     # how many of something: N
    return _int(name, decls, meaning, help, default, "N", panel)


def _choice(name: str, decl: str, meaning: str, help: str, metavar: str,
            choices: tuple[str, ...], default: str | None = None,
            panel: str | None = None) -> OptionDef:    # one word of choices, completed
    return OptionDef(name, (decl,), meaning, help, metavar, "text", default, "choice",
                     choices, panel)


def _many(name: str, decl: str, meaning: str, help: str, metavar: str,
          panel: str | None = None) -> OptionDef:      # repeatable: every value, in order
    return OptionDef(name, (decl,), meaning, help, metavar, "multiple", None, None, (), panel)


def _written(name: str, decl: str, meaning: str, help: str) -> OptionDef:
    return OptionDef(name, (decl,), meaning, help, "FILE", parser="file")   # -: stdout


def _budget(name: str, decl: str, meaning: str, help: str, metavar: str) -> OptionDef:
    return OptionDef(name, (decl,), meaning, help, metavar, panel=BUDGETS_PANEL)


def _increase(name: str, decl: str, what: str) -> OptionDef:    # diff's budget on HEAD - BASE
    return OptionDef(name, (decl,), f"a budget on the change in {what}",
                     f"Fail (exit 1) when HEAD has more {what} than BASE by more than LIMIT: "
                     "a share of BASE (5%) or an amount (1M, 64MiB); 0 allows no increase.",
                     "LIMIT", panel=CHANGE_PANEL)


_DEFS = [
    # ---- the conv layer (ConvArgs; conv_args.py) ----------------------------------
    _conv("out_channels", ("--out-channels", "-o"), "output channels of the conv",
          "Output channels."),
    _conv("kernel_size", ("--kernel-size", "-k"), "kernel size per spatial dim",
          "Kernel size: 3, or one per spatial dim as 3,5 or 3x5."),
    _conv("in_channels", ("--in-channels", "-i"), "input channels of the conv",
          "Input channels (default: read from INPUT; if given it must match, and it picks the "
          "reading where INPUT's rank allows two)."),
    _conv("stride", ("--stride", "-s"), "stride per spatial dim",
          "Stride (one per dim as for -k).", default="1"),
    _conv("padding", ("--padding", "-p"), "padding per side, or same/valid",
          "Padding per side: 1, one per dim as 1,2, same (stride 1 only) or valid (= 0).",
          "PAD", default="0", choices=("same", "valid")),
    _conv("dilation", ("--dilation", "-d"), "dilation per spatial dim",
          "Dilation (one per dim as for -k).", default="1"),
    _conv("groups", ("--groups", "-g"), "groups of the conv",
          "Groups: must divide both channel counts; groups = in_channels is depthwise.",
          default="1"),
    _flag("bias", "--bias/--no-bias", "whether the conv has a bias",
          "Learnable bias (torch's default: on).", True, CONV_PANEL),
    _conv("padding_mode", "--padding-mode", "how the conv fills its padding",
          "How padding is filled: zeros, reflect, replicate or circular (transposed convs: "
          "zeros only).", "STR", default="zeros", parser="choice",
          choices=("zeros", "reflect", "replicate", "circular")),
    _flag("transposed", ("--transposed", "-t"), "ConvTranspose instead of Conv",
          "ConvTranspose instead of Conv.", panel=CONV_PANEL),
    _conv("output_padding", "--output-padding", "a transposed conv's extra output size",
          "Extra size on one side of a transposed conv's output (< stride or dilation; one "
          "per dim as for -k).", default="0"),
    _conv("dims", "--dims", "number of spatial dims of the conv (1 to 3)",
          "Spatial dims, 1 to 3 (default: a tuple option's length, else an -i that fits only "
          "one reading of INPUT, else 2 when INPUT's rank allows it: 3 is C,H,W, 4 is "
          "N,C,H,W).", "N", choices=("1", "2", "3")),
    # ---- positionals ----------------------------------------------------------------
    _arg("input", "INPUT", "the input tensor: its shape (N may be left out), or a file",
         "Input shape: 4x3x64x64, 4,3,64,64 or '(4, 3, 64, 64)'; N may be left out "
         "(unbatched)."),
    _arg("code", "CONV", "the conv as torch constructor text",
         "The conv as torch code, e.g. \"Conv2d(16, 32, 3, stride=2, padding=1)\" (nn. or "
         "torch.nn. optional; print(model)'s form too); options given beside it must agree."),
    _arg("layers", "LAYERS", "the layers of net, as text",
         "torch layer constructors separated by commas or newlines, as in an nn.Sequential: "
         "\"Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)\"; or what print(model) shows "
         "for an nn.Sequential. nn. and torch.nn. prefixes, comments and arithmetic "
         "(64 * 4 * 4) are fine; nothing is executed."),
    _arg("model", "MODEL", "the nn.Module summary runs",
         "FILE.py:NAME (NAME an nn.Module class, a function returning a module, or a "
         "module-level instance such as model = resnet18(); it may be left out when the file "
         "holds one), or package.module:NAME (torchvision.models:resnet50). The file is RUN, "
         "as `python FILE.py` would run it."),
    _arg("base", "BASE", "what diff's change starts from: a saved report or a model",
         "What the change starts from: a `summary --json` (or `net --json`) file (- reads "
         "standard input), or a model (FILE.py:NAME, package.module:NAME) summarised with "
         "--input."),
    _arg("head", "HEAD", "what diff's change gives, in BASE's forms",
         "What the change gives, in the same forms as BASE."),
    # ---- what every command may share ----------------------------------------------
    _d("dtype", "--dtype", "element type of the tensors",
       "Element type of the tensors, which the byte counts assume: float32 (4 bytes), "
       "float64, float16 or bfloat16.", "DTYPE", default="float32", parser="dtype",
       choices=DTYPES, panel=MAIN),
    _many("sweep", "--sweep", "several values of conv options at once, one row each",
          "Ask for several values at once: k=3,5,7 (one value per dim with x: k=3x3,5x5); "
          "repeat for every combination. One row each.", "SWEEP"),
    _flag("json", "--json", "one JSON object on stdout",
          "One JSON object on stdout (docs/json.md).", panel=MAIN),
    _d("device", "--device", "where torch runs",
       "Where to run: auto (cuda if available), cpu, cuda or cuda:N.", "DEVICE",
       default="auto", parser="device", choices=DEVICES),
    _int("seed", "--seed", "seed of the random values",
         "Seed for the random input and the default init.", "0"),
    _d("max_memory", "--max-memory", "the memory budget of a real run",
       f"Refuse runs estimated above this: {_SIZE_FORMS}. Default: 75% of available RAM, "
       "90% of free GPU memory.", "SIZE", parser="size"),
    _d("at", "--at", "an output position, one index per spatial dim",
       "Output position for the receptive field: one index per spatial dim, as 3 or 3,4 "
       "(default: the middle).", "INDEX", parser="ints"),
    _int("channel", "--channel", "an output channel",
         "Output channel for the receptive field (default 0)."),
    _written("png", "--png", "a PNG file to draw the picture to",
             "Also draw it to a PNG (needs matplotlib, from the plot extra: pip install "
             "'convcli\\[plot]')."),
    _written("svg", "--svg", "an SVG file to draw the picture to",
             "Also draw it to an SVG (needs matplotlib, as --png)."),
    # ---- shape and params -------------------------------------------------------------
    _flag("explain", ("--explain", "-e"), "the formula per spatial dim",
          "Show the formula per spatial dim with the numbers in."),
    _choice("padding_from", "--padding-from", "the framework whose padding word --padding is",
            "tf, keras or onnx: read --padding as that framework's word (tf and keras: SAME "
            "or VALID; keras: causal; onnx: SAME_UPPER, SAME_LOWER or VALID) and print the "
            "explicit padding and the PyTorch code (F.pad + conv) that reproduce it.", "NAME",
            ("tf", "keras", "onnx")),
    _flag("compare_groups", "--compare-groups", "one row per valid groups value",
          "One row per valid groups value, plus depthwise and depthwise-separable."),
    _flag("conventions", "--conventions", "what other counting tools report",
          "What other counting tools would report for this layer (needs INPUT): torch's "
          "flop_counter, fvcore, ptflops, thop, ultralytics-thop, torchinfo, calflops "
          "(DeepSpeed), torchscan and torchprofile."),
    # ---- show and solve ---------------------------------------------------------------
    _int("along", "--along", "the spatial dim the window slides along",
         "Spatial dim the window slides along (default: the last, W)."),
    _d("input_size", "--input-size", "spatial input size(s), no batch or channel dims",
       "Spatial input size(s): 32, or one per dim as 32x24 (no batch or channel dims).",
       "SIZES", parser="ints"),
    _d("output_size", "--output-size", "wanted spatial output size(s)",
       "Wanted spatial output size(s): 16 or 16x12. Leave out with --transposed and -k to "
       "get the decoder of that conv.", "SIZES", parser="ints"),
    _int("max_kernel", "--max-kernel", "the largest kernel size solve tries",
         "Largest kernel size to try.", "7"),
    _int("max_stride", "--max-stride", "the largest stride solve tries", "Largest stride.", "4"),
    _int("max_dilation", "--max-dilation", "the largest dilation solve tries",
         "Largest dilation.", "3"),
    _int("max_padding", "--max-padding", "the largest padding solve tries",
         "Largest padding per side (default: as far as the window reaches from its "
         "centre, dilation*(kernel-1) in all as padding='same' adds; transposed: "
         "dilation*(kernel-1) per side)."),
    _count("limit", ("--limit", "-n"), "how many answers are shown",
           "Show the simplest N solutions (0: all).", "12"),
    # ---- run and verify ---------------------------------------------------------------
    _d("weight_file", "--weight-file", "a .npy file with the conv's weight",
       "Weight to use, a .npy file (shape checked; - reads standard input); default: the "
       "module's init under --seed.", "FILE"),
    _d("bias_file", "--bias-file", "a .npy file with the conv's bias",
       "Bias to use, a .npy file of shape (C_out,); - reads standard input.", "FILE"),
    _flag("channels_last", "--channels-last", "channels_last memory format",
          "channels_last memory format for input and weight (2d/3d, batched)."),
    _count("repeat", ("--repeat", "-r"), "how many timed calls", "Timed calls.", "10"),
    _count("warmup", "--warmup", "how many untimed calls first", "Untimed calls first.", "2"),
    _written("save", "--save", "a .npy file the output is written to",
             "Write the output to a .npy file (atomically; never over INPUT, also not through "
             "a hard link; a symbolic link is written through: the file it points to is "
             "replaced); - writes it to stdout, the report to stderr."),
    _int("threads", "--threads", "torch's CPU threads",
         "torch CPU threads for the run, 1 to the machine's CPU count (default: torch's; 1 is "
         "steadier on a busy machine)."),
    _flag("tune", "--tune", "time the other layouts and dtypes",
          "Also time contiguous vs channels_last, cudnn.benchmark off/on (CUDA) and each "
          "--dtype; mark the fastest."),
    _count("cases", "--cases", "how many random configurations",
           "Random configurations (valid and invalid) for the built-in suite (default 1000, "
           "at most 100,000)."),
    _d("atol", "--atol", "absolute tolerance",
       "Absolute tolerance instead of the calibrated bound (with --rtol, or its default per "
       "dtype: float64 1e-10, float32 1e-4, float16 1e-2, bfloat16 5e-2).", "FLOAT",
       parser="tolerance"),
    _d("rtol", "--rtol", "relative tolerance",
       "Relative tolerance instead of the calibrated bound (with --atol, or its default per "
       "dtype: float64 1e-8, float32 1e-4, float16 1e-2, bfloat16 2e-2).", "FLOAT",
       parser="tolerance"),
    _flag("fail_fast", ("--fail-fast", "-x"), "stop at the first failure",
          "Stop at the first failing configuration."),
    _d("junit", "--junit", "a JUnit XML file for CI",
       "Also write JUnit XML (one testcase per check) for CI.", "FILE"),
    # ---- net and summary --------------------------------------------------------------
    _d("file", ("--file", "-f"), "a text file holding the layers",
       "Read LAYERS from a text file (e.g. the body of an nn.Sequential); - reads standard "
       "input.", "PATH"),
    _many("set_", "--set", "NAME=VALUE for the names the model uses",
          "Values for the names the layers use, as tutorial code writes them, NAME=VALUE "
          "separated by commas: --set nz=100,ngf=64 for ConvTranspose2d(nz, ngf * 8, 4, 1, "
          "0).", "VALUES"),
    _flag("train", "--train", "training memory for one step",
          "Per row and in total: parameter, gradient and optimizer-state bytes, and the "
          "activations autograd saves for backward, for one step at the input's batch.",
          panel=TRAIN_PANEL),
    _choice("optimizer", "--optimizer", "the optimizer whose state is counted",
            "The optimizer whose state is counted (what it really keeps per trainable "
            "parameter): sgd, sgd-momentum, adam, adamw or none.", "NAME",
            ("sgd", "sgd-momentum", "adam", "adamw", "none"), "adamw", TRAIN_PANEL),
    _flag("rf", "--rf", "receptive field size, jump and start per row",
          "Per row and spatial dim: the receptive field's size (the largest over the row's "
          "positions at this input), jump (input positions per output step) and start "
          "(output 0's first input index; negative: in the padding).", panel=FIELD_PANEL),
    _d("field", "--field", "the row whose receptive field is drawn",
       "Draw the input region behind one output position of a row: ROW, a row number or a "
       "module name, or ROW@POS with POS one index per spatial dim (default: the centre); "
       "the part of the window in the padding is marked.", "ROW", panel=FIELD_PANEL),
    _many("inputs", "--input", "the input shapes forward() receives",
          "What forward() receives, e.g. 1x3x224x224. Repeat it for more arguments; NAME= "
          "before the shape makes a keyword argument and :DTYPE after it another dtype: "
          "--input ids=1x8:int64 --input mask=1x8:bool.", "SHAPE"),
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
    _flag("measure", "--measure", "one real training step, measured",
          "Also run one real step: with --device cuda, its peak of torch.cuda's "
          "max_memory_allocated; on the CPU, the saved-tensor bytes of a real forward. "
          "Implies --train.", panel=TRAIN_PANEL),
    # ---- summary's frozen modules and several GPUs ----------------------------------
    _many("freeze", "--freeze", "modules whose parameters are frozen",
          "Freeze the parameters of this module (a name from named_modules, e.g. layer1, or "
          "all); repeatable. Frozen parameters count as frozen, get no gradient and no "
          "optimizer state.", "PREFIX", TRAIN_PANEL),
    _many("unfreeze", "--unfreeze", "modules trained again after --freeze",
          "Train this module again after --freeze: --freeze all --unfreeze fc fine-tunes the "
          "head; repeatable.", "PREFIX", TRAIN_PANEL),
    _count("gpus", "--gpus", "data-parallel ranks, counted per GPU",
           "Per GPU of N data-parallel ranks (--input is one GPU's batch); with --measure, "
           "launch N local processes on torch.distributed. Implies --train.",
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
    # ---- CI budgets (net, summary, diff; cli/budget_options.py checks them) -----------
    _budget("max_params", "--max-params", "a budget on the parameter count",
            "Fail (exit 1) when the model has more parameters than N (25M, 4.1G: k, M, G are "
            "powers of 1000).", "N"),
    _budget("max_macs", "--max-macs", "a budget on one forward's MACs",
            "Fail (exit 1) when one forward does more multiply-accumulates than N (4.1G).",
            "N"),
    _budget("max_activations", "--max-activations", "a budget on the activations' bytes",
            "Fail (exit 1) when every layer's output together takes more than SIZE in "
            "--dtype (512MiB, 2GiB).", "SIZE"),
    _budget("max_train_memory", "--max-train-memory", "a budget on one training step's bytes",
            "Fail (exit 1) when one training step (--train's total, with its --optimizer and "
            "--amp) takes more than SIZE (16GiB). Implies --train.", "SIZE"),
    # names kept short for the help's option column; engine/budgets.py's INCREASE_OPTIONS
    _increase("max_params_increase", "--max-params-increase", "parameters"),
    _increase("max_macs_increase", "--max-macs-increase", "MACs"),
    _increase("max_activations_increase", "--max-act-increase", "activation bytes"),
    _increase("max_train_memory_increase", "--max-train-increase", "training-step bytes"),
    _d("format", "--format", "the report's form: table, json or markdown",
       "table (for people), json (as --json) or markdown (GitHub tables for a pull request "
       "comment or $GITHUB_STEP_SUMMARY).", "FORMAT", default="table",
       choices=("table", "json", "markdown"), panel=BUDGETS_PANEL),
    # ---- apply --------------------------------------------------------------------------
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
    _choice("pattern", "--pattern", "the pattern that fills the INPUT shape",
            "Fill the INPUT shape with a pattern: square, impulse, checker, ramp or stripes "
            "(default: standard normal under --seed).", "NAME",
            ("square", "impulse", "checker", "ramp", "stripes")),
    _flag("gray", "--gray", "an image read as one grey channel",
          "Read an image INPUT as one grey channel."),
    _d("resize", "--resize", "the size an image is resized to",
       "Resize an image INPUT (default: its own size).", "HxW"),
    _flag("values", "--values", "print the tensors' values",
          "Print input, weight, bias and output: numbers up to 16x16 per channel, a heatmap "
          "above; with --json, every value as nested lists."),
    _flag("dot", "--dot", "the dot product behind one output",
          "The dot product behind one output value: patch, kernel, products, their sum plus "
          "bias, and torch's value."),
]
OPTIONS: dict[str, OptionDef] = {d.name: d for d in _DEFS}
CONV_NAMES = ("out_channels", "kernel_size", "in_channels", "stride", "padding", "dilation",
              "groups", "bias", "padding_mode", "transposed", "output_padding", "dims")
