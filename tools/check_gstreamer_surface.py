"""Check tests/gstreamer_surface.tsv's upstream rows against GStreamer's own sources.

For each row of a GStreamer module (core, base, good, bad), read the element's
source file (or folder) at each release tag and report whether the element (its name as
a string) or the property (a ``g_param_spec_*("name"`` call) is there, and the
first 1.x release that has it. Rows of NVIDIA's elements (module ``nvidia``) are
left alone: their sources are named in the table.

Needs git clones of the module repositories (tags up to 1.18/1.19) and of the
monorepo (1.20 on, under ``subprojects/``):

    python tools/check_gstreamer_surface.py --repos DIR
        DIR/gstreamer (the monorepo, with the core's history), DIR/gst-plugins-base,
        DIR/gst-plugins-good, DIR/gst-plugins-bad

Prints each checked row with what the sources say, and exits 1 where the table
disagrees.
"""

import argparse
import csv
import os
import re
import subprocess
import sys

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests",
                     "gstreamer_surface.tsv")
MODULES = {"core": "gstreamer", "base": "gst-plugins-base", "good": "gst-plugins-good",
           "bad": "gst-plugins-bad"}
RELEASES = ["1.{}.0".format(minor) for minor in range(0, 20, 2)]   # first appearance
COLUMNS = {"1.14.5": "1.14.5", "1.16": "1.16.2", "1.20": "1.20.0"}  # the JetPacks' releases


def present(repos, row, tag):
    """Whether ``row``'s element (its name as a string) or property (a ``g_param_spec_*``
    call) is in its source file (or the C/C++ files of its folder) at release ``tag``.
    Releases before 1.20 are in each module's repository (the core's in the monorepo's own
    history), later ones in the monorepo under ``subprojects/``."""
    repo, prefix = os.path.join(repos, MODULES[row["module"]]), ""
    if int(tag.split(".")[1]) >= 20:
        repo, prefix = os.path.join(repos, "gstreamer"), "subprojects/{}/".format(
            MODULES[row["module"]])
    if row["property"] == "-":
        pattern = '"{}"'.format(re.escape(row["element"]))
    else:
        pattern = r'g_param_spec_[a-z0-9]+ *\( *"{}"'.format(re.escape(row["property"]))
    where = prefix + row["where"].rstrip("/")
    paths = [where] if where.endswith((".c", ".cpp")) else [where + "/*.c", where + "/*.cpp"]
    result = subprocess.run(["git", "-C", repo, "grep", "-q", "-E", pattern, tag, "--"] + paths,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return result.returncode == 0


def check(repos, row):
    """``{column: 'y'|'-'}`` and the first release for one upstream row."""
    found = {column: "y" if present(repos, row, tag) else "-" for column, tag in COLUMNS.items()}
    since = next((tag[:-2] for tag in RELEASES + ["1.20.0"] if present(repos, row, tag)), "?")
    return found, since


def read_table(path=TABLE):
    with open(path) as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", required=True, help="folder holding the git clones")
    args = parser.parse_args(argv)
    wrong = 0
    for row in read_table():
        if row["module"] not in MODULES:
            continue
        found, since = check(args.repos, row)
        table = {column: row[column] for column in COLUMNS}
        ok = found == table and since == row["since"]
        wrong += not ok
        print("{:4} {:14} {:24} since {:5} {}{}".format(
            "ok" if ok else "DIFF", row["element"], row["property"], since,
            " ".join("{}={}".format(c, v) for c, v in found.items()),
            "" if ok else "  (table: since {} {})".format(row["since"], table)))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
