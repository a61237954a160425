"""Every SQL statement of the dashcam lives in ``dashcam.store``: a scan of the package's source
for SQL in string literals, and for calls that run SQL, in any module outside ``store/``."""

import ast
import fnmatch
import pathlib
import re
import sys

import dashcam

PACKAGE = pathlib.Path(dashcam.__file__).parent
# SQL keywords, upper case as the code writes them; prose and names are lower case.
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|ATTACH|DETACH"
                 r"|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|VACUUM|FROM|WHERE|VALUES)\b")
RUNS_SQL = {"execute", "executemany", "executescript", "query"}
# TensorRT's I/O binding has an ``execute`` too: it runs the network, not SQL.
NOT_SQL = {("inference/backends/tensorrt*.py", "execute")}
STRING = (ast.Str,) if sys.version_info < (3, 8) else (ast.Constant,)


def docstrings(tree):
    """The string nodes that are docstrings (they may name SQL: they do not run it)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, STRING):
                found.add(id(first.value))
    return found


def sql_outside_store(package):
    """``path:line: what`` for each SQL literal or SQL-running call in ``package`` outside store/."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("store/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, STRING) and id(node) not in skip:
                text = node.s if sys.version_info < (3, 8) else node.value
                if isinstance(text, str) and SQL.search(text):
                    found.append(f"{relative}:{node.lineno}: SQL in a string: {text[:60]!r}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in RUNS_SQL
                  and not any(fnmatch.fnmatch(relative, pattern) and node.func.attr == name
                              for pattern, name in NOT_SQL)):
                found.append(f"{relative}:{node.lineno}: .{node.func.attr}() runs SQL")
    return found


def test_no_sql_outside_store():
    found = sql_outside_store(PACKAGE)
    assert not found, "SQL belongs in dashcam/store/ (a function there that says what it " \
                      "answers):\n" + "\n".join(found)


def test_the_scan_finds_sql_and_spares_docstrings_and_tensorrt(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "rows.py").write_text('conn.execute("SELECT 1")\n')
    (tmp_path / "inference" / "backends").mkdir(parents=True)
    (tmp_path / "inference" / "backends" / "tensorrt_x.py").write_text(
        "io.execute(context, bindings, stream)\n")
    (tmp_path / "stage.py").write_text(
        '"""Writes its rows with INSERT OR IGNORE (a docstring: not SQL)."""\n\n'
        "def pages(conn, table):\n"
        '    """The PRAGMA a caller would use."""\n'
        '    where = " WHERE ts < ?"\n'
        '    conn.executemany("DELETE FROM " + table + where, [])\n'
        '    return conn.execute("PRAGMA page_count").fetchone()[0]\n')
    found = sql_outside_store(tmp_path)
    assert sorted(line.split(": ", 1)[0] for line in found) == [
        "stage.py:5", "stage.py:6", "stage.py:6", "stage.py:7", "stage.py:7"]
    assert sum("runs SQL" in line for line in found) == 2
