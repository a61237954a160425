"""Check tests/tensorrt_surface.tsv against the two real TensorRT API surfaces on PyPI.

    python tools/check_tensorrt_surface.py --bindings tensorrt.so --stubs DIR [--stubs DIR ...]

``--bindings``: the compiled module of ``tensorrt-bindings==8.6.1``
(``tensorrt_bindings/tensorrt.so`` in its wheel): every name the table marks
present in 8.6 must be one of its C strings, or be defined in the package's
``__init__.py`` beside it (``nptype``). The module cannot be imported without
libnvinfer, so its names are read as ``strings`` reads them; the linker
stores a name that ends another string once (``INT8`` inside ``UINT8``), so a
name counts when a NUL-terminated string ends with it.
``--stubs``: an unpacked ``tensorrt-stubs`` wheel (10.8 ... 10.13): the 10
column must match its classes exactly, present and absent. The stub generator
writes a few lines Python cannot parse (a parameter named ``in``, a parameter
without a default after defaulted ones); ``--repair`` rewrites those in place
first, so that Python and mypy can read the stubs. ``.ci/typecheck`` runs it;
it prints one line per disagreement and exits 1 if there is any.
"""

import argparse
import ast
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "..", "tests", "tensorrt_surface.tsv")


def read_table(path=TABLE):
    """``{version: {symbol: "y" | "-" | "?"}}`` from the table."""
    rows = [line.split("\t") for line in open(path).read().splitlines()
            if line and not line.startswith("#")]
    header, body = rows[0], rows[1:]
    return {version: {row[0]: row[i] for row in body}
                for i, version in enumerate(header) if i}


def binary_names(path):
    """A test ``name -> bool``: a C string of the module ends with it, or its ``__init__.py`` defines it."""
    data = open(path, "rb").read()
    strings = [s.decode("ascii") for s in re.findall(rb"([\x20-\x7e]+)\x00", data)]
    package = os.path.join(os.path.dirname(path), "__init__.py")
    source = open(package).read() if os.path.isfile(package) else ""
    defined = set(re.findall(r"^(?:def|class) (\w+)|^(\w+) =", source, re.M))
    defined = {name for pair in defined for name in pair if name}
    return lambda name: name in defined or any(s.endswith(name) for s in strings)


STUB_FILES = ("tensorrt_bindings/tensorrt.pyi", "tensorrt_bindings/__init__.pyi", "tensorrt/__init__.pyi")
DEF = re.compile(r"^(\s*def \w+\()(.*)(\)\s*->.*)$")


def split_parameters(text):
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def repair_line(line):
    """A ``def`` line of the stubs made valid Python: ``in`` renamed, late defaults added."""
    match = DEF.match(line)
    if not match:
        return line
    parameters, defaulted = [], False
    for parameter in split_parameters(match.group(2)):
        parameter = re.sub(r"^(\s*)in:", r"\1in_:", parameter)
        bare = parameter.strip()
        if "=" in bare:
            defaulted = True
        elif defaulted and bare and not bare.startswith("*"):
            parameter += " = ..."
        parameters.append(parameter)
    return match.group(1) + ",".join(parameters) + match.group(3)


def repair_stubs(folder):
    for name in STUB_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            lines = open(path).read().split("\n")
            open(path, "w").write("\n".join(repair_line(line) for line in lines))


def stub_members(folder):
    """``{class: set(members)}`` plus module-level names under ``""``, from the stubs' .pyi files."""
    found = {"": set()}
    for name in STUB_FILES:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        tree = ast.parse(open(path).read(), path)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                members = found.setdefault(node.name, set())
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        members.add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        members.add(item.target.id)
                    elif isinstance(item, ast.Assign):
                        members.update(t.id for t in item.targets if isinstance(t, ast.Name))
                # properties documented as ":ivar name:" in the class docstring
                members.update(re.findall(r":ivar (\w+):", ast.get_docstring(node) or ""))
                found[""].add(node.name)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[""].add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found[""].update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.ImportFrom):
                found[""].update(a.asname or a.name for a in node.names)
    return found


def check_binary(column, has_name):
    problems = []
    for symbol, mark in sorted(column.items()):
        name = symbol.split(".")[-1]
        if mark == "y" and not has_name(name):
            problems.append(f"8.6: table says {symbol} exists, but {name!r} is not in the module")
    return problems


def check_stubs(column, members, label):
    problems = []
    for symbol, mark in sorted(column.items()):
        owner, _, name = symbol.rpartition(".")
        present = name in members.get(owner, set()) or symbol == "__version__"
        if mark == "y" and not present:
            problems.append(f"{label}: table says {symbol} exists, the stubs have no such name")
        if mark == "-" and present:
            problems.append(f"{label}: table says {symbol} is absent, the stubs have it")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", help="tensorrt_bindings/tensorrt.so of tensorrt-bindings 8.6.1")
    parser.add_argument("--stubs", action="append", default=[], help="an unpacked tensorrt-stubs wheel")
    parser.add_argument("--repair", action="store_true", help="repair the stubs' syntax in place first")
    args = parser.parse_args(argv)
    if args.repair:
        for folder in args.stubs:
            repair_stubs(folder)
    table = read_table()
    problems, checked = [], []
    if args.bindings:
        problems += check_binary(table["8.6"], binary_names(args.bindings))
        checked.append(f"8.6 against {args.bindings}")
    for folder in args.stubs:
        problems += check_stubs(table["10"], stub_members(folder), f"10 ({folder})")
        checked.append(f"10 against {folder}")
    for line in problems:
        print(line)
    print("tensorrt_surface.tsv: {} symbols, {}: {}".format(
        len(table["10"]), "; ".join(checked) or "nothing checked",
        f"{len(problems)} disagreement(s)" if problems else "all agree"))
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
