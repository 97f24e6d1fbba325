"""Progress bars on stderr, shown only when stderr is a terminal; never on stdout."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from convcli.views.console import console

class RunProgress:
    """A progress bar on stderr, shown only when stderr is a terminal and the work
    has taken more than ``delay`` seconds; never on stdout. Call as
    ``progress(done, total, label)``; ``close()`` removes it."""

    def __init__(self, delay: float = 0.5, console_: Console | None = None):
        self.delay = delay
        self.console = console_ or console(stderr=True)
        self.enabled = self.console.is_terminal
        self._t0: float | None = None
        self._bar: Any = None     # a rich Progress once shown
        self._task: Any = None
        self._label: str | None = None
        self._task = None
        self._label = None

    def __call__(self, done: int, total: int, label: str) -> None:
        import time

        if not self.enabled:
            return
        if self._bar is None:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            if now - self._t0 < self.delay:
                return
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(escape(label), total=total)
            self._label = label
        if label != self._label:
            self._bar.reset(self._task, total=total, description=escape(label))
            self._label = label
        self._bar.update(self._task, completed=done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- verify ---------------------------------------------------------------------


class verify_progress:
    """A rich progress bar on stderr (only when stderr is a terminal); the
    callback verify's checks report to: (check name, done, total)."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
            TimeElapsedColumn

        err = console(stderr=True)
        self.progress = None
        if err.is_terminal:
            self.progress = Progress(TextColumn("{task.description:<10}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=err, transient=True)
        self.tasks = {}

    def __enter__(self):
        if self.progress is not None:
            self.progress.start()
        return self.update

    def update(self, name: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(self.tasks[name], completed=done)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
        return False


# ---- net / summary ----------------------------------------------------------------
