"""Exports to sticks made by someone else, and from a store someone wrote into: links where
folders, the lock and evidence go, crafted and altered files on the stick, store rows that
name files outside the recordings. Each builds the hostile stick for real (a folder with real
links and files) and watches, with inotify, the files outside that such a stick would make an
export write, delete or read: nothing may touch them, nor the evidence."""

import os
import sqlite3

import pytest

from dashcam.export import ExportError, write_export
from dashcam.export.stick import Refused
from exports import add_recordings, make_store, sha256sum_check, standin_write_clip
from watch import ANY, WRITES, Watch

SECRET = b"root:$6$secret-hash:19000:0:99999:7:::\n"


@pytest.fixture
def world(tmp_path):
    """A store with five events' snapshots and clips, an empty stick, and outside both a
    folder standing for /etc (with a file a stale-partial sweep would delete, and a secret
    standing for /etc/shadow), all watched by inotify; yields a dict of their paths."""
    data = tmp_path / "data"
    db_path = str(data / "dashcam.db")
    ids = make_store(db_path, seconds=10)
    recordings = str(data / "recordings")
    add_recordings(db_path, recordings, ids[:5])
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "passwd").write_bytes(b"root:x:0:0::/root:/bin/bash\n")
    (outside / "etc" / ".passwd.partial").write_bytes(b"a file a partial sweep would remove\n")
    (outside / "shadow").write_bytes(SECRET)
    stick = tmp_path / "stick"
    stick.mkdir()
    with Watch() as watch:
        for folder in (outside, outside / "etc"):
            watch.add(folder, ANY)           # read, written or deleted: all count
        for folder in (data, data / "recordings", data / "recordings" / "snapshots",
                       data / "recordings" / "segments"):
            watch.add(folder, WRITES)        # the evidence is read, never changed
        yield {"db": db_path, "recordings": recordings, "ids": ids[:5], "outside": outside,
               "stick": stick, "root": stick / "dashcam-box", "watch": watch}


def export(world, **kwargs):
    return write_export(str(world["stick"]), world["db"], world["recordings"], with_clips=True,
                        write_clip=standin_write_clip, host="box", **kwargs)


def untouched(world):
    """The outside and the evidence saw nothing; the secret is nowhere on the stick."""
    events = [(path, flags) for path, flags in world["watch"].events()
              if not path.startswith(str(world["stick"]))]
    events = [e for e in events if os.path.basename(e[0]) not in ("dashcam.db-wal",
                                                                 "dashcam.db-shm")]
    assert events == []
    assert (world["outside"] / "etc" / ".passwd.partial").exists()
    assert sorted(os.listdir(str(world["outside"] / "etc"))) == [".passwd.partial", "passwd"]
    for folder, _, names in os.walk(str(world["stick"])):
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path) and os.path.isfile(path):
                with open(path, "rb") as handle:
                    assert SECRET not in handle.read(), path


@pytest.mark.parametrize("where", ["dashcam-box", "dashcam-box/snapshots", "dashcam-box/clips"])
def test_a_folder_that_is_a_link_is_refused_in_one_line(world, where):
    root = world["root"]
    target = world["outside"] / "etc"
    if where == "dashcam-box":
        root.symlink_to(target)
    else:
        root.mkdir()
        (root / where.split("/")[1]).symlink_to(target)
    with pytest.raises(Refused) as error:
        export(world)
    assert str(error.value) == ("{} is a link or not a folder: not following it; remove it "
                                "and export again".format(world["stick"] / where))
    untouched(world)
    assert os.path.islink(str(world["stick"] / where))   # left as it was


@pytest.mark.parametrize("lock", ["link to a new file", "link to a file", "fifo"])
def test_a_lock_that_is_a_link_or_a_fifo_is_refused(world, lock):
    root = world["root"]
    root.mkdir()
    if lock == "fifo":
        os.mkfifo(str(root / ".lock"))   # opened for writing as before, it would hang the export
    else:
        name = "new" if lock == "link to a new file" else "passwd"
        (root / ".lock").symlink_to(world["outside"] / "etc" / name)
    with pytest.raises(ExportError) as error:
        export(world)
    assert str(error.value) == ("{} is a link or not a file: not following it; remove it and "
                                "export again".format(root / ".lock"))
    untouched(world)
    assert sorted(os.listdir(str(root))) == [".lock"]


def test_evidence_files_that_are_links_are_replaced_never_followed(world):
    first = export(world)
    snapshots = world["root"] / "snapshots"
    [shot] = [n for n in sorted(os.listdir(str(snapshots)))][:1]
    clip = sorted(os.listdir(str(world["root"] / "clips")))[0]
    (snapshots / shot).unlink()
    (snapshots / shot).symlink_to(world["outside"] / "shadow")
    (world["root"] / "clips" / clip).unlink()
    (world["root"] / "clips" / clip).symlink_to(world["outside"] / "etc" / "passwd")
    world["watch"].events()   # the first export's reads of the evidence are not the point
    second = export(world)
    untouched(world)
    assert not os.path.islink(str(snapshots / shot)) and second.skipped == first.snapshots \
        + first.clips - 2
    assert sha256sum_check(second.folder)[0] == 0


@pytest.mark.parametrize("index", ['{"snapshots/x.jpg": "x"}', '{"snapshots/event-%06d.jpg": "x"}',
                                   "[" * 100000])
def test_a_crafted_index_on_the_stick_is_not_read(world, index):
    world["root"].mkdir()
    (world["root"] / ".index.json").write_text(index % world["ids"][0] if "%" in index else index)
    result = export(world)
    assert (result.clips, result.snapshots) == (5, 5) and not result.notes
    assert sha256sum_check(result.folder)[0] == 0
    untouched(world)


def test_a_snapshot_altered_on_the_stick_is_written_again_and_the_manifest_tells_the_truth(world):
    import json
    first = export(world)
    shot = world["root"] / "snapshots" / "event-{:06d}.jpg".format(world["ids"][0])
    forged = b"\xff\xd8 not what the camera saw"
    shot.write_bytes(forged)
    # ... and what an older export kept beside it, rewritten to match the forgery
    import hashlib
    (world["root"] / ".index.json").write_text(json.dumps({
        "snapshots/" + shot.name: {"source": [], "files": [[
            "snapshots/" + shot.name, hashlib.sha256(forged).hexdigest(), len(forged),
            os.stat(str(shot)).st_mtime_ns]]}}))
    second = export(world)
    assert second.skipped == first.snapshots + first.clips - 1
    source = os.path.join(world["recordings"], "snapshots", f"{world['ids'][0]}.jpg")
    with open(source, "rb") as handle:
        assert shot.read_bytes() == handle.read()
    status, out = sha256sum_check(second.folder)
    assert status == 0 and f"../snapshots/{shot.name}: OK" in out
    assert sha256sum_check(first.folder)[0] == 0   # the older export verifies again too


@pytest.mark.parametrize("row", ["../../outside/shadow", "{outside}/shadow", "link"])
def test_a_store_path_outside_the_recordings_is_not_read(world, row):
    recordings = world["recordings"]
    if row == "link":
        os.symlink(str(world["outside"] / "shadow"), os.path.join(recordings, "snapshots",
                                                                   "evil.jpg"))
        row = "snapshots/evil.jpg"
    row = row.format(outside=world["outside"])
    event = world["ids"][1]
    conn = sqlite3.connect(world["db"])
    conn.execute("UPDATE events SET snapshot = ? WHERE id = ?", (row, event))
    segment = conn.execute("SELECT s.id FROM clips c JOIN segments s ON s.id = c.segment_id "
                           "WHERE c.event_id = ? LIMIT 1", (world["ids"][2],)).fetchone()[0]
    conn.execute("UPDATE segments SET path = ? WHERE id = ?", (row, segment))
    conn.commit()
    conn.close()
    world["watch"].events()
    result = export(world)
    untouched(world)
    assert (result.clips, result.snapshots) == (4, 4)
    reason = ("lies outside " + recordings) if row.startswith(("..", "/")) else \
        "is a link or not a file: not following it"
    assert result.notes == [
        f"event {event}: snapshot not exported: {row} {reason}",
        "event {}: clip not exported: 1 of its 2 segments cannot be read ({} {})".format(
            world["ids"][2], row, reason)]
    assert f"Note: event {event}: snapshot not exported" in result.summary
