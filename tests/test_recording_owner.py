"""A recordings folder belongs to one store: two real stores, real runs, one real folder."""

import os
import signal
import subprocess
import sys

import pytest

from dashcam.errors import RecordingError
from dashcam.recording.owner import MARKER, claim, owner
from dashcam.store import StoreReader
from recorded import fingerprints, wait_for
from test_pipeline import APP, start_run


def indexed(db_path):
    with StoreReader(db_path) as reader:
        return {r[0] for r in reader.conn.execute("SELECT path FROM segments")}


def test_a_second_store_cannot_take_the_first_one_s_recordings(tmp_path, tiny_model_path):
    """The finding: ``--db a.db`` then ``--db b.db`` in one folder (both default to the
    ``recordings/`` beside them); b's recovery cut a's segments and indexed them as its own."""
    pytest.importorskip("av", reason="PyAV writes the segments (no wheel for 3.6)")
    a_db, b_db = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    folder = str(tmp_path / "recordings")
    ini = tmp_path / "run.ini"
    ini.write_text("[run]\nstatus-interval = 0.2\n[recording]\nsegment-seconds = 1\n")
    a = start_run(a_db, tiny_model_path, ini)
    assert wait_for(lambda: len(indexed(a_db)) >= 2)
    a.send_signal(signal.SIGKILL)                    # a's open segment is left unindexed
    a.communicate(timeout=20)
    before = fingerprints(folder)
    left_over = {p for p in before if p.endswith(".ts") and p not in indexed(a_db)}
    assert left_over
    b = subprocess.run(
        [sys.executable, "-m", "dashcam", "run", "--db", b_db, "--model", tiny_model_path,
         "--config", str(ini), "--source", "synthetic://?seed=1&width=320&height=180",
         "--duration", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, env=dict(os.environ, PYTHONPATH=APP), timeout=120)
    assert b.returncode == 2
    [line] = b.stderr.strip().splitlines()
    assert "belongs to store {}".format(os.path.realpath(a_db)) in line and "--recordings" in line
    assert fingerprints(folder) == before           # not a byte, not a timestamp
    with StoreReader(b_db) as reader:               # and b indexed nothing of a's
        assert reader.count("segments") == 0
    # a, started again, recovers (or quarantines) its own left-over segment
    again = start_run(a_db, tiny_model_path, ini, "--duration", "1")
    assert again.wait(timeout=60) == 0
    again.communicate()
    with StoreReader(a_db) as reader:
        handled = {e["data"]["path"] for e in reader.events(
            types=["segment_recovered", "segment_quarantined"])}
    assert handled == left_over


def test_a_folder_is_claimed_when_new_or_its_video_is_indexed_and_refused_otherwise(tmp_path):
    folder = str(tmp_path / "recordings")
    os.makedirs(os.path.join(folder, "run-000001"))
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    for path in (a, b):
        open(path, "w").close()
    claim(folder, a, set())                          # new: a's from now on
    assert owner(folder) == os.path.realpath(a)
    claim(folder, a, set())                          # and again, quietly
    with pytest.raises(RecordingError) as error:
        claim(folder, b, set())
    assert "belongs to store {}".format(os.path.realpath(a)) in str(error.value)
    # a folder from before markers: claimed by the store that indexes its video, only
    os.remove(os.path.join(folder, MARKER))
    with open(os.path.join(folder, "run-000001", "x.ts"), "wb") as handle:
        handle.write(b"\x47" * 188)
    with pytest.raises(RecordingError) as error:
        claim(folder, b, set())
    assert "does not index" in str(error.value) and MARKER in str(error.value)
    claim(folder, a, {"run-000001/x.ts"})
    assert owner(folder) == os.path.realpath(a)
    # a moved store (its old path gone) keeps the folder whose video it indexes
    moved = str(tmp_path / "moved.db")
    os.rename(a, moved)
    with pytest.raises(RecordingError):
        claim(folder, b, set())                      # gone, but b indexes none of it
    claim(folder, moved, {"run-000001/x.ts"})
    assert owner(folder) == os.path.realpath(moved)
