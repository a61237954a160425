"""USB export of the evidence: a consistent store snapshot, events and alerts as CSV and JSON
Lines, clips and snapshots, a SHA-256 manifest and a summary, in a dated folder that appears
only when complete; a stick given as its device is mounted, exported to, synced and unmounted."""

from dashcam.export.files import ExportError
from dashcam.export.folder import Result, write_export
from dashcam.store import take_snapshot

__all__ = ("ExportError", "Result", "take_snapshot", "write_export")
