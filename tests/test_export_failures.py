"""Exports that go wrong part-way: a real small stick (tmpfs) that fills, a DEST that climbs
above /, a segment PyAV cannot read, an export killed mid-way. Each ends in one line or a
clip named in the summary, and what was complete on the stick is reused by the next export."""

import os

import pytest

from dashcam.cli import main
from dashcam.export import ExportError, write_export
from dashcam.export.folder import checked_dest
from exports import (T0, add_recordings, killed_export, make_store, sha256sum_check,
                     standin_write_clip)
from volumes import fill, small_volume


@pytest.fixture
def recorded(tmp_path):
    """A store whose five events each have a 60 kB snapshot and a clip of two 100 kB segments."""
    db_path = str(tmp_path / "data" / "dashcam.db")
    ids = make_store(db_path, seconds=10)
    recordings = str(tmp_path / "data" / "recordings")
    add_recordings(db_path, recordings, ids[:5], segment_bytes=100000)
    for event_id in ids[:5]:
        with open(os.path.join(recordings, "snapshots", f"{event_id}.jpg"), "wb") as handle:
            handle.write(os.urandom(60000))
    return db_path, recordings, ids[:5]


def evidence_stamps(root):
    """``{name under root: (inode, mtime_ns)}`` of the complete clips and snapshots on the
    stick (not the hidden partial files)."""
    found = {}
    for folder in ("clips", "snapshots"):
        path = os.path.join(root, folder)
        for name in os.listdir(path) if os.path.isdir(path) else ():
            if name.startswith("."):
                continue
            stats = os.stat(os.path.join(path, name))
            found[folder + "/" + name] = (stats.st_ino, stats.st_mtime_ns)
    return found


def test_a_stick_that_fills_mid_export_is_one_line_and_the_next_export_reuses_what_was_done(
        tmp_path, recorded):
    db_path, recordings, ids = recorded
    with small_volume(tmp_path / "stick", "20m") as stick:
        ballast = []

        def another_writer(done, total, what):
            # after the first snapshot, something else takes the stick but ~300 kB
            if what == "clips and snapshots" and done > 70000 and not ballast:
                ballast.append(fill(stick, leave=300000))

        with pytest.raises(ExportError) as error:
            write_export(stick, db_path, recordings, with_clips=True,
                         write_clip=standin_write_clip, progress=another_writer, host="box")
        root = os.path.join(stick, "dashcam-box")
        done = evidence_stamps(root)
        message = str(error.value)
        assert message == (
            "the stick at {} is full or takes no file this big (No space left on device): the "
            "export is not complete; the {} clips and snapshots complete on it stay, and the "
            "next export reuses them; free some space, use a bigger stick, or export less with "
            "--since/--until".format(stick, len(done)))
        assert 2 < len(done) < 10 and "\n" not in message
        # no export folder, and nothing half-written that looks complete
        assert set(os.listdir(root)) <= {".lock", "clips", "snapshots"}
        assert not [n for f in set(os.listdir(root)) - {".lock"}
                    for n in os.listdir(os.path.join(root, f)) if n.startswith(".")]

        os.unlink(ballast[0])
        again = write_export(stick, db_path, recordings, with_clips=True,
                             write_clip=standin_write_clip, host="box")
        assert again.skipped == len(done) and (again.clips, again.snapshots) == (5, 5)
        assert {k: v for k, v in evidence_stamps(root).items() if k in done} == done
        assert sha256sum_check(again.folder)[0] == 0


def test_a_stick_with_no_room_for_the_snapshot_file_is_one_line(tmp_path, recorded):
    db_path, recordings, _ = recorded
    # bytes to spare, but files for the folders and the lock only (FAT16's root holds 512)
    with small_volume(tmp_path / "stick", "20m,nr_inodes=4") as stick:
        with pytest.raises(ExportError) as error:
            write_export(stick, db_path, recordings, host="box")
        root = os.path.join(stick, "dashcam-box")
        assert str(error.value).startswith(f"cannot take the store snapshot into {root}/.")
        assert str(error.value).endswith("): nothing was exported; free some space there, or "
                                         "check the store with `dashcam doctor`")
        assert sorted(os.listdir(root)) == [".lock"]


def test_a_dest_that_climbs_above_the_root_is_one_line_and_nothing_is_written(
        tmp_path, recorded, monkeypatch, capsys):
    db_path, _, _ = recorded
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    monkeypatch.chdir(str(here))
    dest = "../" * (str(here).count("/") + 2)
    with pytest.raises(ExportError) as error:
        checked_dest(dest)
    assert str(error.value) == ("{} climbs above / (more '..' than folders above it): give the "
                                "stick's mount point or its device (/dev/sdb1)".format(dest))
    before = sorted(os.listdir("/"))
    assert main(["export", dest, "--db", db_path]) == 2
    err = capsys.readouterr().err
    assert err == f"dashcam export: error: {error.value}\n"
    assert sorted(os.listdir("/")) == before
    assert checked_dest("../b/.") == str(here)   # '..' within the depth is a folder like any


def test_a_segment_pyav_cannot_read_skips_that_clip_and_names_it(tmp_path):
    pytest.importorskip("av", reason="PyAV writes and joins the segments (no wheel for 3.6)")
    from dashcam.recording.index import ClipRequest
    from test_recording_clips import recorded_store

    store, run, event_id, closed = recorded_store(tmp_path, seconds=6)
    with store:
        store.write(run, closed + [ClipRequest(event_id, T0 + 1, T0 + 4)])
    corrupt = os.path.join(str(tmp_path / "rec"), closed[1].path)
    with open(corrupt, "r+b") as handle:
        handle.write(os.urandom(os.path.getsize(corrupt)))
    stick = tmp_path / "stick"
    stick.mkdir()
    result = write_export(str(stick), str(tmp_path / "dashcam.db"), str(tmp_path / "rec"),
                          with_clips=True, host="box")
    [note] = result.notes
    assert note.startswith(f"event {event_id}: no clip (") and "Invalid data" in note
    assert f"Note: {note}" in result.summary and result.clips == 0
    assert sha256sum_check(result.folder)[0] == 0


def test_an_export_killed_mid_way_is_taken_up_by_the_next_which_reuses_what_was_complete(
        tmp_path, recorded):
    db_path, recordings, ids = recorded
    stick = str(tmp_path / "stick")
    os.mkdir(stick)
    # killed inside the second clip (written, not committed): five snapshots and one clip
    # are complete by then
    process = killed_export(stick, db_path, recordings, calls=1 + 5 + 2)
    assert process.returncode == -9, process.stderr
    root = os.path.join(stick, "dashcam-box")
    done = evidence_stamps(root)
    assert len(done) == 6 and [n for n in os.listdir(os.path.join(root, "clips"))
                               if n.endswith(".partial.mp4")] == [f".event-{ids[1]:06d}.partial.mp4"]
    again = write_export(stick, db_path, recordings, with_clips=True,
                         write_clip=standin_write_clip, host="box")
    assert again.skipped == 6 and (again.clips, again.snapshots) == (5, 5)
    assert {k: v for k, v in evidence_stamps(root).items() if k in done} == done
    assert sha256sum_check(again.folder)[0] == 0
    assert sorted(os.listdir(os.path.join(root, "clips"))) == [
        f"event-{i:06d}.mp4" for i in ids]
