"""``dashcam fleet status``: the fleet link as the store has it: connection, outbox, uploads."""

import argparse
import json
import sys

from dashcam.cli.options import add_command_group, add_data_options, command_config, command_paths
from dashcam.export.files import human_bytes
from dashcam.store import StoreReader
from dashcam.store.uploads import upload_summary

# What ``StoreReader.outbox_summary()`` (the fleet link's outbox) says, in this order; any
# other key it gives is printed after these, as it is.
OUTBOX_KEYS = (("connected", "connected"), ("last_ack", "last acknowledgement"),
               ("depth", "outbox depth"))


def register(subparsers):
    commands = add_command_group(
        subparsers, "fleet", help="the fleet link: broker connection, outbox, clip uploads",
        description="The fleet link (MQTT events and alerts, clip uploads) as the store has it.",
        example="dashcam fleet status")
    parser = commands.add_parser(
        "status", help="connection, last acknowledgement, outbox depth, uploads",
        description="Whether the link was connected, when the broker last acknowledged a "
                    "message, what waits in the outbox, and the clip uploads by state with the "
                    "newest ones, read from the store (the running service's, by default).",
        epilog="examples:\n  dashcam fleet status\n  dashcam fleet status --json --db dashcam.db",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--recent", type=int, default=5, metavar="N",
                        help="how many of the newest uploads to list (default 5)")
    add_data_options(parser, recordings=False, config="service")
    parser.set_defaults(func=status)


def fleet_status(reader, recent=5):
    """``{"outbox": dict or None, "uploads": store.uploads.upload_summary}``; the outbox is
    None where this build's store has no fleet outbox (``StoreReader.outbox_summary``)."""
    outbox = getattr(reader, "outbox_summary", None)
    return {"outbox": outbox() if outbox is not None else None,
            "uploads": upload_summary(reader.conn, recent)}


def status(args, out=None):
    out = out or sys.stdout
    db, _ = command_paths(args, command_config(args))
    with StoreReader(db) as reader:
        found = fleet_status(reader, args.recent)
    if args.json:
        out.write(json.dumps(found, indent=2, sort_keys=True) + "\n")
        return 0
    for line in status_lines(found):
        out.write(line + "\n")
    return 0


def status_lines(found):
    """The text of ``dashcam fleet status`` for ``fleet_status``'s answer."""
    outbox, uploads = found["outbox"], found["uploads"]
    lines = []
    if outbox is None:
        lines.append("outbox                no fleet outbox in this store")
    else:
        shown = dict(OUTBOX_KEYS)
        for key, name in OUTBOX_KEYS:
            value = outbox.get(key)
            lines.append("{:<21} {}".format(name, "unknown" if value is None else
                                            ("yes" if value else "no") if key == "connected"
                                            else value))
        lines += ["{:<21} {}".format(key, outbox[key]) for key in sorted(outbox)
                  if key not in shown]
    states = uploads["states"]
    lines.append("{:<21} {}".format("uploads", ", ".join(
        f"{n} {state}" for state, n in sorted(states.items())) if states else "none"))
    for row in uploads["recent"]:
        what = ("{} sha256 {}".format(human_bytes(row["bytes"]), row["sha256"][:16])
                if row["state"] == "done" else row["error"] or "waiting")
        lines.append("  {:<19} event {:<6} {:<6} {:<6} tries {:<2} {} {}".format(
            row["request_id"][:19], row["event_id"], row["source"], row["state"],
            row["attempts"], row["updated_at"] or row["requested_at"], what))
    return lines
