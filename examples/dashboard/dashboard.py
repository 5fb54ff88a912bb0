#!/usr/bin/env python3
"""A dashboard's integration with bottle, python3 stdlib only.

Prepare: save a plan and read it as JSON; show it; confirm; launch: apply
exactly that plan with --json and draw progress from the event stream.
bottle writes nothing else on stdout and nothing on stderr, so its output
never lands on the dashboard's screen (README, "Event stream").

    dashboard.py [--yes] [-C WORKSPACE] [STEP...]
"""
import argparse, json, os, subprocess, sys, tempfile

MARK = {"ran": "✓", "restored": "↺", "cut-off": "=", "failed": "✗", "stopped": "■", "skipped": "-"}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yes", action="store_true", help="launch without asking")
    ap.add_argument("-C", dest="workspace", default=".")
    ap.add_argument("steps", nargs="*")
    args = ap.parse_args()
    bottle = ["bottle", "-C", args.workspace]
    plan_file = os.path.join(tempfile.mkdtemp(), "plan.json")

    # Prepare: the plan, saved for apply and printed as JSON for us.
    prep = subprocess.run(bottle + ["plan", "-o", plan_file, "--json"] + args.steps, capture_output=True, text=True)
    if prep.returncode != 0:
        sys.exit("plan failed: " + prep.stderr.strip())
    plan = json.loads(prep.stdout)
    todo = [s for s in plan["steps"] if s["status"] != "up-to-date"]
    print(f"plan: {len(todo)} of {len(plan['steps'])} steps to do")
    for s in todo:
        print(f"  {s['status']:8} {s['name']}  ({s.get('reason', '')})")
    if not todo:
        return 0
    if not args.yes:
        answer = input("launch? [y/N] ").strip().lower()
        if not sys.stdin.isatty():
            print(answer)  # a piped answer, shown as typed
        if answer not in ("y", "yes"):
            print("not launched")
            return 1

    # Launch: apply exactly the plan shown (bottle refuses it if stale).
    proc = subprocess.Popen(bottle + ["apply", "--json", plan_file], stdout=subprocess.PIPE, text=True)
    code = 1
    for line in proc.stdout:
        ev = json.loads(line)
        if ev["v"] != 1:
            sys.exit(f"event stream version {ev['v']}: this dashboard reads 1")
        kind = ev["event"]
        if kind == "start":
            print(f"  … {ev['step']} ({ev['status']})")
        elif kind == "finish":
            secs = ev["duration_ms"] / 1000
            print(f"  {MARK.get(ev['status'], '?')} {ev['step']} {ev['status']} {secs:.1f}s {ev.get('detail', '')}".rstrip())
        elif kind == "diagnostic":
            print(f"  ! {ev['severity']}: {ev['message']}")
        elif kind == "summary":
            print(f"{ev['status']}: {ev['ran']} ran, {ev['restored']} restored, {ev['failed']} failed")
            code = 0 if ev["status"] == "complete" else 1
    proc.wait()
    return code

if __name__ == "__main__":
    sys.exit(main())
