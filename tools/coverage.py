#!/usr/bin/python3
"""Lines of C that the unit tests alone run: `make coverage`.

    tools/coverage.py BUILD_DIR DIR...

BUILD_DIR holds the objects of a --coverage build of both programs and
of the unit tests, and the .gcda files the unit tests left (the Makefile's
coverage target): a file no unit test runs has no .gcda, and gcov counts
all its lines as not run.  For each DIR (bridge,
common, cgi) prints every source file's executable lines and how many of
them ran, then the directory's total, from gcov's own summary.
"""

import glob
import os
import re
import subprocess
import sys

LINE = re.compile(r"^File '([^']+)'\nLines executed:([0-9.]+)% of ([0-9]+)",
                  re.M)


def covered(build, src):
    """(lines run, executable lines) of src, or None if no test linked it."""
    obj_dir = os.path.join(build, os.path.dirname(src))
    gcno = os.path.join(obj_dir, os.path.basename(src)[:-2] + ".gcno")
    if not os.path.exists(gcno):
        return None
    out = subprocess.run(["gcov", "-n", "-o", obj_dir, src],
                         capture_output=True, text=True, check=False).stdout
    for name, pct, total in LINE.findall(out):
        if os.path.normpath(name) == os.path.normpath(src):
            total = int(total)
            return round(float(pct) * total / 100), total
    return 0, 0


def main():
    build, dirs = sys.argv[1], sys.argv[2:]
    for d in dirs:
        run_sum = total_sum = 0
        print(f"{'file':32} {'lines':>6} {'run':>6} {'%':>6}")
        for src in sorted(glob.glob(os.path.join(d, "*.c"))):
            got = covered(build, src)
            if got is None:
                print(f"{src:32} (not built)")
                continue
            ran, total = got
            run_sum += ran
            total_sum += total
            pct = 100.0 * ran / total if total else 0.0
            print(f"{src:32} {total:>6} {ran:>6} {pct:>6.1f}")
        pct = 100.0 * run_sum / total_sum if total_sum else 0.0
        print(f"{d + '/ total':32} {total_sum:>6} "
              f"{run_sum:>6} {pct:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
