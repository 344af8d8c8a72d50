#!/usr/bin/env python3
"""Early stopping vs the full grid, with real processes (issue 14's figures).

Runs sweeps/curves-asha.yaml (8 trials of tests/data/curve_trainer.py, one at a time) three
times, each on a fresh `ablate server` (its own SQLite file) with one `ablate worker`: as the
full grid (early_stop: null), with ASHA (the file's rule) and with the median rule (same grace,
min_trials 3). Prints, for each: the steps the trials really trained (the scripts' steps.txt
files: a stopped trial runs on until its worker's next heartbeat), the share of the grid's
compute saved, the best segm AP found and which trials stopped where; then a Markdown table.

    python3 bench/early_stop/compare.py [--bin build/bin] [--step-seconds 0.2]
                                        [--modes grid,asha,median] [--keep]

Standard library only. About 2 minutes at 0.2 s a step. Asserts nothing (bench label).
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

SOURCE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPEC = os.path.join(SOURCE, "sweeps", "curves-asha.yaml")
SCRIPT = os.path.join(SOURCE, "tests", "data", "curve_trainer.py")
RULES = {
    "grid": "null",
    "asha": None,  # the file's own rule
    "median": "{method: median, metric: segm.AP, mode: max, grace_steps: 3, min_trials: 3}",
}


def ablate(bin_dir, address, *args):
    cmd = [os.path.join(bin_dir, "ablate")] + list(args) + ["--server", address]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), out.stdout, out.stderr))
    return out.stdout


def start_server(bin_dir, folder):
    log = open(os.path.join(folder, "server.log"), "w")
    proc = subprocess.Popen([os.path.join(bin_dir, "ablate"), "server", "--db",
                             os.path.join(folder, "ablate.db"), "--listen", "127.0.0.1:0",
                             "--lease-ttl", "2"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while time.time() < deadline:
        with open(log.name) as f:
            m = re.search(r"listening on (127\.0\.0\.1:\d+)", f.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit("the server did not start; see " + log.name)


def open_leases(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM leases WHERE released_unix_ms IS NULL").fetchone()[0]
    finally:
        con.close()


def run_mode(mode, bin_dir, step_seconds, keep):
    folder = tempfile.mkdtemp(prefix="ablate_es_%s_" % mode)
    server, address = start_server(bin_dir, folder)
    # The trials' python3 is this interpreter, not a version manager's shim (slow to start).
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    worker = subprocess.Popen(
        [os.path.join(bin_dir, "ablate"), "worker", "--server", address, "--slots", "1",
         "--name", "w1", "--work-dir", os.path.join(folder, "work"), "--trainer", "/bin/true"],
        stdout=open(os.path.join(folder, "worker.log"), "w"), stderr=subprocess.STDOUT, env=env)
    try:
        name = "curves-" + mode
        args = ["submit", SPEC, "--set", "name=" + name, "--set", "base.set.script=" + SCRIPT,
                "--set", "base.set.step_seconds=%g" % step_seconds, "--json"]
        if RULES[mode] is not None:
            args += ["--set", "early_stop=" + RULES[mode]]
        began = time.time()
        ablate(bin_dir, address, *args)
        sweep = json.loads(ablate(bin_dir, address, "watch", name, "--until-done", "--timeout",
                                  "1800", "--json"))
        # The sweep has ended; wait until the worker has killed a stopped trial's script.
        while open_leases(os.path.join(folder, "ablate.db")) > 0:
            time.sleep(0.1)
        wall_s = time.time() - began
        board = json.loads(ablate(bin_dir, address, "leaderboard", "--sweep", name, "--iou", "segm",
                                  "--json"))
    finally:
        for proc in (worker, server):
            proc.send_signal(signal.SIGTERM)
            proc.wait()
    steps = {}
    for path in glob.glob(os.path.join(folder, "work", "runs", "*", "steps.txt")):
        with open(path) as f:
            steps[os.path.basename(os.path.dirname(path))] = sum(1 for _ in f)
    stopped = [(t["run"].rsplit("-", 1)[1], t["stopped_at_step"], steps.get(t["run"], 0))
               for t in sweep["trials"] if t["status"] == "stopped"]
    best = board["rows"][0]
    if not keep:
        shutil.rmtree(folder)
    return {"mode": mode, "steps": sum(steps.values()), "wall_s": wall_s,
            "best_ap": best["evaluation"]["stats"]["AP"],
            "best_run": best["run"]["name"].rsplit("-", 1)[1],
            "stopped": stopped, "trials": len(sweep["trials"]), "folder": folder}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.environ.get("ABLATE_BIN_DIR", "build/bin"))
    parser.add_argument("--step-seconds", type=float, default=0.2)
    parser.add_argument("--modes", default="grid,asha,median")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (logs, db)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    print("machine: %d cores, load %.2f %.2f %.2f (1/5/15 min) before" %
          ((os.cpu_count() or 0,) + load_before))
    results = []
    for mode in args.modes.split(","):
        r = run_mode(mode, os.path.abspath(args.bin), args.step_seconds, args.keep)
        results.append(r)
        print("%-6s %3d trials, %4d steps trained in %5.1f s; best segm AP %.3f (%s); stopped: %s%s"
              % (mode, r["trials"], r["steps"], r["wall_s"], r["best_ap"], r["best_run"],
                 ", ".join("%s@%d (trained %d)" % s for s in r["stopped"]) or "none",
                 "; kept " + r["folder"] if args.keep else ""), flush=True)
    load_after = os.getloadavg()
    print("load %.2f %.2f %.2f after" % load_after)
    grid = next((r for r in results if r["mode"] == "grid"), None)
    print()
    print("| run | steps trained | compute saved vs grid | best segm AP found | stopped (rung: steps trained) | wall s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        saved = "-" if grid is None or r is grid else "%.0f%%" % (100.0 * (1 - r["steps"] / grid["steps"]))
        print("| %s | %d | %s | %.3f (%s) | %s | %.0f |" % (
            r["mode"], r["steps"], saved, r["best_ap"], r["best_run"],
            ", ".join("%s@%d: %d" % s for s in r["stopped"]) or "none", r["wall_s"]))


if __name__ == "__main__":
    main()
