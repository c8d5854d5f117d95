"""The command line in the test process: ``run_cli("bench", "questions", …)`` is ``python -m workbench bench
questions …`` without starting another interpreter (which costs seconds of imports per call).

It runs :func:`workbench.cli.main` — the function ``python -m workbench`` calls, with the exit status it would
get — with stdout and stderr captured, and answers like :func:`subprocess.run` with ``capture_output=True,
text=True``: a :class:`subprocess.CompletedProcess` with ``returncode``, ``stdout`` and ``stderr``. An argparse
error or ``--help`` ends ``main`` with :class:`SystemExit`, whose code becomes ``returncode`` (2, 0), as in the
real process. ``python -m workbench`` itself is tested as a process in test_pipeline.py (help, a bad argument),
test_wecom_*.py and the English smoke run of conftest.py.
"""

from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stderr, redirect_stdout


def run_cli(*args: str) -> subprocess.CompletedProcess:
    from workbench.cli import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            returncode = main(argv)
        except SystemExit as exc:  # what `raise SystemExit(main())` and argparse do in the real process
            code = exc.code
            returncode = code if isinstance(code, int) else (0 if code is None else 1)
            if code is not None and not isinstance(code, int):
                print(code, file=err)
    return subprocess.CompletedProcess(["workbench", *argv], returncode, out.getvalue(), err.getvalue())
