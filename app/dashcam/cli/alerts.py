"""``dashcam alerts``: the alerts in the store, each with what every sink did with it."""

import argparse
import json
import sys
import time

from dashcam.cli.events import check_known, with_evidence
from dashcam.cli.options import add_data_options, command_config, command_paths
from dashcam.store import StoreReader, read_alerts
from dashcam.timestamps import parse_time

ROW = "{:>6} {:<24} {:<17} {:<8} {:<9} {:>6} {:>5} {:>5}  {}\n"

EPILOG = """\
Each alert is also an event: `dashcam events --type alert` lists them with the others.
Sink statuses: delivered, failed, dropped (the sink's queue was full), unavailable (no
GPIO, no port), pending (no report by the stop).

examples:
  dashcam alerts --since 1h
  dashcam alerts --rule forward-collision --json
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "alerts", help="list alerts and their deliveries",
        description="List the alerts `dashcam run` raised (oldest first): time, rule, severity, "
                    "object, confidence, time to collision, and each sink's delivery.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--since", metavar="TIME",
                        help="alerts at or after TIME (ISO-8601 UTC, or an age: 30s, 15m, 2h, 1d)")
    parser.add_argument("--rule", metavar="NAME", action="append", default=[],
                        help="only this rule (repeatable; a rule neither configured nor in the "
                             "store is an error)")
    parser.add_argument("--run", metavar="ID", type=int, help="only alerts of run ID")
    parser.add_argument("--limit", metavar="N", type=int, help="at most N alerts")
    parser.add_argument("--json", action="store_true", help="print a JSON array (with each "
                        "alert's snapshot and clip: `dashcam clip ID` writes it)")
    add_data_options(parser, recordings=False)
    parser.set_defaults(func=alerts)


def alerts(args, out=None):
    out = out or sys.stdout
    since = parse_time(args.since, time.time()) if args.since else None
    config = command_config(args)
    with StoreReader(command_paths(args, config).db) as reader:
        if args.rule:   # the rules that raised its alerts, and those configured (or shipped)
            check_known("rule", args.rule,
                        sorted(set(config.instances("rule")) | set(reader.alert_rules())))
        rows = read_alerts(reader.conn, since=since, rules=args.rule, run_id=args.run,
                           limit=args.limit)
        if args.json:
            with_evidence(reader, rows)
    if args.json:
        json.dump(rows, out, indent=2, sort_keys=True)
        out.write("\n")
    elif rows:
        out.write(ROW.format("id", "ts", "rule", "severity", "label", "track", "conf", "ttc",
                             "deliveries"))
        for row in rows:
            ttc = row["data"].get("ttc_s")
            out.write(ROW.format(
                row["id"], row["ts"], row["rule"] or "-", row["severity"], row["label"] or "-",
                "-" if row["track_id"] is None else row["track_id"],
                "{:.2f}".format(row["data"].get("confidence", 0.0)),
                "-" if ttc is None else f"{ttc:.1f}",
                " ".join("{}:{}".format(d["sink"], d["status"]) for d in row["deliveries"])))
    else:
        sys.stderr.write("no alerts match\n")
    return 0
