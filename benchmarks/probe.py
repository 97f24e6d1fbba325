"""Adversarial inventory of the convcli CLI (issues 10 and 15): drive every command with
malformed and extreme values and check the contract of docs design.md:

  exit code in {0, 1, 2, 3, 130, 143} (and the one the case expects), on error exactly
  one `Error:` line on stderr and nothing on stdout, --json output strict JSON (no
  NaN/Infinity), no traceback, no hang, no `.convcli-*.tmp` left, plus per-case checks
  (a folder that must not be created, a symlink that must survive...).

Usage
  python benchmarks/probe.py                  # every case -> results.jsonl + summary.md
  python benchmarks/probe.py -k net -k solve  # only cases whose id contains one of these
  python benchmarks/probe.py --list

Configuration (environment)
  CONVCLI_CMD   the CLI prefix, split with shlex   (default: "<this python> -m convcli")
  CONVCLI_CWD   working directory of every call: the checkout to probe (`python -m`
                imports convcli from it)       (default: this repository's root)
  PROBE_WORK    scratch folder for fixtures/output (default: $TMPDIR/convcli-probe/work;
                recreated)
  PROBE_OUT     where results.jsonl / summary.md go (default: $TMPDIR/convcli-probe)
  PROBE_MEM     default address-space limit per call, bytes (default 4000000000)
  PROBE_SLOW    seconds above which a calculator command counts as slow (default 2.0)

Every call runs under `prlimit --as=<mem>` and a timeout (20 s unless the case says
less). Paths in argv use {W} for the scratch folder, so nothing is written to CWD.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time

import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRATCH = os.path.join(tempfile.gettempdir(), "convcli-probe")
CMD = shlex.split(os.environ.get("CONVCLI_CMD", f"{sys.executable} -m convcli"))
CWD = os.environ.get("CONVCLI_CWD", os.path.dirname(HERE))
W = os.environ.get("PROBE_WORK", os.path.join(SCRATCH, "work"))
OUT = os.environ.get("PROBE_OUT", SCRATCH)
MEM = int(float(os.environ.get("PROBE_MEM", "4000000000")))
SLOW = float(os.environ.get("PROBE_SLOW", "2.0"))
DOCUMENTED = {0, 1, 2, 3, 130, 143}
CLOSED_STDOUT = 141   # documented since the issue-7 restructure for a stdout closed early
CALC = {"shape", "params", "show", "solve", "net", "general"}

B12 = str(10 ** 12)
D4301 = "1" * 4301          # one digit over Python's int() limit
D5000 = "9" * 5000
HUGE = str(10 ** 160)       # a dim whose products pass 1.8e308


# --------------------------------------------------------------------------- fixtures
def write(path, data, mode="w"):
    with open(os.path.join(W, path), mode) as f:
        f.write(data)


def make_fixtures():
    import numpy as np
    if os.path.exists(W):
        shutil.rmtree(W)
    os.makedirs(W)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.save(f"{W}/in.npy", x)
    np.save(f"{W}/target.npy", x)
    np.save(f"{W}/nan.npy", np.full((1, 3, 8, 8), np.nan, np.float32))
    inf = x.copy()
    inf[0, 0, 0, 0] = np.inf
    np.save(f"{W}/inf.npy", inf)
    np.save(f"{W}/big.npy", np.zeros((1, 1, 2048, 2048), np.float32))
    np.save(f"{W}/int.npy", np.zeros((1, 3, 8, 8), np.int64))
    np.save(f"{W}/object.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    np.save(f"{W}/trunc_src.npy", x)
    with open(f"{W}/trunc_src.npy", "rb") as f:
        data = f.read()
    write("truncated.npy", data[:len(data) // 2], "wb")
    os.remove(f"{W}/trunc_src.npy")
    hdr = np.lib.format
    with open(f"{W}/bighdr.npy", "wb") as f:
        hdr.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                       "shape": (1000000, 3, 1000, 1000)})
    write("empty.npy", "")
    write("notnpy.npy", "hello, I am text\n")
    os.makedirs(f"{W}/dir.npy")
    os.makedirs(f"{W}/fifo")
    os.mkfifo(f"{W}/fifo/x.npy")
    # layer texts
    conv = "Conv2d(3, 3, 3, padding=1)"
    for n in (500, 1000, 3000):
        write(f"seq{n}.txt", "nn.Sequential(\n" + ",\n".join([conv] * n) + "\n)\n")
    write("flat3000.txt", ",\n".join([conv] * 3000) + "\n")
    write("expr20000.txt", "Conv2d(3, " + "+".join(["1"] * 20000) + ", 3)\n")
    write("long100k.txt", "Conv2d(3, 16, 3" + " " * 100_000 + ")\n")
    write("binary.txt", b"\xff\xfe\x00Conv2d(3,16,3)", "wb")
    # models for summary
    write("fd1.py", "import os\nimport torch.nn as nn\nos.write(1, b'import-time write\\n')\n"
          "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        self.c = nn.Conv2d(3, 4, 3)\n    def forward(self, x):\n"
          "        os.write(1, b'forward write\\n')\n        return self.c(x)\n")
    write("printer.py", "import torch.nn as nn\nprint('import-time print')\n"
          "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        self.c = nn.Conv2d(3, 4, 3)\n    def forward(self, x):\n"
          "        print('forward print')\n        return self.c(x)\n")
    write("raise_ml.py", "raise ValueError('first line\\nsecond line\\nthird line')\n")
    write("sysexit.py", "import sys\nsys.exit(5)\n")
    write("osexit.py", "import os, torch.nn as nn\nclass M(nn.Module):\n"
          "    def forward(self, x):\n        os._exit(0)\n")
    write("kbint.py", "raise KeyboardInterrupt\n")
    write("datadep.py", "import torch.nn as nn\nclass M(nn.Module):\n"
          "    def __init__(self):\n        super().__init__()\n"
          "        self.a = nn.Conv2d(3, 8, 1)\n        self.b = nn.Conv2d(8, 8, 1)\n"
          "    def forward(self, x):\n        y = self.a(x)\n"
          "        if y.sum().item() > 1e30:\n            return y\n        return self.b(y)\n")
    write("needs_args.py", "import torch.nn as nn\nclass Net(nn.Module):\n"
          "    def __init__(self, width):\n        super().__init__()\n"
          "        self.c = nn.Conv2d(3, width, 3)\n    def forward(self, x):\n"
          "        return self.c(x)\ndef make():\n    return Net(8)\n")
    write("newline\nname.py", "import torch.nn as nn\nclass M(nn.Module):\n"
          "    def forward(self, x):\n        return x\n")


def prep_links():
    for p in ("in_hl.npy", "link.npy"):
        if os.path.lexists(f"{W}/{p}"):
            os.remove(f"{W}/{p}")
    os.link(f"{W}/in.npy", f"{W}/in_hl.npy")
    os.symlink(f"{W}/target.npy", f"{W}/link.npy")


def prep_newdir():
    shutil.rmtree(f"{W}/newdir", ignore_errors=True)


def prep_out():
    for p in ("out.npy", "out.png", "out.svg"):
        if os.path.exists(f"{W}/{p}"):
            os.remove(f"{W}/{p}")


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def post_newdir_absent():
    return "created folder newdir/ although the command failed" \
        if os.path.exists(f"{W}/newdir") else None


def post_link_kept():
    if not os.path.islink(f"{W}/link.npy"):
        return "--save replaced the symlink with a regular file"
    return None


def post_no_png():
    return None


# ------------------------------------------------------------------------------ cases
CASES = []


def case(id_, argv, expect=(0, 2, 3), **kw):
    CASES.append(dict(id=id_, argv=argv, expect=set(expect), **kw))


def seq(n, sep="+"):
    return sep.join(["1"] * n)


def define_cases():
    s = ["shape"]
    base = ["-o", "4", "-k", "3"]
    # ---- general
    case("general/no-args", [], expect=(0, 2), help_ok=True,
         note="prints help on stdout, exit 2 (click's no_args_is_help)")
    case("general/version", ["--version"], expect=(0,))
    case("general/unknown-command", ["bogus"], expect=(2,))
    case("general/unknown-option", ["shape", "--bogus"], expect=(2,))
    case("general/negative-shape", ["shape", "-5x3", "-o", "4", "-k", "3"], expect=(2,))
    # ---- shape
    case("shape/baseline", s + ["1x3x8x8"] + base, expect=(0,))
    case("shape/baseline-json", s + ["1x3x8x8"] + base + ["--json"], expect=(0,))
    case("shape/rank-3x224x224", s + ["3x224x224", "-o", "64", "-k", "7", "-s", "2", "-p", "3",
                                      "--json"], expect=(0,), note="issue 10: read as Conv1d?")
    case("shape/rank-3x224x224-i3", s + ["3x224x224", "-i", "3", "-o", "64", "-k", "7"],
         expect=(0, 2), note="issue 10: wrong fix suggested")
    case("shape/torch.Size", s + ["torch.Size([4, 3, 64, 64])"] + base, expect=(0, 2),
         note="issue 10 wants exit 0")
    case("shape/list-brackets", s + ["[4, 3, 64, 64]"] + base, expect=(0,))
    case("shape/arabic-indic-digit", s + ["1x٣x8x8"] + base, expect=(2,),
         note="issue 15: non-ASCII digits must be refused")
    case("shape/fullwidth-digit", s + ["１x3x8x8"] + base, expect=(2,))
    case("shape/arabic-digit-in-k", s + ["1x3x8x8", "-o", "4", "-k", "٣"], expect=(2,))
    case("shape/superscript-digit", s + ["1x3x8x²"] + base, expect=(2,))
    case("shape/empty-input", s + [""] + base, expect=(2,))
    case("shape/empty-o", s + ["1x3x8x8", "-o", "", "-k", "3"], expect=(2,))
    case("shape/empty-k", s + ["1x3x8x8", "-o", "4", "-k", ""], expect=(2,))
    case("shape/whitespace-input", s + ["   "] + base, expect=(2,))
    case("shape/float-o", s + ["1x3x8x8", "-o", "4.5", "-k", "3"], expect=(2,))
    case("shape/float-k", s + ["1x3x8x8", "-o", "4", "-k", "3.0"], expect=(2,))
    case("shape/exp-k", s + ["1x3x8x8", "-o", "4", "-k", "1e3"], expect=(2,))
    case("shape/float-dim", s + ["1x3x8.5x8"] + base, expect=(2,))
    case("shape/nan-dim", s + ["1x3xnanx8"] + base, expect=(2,))
    case("shape/neg-o", s + ["1x3x8x8", "-o", "-4", "-k", "3"], expect=(2,))
    case("shape/zero-o", s + ["1x3x8x8", "-o", "0", "-k", "3"], expect=(2,))
    case("shape/N0", s + ["0x3x8x8"] + base + ["--json"], expect=(0, 2),
         note="issue 10: torch answers [0, 4, 6, 6]")
    case("shape/N0-transposed", s + ["0x3x8x8", "-t", "-o", "4", "-k", "3", "--output-padding",
                                     "1"], expect=(0, 2), note="issue 10: torch skips op check")
    case("shape/C0", s + ["1x0x8x8"] + base, expect=(0, 2))
    case("shape/neg-pad-reflect", s + ["1x3x8x8", "-o", "4", "-k", "3", "-p", "-1",
                                       "--padding-mode", "reflect"], expect=(0, 2),
         note="issue 10: torch gives [1, 4, 4, 4]")
    case("shape/zero-spatial", s + ["1x3x0x8"] + base, expect=(2,))
    case("shape/huge-dims-1e12", s + [f"1x3x{B12}x{B12}"] + base + ["--json"], expect=(0, 2))
    case("shape/huge-dims-1e160", s + [f"1x3x{HUGE}x{HUGE}"] + base, expect=(0, 2),
         note="counts pass 1.8e308")
    case("shape/huge-dims-1e160-json", s + [f"1x3x{HUGE}x{HUGE}"] + base + ["--json"],
         expect=(0, 2))
    case("shape/4301-digit-dim", s + [f"1x3x{D4301}x8"] + base, expect=(2,))
    case("shape/4301-digit-o", s + ["1x3x8x8", "-o", D4301, "-k", "3"], expect=(2,))
    case("shape/4301-digit-k", s + ["1x3x8x8", "-o", "4", "-k", D4301], expect=(2,))
    case("shape/4301-digit-s", s + ["1x3x8x8"] + base + ["-s", D4301], expect=(2,))
    case("shape/4301-digit-p", s + ["1x3x8x8"] + base + ["-p", D4301], expect=(2,))
    case("shape/4301-digit-i", s + ["1x3x8x8"] + base + ["-i", D4301], expect=(2,))
    case("shape/4301-digit-g", s + ["1x3x8x8"] + base + ["-g", D4301], expect=(2,))
    case("shape/huge-k-1e12", s + ["1x3x8x8", "-o", "4", "-k", B12], expect=(2,))
    case("shape/huge-p-1e12", s + ["1x3x8x8"] + base + ["-p", B12, "--json"], expect=(0, 2))
    case("shape/huge-d-s", s + ["1x3x8x8"] + base + ["-d", B12, "-p", B12, "-s", B12],
         expect=(0, 2))
    case("shape/groups-invalid-1e12-ch", s + [f"1x{B12}x8x8", "-o", B12, "-k", "1", "-g", "7"],
         expect=(2,), note="issue 10: divisors_of_both loops to 1e12")
    case("shape/groups-1e12-valid", s + [f"1x{B12}x8x8", "-o", B12, "-k", "1", "-g", B12],
         expect=(0, 2))
    case("shape/groups-0", s + ["1x3x8x8"] + base + ["-g", "0"], expect=(2,))
    case("shape/groups-neg", s + ["1x3x8x8"] + base + ["-g", "-1"], expect=(2,))
    case("shape/dims-5", s + ["1x3x8x8"] + base + ["--dims", "5"], expect=(2,))
    case("shape/dims-huge", s + ["1x3x8x8"] + base + ["--dims", D4301], expect=(2,))
    case("shape/dtype-bogus", s + ["1x3x8x8"] + base + ["--dtype", "float128"], expect=(2,))
    case("shape/padding-mode-bogus", s + ["1x3x8x8"] + base + ["--padding-mode", "mirror"],
         expect=(2,))
    case("shape/padding-word", s + ["1x3x8x8"] + base + ["-p", "full"], expect=(2,))
    case("shape/padding-from-bogus", s + ["1x3x8x8"] + base + ["-p", "SAME", "--padding-from",
                                                                 "caffe"], expect=(2,))
    case("shape/padding-from-tf-huge", s + [f"1x3x{B12}x{B12}", "-o", "4", "-k", B12, "-s", B12,
                                            "-p", "SAME", "--padding-from", "tf", "--json"],
         expect=(0, 2))
    case("shape/long-input-100k", s + ["1x" * 50000 + "1"] + base, expect=(2,))
    case("shape/long-k-tuple", s + ["1x3x8x8", "-o", "4", "-k", ",".join(["3"] * 30000)],
         expect=(2,))
    case("shape/newline-in-value", s + ["1x3x8x8\nrm -rf /"] + base, expect=(2,))
    case("shape/ansi-in-value", s + ["1x3x8x8\x1b[31m"] + base, expect=(2,))
    case("shape/rich-markup", s + ["[bold]1x3[/bold]"] + base, expect=(2,))
    case("shape/explain-huge", s + [f"1x3x{B12}x8"] + base + ["-e"], expect=(0,))
    case("shape/transposed-huge-op", s + ["1x3x8x8", "-t", "-o", "4", "-k", "3", "-s", B12,
                                          "--output-padding", str(10 ** 12 - 1)], expect=(0, 2))
    case("shape/stdout-closed", s + ["1x3x8x8"] + base, expect=(0,), pipe="close",
         note="| true")
    case("shape/stdout-head-c1", s + ["1x3x8x8"] + base + ["--json"], expect=(0,), pipe="head1",
         note="| head -c 1")
    # ---- params
    p = ["params"]
    case("params/baseline", p + ["-i", "64", "-o", "128", "-k", "3", "-g", "4",
                                 "--compare-groups"], expect=(0,))
    case("params/json-no-input", p + ["-i", "4", "-o", "4", "-k", "3", "--json"], expect=(0,),
         note="issue 10: bytes.input 0 vs macs null")
    case("params/g65536", p + ["-g", "65536", "-i", "65536", "-o", "65536", "-k", "1"],
         expect=(0, 2), note="issue 15: 84 s")
    case("params/g65536-json", p + ["-g", "65536", "-i", "65536", "-o", "65536", "-k", "1",
                                    "--json"], expect=(0, 2))
    case("params/g1e6", p + ["-g", "1000000", "-i", "1000000", "-o", "1000000", "-k", "1"],
         expect=(0, 2), mem=2_000_000_000, note="issue 15: killed at 1.9 GB")
    case("params/groups-invalid-1e12", p + ["-i", B12, "-o", B12, "-k", "1", "-g", "7"],
         expect=(2,))
    case("params/compare-groups-1e12", p + ["-i", B12, "-o", B12, "-k", "1", "--compare-groups"],
         expect=(0, 2))
    case("params/compare-groups-prime", p + ["-i", "1000003", "-o", "1000003", "-k", "1",
                                             "--compare-groups"], expect=(0, 2))
    case("params/huge-input", p + ["-i", "4", "-o", "4", "-k", "3", "--input",
                                   f"{B12}x4x{B12}x{B12}", "--json"], expect=(0, 2))
    case("params/huge-input-1e160", p + ["-i", "4", "-o", "4", "-k", "3", "--input",
                                         f"1x4x{HUGE}x{HUGE}"], expect=(0, 2))
    case("params/4301-digit-i", p + ["-i", D4301, "-o", "4", "-k", "3"], expect=(2,))
    case("params/4301-digit-input", p + ["-i", "4", "-o", "4", "-k", "3", "--input",
                                         f"1x4x{D4301}"], expect=(2,))
    case("params/conventions-no-input", p + ["-i", "4", "-o", "4", "-k", "3", "--conventions"],
         expect=(2,))
    case("params/conventions-json", p + ["-i", "4", "-o", "4", "-k", "3", "1x4x8x8",
                                         "--conventions", "--json"], expect=(0,))
    case("params/conventions-huge", p + ["-i", "4", "-o", "4", "-k", "3", "--input",
                                         f"1x4x{HUGE}x{HUGE}", "--conventions", "--json"],
         expect=(0, 2))
    case("params/zero-i", p + ["-i", "0", "-o", "4", "-k", "3"], expect=(0, 2))
    case("params/missing-i", p + ["-o", "4", "-k", "3"], expect=(2,))
    case("params/float-i", p + ["-i", "4.0", "-o", "4", "-k", "3"], expect=(2,))
    case("params/arabic-i", p + ["-i", "٤", "-o", "4", "-k", "3"], expect=(2,))
    case("params/torch.Size-input", p + ["-i", "3", "-o", "4", "-k", "3", "--input",
                                         "torch.Size([1, 3, 8, 8])"], expect=(0, 2))
    case("params/dtype-bogus", p + ["-i", "4", "-o", "4", "-k", "3", "--dtype", "int8"],
         expect=(2,))
    case("params/neg-pad-circular", p + ["-i", "4", "-o", "4", "-k", "3", "-p", "-1",
                                         "--padding-mode", "circular", "--input", "1x4x8x8"],
         expect=(0, 2))
    case("params/stdout-closed", p + ["-i", "4", "-o", "4", "-k", "3"], expect=(0,),
         pipe="close")
    # ---- show
    sh = ["show"]
    case("show/baseline", sh + ["1x4x7x7", "-o", "4", "-k", "3", "-s", "2", "-p", "1", "-g",
                                "2"], expect=(0,))
    case("show/baseline-json", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--json"], expect=(0,))
    case("show/groups-1e8", sh + ["-i", "100000000", "-o", "100000000", "-k", "1", "-g",
                                  "100000000"], expect=(0, 2), note="issue 15: hangs")
    case("show/groups-1e5-json", sh + ["1x100000x8x8", "-o", "100000", "-k", "1", "-g",
                                       "100000", "--json"], expect=(0, 2))
    case("show/groups-1e5-png", sh + ["1x100000x8x8", "-o", "100000", "-k", "1", "-g", "100000",
                                      "--png", "{W}/out.png"], expect=(0, 2), prep=prep_out)
    case("show/png-empty", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--png", ""], expect=(2,),
         note="issue 15: silently ignored")
    case("show/svg-empty", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--svg", ""], expect=(2,))
    case("show/png-ok", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--png", "{W}/out.png"],
         expect=(0,), prep=prep_out)
    case("show/png-nodir", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--png",
                                 "{W}/no/such/dir/out.png"], expect=(0, 3))
    case("show/png-is-dir", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--png", "{W}/dir.npy"],
         expect=(2, 3))
    case("show/long-1d", sh + [f"1x4x{B12}", "-o", "4", "-k", "3"], expect=(0, 2))
    case("show/long-1d-json", sh + [f"1x4x{B12}", "-o", "4", "-k", "3", "--json"], expect=(0, 2))
    case("show/huge-kernel-pad", sh + ["1x4x7x7", "-o", "4", "-k", B12, "-p", B12],
         expect=(0, 2))
    case("show/huge-dilation", sh + ["1x4x7x7", "-o", "4", "-k", "3", "-d", B12, "-p", B12],
         expect=(0, 2))
    case("show/huge-stride", sh + ["1x4x7x7", "-o", "4", "-k", "3", "-s", B12], expect=(0, 2))
    case("show/transposed-stride-1e6", sh + ["1x4x7x7", "-t", "-o", "4", "-k", "3", "-s",
                                             "1000000"], expect=(0, 2))
    case("show/transposed-stride-1e12-json", sh + ["1x4x7x7", "-t", "-o", "4", "-k", "3", "-s",
                                                   B12, "--json"], expect=(0, 2))
    case("show/at-huge", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--at", B12], expect=(2,))
    case("show/at-neg", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--at", "-1"], expect=(0, 2))
    case("show/at-wrong-len", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--at", "1,2,3"],
         expect=(2,))
    case("show/channel-huge", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--channel", B12],
         expect=(2,))
    case("show/channel-4301", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--channel", D4301],
         expect=(2,))
    case("show/dim-5", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--along", "5"], expect=(2,))
    case("show/dim-neg", sh + ["1x4x7x7", "-o", "4", "-k", "3", "--along", "-1"], expect=(0, 2))
    case("show/4301-digit", sh + [f"1x4x{D4301}", "-o", "4", "-k", "3"], expect=(2,))
    case("show/no-input-no-i", sh + ["-o", "4", "-k", "3"], expect=(2,))
    case("show/arabic", sh + ["1x٤x7x7", "-o", "4", "-k", "3"], expect=(2,))
    case("show/stdout-closed", sh + ["1x4x7x7", "-o", "4", "-k", "3"], expect=(0,), pipe="close")
    # ---- solve
    so = ["solve"]
    case("solve/baseline", so + ["--input-size", "32", "--output-size", "16"], expect=(0,))
    case("solve/baseline-json", so + ["--input-size", "64", "--output-size", "32", "--json"], expect=(0,),
         note="issue 10: ranking")
    case("solve/7-to-14", so + ["--input-size", "7", "--output-size", "14", "--json"], expect=(0, 2),
         note="issue 10: dilated 'answers'")
    case("solve/input-1e12", so + ["--input-size", B12, "--output-size", "16"], expect=(0, 2),
         note="issue 15: MemoryError")
    case("solve/input-1e12-output-1e12", so + ["--input-size", B12, "--output-size", str(10 ** 12 // 2)],
         expect=(0, 2))
    case("solve/max-padding-1e9", so + ["--input-size", "64", "--output-size", "32", "--max-padding",
                                        "1000000000"], expect=(0, 2))
    case("solve/max-kernel-1e9", so + ["--input-size", "64", "--output-size", "32", "--max-kernel",
                                       "1000000000"], expect=(0, 2))
    case("solve/max-stride-1e9", so + ["--input-size", "64", "--output-size", "32", "--max-stride",
                                       "1000000000"], expect=(0, 2))
    case("solve/max-dilation-1e9", so + ["--input-size", "64", "--output-size", "32", "--max-dilation",
                                         "1000000000"], expect=(0, 2))
    case("solve/max-kernel-neg", so + ["--input-size", "64", "--output-size", "32", "--max-kernel", "-1"],
         expect=(2,))
    case("solve/max-stride-0", so + ["--input-size", "64", "--output-size", "32", "--max-stride", "0"],
         expect=(2,))
    case("solve/limit-neg", so + ["--input-size", "64", "--output-size", "32", "--limit", "-1"],
         expect=(0, 2))
    case("solve/max-padding-4301", so + ["--input-size", "64", "--output-size", "32", "--max-padding",
                                         D4301], expect=(2,))
    case("solve/input-4301", so + ["--input-size", D4301, "--output-size", "16"], expect=(2,))
    case("solve/zero", so + ["--input-size", "0", "--output-size", "0"], expect=(0, 2))
    case("solve/neg", so + ["--input-size", "-5", "--output-size", "3"], expect=(2,))
    case("solve/4-dims", so + ["--input-size", "32x32x32x32", "--output-size", "16x16x16x16"], expect=(2,))
    case("solve/dim-mismatch", so + ["--input-size", "32", "--output-size", "16x16"], expect=(0, 2))
    case("solve/fixed-k-1e12", so + ["--input-size", "32", "--output-size", "16", "-k", B12], expect=(0, 2))
    case("solve/fixed-p-1e12", so + ["--input-size", "32", "--output-size", "16", "-p", B12], expect=(0, 2))
    case("solve/float-input", so + ["--input-size", "1e3", "--output-size", "16"], expect=(2,))
    case("solve/arabic", so + ["--input-size", "٣٢", "--output-size", "16"], expect=(2,))
    case("solve/decoder", so + ["--transposed", "--input-size", "32", "-k", "3", "-s", "2", "-p", "1"],
         expect=(0,))
    case("solve/decoder-huge", so + ["--transposed", "--input-size", B12, "-k", "3", "-s", B12, "-p",
                                     "1", "--json"], expect=(0, 2))
    case("solve/transposed-max-padding-1e9", so + ["--transposed", "--input-size", "7", "--output-size",
                                                   "14", "--max-padding", "1000000000"],
         expect=(0, 2), note="issue 15: loops over every padding")
    case("solve/max-padding-1e9-k3", so + ["--input-size", "64", "--output-size", "32", "-k", "3",
                                           "--max-padding", "1000000000"], expect=(0, 2))
    case("solve/transposed-1e12", so + ["--transposed", "--input-size", "7", "--output-size", B12],
         expect=(0, 2))
    case("solve/stdout-closed", so + ["--input-size", "32", "--output-size", "16"], expect=(0,),
         pipe="close")
    # ---- net
    n = ["net", "1x3x32x32"]
    good = "Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(4096, 10)"
    case("net/baseline", n + [good], expect=(0,))
    case("net/baseline-json", n + [good, "--json"], expect=(0,))
    case("net/expr-20000", n + [f"Conv2d(3, {seq(20000)}, 3)"], expect=(0, 2),
         note="issue 15: RecursionError")
    case("net/expr-20000-file", ["net", "1x3x32x32", "--file", "{W}/expr20000.txt"],
         expect=(0, 2))
    case("net/paren-depth-5000", n + ["Conv2d(3, " + "(" * 5000 + "16" + ")" * 5000 + ", 3)"],
         expect=(0, 2))
    case("net/pow-tower", n + ["Conv2d(3, 9**9**9, 3)"], expect=(0, 2),
         note="integer arithmetic without a bound")
    case("net/pow-big", n + ["Conv2d(3, 2**100000, 3)"], expect=(0, 2))
    case("net/mul-big", n + ["Linear(" + "*".join(["99999999"] * 3000) + ", 10)"], expect=(0, 2))
    case("net/long-layer-100k", ["net", "1x3x32x32", "--file", "{W}/long100k.txt"],
         expect=(0, 2), note="issue 15: 49 s")
    case("net/long-string-100k", n + ["Conv2d(3, 16, 3, padding_mode='" + "z" * 100000 + "')"],
         expect=(2,))
    case("net/dev-zero", ["net", "1x3x32x32", "--file", "/dev/zero"], expect=(2, 3),
         mem=1_500_000_000, note="issue 15: reads until memory runs out")
    case("net/dev-urandom", ["net", "1x3x32x32", "--file", "/dev/urandom"], expect=(2, 3),
         mem=1_500_000_000)
    case("net/seq500", ["net", "1x3x32x32", "--file", "{W}/seq500.txt"], expect=(0,))
    case("net/seq1000", ["net", "1x3x32x32", "--file", "{W}/seq1000.txt"], expect=(0,))
    case("net/seq3000", ["net", "1x3x32x32", "--file", "{W}/seq3000.txt"], expect=(0,),
         note="issue 10: 32 s (quadratic _split)")
    case("net/flat3000", ["net", "1x3x32x32", "--file", "{W}/flat3000.txt"], expect=(0,))
    case("net/seq3000-stdin", ["net", "1x3x32x32", "--file", "-"], expect=(0,),
         stdin="{W}/seq3000.txt")
    case("net/relu-12000", n + ["Conv2d(3, 3, 3, padding=1)" + ", ReLU()" * 12000],
         expect=(0, 2))
    case("net/upsample-1e300", n + ["Upsample(scale_factor=1e300)"], expect=(0, 2),
         note="issue 15")
    case("net/upsample-1e300-json", n + ["Upsample(scale_factor=1e300)", "--json"], expect=(0, 2))
    case("net/upsample-twice-1e200", n + ["Upsample(scale_factor=1e200), Upsample(scale_factor="
                                          "1e200)"], expect=(0, 2))
    case("net/upsample-nan", n + ["Upsample(scale_factor=1e309-1e309)"], expect=(0, 2))
    case("net/upsample-neg", n + ["Upsample(scale_factor=-2)"], expect=(2,))
    case("net/upsample-size-huge", n + [f"Upsample(size={B12})", "--json"], expect=(0, 2))
    case("net/maxpool-huge", n + [f"MaxPool2d({B12})"], expect=(2,))
    case("net/groups-invalid-1e12", ["net", f"1x{B12}x8x8", f"Conv2d({B12}, {B12}, 1, groups=7)"],
         expect=(2,))
    case("net/huge-input-1e160", ["net", f"1x3x{HUGE}x{HUGE}",
                                  "Conv2d(3, 16, 3), ReLU(), Flatten()"], expect=(0, 2))
    case("net/huge-input-1e160-json", ["net", f"1x3x{HUGE}x{HUGE}", "Conv2d(3, 16, 3)",
                                       "--json"], expect=(0, 2))
    case("net/4301-digit-arg", n + [f"Conv2d(3, {D4301}, 3)"], expect=(2,))
    case("net/4301-digit-input", ["net", f"1x3x{D4301}", "Conv1d(3, 4, 3)"], expect=(2,))
    case("net/code-injection", n + ["__import__('os').system('touch {W}/pwned')"], expect=(2,))
    case("net/lambda", n + ["Conv2d(3, (lambda: 16)(), 3)"], expect=(2,))
    case("net/empty", n + [""], expect=(2,))
    case("net/unclosed", n + ["Conv2d(3, 16, 3"], expect=(2,))
    case("net/newline-in-error", n + ["Conv2d(3,\n 17, 3),\n Conv2d(16, 4, 3)"], expect=(2,))
    case("net/float-kernel", n + ["Conv2d(3, 16, 3.5)"], expect=(2,))
    case("net/neg-pad-reflect", n + ["Conv2d(3, 16, 3, padding=-1, padding_mode='reflect')"],
         expect=(0, 2))
    case("net/N0", ["net", "0x3x32x32", "Conv2d(3, 16, 3)"], expect=(0, 2))
    case("net/both-layers-and-file", n + ["ReLU()", "--file", "{W}/seq500.txt"], expect=(2,))
    case("net/file-missing", ["net", "1x3x32x32", "--file", "{W}/nope.txt"], expect=(3,))
    case("net/file-dir", ["net", "1x3x32x32", "--file", "{W}"], expect=(3,))
    case("net/file-binary", ["net", "1x3x32x32", "--file", "{W}/binary.txt"], expect=(2, 3))
    case("net/file-fifo", ["net", "1x3x32x32", "--file", "{W}/fifo/x.npy"], expect=(2, 3),
         timeout=5)
    case("net/dtype-bogus", n + ["ReLU()", "--dtype", "bogus"], expect=(2,))
    case("net/arabic-in-layer", n + ["Conv2d(٣, 16, 3)"], expect=(2,))
    case("net/stdout-closed", n + [good, "--json"], expect=(0,), pipe="close")
    # ---- run (torch)
    r = ["run"]
    tiny = ["1x3x8x8", "-o", "4", "-k", "3", "-r", "1", "--warmup", "0", "--device", "cpu"]
    case("run/baseline-json", r + tiny + ["--json"], expect=(0,))
    case("run/seed-2**64", r + tiny + ["--seed", str(2 ** 64)], expect=(0, 2),
         note="issue 15")
    case("run/seed-neg", r + tiny + ["--seed", "-1"], expect=(0, 2))
    case("run/seed-4301", r + tiny + ["--seed", D4301], expect=(0, 2))
    case("run/threads-1e11", r + tiny + ["--threads", "99999999999"], expect=(2,),
         note="issue 15")
    case("run/threads-0", r + tiny + ["--threads", "0"], expect=(2,))
    case("run/threads-2**31", r + tiny + ["--threads", str(2 ** 31)], expect=(2,))
    case("run/max-memory-1e400GiB", r + tiny + ["--max-memory", "1e400GiB"], expect=(0, 2),
         note="issue 15")
    case("run/max-memory-tiny", r + tiny + ["--max-memory", "1B"], expect=(3,))
    case("run/max-memory-zero", r + tiny + ["--max-memory", "0.0000001B"], expect=(2,))
    case("run/max-memory-nan%", r + tiny + ["--max-memory", "nan%"], expect=(2,))
    case("run/max-memory-inf%", r + tiny + ["--max-memory", "inf%"], expect=(2,))
    case("run/max-memory-empty", r + tiny + ["--max-memory", ""], expect=(2,))
    case("run/max-memory-4301", r + tiny + ["--max-memory", D4301 + "GiB"], expect=(0, 2))
    case("run/repeat-0", r + ["1x3x8x8", "-o", "4", "-k", "3", "-r", "0"], expect=(2,))
    case("run/repeat-4301", r + ["1x3x8x8", "-o", "4", "-k", "3", "-r", D4301], expect=(2,))
    case("run/warmup-neg", r + ["1x3x8x8", "-o", "4", "-k", "3", "--warmup", "-1"], expect=(2,))
    case("run/nan-tune-json", r + ["{W}/nan.npy", "-o", "4", "-k", "3", "-r", "1", "--warmup",
                                   "0", "--tune", "--json", "--device", "cpu"], expect=(0,),
         note="issue 15: NaN tokens")
    case("run/inf-json", r + ["{W}/inf.npy", "-o", "4", "-k", "3", "-r", "1", "--warmup", "0",
                              "--json", "--device", "cpu"], expect=(0,))
    sw = ["1x3x8x8", "-o", "4", "-r", "1", "--warmup", "0", "--device", "cpu"]
    case("run/sweep-json", r + sw + ["--sweep", "k=1,3,9", "--json"], expect=(0,))
    case("run/sweep-nan-json", r + ["{W}/nan.npy", "-o", "4", "-r", "1", "--warmup", "0",
                                    "--sweep", "k=1,3", "--json", "--device", "cpu"],
         expect=(0,))
    case("run/sweep-2**70", r + sw + ["--sweep", f"k={2 ** 70},3"], expect=(0,))
    case("run/sweep-all-refused", r + sw + ["--sweep", "k=9,10"], expect=(2,))
    case("run/sweep-121-runs", r + sw + ["--sweep", "k=" + ",".join(["1"] * 11),
                                         "--sweep", "s=" + ",".join(["1"] * 11)],
         expect=(2,))
    case("run/sweep-tune", r + sw + ["--sweep", "k=1,3", "--tune"], expect=(2,))
    case("run/sweep-save", r + sw + ["--sweep", "k=1,3", "--save", "{W}/out.npy"],
         expect=(2,))
    case("run/sweep-empty", r + sw + ["--sweep", ""], expect=(2,))
    case("run/sweep-stdout-closed", r + sw + ["--sweep", "k=1,3"], expect=(0,), pipe="close")
    case("run/fifo", r + ["{W}/fifo/x.npy", "-o", "4", "-k", "3"], expect=(2, 3), timeout=5,
         note="issue 15: blocks forever")
    case("run/save-hardlink-of-input", r + ["{W}/in.npy", "-o", "4", "-k", "3", "-r", "1",
                                            "--save", "{W}/in_hl.npy", "--device", "cpu"],
         expect=(2,), prep=prep_links, note="issue 15: not refused")
    case("run/save-symlink", r + ["{W}/in.npy", "-o", "4", "-k", "3", "-r", "1", "--save",
                                  "{W}/link.npy", "--device", "cpu"], expect=(0, 2),
         prep=prep_links, post=post_link_kept, note="issue 15: replaces the link")
    case("run/save-over-input", r + ["{W}/in.npy", "-o", "4", "-k", "3", "--save",
                                     "{W}/in.npy"], expect=(2,))
    case("run/save-not-npy", r + tiny + ["--save", "{W}/out.txt"], expect=(2,))
    case("run/save-empty", r + tiny + ["--save", ""], expect=(2,))
    case("run/save-nodir", r + tiny + ["--save", "{W}/no/such/out.npy"], expect=(3,))
    case("run/save-dir", r + tiny + ["--save", "{W}/dir.npy"], expect=(2,))
    case("run/npy-empty-file", r + ["{W}/empty.npy", "-o", "4", "-k", "3"], expect=(3,))
    case("run/npy-text", r + ["{W}/notnpy.npy", "-o", "4", "-k", "3"], expect=(3,))
    case("run/npy-int", r + ["{W}/int.npy", "-o", "4", "-k", "3"], expect=(2,))
    case("run/npy-object", r + ["{W}/object.npy", "-o", "4", "-k", "3"], expect=(2, 3))
    case("run/npy-truncated", r + ["{W}/truncated.npy", "-o", "4", "-k", "3"], expect=(3,))
    case("run/npy-big-header", r + ["{W}/bighdr.npy", "-o", "4", "-k", "3"], expect=(2, 3))
    case("run/npy-dir", r + ["{W}/dir.npy", "-o", "4", "-k", "3"], expect=(3,))
    case("run/npy-missing", r + ["{W}/missing.npy", "-o", "4", "-k", "3"], expect=(3,))
    case("run/device-cuda", r + ["1x3x8x8", "-o", "4", "-k", "3", "--device", "cuda"],
         expect=(0, 3))
    case("run/device-cuda-huge", r + ["1x3x8x8", "-o", "4", "-k", "3", "--device",
                                      "cuda:" + B12], expect=(2, 3))
    case("run/device-bogus", r + ["1x3x8x8", "-o", "4", "-k", "3", "--device", "tpu"],
         expect=(2,))
    case("run/dtype-bogus", r + tiny + ["--dtype", "int8"], expect=(2,))
    case("run/tune-dtypes-bogus", r + tiny + ["--tune", "--dtype", "float32,bogus"], expect=(2,))
    case("run/float16-cpu", r + tiny + ["--dtype", "float16"], expect=(0,),
         note="issue 15: no warning for slow CPU float16")
    case("run/weight-wrong-shape", r + tiny + ["--weight-file", "{W}/in.npy"], expect=(2,))
    case("run/huge-batch", r + [f"{B12}x3x8x8", "-o", "4", "-k", "3"], expect=(3,))
    case("run/huge-spatial-1e160", r + [f"1x3x{HUGE}x{HUGE}", "-o", "4", "-k", "3"],
         expect=(2, 3))
    case("run/4301-digit-input", r + [f"1x3x{D4301}x8", "-o", "4", "-k", "3"], expect=(2,))
    case("run/torch.Size", r + ["torch.Size([1, 3, 8, 8])", "-o", "4", "-k", "3", "-r", "1"],
         expect=(0, 2))
    case("run/arabic", r + ["1x٣x8x8", "-o", "4", "-k", "3", "-r", "1"], expect=(2,))
    case("run/N0", r + ["0x3x8x8", "-o", "4", "-k", "3", "-r", "1"], expect=(0, 2))
    case("run/neg-pad-reflect", r + tiny + ["-p", "-1", "--padding-mode", "reflect"],
         expect=(0, 2))
    case("run/rank-3x224x224", r + ["3x224x224", "-o", "8", "-k", "7", "-s", "2", "-p", "3",
                                    "-r", "1", "--json"], expect=(0,), note="issue 10")
    case("run/1x1-8192-under-3GB", r + ["1x1x8192x8192", "-o", "1", "-k", "1", "-r", "1",
                                        "--warmup", "0", "--device", "cpu", "--threads", "1"],
         expect=(0, 3), mem=3_000_000_000,
         note="issue 15: estimate 1.1 GiB, peak 4.6 GiB; RLIMIT_AS 3 GB here")
    long_run = ["{W}/big.npy", "-o", "16", "-k", "1", "-r", "1", "--warmup", "0", "--device",
                "cpu", "--threads", "1", "--save", "{W}/out.npy"]
    case("run/SIGTERM-during-save", r + long_run, expect=(143,), prep=prep_out,
         signal=("TERM", "tmp"), note="issue 15: .tmp left, no message")
    case("run/SIGINT-during-save", r + long_run, expect=(130,), prep=prep_out,
         signal=("INT", "tmp"))
    long_time = ["{W}/big.npy", "-o", "16", "-k", "3", "-r", "1000", "--device", "cpu",
                 "--threads", "1", "--save", "{W}/out.npy"]
    case("run/SIGTERM-mid-run", r + long_time, expect=(143,), prep=prep_out,
         signal=("TERM", 4.0))
    case("run/SIGINT-mid-run", r + long_time, expect=(130,), prep=prep_out,
         signal=("INT", 4.0))
    case("run/SIGINT-0.3s", r + tiny, expect=(130,), signal=("INT", 0.3),
         note="issue 15: traceback or silent 130")
    case("run/SIGINT-1.0s", r + tiny, expect=(130,), signal=("INT", 1.0))
    case("run/SIGINT-0.1s", r + tiny, expect=(130,), signal=("INT", 0.1))
    case("run/SIGINT-0.15s", r + tiny, expect=(130,), signal=("INT", 0.15))
    case("run/SIGTERM-0.3s", r + tiny, expect=(143,), signal=("TERM", 0.3))
    case("run/stdout-closed", r + tiny + ["--json"], expect=(0,), pipe="close",
         note="issue 15: exits 1")
    case("run/stdout-head-c1", r + tiny, expect=(0,), pipe="head1")
    # ---- verify (torch)
    v = ["verify"]
    case("verify/config-baseline", v + ["-i", "16", "-o", "16", "-k", "1", "-g", "2", "--input",
                                        "2x16x8x8", "--json"], expect=(0,))
    case("verify/suite-small-json", v + ["--cases", "5", "--json"], expect=(0,), timeout=20)
    case("verify/cases-1e8", v + ["--cases", "100000000"], expect=(0, 2), timeout=10,
         note="issue 15: builds every case first")
    case("verify/cases-neg", v + ["--cases", "-1"], expect=(2,))
    case("verify/cases-0", v + ["--cases", "0", "--json"], expect=(0, 2))
    case("verify/cases-4301", v + ["--cases", D4301], expect=(2,))
    case("verify/atol-inf-json", v + ["--cases", "3", "--atol", "inf", "--json"], expect=(0, 2),
         note="issue 15: Infinity token")
    case("verify/atol-nan-json", v + ["--cases", "3", "--atol", "nan", "--json"], expect=(0, 2))
    case("verify/atol-neg", v + ["--cases", "3", "--atol", "-1"], expect=(2,))
    case("verify/rtol-1e400-json", v + ["--cases", "3", "--rtol", "1e400", "--json"],
         expect=(0, 2))
    case("verify/config-atol-inf-json", v + ["-i", "4", "-o", "4", "-k", "3", "--atol", "inf",
                                             "--json"], expect=(0, 2))
    case("verify/seed-2**64", v + ["--cases", "2", "--seed", str(2 ** 64)], expect=(0, 2))
    case("verify/seed-neg", v + ["--cases", "2", "--seed", "-1"], expect=(0, 2))
    case("verify/junit-newdir-usage-error", v + ["-o", "4", "--junit", "{W}/newdir/r.xml"],
         expect=(2,), prep=prep_newdir, post=post_newdir_absent,
         note="issue 15: folder created")
    case("verify/junit-newdir-bad-cases", v + ["--cases", "-3", "--junit", "{W}/newdir/r.xml"],
         expect=(2,), prep=prep_newdir, post=post_newdir_absent)
    case("verify/junit-empty", v + ["--cases", "2", "--junit", ""], expect=(2,))
    case("verify/junit-dir", v + ["--cases", "2", "--junit", "{W}"], expect=(2,))
    case("verify/junit-ok", v + ["--cases", "2", "--junit", "{W}/deep/a/b/r.xml"], expect=(0,))
    case("verify/no-memory-guard", v + ["-i", "4", "-o", "4", "-k", "1", "--input",
                                        "100000x4x1000x1000"], expect=(3,),
         note="issue 15: verify has no memory guard")
    case("verify/float16-cpu", v + ["-i", "4", "-o", "4", "-k", "3", "1x4x8x8",
                                    "--dtype", "float16"], expect=(0, 1))
    case("verify/dtype-bogus", v + ["-i", "4", "-o", "4", "-k", "3", "--dtype", "int8"],
         expect=(2,))
    case("verify/device-cuda", v + ["-i", "4", "-o", "4", "-k", "3", "--device", "cuda"],
         expect=(0, 3))
    case("verify/bad-groups", v + ["-i", "4", "-o", "6", "-k", "3", "-g", "4"], expect=(2,))
    case("verify/op-lt-dilation", v + ["-t", "-i", "4", "-o", "4", "-k", "3", "-d", "2",
                                       "--output-padding", "1", "--input", "2x4x8x8", "--json"],
         expect=(0, 1), note="issue 15: torch refuses op inside a check -> 70?")
    case("verify/op-lt-dilation-g2", v + ["-t", "-i", "4", "-o", "4", "-k", "3", "-d", "2",
                                          "-g", "2", "-s", "1", "--output-padding", "1",
                                          "--input", "2x4x8x8", "--json"], expect=(0, 1))
    case("verify/N0", v + ["-i", "4", "-o", "4", "-k", "3", "0x4x8x8"],
         expect=(0, 2))
    case("verify/neg-pad-reflect", v + ["-i", "4", "-o", "4", "-k", "3", "-p", "-1",
                                        "--padding-mode", "reflect", "--input", "1x4x8x8"],
         expect=(0, 2))
    case("verify/cases-with-config", v + ["-i", "4", "-o", "4", "-k", "3", "--cases", "3"],
         expect=(2,))
    case("verify/stdout-closed", v + ["--cases", "2", "--json"], expect=(0,), pipe="close")
    case("verify/SIGINT-0.5s", v + ["--cases", "50"], expect=(130,), signal=("INT", 0.5))
    case("verify/SIGINT-0.8s", v + ["--cases", "50"], expect=(130,), signal=("INT", 0.8))
    case("verify/SIGINT-1.2s", v + ["--cases", "50"], expect=(130,), signal=("INT", 1.2))
    # enough cases that the suite is still running when the signal comes (400 took 1.9 s)
    case("verify/SIGINT-2.5s", v + ["--cases", "20000"], expect=(130,), signal=("INT", 2.5))
    case("verify/SIGTERM-3s-junit", v + ["--cases", "20000", "--junit", "{W}/r.xml"],
         expect=(143,), signal=("TERM", 3.0))
    hostile_environments()
    # ---- summary (torch; RUNS the file)
    su = ["summary"]
    cifar = f"{CWD}/examples/models/cifar_cnn.py:CifarCNN"
    case("summary/baseline-json", su + [cifar, "--input", "1x3x32x32", "--json"], expect=(0,))
    case("summary/os-write-fd1-json", su + ["{W}/fd1.py:M", "--input", "1x3x8x8", "--json"],
         expect=(0,), note="issue 15: fd 1 not redirected")
    case("summary/print-json", su + ["{W}/printer.py:M", "--input", "1x3x8x8", "--json"],
         expect=(0,))
    case("summary/raise-multiline", su + ["{W}/raise_ml.py", "--input", "1x3x8x8"],
         expect=(2, 3), note="multi-line exception message")
    case("summary/sys-exit-5", su + ["{W}/sysexit.py", "--input", "1x3x8x8"], expect=(2, 3))
    case("summary/keyboardinterrupt", su + ["{W}/kbint.py", "--input", "1x3x8x8"],
         expect=(130, 2, 3))
    case("summary/datadep-huge", su + ["{W}/datadep.py:M", "--input", "64x3x2048x2048"],
         expect=(3,), note="issue 15: CPU fallback has no guard")
    case("summary/needs-args", su + ["{W}/needs_args.py", "--input", "1x3x8x8"], expect=(2,),
         note="issue 10: should point at make()")
    case("summary/args-deep", su + ["{W}/needs_args.py:Net", "--input", "1x3x8x8", "--args",
                                    "(" * 60000 + ")" * 60000], expect=(2,))
    case("summary/args-4301", su + ["{W}/needs_args.py:Net", "--input", "1x3x8x8", "--args",
                                    D5000], expect=(2,))
    case("summary/args-huge-width", su + ["{W}/needs_args.py:Net", "--input", "1x3x8x8",
                                          "--args", B12], expect=(0, 2, 3))
    case("summary/missing-file", su + ["{W}/nope.py", "--input", "1x3x8x8"], expect=(3,))
    # (a file that writes nothing itself: what user code prints goes to stderr by design)
    case("summary/missing-name", su + ["{W}/needs_args.py:Nope", "--input", "1x3x8x8"],
         expect=(2,))
    case("summary/not-python", su + ["{W}/notnpy.npy", "--input", "1x3x8x8"], expect=(2, 3))
    case("summary/newline-path", su + ["{W}/newline\nname.py:M", "--input", "1x3x8x8"],
         expect=(0,), note="path with a newline")
    case("summary/newline-path-missing", su + ["{W}/no\nsuch.py", "--input", "1x3x8x8"],
         expect=(3,), note="error must stay one line")
    case("summary/input-4301", su + [cifar, "--input", f"1x3x{D4301}x32"], expect=(2,))
    case("summary/input-arabic", su + [cifar, "--input", "1x٣x32x32"], expect=(2,))
    case("summary/input-N0", su + [cifar, "--input", "0x3x32x32"], expect=(0, 2))
    case("summary/stdout-closed", su + [cifar, "--input", "1x3x32x32", "--json"], expect=(0,),
         pipe="close")


def prep_cache_fifo():
    folder = os.path.join(W, "cache", "convcli")
    shutil.rmtree(os.path.join(W, "cache"), ignore_errors=True)
    os.makedirs(folder)
    os.mkfifo(os.path.join(folder, "help-convcli.txt"))


def prep_cache_zero():
    folder = os.path.join(W, "cache", "convcli")
    shutil.rmtree(os.path.join(W, "cache"), ignore_errors=True)
    os.makedirs(folder)
    os.symlink("/dev/zero", os.path.join(folder, "help-convcli.txt"))


def prep_cache_file():
    shutil.rmtree(os.path.join(W, "cache"), ignore_errors=True)
    os.makedirs(os.path.join(W, "cache"))
    write(os.path.join(W, "cache", "convcli"), "a file where the cache folder goes")


def post_cache_clean():
    found = []
    for folder, _, files in os.walk(os.path.join(W, "cache")):
        found += [f for f in files if f.endswith(".tmp")]
    if found:
        return f"help cache temporary files left: {found}"
    if not stat.S_ISCHR(os.stat("/dev/zero").st_mode):
        return "/dev/zero is no longer a device"
    return None


def prep_null_link():
    path = os.path.join(W, "null.xml")
    if os.path.lexists(path):
        os.remove(path)
    os.symlink(os.devnull, path)


def post_null_link():
    path = os.path.join(W, "null.xml")
    if not (os.path.islink(path) and stat.S_ISCHR(os.stat(os.devnull).st_mode)):
        return "the link to /dev/null or /dev/null itself was replaced"
    return None


def post_no_dash_file():
    return "a file named '-' was created" if os.path.exists(os.path.join(CWD, "-")) else None


def hostile_environments():
    """Issue 25's classes: streams, encodings, terminal sizes, early signals, output
    targets that are not regular files, a help cache that is not a regular file."""
    shape = ["shape", "1x3x8x8", "-o", "4", "-k", "3"]
    commands = {"shape": shape, "shape-json": shape + ["--json"],
                "params": ["params", "-o", "4", "-k", "3", "--input", "1x3x8x8"],
                "solve": ["solve", "--input", "32", "--output", "16"], "help": ["--help"],
                "net": ["net", "1x3x8x8", "Conv2d(3, 4, 3), ReLU()", "--json"]}
    for name, argv in commands.items():
        case(f"stream/closed-stdout-{name}", argv, expect=(CLOSED_STDOUT,), fd="close1")
        case(f"stream/full-stdout-{name}", argv, expect=(3,), fd="full1")
        case(f"stream/closed-stderr-{name}", argv, expect=(0,), fd="close2")
        case(f"stream/full-stderr-{name}", argv, expect=(0,), fd="full2")
    case("stream/closed-stderr-error", ["shape", "1x3x8x8", "-o", "4", "-k", "0"],
         expect=(2,), fd="close2")
    for label, env in {"ascii": dict(PYTHONIOENCODING="ascii"),
                       "latin1": dict(PYTHONIOENCODING="latin-1"),
                       "C-locale": dict(LC_ALL="C", LANG="C")}.items():
        for name, argv in {"params": commands["params"] + ["--compare-groups"],
                           "show": ["show", "1x1x6x6", "-o", "1", "-k", "3"],
                           "help": ["--help"], "explain": shape + ["--explain"]}.items():
            case(f"encoding/{label}-{name}", argv, expect=(0,), env=env)
    for label, value in {"huge": "99999999999", "10M": "10000000", "zero": "0",
                         "bogus": "abc", "4301-digits": D4301}.items():
        case(f"columns/{label}-help", ["--help"], expect=(0,),
             env=dict(COLUMNS=value, CONVCLI_HELP_CACHE="0"))
        case(f"columns/{label}-error", ["shape", "1x3x8x8", "-o", "4", "-k", "0"],
             expect=(2,), env=dict(COLUMNS=value, LINES=value))
    for sig, code in (("INT", 130), ("TERM", 143)):
        for ms in (0, 1, 3, 10, 30, 60, 100, 200):
            case(f"signal/{sig}-{ms}ms-after-first-statement", shape, expect=(0, code),
                 signal=(sig, ("ready", ms / 1000)))
    case("target/junit-link-to-dev-null", ["verify", "-i", "4", "-o", "4", "-k", "1",
                                           "--input", "1x4x8x8", "--junit", "{W}/null.xml"],
         expect=(0,), prep=prep_null_link, post=post_null_link)
    case("target/svg-dash", ["show", "1x1x6x6", "-o", "1", "-k", "3", "--svg", "-"],
         expect=(0,), post=post_no_dash_file, help_ok=True)
    case("target/junit-dash", ["verify", "-i", "4", "-o", "4", "-k", "1", "--input",
                               "1x4x8x8", "--junit", "-"], expect=(0,), post=post_no_dash_file)
    for label, prep in (("fifo", prep_cache_fifo), ("dev-zero-link", prep_cache_zero),
                        ("folder-is-a-file", prep_cache_file)):
        case(f"helpcache/{label}", ["--help"], expect=(0,), prep=prep, post=post_cache_clean,
             env=dict(XDG_CACHE_HOME="{W}/cache"), timeout=20)


def _handles_sigterm(pid: int) -> bool:
    """convcli's first statement has run (it takes SIGINT and SIGTERM together). The
    twin of tests/conftest.py's takes_sigterm: this script does not import the suite's
    conftest, which imports pytest and sets CONVCLI_DEBUG=1 for every child it starts."""
    try:
        with open(f"/proc/{pid}/status") as f:
            mask = next(line for line in f if line.startswith("SigCgt:")).split()[1]
    except (OSError, StopIteration):
        return False
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def _child_setup(fd_mode):
    """In the child before exec: default signals, then the descriptor the case asks
    for closed (`>&-`, `2>&-`) or pointed at /dev/full."""
    def setup():
        _default_signals()
        if fd_mode:
            target = 1 if fd_mode.endswith("1") else 2
            if fd_mode.startswith("close"):
                os.close(target)
            else:
                full = os.open("/dev/full", os.O_WRONLY)
                os.dup2(full, target)
                os.close(full)
    return setup


# ---------------------------------------------------------------------------- running
def expand(a: str) -> str:
    return a.replace("{W}", W)


def tmp_files():
    found = []
    for root in (W, CWD):
        for dirpath, dirnames, filenames in os.walk(root):
            if root == CWD and dirpath != CWD:
                dirnames[:] = []
            for f in filenames:
                if f.startswith(".convcli-"):
                    found.append(os.path.join(dirpath, f))
    return found


def strict_json(text: str):
    def bad(c):
        raise ValueError(f"non-strict token {c}")
    try:
        obj = json.loads(text, parse_constant=bad)
    except ValueError as e:
        return False, str(e)[:120]
    if not isinstance(obj, dict):
        return False, f"not one object ({type(obj).__name__})"
    return True, ""


def innermost(text: str, faulthandler: bool = False) -> str:
    """The innermost convcli frame of a traceback (or a faulthandler dump, which lists
    the most recent call first) and the exception line."""
    import re
    frames = re.findall(r'File "([^"]*convcli/[^"]+\.py)", line (\d+)(?:, in | in )(\S+)', text)
    if not frames:
        return ""
    f = frames[0] if faulthandler else frames[-1]
    where = f"{os.path.relpath(f[0], CWD)}:{f[2]} (line {f[1]})"
    if not faulthandler:
        tail = [ln for ln in text.strip().splitlines() if ln and not ln.startswith(" ")]
        if tail:
            where += " -> " + tail[-1][:160]
    return where


def debug_rerun(full, c, env, timeout) -> str:
    """Exit 70: run again with CONVCLI_DEBUG=1 to get the traceback's innermost frame."""
    env = dict(env, CONVCLI_DEBUG="1")
    stdin = open(expand(c["stdin"]), "rb") if c.get("stdin") else subprocess.DEVNULL
    try:
        p = subprocess.run(full, cwd=CWD, stdin=stdin, capture_output=True, env=env,
                           timeout=timeout)
        return innermost(p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired:
        return "debug re-run timed out"
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()


def _default_signals():
    """A probe started in the background (nohup ... &) has SIGINT ignored, and an
    ignored SIGINT survives exec: Python would then never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def run_case(c) -> dict:
    for f in tmp_files():
        os.remove(f)
    if c.get("prep"):
        c["prep"]()
    argv = [expand(a) for a in c["argv"]]
    mem = c.get("mem", MEM)
    timeout = c.get("timeout", 20)
    full = ["prlimit", f"--as={mem}", "--"] + CMD + argv
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100", PYTHONHASHSEED="0",
               PYTHONFAULTHANDLER="1")
    env.pop("CONVCLI_DEBUG", None)
    env.update({k: expand(v) for k, v in c.get("env", {}).items()})
    stdin = subprocess.DEVNULL
    if c.get("stdin"):
        stdin = open(expand(c["stdin"]), "rb")
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(full, cwd=CWD, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env,
                                preexec_fn=_child_setup(c.get("fd")))
    except OSError as e:
        return dict(id=c["id"], cmd=c["id"].split("/")[0], argv=argv, rc=None, wall=0,
                    issues=[f"probe could not start it: {e}"], verdict="not run",
                    stderr_first="", expect=sorted(c["expect"]), note=c.get("note", ""))
    timed_out = False
    signalled = None
    pipe = c.get("pipe")
    out = b""
    err = b""
    try:
        if pipe == "close":
            proc.stdout.close()
        elif pipe == "head1":
            out = proc.stdout.read(1)
            proc.stdout.close()
        if c.get("signal"):
            sig, when = c["signal"]
            signum = getattr(signal, "SIG" + sig)
            deadline = t0 + timeout
            if isinstance(when, tuple):     # ("ready", s): s after convcli's first statement
                while (time.monotonic() < deadline and proc.poll() is None
                       and not _handles_sigterm(proc.pid)):
                    time.sleep(0.0002)
                ready = time.monotonic()
                while time.monotonic() < ready + when[1]:
                    pass
            elif when == "tmp":
                while time.monotonic() < deadline and proc.poll() is None:
                    if any(os.path.basename(f).startswith(".convcli-") for f in tmp_files()):
                        break
                    time.sleep(0.005)
            else:
                while time.monotonic() < t0 + when and proc.poll() is None:
                    time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signum)
                signalled = f"SIG{sig} at {time.monotonic() - t0:.2f}s"
            else:
                signalled = f"SIG{sig} not sent: process already exited"
        if pipe in ("close", "head1"):
            err = proc.stderr.read()  # stdout closed; stderr until exit
            proc.wait(timeout=max(1, timeout - (time.monotonic() - t0)))
        else:
            out, err = proc.communicate(timeout=max(1, timeout - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.send_signal(signal.SIGABRT)   # PYTHONFAULTHANDLER=1: dumps the stack
        try:
            o2, e2 = proc.communicate(timeout=3)
            out += o2 or b""
            err += e2 or b""
        except subprocess.TimeoutExpired:
            proc.kill()
        try:
            o2, e2 = proc.communicate(timeout=5)
            out += o2 or b""
            err += e2 or b""
        except Exception:  # noqa: BLE001
            pass
    wall = time.monotonic() - t0
    if stdin is not subprocess.DEVNULL:
        stdin.close()
    rc = proc.returncode
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    leftovers = tmp_files()
    rec = dict(id=c["id"], cmd=c["id"].split("/")[0], argv=argv, shell=shlex.join(argv),
               rc=rc, wall=round(wall, 3), timed_out=timed_out, signal=signalled,
               stderr_first=(lines[0][:300] if lines else ""), stderr_lines=len(lines),
               stderr_len=len(stderr), stdout_empty=not out.strip(), stdout_len=len(out),
               stdout_head=stdout[:300], json=None, json_problem="", tmp_left=leftovers,
               expect=sorted(c["expect"]), note=c.get("note", ""), mem=c.get("mem", MEM))
    if "--json" in argv and out.strip() and pipe is None:
        ok, why = strict_json(stdout)
        rec["json"], rec["json_problem"] = ok, why
    issues = []
    if timed_out:
        issues.append(f"hang/timeout (>{timeout}s)")
    if rc == 70 or "internal error" in stderr:
        issues.append("exit 70 internal error")
    if "Traceback (most recent call last)" in stderr:
        issues.append("traceback")
    if timed_out or rc == 70:
        pass
    elif rc is not None and rc < 0:
        issues.append(f"killed by signal {-rc}")
    elif rc == CLOSED_STDOUT and (pipe in ("close", "head1") or c.get("fd") == "close1"):
        pass          # the reader went away first: exit 141 quietly, as SIGPIPE would
    elif rc not in DOCUMENTED:
        issues.append(f"undocumented exit code {rc}")
    elif rc not in c["expect"]:
        issues.append(f"wrong exit code {rc} (expected {'/'.join(map(str, sorted(c['expect'])))})")
    if not timed_out and rc not in (0, 1, None) and not c.get("help_ok") \
            and c.get("fd") not in ("close2", "full2") and not (
            rc == CLOSED_STDOUT and (pipe in ("close", "head1") or c.get("fd") == "close1")):
        errs = [ln for ln in lines if ln.startswith("Error:")]
        others = [ln for ln in lines if not ln.startswith(("Error:", "Warning:"))]
        if len(errs) != 1 or others:
            issues.append("error not exactly one `Error:` line"
                          + (f" ({len(errs)} Error lines, {len(others)} other lines)"))
        if out.strip() and pipe is None:
            issues.append("stdout not empty on error")
    if rc == 0 and lines and any(ln.startswith("Error:") for ln in lines):
        issues.append("Error: line with exit 0")
    if rec["json"] is False:
        issues.append(f"non-strict JSON ({rec['json_problem']})")
    if "--json" in argv and pipe is None and rc in (0, 1) and not out.strip():
        issues.append("--json printed nothing")
    if leftovers:
        issues.append(f"temp file left ({len(leftovers)})")
    if c.get("post"):
        why = c["post"]()
        if why:
            issues.append(why)
    if (rec["cmd"] in CALC and not timed_out and wall > SLOW
            and not c.get("stdin") and "dev-" not in c["id"]
            and not {"--png", "--svg"} & set(argv)):   # matplotlib's import alone ~2 s
        issues.append(f"slow ({wall:.1f}s > {SLOW}s)")
    if timed_out:
        rec["where"] = innermost(stderr, faulthandler=True)
    elif rc == 70 and not c.get("signal") and not pipe:
        rec["where"] = debug_rerun(full, c, env, timeout)
    rec["issues"] = issues
    rec["verdict"] = "broken" if issues else "clean"
    return rec


def summarise(results):
    cmds = {}
    for r in results:
        cmds.setdefault(r["cmd"], []).append(r)
    lines = ["| command | tried | clean | broken |", "|---|---|---|---|"]
    tot = [0, 0, 0]
    for cmd, rs in cmds.items():
        b = sum(r["verdict"] == "broken" for r in rs)
        lines.append(f"| {cmd} | {len(rs)} | {len(rs) - b} | {b} |")
        tot[0] += len(rs)
        tot[1] += len(rs) - b
        tot[2] += b
    lines.append(f"| **all** | {tot[0]} | {tot[1]} | {tot[2]} |")
    lines.append("")
    lines.append("| id | rc | wall s | issues | stderr first line |")
    lines.append("|---|---|---|---|---|")
    for r in results:
        if r["verdict"] == "broken":
            lines.append(f"| {r['id']} | {r['rc']} | {r['wall']} | {'; '.join(r['issues'])} | "
                         f"{r['stderr_first'][:140].replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-fixtures", action="store_true")
    ap.add_argument("--from", dest="start", default=None,
                    help="resume: start at this case id and append to results.jsonl")
    a = ap.parse_args()
    define_cases()
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate ids"
    chosen = [c for c in CASES if not a.k or any(k in c["id"] for k in a.k)]
    earlier = []
    if a.start:
        i = ids.index(a.start)
        chosen = [c for c in chosen if ids.index(c["id"]) >= i]
        path0 = os.path.join(OUT, "results.jsonl")
        with open(path0) as f:
            earlier = [json.loads(ln) for ln in f
                       if ids.index(json.loads(ln)["id"]) < i]
    if a.list:
        for c in chosen:
            print(c["id"], shlex.join(expand(x) for x in c["argv"])[:150])
        print(len(chosen), "cases")
        return
    os.makedirs(OUT, exist_ok=True)
    if not a.no_fixtures:
        make_fixtures()
    print(f"CMD={shlex.join(CMD)} CWD={CWD} WORK={W} cases={len(chosen)}", flush=True)
    results = list(earlier)
    path = os.path.join(OUT, "results.jsonl" if not a.k else "results-subset.jsonl")
    with open(path, "w") as f:
        for rec in earlier:
            f.write(json.dumps(rec) + "\n")
        for c in chosen:
            rec = run_case(c)
            results.append(rec)
            f.write(json.dumps(rec) + "\n")
            f.flush()
            mark = "ok  " if rec["verdict"] == "clean" else "BAD "
            print(f"{mark}{rec['id']:40s} rc={rec['rc']!s:4s} {rec['wall']:6.2f}s "
                  f"{'; '.join(rec['issues'])[:110]}", flush=True)
    table = summarise(results)
    with open(os.path.join(OUT, "summary.md" if not a.k else "summary-subset.md"), "w") as f:
        f.write(table)
    print(table.split("\n\n")[0])
    if os.path.exists(f"{W}/pwned"):
        print("!!! code injection: {W}/pwned exists")


if __name__ == "__main__":
    main()
