"""A consistent copy of the live store (for export), taken while the service keeps writing to it.

Python 3.6's sqlite3 has no ``Connection.backup`` (3.7) and Ubuntu 18.04's
SQLite 3.22 has no ``VACUUM INTO`` (3.27), so the copy is logical, in SQL
that SQLite 3.22 knows: inside one read transaction on the live file, which in
WAL mode sees one committed state whatever the writer commits meanwhile (and
never blocks it), a new file is attached, the schema is created in it from
``sqlite_master``, the rows are copied with ``INSERT ... SELECT`` (SQLite's own
C code), then the indexes and triggers are built. The copy is in rollback
journal mode, one file with nothing beside it; while it is built its journal
is off (a failed copy is deleted, never recovered), and it is fsynced at the end.
"""

import os
import re

from dashcam.store.maintenance import integrity_check
from dashcam.store.reader import StoreReader, time_range
from dashcam.store.schema import quote
from dashcam.timestamps import iso_utc

# With --since/--until, these tables keep the rows of the time range; others
# (runs by overlap, segments and clips whole, tables unknown here) are copied.
TIME_COLUMNS = {"detections": "ts", "events": "ts_start", "alerts": "ts", "stats": "ts",
                "tracks": "last_seen", "fixes": "ts"}
# Objects are created in this order; rows are copied between tables and indexes.
ORDER = ("table", "index", "view", "trigger")
_CREATE = re.compile(r"^(\s*CREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+|VIRTUAL\s+)?"
                     r"(?:TABLE|INDEX|VIEW|TRIGGER)\s+(?:IF\s+NOT\s+EXISTS\s+)?)", re.I)


def in_schema(sql, schema):
    """A ``CREATE ...`` statement from sqlite_master, creating its object in ``schema``."""
    match = _CREATE.match(sql)
    if not match:
        raise ValueError(f"not a CREATE statement: {sql[:60]}")
    return match.group(1) + schema + "." + sql[match.end():].lstrip()


def time_filter(table, columns, since, until):
    """``(WHERE clause, params)`` keeping ``table``'s rows of [since, until), or ("", ())."""
    if since is None and until is None:
        return "", ()
    if table == "runs" and {"started_at", "ended_at"} <= columns:
        # a run overlapping the range: started before its end, not ended before its start
        clauses, params = time_range("started_at", None, until)
        if since is not None:
            clauses.append("(ended_at IS NULL OR ended_at >= ?)")
            params.append(iso_utc(since))
    elif TIME_COLUMNS.get(table) in columns:
        clauses, params = time_range(quote(TIME_COLUMNS[table]), since, until)
    else:
        return "", ()
    return " WHERE " + " AND ".join(clauses), tuple(params)


def take_snapshot(db_path, target, since=None, until=None):
    """Copy the store at ``db_path`` to a new file ``target`` (it must not exist), consistently.

    ``since``/``until`` (UTC epoch seconds) keep only that range of the tables
    in ``TIME_COLUMNS``. Returns ``{"schema_version": v, "rows": {table: n}}``.
    The live file is only read; its writer is never held up.
    """
    if os.path.exists(target):
        raise FileExistsError(target)
    reader = StoreReader(db_path)
    conn = reader.conn
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("ATTACH DATABASE ? AS snap", (target,))
        conn.execute(f"PRAGMA snap.page_size = {page_size:d}")
        conn.execute("PRAGMA snap.journal_mode = OFF")
        conn.execute("PRAGMA snap.synchronous = OFF")
        conn.execute("BEGIN")
        # The first read fixes the state this transaction sees, to its end.
        objects = conn.execute(
            "SELECT type, name, tbl_name, sql FROM main.sqlite_master"
            " WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'").fetchall()
        version = conn.execute("PRAGMA main.user_version").fetchone()[0]
        rows = {}
        for kind in ORDER:
            for object_kind, name, _table, sql in objects:
                if object_kind != kind:
                    continue
                conn.execute(in_schema(sql, "snap"))
                if kind == "table":
                    rows[name] = _copy_rows(conn, name, since, until)
        conn.execute(f"PRAGMA snap.user_version = {version:d}")
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE snap")
    except BaseException:
        reader.close()
        if os.path.exists(target):
            os.unlink(target)
        raise
    reader.close()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"schema_version": version, "rows": rows}


def _copy_rows(conn, table, since, until):
    columns = {r[1] for r in conn.execute(f"PRAGMA main.table_info({quote(table)})")}
    where, params = time_filter(table, columns, since, until)
    cursor = conn.execute("INSERT INTO snap.{0} SELECT * FROM main.{0}{1}".format(
        quote(table), where), params)
    return cursor.rowcount


def check_snapshot(path):
    """``PRAGMA integrity_check`` of a snapshot file: ``"ok"`` or the problems."""
    with StoreReader(path) as reader:
        return integrity_check(reader.conn)
