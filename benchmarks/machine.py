"""What the benchmarks print about where they ran, so that figures from different machines are not compared."""

import os
import platform


def describe() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
