"""What the end-to-end benchmark scripts share: progress on stderr, the machine's load."""
import os
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


def add_common_args(parser, build_help="build folder holding mdfetch and bench/"):
    """--build (required) and --work (the corpus, databases and results), as every script
    takes them."""
    parser.add_argument("--build", required=True, help=build_help)
    parser.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                       "mdfetch-bench"))
