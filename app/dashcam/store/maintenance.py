"""Keeping the store sound and bounded: its integrity checks, and the pruning of old
detection rows (the bulk of the file) that retention asks for through the single writer."""

from dashcam.timestamps import iso_utc


def integrity_check(conn):
    """``PRAGMA integrity_check``'s verdict: ``"ok"`` or the first problems, joined."""
    return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check").fetchall())


def quick_check(conn):
    """``PRAGMA quick_check``'s verdict: ``"ok"`` or the problems, joined. It skips
    integrity_check's matching of indexes to tables: O(N), not O(N log N), on a large file."""
    return "; ".join(r[0] for r in conn.execute("PRAGMA quick_check"))


def detections_before(conn, before):
    """Whether any detection row is stamped before ``before`` (UTC epoch seconds)."""
    return conn.execute("SELECT 1 FROM detections WHERE ts < ? LIMIT 1",
                        (iso_utc(before),)).fetchone() is not None


def has_detections(conn):
    return conn.execute("SELECT 1 FROM detections LIMIT 1").fetchone() is not None


def content_bytes(conn):
    """What the file's pages in use hold, in bytes (its size less the free pages)."""
    pages, free_pages, page = (conn.execute("PRAGMA " + p).fetchone()[0] for p in
                               ("page_count", "freelist_count", "page_size"))
    return (pages - free_pages) * page


def free_page_bytes(conn):
    """What the file's free pages hold, in bytes: room it can fill without growing."""
    return (conn.execute("PRAGMA freelist_count").fetchone()[0]
            * conn.execute("PRAGMA page_size").fetchone()[0])


def write_detection_pruning(batch, run_id, records):
    """The kind writer of ``PruneDetections``: at most ``limit`` detection rows each, stamped
    before ``before`` (UTC epoch seconds) or, with ``before`` None, the oldest rows. Small
    batches, so a commit of the writer stays short."""
    for r in records:
        batch.rows["detections_pruned"] += prune_detections(batch.conn, r.before, r.limit)


def prune_detections(conn, before, limit):
    """Delete at most ``limit`` detection rows stamped before ``before`` (None: the oldest
    rows); how many went."""
    if before is None:
        sql, params = "SELECT id FROM detections ORDER BY id LIMIT ?", (limit,)
    else:
        sql, params = "SELECT id FROM detections WHERE ts < ? LIMIT ?", (iso_utc(before), limit)
    return conn.execute(f"DELETE FROM detections WHERE id IN ({sql})", params).rowcount
