"""``dashcam events``: query the events in the store."""

import argparse
import csv
import json
import sys

from dashcam import events as ev
from dashcam.cli.options import add_data_options, command_config, command_paths, time_window
from dashcam.errors import DashcamError
from dashcam.records import LABELS
from dashcam.store import StoreReader

COLUMNS = ("id", "run_id", "ts_start", "ts_end", "type", "label", "track_id", "severity", "data")
TEXT_ROW = "{:>6} {:<24} {:<24} {:<16} {:<9} {:>6} {:<8} {}\n"

EPILOG = """\
times: ISO-8601 UTC (2024-05-01T12:30:00Z, 2024-05-01) or an age (30s, 15m, 2h, 1d)
types: {types}

examples:
  dashcam events --since 1h
  dashcam events --type object_appeared --label person --json
  dashcam events --db /mnt/ssd/dashcam.db --since 2024-05-01 --until 2024-05-02 --csv > may1.csv
"""


def _listed(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def register(subparsers):
    parser = subparsers.add_parser(
        "events", help="list events from the store",
        description="List the events that `dashcam run` stored (oldest first), filtered by "
                    "start time, type and label.",
        epilog=EPILOG.format(types=", ".join(ev.TYPES)),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--since", metavar="TIME", help="events that started at or after TIME")
    parser.add_argument("--until", metavar="TIME", help="events that started before TIME")
    parser.add_argument("--type", metavar="TYPE", action="append", type=_listed, default=[],
                        help="only these types (repeat or separate with commas)")
    parser.add_argument("--label", metavar="LABEL", action="append", type=_listed, default=[],
                        help="only objects with these labels (repeat or separate with commas)")
    parser.add_argument("--run", metavar="ID", type=int, help="only events of run ID")
    parser.add_argument("--limit", metavar="N", type=int, help="at most N events")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print a JSON array (with each "
                      "event's snapshot and clip: `dashcam clip ID` writes it)")
    form.add_argument("--csv", action="store_true", help="print CSV with a header row")
    add_data_options(parser, recordings=False)
    parser.set_defaults(func=events)


def events(args, out=None):
    out = out or sys.stdout
    since, until = time_window(args)
    types = [t for group in args.type for t in group]
    labels = [label for group in args.label for label in group]
    check_known("type", types, ev.TYPES)
    with StoreReader(command_paths(args, command_config(args)).db) as reader:
        check_known("label", labels, sorted(set(LABELS) | set(reader.labels())))
        rows = reader.events(since=since, until=until, types=types, labels=labels,
                             run_id=args.run, limit=args.limit)
        if args.json:
            with_evidence(reader, rows)
    if args.json:
        json.dump(rows, out, indent=2, sort_keys=True)
        out.write("\n")
    elif args.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([json.dumps(row[c], sort_keys=True) if c == "data" and row[c] is not None
                             else ("" if row[c] is None else row[c]) for c in COLUMNS])
    elif rows:
        out.write(TEXT_ROW.format("id", "ts_start", "ts_end", "type", "label", "track", "severity",
                                  "data"))
        for row in rows:
            out.write(TEXT_ROW.format(
                row["id"], row["ts_start"], row["ts_end"] or "-", row["type"], row["label"] or "-",
                "-" if row["track_id"] is None else row["track_id"], row["severity"],
                json.dumps(row["data"], sort_keys=True) if row["data"] else ""))
    else:
        sys.stderr.write("no events match\n")
    return 0


def with_evidence(reader, rows):
    """Add each event's ``snapshot`` and ``clip`` (``StoreReader.evidence``) to ``rows``."""
    found = reader.evidence(row["id"] for row in rows)
    for row in rows:
        row.update(found[row["id"]])
    return rows


def check_known(what, values, known):
    """A one-line error naming the ``values`` not in ``known``, and the known ones."""
    unknown = [v for v in values if v not in known]
    if unknown:
        raise DashcamError("unknown {} {}: known {}s are {}".format(
            what, ", ".join(repr(v) for v in unknown), what, ", ".join(known)))
