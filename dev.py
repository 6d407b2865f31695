#!/usr/bin/env python3
"""One entry point for a fresh machine that has only Python 3.11+ and pip.

    python3 dev.py bot shell                      chat with the bot in this terminal
    python3 dev.py test [pytest args]             run the whole test suite
    python3 dev.py i18n extract|update|compile    translations: new strings to locales/*.po

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


I18N = {
    # Every gettext call in bot/ into locales/messages.pot (translator comments kept).
    "extract": ["pybabel", "extract", "-F", "babel.cfg", "--add-comments=Translators:",
                "--no-wrap", "--sort-by-file", "-o", "locales/messages.pot", "bot"],
    # New and changed strings from the template into every language's messages.po.
    "update": ["pybabel", "update", "-i", "locales/messages.pot", "-d", "locales",
               "-D", "messages", "--no-wrap", "--ignore-obsolete"],
    # The .mo files the bot loads (never committed).
    "compile": ["pybabel", "compile", "-d", "locales", "-D", "messages", "--statistics"],
}  # fmt: skip


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("bot", "test", "run", "i18n"):
        print(__doc__)
        return 2
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}
    if argv[0] == "test":
        # Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set (as on the project's
        # machines) each `bot run` the tests start would compile aiogram afresh.
        env["UV_COMPILE_BYTECODE"] = "1"
    uv = str(_uv())
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "i18n":
        if not rest or rest[0] not in I18N:
            print(__doc__)
            return 2
        return subprocess.call([uv, "run", "--frozen", *I18N[rest[0]]], env=env)
    if command in ("bot", "test"):  # translations as the bot will load them
        compile_args = [uv, "run", "--frozen", *(["--no-dev"] if command == "bot" else [])]
        compiled = subprocess.run(
            [*compile_args, *I18N["compile"][:-1]], env=env, capture_output=True, text=True
        )
        if compiled.returncode:
            print(compiled.stdout + compiled.stderr, file=sys.stderr)
            return compiled.returncode
    if command == "test":
        args = [uv, "run", "--frozen", "pytest", *rest]
    elif command == "bot":
        args = [uv, "run", "--frozen", "--no-dev", "bot", *rest]
    else:
        args = [uv, "run", "--frozen", *rest]
    return subprocess.call(args, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
