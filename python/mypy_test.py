"""mypy --strict over Python sources, with the generated code's type stubs.

    mypy_test.py FILE...             the files type-check
    mypy_test.py --refuse WANT FILE  FILE (a fixture, wrong on purpose) fails
                                     to type-check, and mypy says WANT: the
                                     stubs really type the generated code
"""

from __future__ import annotations

import os
import sys

from mypy import api


def main(argv: list[str]) -> int:
    want = None
    if argv[:1] == ["--refuse"]:
        want, argv = argv[1], argv[2:]
    # The import roots Bazel put on sys.path (the proto tree's, python/),
    # where mypy finds the generated .pyi files.
    runfiles = os.path.dirname(os.getcwd())
    roots = [p for p in sys.path if p.startswith(runfiles + os.sep) and os.path.isdir(p)]
    # mypy searches MYPYPATH, not sys.path.
    os.environ["MYPYPATH"] = os.pathsep.join(roots)
    out, err, status = api.run(["--strict", "--explicit-package-bases", "--cache-dir=" + os.devnull, *argv])
    print(out + err)
    if want is None:
        return status
    if status == 0:
        print(f"mypy accepted {argv}; want a refusal saying: {want}")
        return 1
    if want not in out:
        print(f"mypy refused {argv} without saying: {want}")
        return 1
    print("mypy refused the fixture, as it should")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
