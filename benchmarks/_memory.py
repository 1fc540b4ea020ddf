"""Memory of a process and all its descendants (Linux ``/proc``), for the benchmarks."""

from __future__ import annotations

import os


def tree_rss(root: int) -> int:
    """Resident bytes of process ``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(p))
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            total += int(open(f"/proc/{p}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def run_measured(cmd: list[str], interval: float = 0.2) -> dict:
    """Run ``cmd`` in a child process; return its stdout, wall seconds and peak tree memory.

    Raises RuntimeError with the end of stderr when the child fails.
    """
    import subprocess
    import threading
    import time

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            if os.path.isdir("/proc"):
                peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    th.join()
    if proc.returncode:
        raise RuntimeError(err[-3000:])
    return {"stdout": out, "seconds": seconds, "peak_gb": peak[0] / 1e9}
