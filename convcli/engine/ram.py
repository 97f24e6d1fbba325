"""How much RAM this process may still use, as the kernel will enforce it: the
system's MemAvailable, capped by every memory cgroup on this process's own chain
(read from /proc/self/cgroup, cgroup v1 and v2, the process's cgroup and each
parent up to the root, not only the root's files), and the process's own resident
size. Linux files; elsewhere only what ``os.sysconf`` says. No torch needed.
"""

from __future__ import annotations

import os

PROC_CGROUP = "/proc/self/cgroup"
CGROUP_ROOT = "/sys/fs/cgroup"
NO_LIMIT = 2 ** 60        # cgroup v1 writes "no limit" as a huge page-aligned number
# (file with the limit, file with the usage) per cgroup version
V2_FILES = ("memory.max", "memory.current")
V1_FILES = ("memory.limit_in_bytes", "memory.usage_in_bytes")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cgroup_dirs(proc_cgroup: str = PROC_CGROUP, root: str = CGROUP_ROOT):
    """(folder, limit file, usage file) for every memory cgroup on this process's
    chain, its own first, then each parent up to the root of the hierarchy."""
    text = _read(proc_cgroup)
    if text is None:
        return []
    found = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            base, files = root, V2_FILES
        elif "memory" in controllers.split(","):
            base, files = os.path.join(root, "memory"), V1_FILES
        else:
            continue
        rel = path.strip("/")
        while True:
            folder = os.path.join(base, rel) if rel else base
            found.append((folder, *files))
            if not rel:
                break
            rel = os.path.dirname(rel)
    return found


def cgroup_left(proc_cgroup: str = PROC_CGROUP,
                root: str = CGROUP_ROOT) -> tuple[int, str] | None:
    """(bytes left, the cgroup folder that limits most) under the tightest memory
    cgroup limit on this process's chain; None when no cgroup sets one."""
    best = None
    for folder, limit_file, usage_file in cgroup_dirs(proc_cgroup, root):
        limit = _read(os.path.join(folder, limit_file))
        usage = _read(os.path.join(folder, usage_file))
        if limit is None or usage is None or limit == "max":
            continue
        try:
            left = int(limit) - int(usage)
        except ValueError:
            continue
        if int(limit) >= NO_LIMIT:
            continue
        left = max(0, left)
        if best is None or left < best[0]:
            best = (left, folder)
    return best


def mem_available(meminfo: str = "/proc/meminfo") -> tuple[int | None, str]:
    """(bytes, what they are): MemAvailable, else the free pages sysconf gives."""
    text = _read(meminfo) or ""
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024, "available RAM"
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free RAM"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def available_ram(proc_cgroup: str = PROC_CGROUP, root: str = CGROUP_ROOT,
                  meminfo: str = "/proc/meminfo") -> tuple[int | None, str]:
    """Bytes of RAM this process can still take: MemAvailable, capped by what is
    left under the tightest cgroup limit on its own chain."""
    avail, source = mem_available(meminfo)
    limited = cgroup_left(proc_cgroup, root)
    if limited is not None and (avail is None or limited[0] < avail):
        avail, source = limited[0], f"memory left under the cgroup limit of {limited[1]}"
    return avail, source


def own_rss() -> int:
    """This process's resident size now (0 where /proc is missing)."""
    text = _read("/proc/self/statm")
    if not text:
        return 0
    try:
        return int(text.split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, IndexError, OSError):
        return 0


def peak_rss() -> int:
    """This process's peak resident size so far, 0 where unknown. On Linux VmHWM, the
    high-water mark of this program's own memory: ru_maxrss also counts what the
    parent held when it forked us (a tiny run started from a 2 GB process reads 2 GB)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return 0
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib if os.uname().sysname == "Darwin" else kib * 1024
