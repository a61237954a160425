"""``dashcam fleet status``: the fleet link as the store has it: connection, outbox, uploads."""

import argparse
import json
import sys

from dashcam.cli.options import add_command_group, add_data_options, command_config, command_paths
from dashcam.export.files import human_bytes
from dashcam.fleet.messages import ALERT_PRIORITY, EVENT_PRIORITY, HEARTBEAT_PRIORITY
from dashcam.store import StoreReader
from dashcam.store.uploads import upload_summary

# The outbox's priorities by name (``fleet.messages``), in the order they are sent.
PRIORITIES = ((ALERT_PRIORITY, "alerts"), (EVENT_PRIORITY, "events"),
              (HEARTBEAT_PRIORITY, "heartbeats"))


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
    """``{"outbox": StoreReader.outbox_summary (None in a store older than the outbox),
    "uploads": store.uploads.upload_summary}``."""
    return {"outbox": reader.outbox_summary(), "uploads": upload_summary(reader.conn, recent)}


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
        lines += outbox_lines(outbox)
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


def outbox_lines(outbox):
    """The link's last state, the last acknowledgement, what waits and what was dropped."""
    link, dropped = outbox["link"], outbox["dropped"]
    waiting = {int(p): n for p, n in outbox["by_priority"].items()}
    lines = [
        "{:<21} {}".format("link", "{} since {} ({})".format(link["state"], link["since"],
                                                             link["detail"])
                           if link else "never connected"),
        "{:<21} {}".format("last acknowledgement", outbox["last_ack"] or "none"),
        "{:<21} {} messages, {}{}".format(
            "outbox", outbox["rows"], human_bytes(outbox["bytes"]),
            "".join(f", {waiting[p]} {name}" for p, name in PRIORITIES if waiting.get(p))),
        "{:<21} {}".format("oldest waiting", outbox["oldest"] or "-"),
        "{:<21} {}".format("last sequence number", outbox["last_seq"])]
    if dropped:
        counts = {int(p): n for p, n in dropped["counts"].items()}
        lines.append("{:<21} {} (published as a gap once the broker is back)".format(
            "dropped", ", ".join(f"{counts[p]} {name}" for p, name in PRIORITIES
                                 if counts.get(p))))
    return lines
