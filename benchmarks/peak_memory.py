"""Peak resident memory of the current process (Linux VmHWM), for benchmark subprocesses."""


def peak_rss_gib() -> float:
    """VmHWM of this process in GiB (NaN where /proc is not available)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # kB → GiB
    except OSError:
        pass
    return float("nan")
