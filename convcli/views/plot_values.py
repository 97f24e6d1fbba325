"""`convcli apply --png`: input, kernel and output side by side, one row per channel
(up to 8), like the tutorials' matplotlib figures. 2d tensors as images (grey input
and output, the kernel in a diverging map with its values written in when small),
1d ones as lines, 3d ones as their middle depth slice. matplotlib (the optional extra
``convcli[plot]``) is imported inside functions; the file is written atomically.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from convcli.errors import EnvironmentProblem
from convcli.files import atomic_write
from convcli.views.plot import INSTALL_HINT

if TYPE_CHECKING:
    from convcli.engine.apply_values import Applied

ANNOTATE = 7        # kernels up to 7x7 get their values written in


def _import(kind: str = "png"):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise EnvironmentProblem(
            f"--{kind} draws with matplotlib, which is not installed: {INSTALL_HINT}") from None
    return Figure, FigureCanvasAgg


def check_target(path: str, kind: str = "png") -> None:
    """Before any work: matplotlib is there and the folder exists."""
    _import(kind)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise EnvironmentProblem(f"--{kind} {path}: folder {folder} does not exist; create "
                                 "it or write somewhere else")
    if os.path.isdir(path):
        raise EnvironmentProblem(f"--{kind} {path}: is a directory; give a file name")


def draw_values(applied: Applied, path: str, kind: str = "png") -> None:
    """The picture, as a PNG or an SVG (``kind``), written atomically."""
    from convcli.engine.apply_values import figure_rows

    Figure, Canvas = _import()
    rows, omitted, note = figure_rows(applied)
    fig = Figure(figsize=(11, 0.6 + 3.0 * len(rows)), layout="constrained")
    Canvas(fig)
    axes = fig.subplots(len(rows), 3, squeeze=False)
    spec = applied.spec
    title = (f"{spec.torch_repr()} on {list(applied.x.shape)} -> {list(applied.y.shape)}"
             f"\ninput: {applied.sources['input']}; weight: {applied.sources['weight']}")
    if omitted:
        title += f"\n(first {len(rows)} channels; {omitted} more not drawn)"
    if note:
        title += f"\n({note})"
    fig.suptitle(title, fontsize=10)
    for row, (a_in, a_k, a_out) in zip(rows, axes):
        _panel(fig, a_in, row.input, f"input channel {row.index}", "gray")
        _panel(fig, a_k, row.kernel, row.kernel_label, "RdBu_r", kernel=True)
        _panel(fig, a_out, row.output, f"output channel {row.index}", "gray")
    atomic_write(path, lambda f: fig.savefig(f, format=kind, dpi=100), f"--{kind}")


def _panel(fig, ax, arr, label: str, cmap: str, kernel: bool = False) -> None:
    if arr is None:
        ax.axis("off")
        return
    ax.set_title(f"{label}  {'x'.join(map(str, arr.shape))}", fontsize=9)
    if arr.ndim == 1:
        ax.plot(range(arr.shape[0]), arr, marker="o" if arr.shape[0] <= 32 else None,
                markersize=3)
        ax.grid(True, alpha=0.3)
        return
    limit = float(abs(arr).max()) if kernel and arr.size else None
    image = ax.imshow(arr, cmap=cmap, interpolation="nearest",
                      vmin=-limit if limit else None, vmax=limit if limit else None)
    fig.colorbar(image, ax=ax, shrink=0.8)
    if kernel and max(arr.shape) <= ANNOTATE:
        for (r, c), v in _cells(arr):
            ax.text(c, r, f"{v:.3g}", ha="center", va="center", fontsize=7,
                    color="white" if limit and abs(v) > 0.6 * limit else "black")
    ax.set_xticks([])
    ax.set_yticks([])


def _cells(arr):
    for r in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            yield (r, c), float(arr[r, c])
