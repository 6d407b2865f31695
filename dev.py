#!/usr/bin/env python3
"""One entry point for a fresh machine that has only Python 3.11+ and pip.

    python3 dev.py bot ask "I need a food bank"   run the `bot` command line
    python3 dev.py test [pytest args]             run the whole test suite

It keeps a pinned uv in .tools/ (its own venv, so it works where pip may not install
system-wide) and lets uv install the locked dependencies (uv.lock) into .venv/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

UV_VERSION = "0.13.8"
ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"


def _uv() -> Path:
    uv = TOOLS / "bin" / "uv"
    marker = TOOLS / f"uv-{UV_VERSION}"
    if not marker.exists():
        print(f"dev.py: installing uv {UV_VERSION} into {TOOLS}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        subprocess.run(
            [TOOLS / "bin" / "python", "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", f"uv=={UV_VERSION}"],
            check=True,
        )  # fmt: skip
        marker.touch()
    return uv


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("bot", "test", "run"):
        print(__doc__)
        return 2
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}
    uv = str(_uv())
    command, rest = argv[0], argv[1:]
    if command == "test":
        args = [uv, "run", "--frozen", "pytest", *rest]
    elif command == "bot":
        args = [uv, "run", "--frozen", "--no-dev", "bot", *rest]
    else:
        args = [uv, "run", "--frozen", *rest]
    os.chdir(ROOT)
    return subprocess.call(args, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
