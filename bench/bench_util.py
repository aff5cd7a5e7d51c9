"""What the end-to-end benchmark scripts share: progress on stderr, the machine's load."""
import subprocess
import sys


def log(text):
    print(text, file=sys.stderr, flush=True)


def uptime():
    """`uptime`'s line (the load averages), or /proc/loadavg's figures without it."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        with open("/proc/loadavg") as f:
            return "load average: " + ", ".join(f.read().split()[:3])
