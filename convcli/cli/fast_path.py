"""The fast path: well-formed `convcli shape|params|net ...` answered without Typer,
and `--help` replayed from a cache of Typer's own output.

A shape calculator lives in a loop of thought; Typer costs several times
`python -c pass` before a command runs (importing it, building the parameters,
parsing). So main.py asks ``answer(argv)`` first. It takes only the exact forms it
knows (``-o 16``, ``--out-channels 16``, ``--out-channels=16``, known flags,
positionals in any order), with the option table Typer's commands are built from
(option_table.py, command_options.py; a test checks every entry against what Typer
builds), and reads the values with option_values.read, Typer's parsers. Anything
else returns None and main.py hands argv to Typer untouched: help, unknown (an old
spelling too: Typer prints its note) or repeated options
(``--set`` may repeat, as in Typer), combined short flags (``-te``), a value that
starts with '-', ``--``, a missing argument, shell completion (``_CONVCLI_COMPLETE``),
and the options in ``LEFT_TO_TYPER``: net's --file (it may read stdin, which a
second parse could not read again), --train/--optimizer and the receptive-field
options (--rf, --field and the files --png/--svg write).

shape, params and net run calculator_commands.py's bodies, the ones the Typer commands run; an error
while computing returns None too (nothing has been printed), so Typer parses again
and every error message is command_errors.py's own.

``--help`` (root or one command) prints what Typer printed the last time with the
same key: argv, the interpreter, sys.path, the terminal (isatty, size, encoding),
every environment variable rich or Typer reads, and the size and mtime of each
convcli, typer and rich module Typer loaded to print it. A miss runs Typer with
stdout recorded and stores the text (only when it exits 0). The cache is
$XDG_CACHE_HOME/convcli (~/.cache/convcli), one file per help page; a file is
replayed only when it is a regular file under 1 MiB whose key, source files and
digest match and which holds only help text (a FIFO, a device, a link or a
tampered file is a miss and is replaced). CONVCLI_HELP_CACHE=0 turns the cache off
(docs/environment.md).
"""

from __future__ import annotations

import os
import sys

HELP_CACHE_ENV = "CONVCLI_HELP_CACHE"
_HELP = ("--help", "-h")


class Opt:
    """One option as Typer declares it: the parameter name, its flags (``-o``,
    ``--out-channels``), the flags that set a bool False (``--no-bias``), whether it is
    a flag, its default and whether it is required."""

    __slots__ = ("name", "decls", "secondary", "flag", "default", "required", "multiple")

    def __init__(self, name: str, decls: tuple[str, ...], secondary: tuple[str, ...] = (),
                 flag: bool = False, default: object = None, required: bool = False,
                 multiple: bool = False):
        self.name, self.decls, self.secondary = name, decls, secondary
        self.flag, self.default, self.required = flag, default, required
        self.multiple = multiple     # may repeat: the values as a list


def command_table(command: str) -> tuple[list[tuple[str, bool]], list[Opt]]:
    """(positionals as (name, required), options) of one command, from the option
    table (option_table.py, command_options.py) Typer's commands are built from; a
    positional's default is None. Old spellings are Typer's (they print a note)."""
    from convcli.cli.command_options import COMMANDS, default_of
    from convcli.cli.option_table import CONV_NAMES, OPTIONS

    cmd = COMMANDS[command]
    positionals, options = [], []
    conv = [] if cmd.conv is None else [n for n in CONV_NAMES if n not in cmd.conv.exclude]
    defaults = {} if cmd.conv is None else cmd.conv.defaults
    for name in conv:     # -o and -k too: ConvArgs.read names every missing one
        options.append(_opt(name, False, defaults.get(name, OPTIONS[name].default)))
    for name, use in cmd.uses.items():
        if OPTIONS[name].kind == "argument":
            positionals.append((name, use.required))
        else:
            options.append(_opt(name, use.required, default_of(command, name)))
    if cmd.conv is not None and cmd.conv.code:
        positionals.append(("code", False))     # CONV: the conv as torch code
    return positionals, options


def _opt(name: str, required: bool, default: object) -> Opt:
    from convcli.cli.option_table import OPTIONS

    d = OPTIONS[name]
    primary, secondary = [], []
    for decl in d.decls:
        first, _, second = decl.partition("/")
        primary.append(first)
        secondary += [second] if second else []
    return Opt(name, tuple(primary), tuple(secondary), d.kind == "flag",
               None if required else default, required, d.kind == "multiple")


COMMANDS = ("shape", "params", "net")
# the commands' options that only Typer takes (a test checks these are all the rest)
LEFT_TO_TYPER = {"shape": (), "params": (),
                 "net": ("file", "train", "optimizer", "rf", "field", "at", "png", "svg",
                         "max_params", "max_macs", "max_activations", "max_train_memory",
                         "format", "junit")}


def parse(argv: list[str]) -> tuple[str, dict] | None:
    """argv -> (command, every parameter's value), or None for anything the fast path
    does not take."""
    if not argv or argv[0] not in COMMANDS:
        return None
    wanted, options = command_table(argv[0])
    options = [o for o in options if o.name not in LEFT_TO_TYPER[argv[0]]]
    by_decl = {d: (opt, True) for opt in options for d in opt.decls}
    by_decl.update({d: (opt, False) for opt in options for d in opt.secondary})
    values: dict = {}
    positionals = []
    args = iter(argv[1:])
    for token in args:
        if not token.startswith("-") or token == "-":
            positionals.append(token)
            continue
        name, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        hit = by_decl.get(name)
        if hit is None or hit[0].name in values and not hit[0].multiple:
            return None     # unknown, -h, --, -o16, -te, a negative number; repeated
        opt, primary = hit
        if opt.flag:
            if eq:
                return None
            values[opt.name] = primary
            continue
        value = inline if eq else next(args, None)
        if value is None or value.startswith("-"):
            return None
        if opt.multiple:
            values.setdefault(opt.name, []).append(value)
        else:
            values[opt.name] = value
    if len(positionals) > len(wanted):
        return None
    for (name, required), value in zip(wanted, positionals + [None] * len(wanted)):
        if value is None and required:
            return None
        values[name] = value
    for opt in options:
        if opt.name not in values:
            if opt.required:
                return None
            values[opt.name] = opt.default
    return argv[0], values


def answer(argv: list[str]) -> int | None:
    """The exit code after answering argv, or None: Typer's turn (nothing written)."""
    if "_CONVCLI_COMPLETE" in os.environ:
        return None
    if len(argv) in (1, 2) and argv[-1] in _HELP and os.environ.get(HELP_CACHE_ENV) != "0":
        return _help(argv)
    parsed = parse(argv)
    if parsed is None:
        return None
    return _calc(*parsed)


def _calc(command: str, values: dict) -> int | None:
    from convcli.cli import calculator_commands
    from convcli.cli.option_values import read

    json = values.pop("json")
    args: tuple = ()
    if command != "net":
        from convcli.cli.conv_args import CONV_DECLS, ConvArgs
        args = (ConvArgs(**{k: values.pop(k) for k in (*CONV_DECLS, "code")},
                         command=command),)
    try:
        values = read(command, values)
        result = getattr(calculator_commands, command)(*args, **values)
        tables = None if json else result.tables()
    except Exception:       # Typer parses again and command_errors.py reports it
        return None
    except KeyboardInterrupt as e:     # Interrupted, Terminated: up to main.py
        return _exit_code_for(e)
    try:
        if json:
            from convcli.views.jsonout import write_json
            write_json(result.data)
        else:
            from convcli.views.console import Output
            Output(False).emit(result.data, *(tables or ()))
    except (Exception, KeyboardInterrupt) as e:
        return _exit_code_for(e)
    return 0


def _exit_code_for(e: BaseException) -> int:
    """What command_errors.py does with an exception from inside a command."""
    from convcli.cli.command_errors import exit_code_for

    return int(exit_code_for(e))


# ---- --help from a cache of Typer's own output --------------------------------------

_ENV_NAMES = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "PY_COLORS", "TERM",
              "COLORTERM", "TERMINAL_WIDTH", "GITHUB_ACTIONS", "DATABRICKS_RUNTIME_VERSION",
              "LANG")
_ENV_PREFIXES = ("TTY_", "TYPER_", "_TYPER_", "JUPYTER_", "PYTHON", "LC_", "TERM_")


def _help_key(argv: list[str]) -> str:
    """Everything Typer's help output depends on, but the files (checked apart)."""
    import json

    sizes: list[tuple[int, ...] | None] = []
    for fd in (0, 1, 2):
        try:
            sizes.append(tuple(os.get_terminal_size(fd)))
        except (OSError, ValueError):
            sizes.append(None)
    ttys: list[bool | None] = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            ttys.append(bool(stream and stream.isatty()))
        except (OSError, ValueError):
            ttys.append(None)
    env = sorted((k, v) for k, v in os.environ.items()
                 if k in _ENV_NAMES or k.startswith(_ENV_PREFIXES))
    return json.dumps([1, argv[:-1], sys.version, sys.executable, sys.path, ttys, sizes,
                       getattr(sys.stdout, "encoding", None), env])


def _cache_file(argv: list[str]) -> str | None:
    """$XDG_CACHE_HOME/convcli/help-NAME.txt (~/.cache when the variable is unset or
    not an absolute path, as the XDG spec says)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    name = argv[0] if len(argv) == 2 else "convcli"
    if not (name.isascii() and name.isalnum() and len(name) <= 32):
        return None
    return os.path.join(base, "convcli", f"help-{name}.txt")


def _stat(path: str) -> str:
    st = os.stat(path)
    return f"{path}\t{st.st_mtime_ns}\t{st.st_size}"


MAX_CACHE_BYTES = 1 << 20       # a help page is ~10 KB; anything bigger is not ours


def _digest(text: str) -> str:
    from _blake2 import blake2b     # builtin, no OpenSSL start-up (hashlib's)
    return blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _replayable(text: str) -> bool:
    """Help text as Typer prints it: lines of printable text and colour escapes."""
    import re
    return "Usage" in text and re.search(
        r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]|\x1b(?!\[[0-9;]*m)", text) is None


def _read_cache(path: str, key: str) -> str | None:
    """The cached text, or None: only from a regular file of bounded size (never a
    FIFO, a device or a link: opened without following links, without waiting),
    whose key, source files and digest all match, and that holds only help text."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        import stat
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CACHE_BYTES:
            return None
        data = os.read(fd, MAX_CACHE_BYTES + 1).decode("utf-8")
        head, sep, text = data.partition("\n")
        if not sep or head != key:
            return None
        deps, _, text = text.partition("\n")
        digest, _, text = text.partition("\n")
        for line in deps.split("\0"):
            if _stat(line.split("\t", 1)[0]) != line:
                return None
        return text if digest == _digest(text) and _replayable(text) else None
    except (OSError, ValueError, UnicodeError):
        return None
    finally:
        os.close(fd)


def _write_cache(path: str, key: str, text: str) -> None:
    """Atomically, with the files the text came from and its digest; silently not at
    all when the cache folder cannot be written. The temporary file is removed
    whatever happens (a full disk, a folder that is a file, a signal)."""
    if len(text) > MAX_CACHE_BYTES // 4 or not _replayable(text):
        return
    files = sorted({f for name, m in list(sys.modules.items())
                    if name.split(".")[0] in ("convcli", "typer", "rich")
                    and isinstance(f := getattr(m, "__file__", None), str) and f})
    from convcli.process import signals_deferred

    tmp = None
    try:
        deps = "\0".join(_stat(f) for f in files)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        import tempfile
        with signals_deferred():
            fd, tmp = tempfile.mkstemp(prefix=".help-", suffix=".tmp",
                                       dir=os.path.dirname(path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(f"{key}\n{deps}\n{_digest(text)}\n{text}")
        os.replace(tmp, path)
        tmp = None
    except (OSError, ValueError, UnicodeError):
        pass
    finally:
        if tmp is not None:
            with signals_deferred():
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


class _Recorder:
    """sys.stdout as rich sees it (isatty, encoding, fileno...), recording writes."""

    def __init__(self, stream):
        self.stream, self.parts = stream, []

    def write(self, s):
        n = self.stream.write(s)    # first: click probes with write(b"") and a TypeError
        self.parts.append(s)
        return n

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _help(argv: list[str]) -> int:
    path = _cache_file(argv)
    key = _help_key(argv)
    text = None if path is None else _read_cache(path, key)
    if text is not None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    from convcli.cli.app import app

    recorder = sys.stdout = _Recorder(sys.stdout)
    try:
        app(args=argv, prog_name="convcli")
    except SystemExit as e:
        if e.code in (0, None) and path is not None:
            _write_cache(path, key, "".join(recorder.parts))
        raise
    finally:
        sys.stdout = recorder.stream
    return 0
