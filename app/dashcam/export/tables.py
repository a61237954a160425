"""Events and alerts as CSV and JSON Lines, read from the store snapshot (so they agree with it).

Columns are the table's own, found at export time, so columns that other
stages add (``events.snapshot``, the alerts' delivery details) appear by
themselves; ``extra`` adds per-row columns (where the event's clip and
snapshot are in the export). ``data`` holds JSON: as text in CSV, decoded in
JSON Lines.
"""

import csv
import io
import json

from dashcam.export.files import HashingWriter
from dashcam.store import table_columns, table_rows

JSON_COLUMNS = ("data",)


def write_table(conn, table, folder, extra=None, extra_columns=()):
    """Write ``table``'s rows (in id order) to ``<table>.csv`` and ``<table>.jsonl`` in
    ``folder`` (a ``stick.Folder``); returns ``(rows, [(name, sha256, bytes)])``.

    ``extra`` maps a row id to a dict of ``extra_columns`` values.
    """
    names = table_columns(conn, table)
    header = names + [c for c in extra_columns if c not in names]
    extra = extra or {}
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    count = 0
    csv_name, jsonl_name = table + ".csv", table + ".jsonl"
    with HashingWriter(folder, csv_name) as out_csv, HashingWriter(folder, jsonl_name) as out_jsonl:
        writer.writerow(header)
        for row in table_rows(conn, table):
            record = dict(zip(names, row))
            record.update(extra.get(record.get("id"), {}))
            writer.writerow(["" if record.get(c) is None else record.get(c) for c in header])
            if text.tell() > 65536:
                out_csv.write(text.getvalue().encode("utf-8"))
                text.seek(0)
                text.truncate()
            for column in JSON_COLUMNS:
                if isinstance(record.get(column), str):
                    try:
                        record[column] = json.loads(record[column])
                    except ValueError:
                        pass   # not JSON after all: kept as the text it is
            out_jsonl.write((json.dumps({c: record.get(c) for c in header},
                                        sort_keys=True) + "\n").encode("utf-8"))
            count += 1
        out_csv.write(text.getvalue().encode("utf-8"))
        out_csv.commit()
        out_jsonl.commit()
    return count, [(csv_name, out_csv.sha256, out_csv.bytes),
                   (jsonl_name, out_jsonl.sha256, out_jsonl.bytes)]
