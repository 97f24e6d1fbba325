"""The .npy files of `convcli run`: INPUT, --weight-file and --bias-file read (headers
checked before anything is loaded: shape, dtype, truncation; then loaded in native
byte order), and --save written atomically. numpy is imported inside functions.

``-`` is standard input (files.stdin_for): its header is read when the command asks
for the shape, its data only when the tensor is built, after the memory budget
passed, and then exactly the bytes the header promises (never more). Empty or bad
bytes, or fewer than promised, are exit 2 in one line.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from math import prod

from convcli.calculator.parse import parse_shape
from convcli.calculator.spec import ConvSpec
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem
from convcli.files import STDIN, atomic_write, read_stdin, stdin_for
from convcli.formatting import one_line, shape_x

NPY_FLOAT_DTYPES = ("float16", "float32", "float64")


@dataclass(frozen=True)
class Saved:
    """Where --save wrote the output, in which dtype, and why that dtype."""

    path: str
    dtype: str
    note: str = ""


def _np():
    import numpy
    return numpy


# ---- .npy files ------------------------------------------------------------------

@dataclass(frozen=True)
class NpyFile:
    """What a .npy header says, read without loading the data."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int

    @property
    def shown(self) -> str:
        """The file as reports name it: stdin for ``-``."""
        return "stdin" if self.path == STDIN else self.path

    @property
    def named(self) -> str:
        """The file as messages name it: its path quoted, or - (stdin)."""
        return "- (stdin)" if self.path == STDIN else repr(self.path)


def is_npy_path(text: str) -> bool:
    """INPUT is a file when it is - (stdin), ends in .npy, or names a file and is not a
    shape."""
    if text == STDIN or text.lower().endswith(".npy"):
        return True
    return os.path.isfile(text) and not _looks_like_shape(text)


def _looks_like_shape(text: str) -> bool:
    try:
        parse_shape(text)
    except ConvError:
        return False
    return True


def parse_input(text: str) -> tuple[str | tuple[int, ...], tuple[int, ...]]:
    """INPUT -> (what ``run`` takes: the path or the shape, the input shape). A .npy
    file's shape comes from its header; nothing is loaded."""
    if is_npy_path(text):
        return text, npy_info(text, "INPUT").shape
    try:
        shape = parse_shape(text)
    except ConvError as e:
        if any(c.isalpha() and c not in "xX" for c in text) or "/" in text or "." in text:
            raise ConvError(f"INPUT: {text!r} is neither a shape like 4x3x64x64 nor an "
                            "existing .npy file; check the spelling or the path") from None
        raise e
    return shape, shape


def npy_info(path: str, option: str) -> NpyFile:
    """Read and check a .npy header: the file exists, is a .npy, holds enough bytes
    for its shape, and holds float16/32/64 values. Nothing is loaded."""
    if path == STDIN:
        return stdin_npy(option)
    np = _np()
    fmt = np.lib.format
    if not os.path.exists(path):
        raise EnvironmentProblem(f"{option}: file {path!r} not found; check the path")
    if os.path.isdir(path):
        raise EnvironmentProblem(f"{option}: {path!r} is a directory, not a .npy file")
    _check_regular(path, option)
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _fortran, dtype = reader(f)
            offset = f.tell()
    except PermissionError:
        raise EnvironmentProblem(f"{option}: {path!r} is not readable (permission denied)") \
            from None
    except (ValueError, OSError, EOFError, SyntaxError, UnicodeError) as e:
        raise EnvironmentProblem(
            f"{option}: {path!r} is not a readable .npy file ({one_line(e)}); write it "
            "with numpy.save") from None
    _check_float(dtype, option, repr(path))
    nbytes = prod(shape) * dtype.itemsize
    have = os.path.getsize(path) - offset
    if have < nbytes:
        raise EnvironmentProblem(
            f"{option}: {path!r} is truncated: its header says {shape_x(shape) or 'a scalar'} "
            f"{dtype} ({nbytes:,} bytes) but only {have:,} bytes follow; write it again")
    return NpyFile(path, tuple(int(n) for n in shape), dtype.newbyteorder("=").name, nbytes)


def _check_float(dtype, option: str, where: str) -> None:
    if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8):
        raise ConvError(
            f"{option}: {where} holds {dtype} values; a convolution needs floating point "
            f"({', '.join(NPY_FLOAT_DTYPES)}): save it with array.astype('float32')")


class _StdinNpy:
    """Standard input's .npy, read once (a --sweep builds its rows from the same array):
    the stream, the option it was given to, its header (``info``, the numpy ``dtype``
    as stored, ``fortran`` order) and, once read, its ``array``."""

    __slots__ = ("stream", "option", "info", "dtype", "fortran", "array")

    def __init__(self, stream, option: str, info: NpyFile, dtype, fortran: bool):
        self.stream, self.option, self.info = stream, option, info
        self.dtype, self.fortran, self.array = dtype, fortran, None


_STDIN_NPY: list[_StdinNpy] = []
NPY_MAGIC = b"\x93NUMPY"     # the first bytes of every .npy file


def _stdin_hint(option: str) -> str:
    return ("convcli run - -o 8 -k 3 < x.npy" if option == "INPUT"
            else f"convcli run 1x3x8x8 -o 8 -k 3 {option} - < {option[2]}.npy")


def stdin_npy(option: str, head: bytes = b"") -> NpyFile:
    """The header of a .npy on standard input (``head``: its first 8 bytes, already
    read by whoever sniffed them); the data stays in the pipe for ``load_npy``."""
    stream = stdin_for(option, _stdin_hint(option))
    for e in _STDIN_NPY:
        if e.stream is stream and e.option == option:
            return e.info
    fmt = _np().lib.format
    if not head:       # the magic string and the version
        head = read_stdin(stream, 8, option, _stdin_hint(option), first=True)
    if not head.startswith(NPY_MAGIC) or len(head) < 8:
        raise ConvError(f"{option} -: standard input is not a .npy file (it starts with "
                        f"{head[:8]!r}); write the array with numpy.save")
    reader = fmt.read_array_header_1_0 if head[6] == 1 else fmt.read_array_header_2_0
    try:
        shape, fortran, dtype = reader(stream)
    except (ValueError, OSError, EOFError, SyntaxError, UnicodeError) as e:
        raise ConvError(f"{option} -: standard input's .npy header is unreadable "
                        f"({one_line(e)}); write the array with numpy.save") from None
    _check_float(dtype, option, "standard input")
    info = NpyFile(STDIN, tuple(int(n) for n in shape), dtype.newbyteorder("=").name,
                   prod(shape) * dtype.itemsize)
    _STDIN_NPY[:] = [e for e in _STDIN_NPY if e.stream is stream] + [
        _StdinNpy(stream, option, info, dtype, fortran)]
    return info


def _stdin_array(info: NpyFile, option: str):
    """The data after the header: exactly ``info.nbytes``, read in chunks."""
    entry = next((e for e in _STDIN_NPY if e.info is info), None)
    if entry is None:
        raise EnvironmentProblem(f"{option} -: standard input's header was not read first")
    if entry.array is not None:
        return entry.array
    stream = entry.stream
    data, got = bytearray(info.nbytes), 0
    while got < info.nbytes:
        try:
            chunk = stream.read(min(info.nbytes - got, 1 << 24))
        except (OSError, ValueError) as e:
            raise EnvironmentProblem(f"{option} -: cannot read standard input ({e})") from None
        if not chunk:
            raise ConvError(
                f"{option} -: standard input ended after {got:,} of the {info.nbytes:,} bytes "
                f"its .npy header promises ({shape_x(info.shape) or 'a scalar'} {info.dtype}); "
                "pipe the whole file")
        data[got:got + len(chunk)] = chunk
        got += len(chunk)
    entry.array = _np().frombuffer(data, dtype=entry.dtype).reshape(
        info.shape, order="F" if entry.fortran else "C")
    return entry.array


def _check_regular(path: str, option: str) -> None:
    """A FIFO, a socket or a device would block or never end: only regular files."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise EnvironmentProblem(f"{option}: cannot read {path!r} ({e.strerror})") from None
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket"
                if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "not a regular file")
        raise EnvironmentProblem(
            f"{option}: {path!r} is {kind}, not a .npy file; save the array to a regular "
            "file with numpy.save and pass that")


def load_npy(info: NpyFile, option: str):
    """The array of a checked .npy file, in native byte order."""
    np = _np()
    try:
        arr = (_stdin_array(info, option) if info.path == STDIN
               else np.load(info.path, allow_pickle=False))
    except ConvError:
        raise
    except (ValueError, OSError, EOFError) as e:
        raise EnvironmentProblem(
            f"{option}: could not read {info.path!r} ({one_line(e)}); write it again "
            "with numpy.save") from None
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def check_weight_file(spec: ConvSpec, info: NpyFile) -> None:
    want = spec.weight_shape
    if info.shape == want:
        return
    layout = "(C_in, C_out/g, *k)" if spec.transposed else "(C_out, C_in/g, *k)"
    hint = ""
    if len(info.shape) != len(want):
        what = f"has {len(info.shape)} dims ({shape_x(info.shape)})"
    else:
        what = f"has shape {shape_x(info.shape)}"
        g, k = spec.groups, spec.kernel_size
        other = ((spec.out_channels, spec.in_channels // g, *k) if spec.transposed
                 else (spec.in_channels, spec.out_channels // g, *k))
        if info.shape == other:
            hint = ("; that is the layout of a Conv weight: drop --transposed" if spec.transposed
                    else "; that is the layout of a ConvTranspose weight: add --transposed")
    raise ConvError(
        f"--weight-file {info.named} {what} but {spec.torch_repr()} needs a weight of "
        f"shape {shape_x(want)} {layout}{hint or '; check -i/-o/-k/--groups'}")


def check_bias_file(spec: ConvSpec, info: NpyFile) -> None:
    if not spec.bias:
        raise ConvError(f"--bias-file {info.named} was given with --no-bias; drop one of them")
    if info.shape != (spec.out_channels,):
        raise ConvError(
            f"--bias-file {info.named} has shape {shape_x(info.shape) or '()'} but "
            f"{spec.torch_repr()} needs a bias of shape {spec.out_channels} (one per "
            "output channel)")


# ---- devices ---------------------------------------------------------------------


# ---- --save ----------------------------------------------------------------------

def check_save_path(path: str, inputs) -> str:
    """Refuse before running anything: not .npy, over an input file, or nowhere to write
    (``-``: the .npy bytes go to stdout, the report to stderr)."""
    if path == STDIN:
        return path
    if not path.lower().endswith(".npy"):
        raise ConvError(f"--save: {path!r} must end in .npy (it is written with numpy.save)")
    target = os.path.realpath(path)
    for f in inputs:
        if f.path == STDIN:
            continue
        if os.path.realpath(f.path) == target or _same_file(f.path, path):
            raise ConvError(f"--save {path!r} is also an input file; refusing to overwrite it "
                            f"(it is {f.path!r}, by name or through a link); save the output "
                            "under another name")
    if os.path.isdir(path):
        raise ConvError(f"--save: {path!r} is a directory; give a file name ending in .npy")
    parent = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(parent):
        raise EnvironmentProblem(f"--save: directory {parent!r} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise EnvironmentProblem(f"--save: directory {parent!r} is not writable")
    return path


def _same_file(a: str, b: str) -> bool:
    """Two names of one file (a hard link, or a symbolic link to it)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def save_output(path: str, out) -> Saved:
    """numpy.save to a temp file in the target's directory, then rename over the
    target: a failure or an interrupt never leaves a half-written file. A target that
    is a symbolic link is written through (the link stays)."""
    torch = import_torch()
    note = ""
    y = out.detach()
    if y.dtype == torch.bfloat16:
        y, note = y.float(), "numpy has no bfloat16: saved as float32 (exact)"
    arr = y.cpu().numpy()
    atomic_write(path, lambda f: _np().save(f, arr, allow_pickle=False), "--save")
    return Saved(path, str(arr.dtype), note)
