#!/usr/bin/env python3
"""Crash consistency of `liqsim log append` under SIGKILL (see docs/ROBUSTNESS.md).

usage: crash_append.py LIQSIM [--kills N] [--seed S] [--keep]

A seeded workload of valid events is appended in batches of random size by
`liqsim log append LOG` (JSON Lines on stdin). Each process is killed with
SIGKILL after a random delay (drawn around the measured run time of one
append, so kills land at start-up, while reading stdin, while scanning the
log, while writing, around the fsync and after the acknowledgement). Some
kill points also simulate a power cut: bytes written after the last
acknowledgement may be lost (the file is cut at a random offset at or after
the acknowledged end), or the file may be extended by zeros (space
allocated, never written).

After every kill point the harness checks:
  1. every acknowledged event (the "appended N events (seq a..b)" line,
     printed only after fsync) is in the log, in order, with the seq it was
     acknowledged with;
  2. anything after the acknowledged events is a prefix of the batch that was
     in flight (never garbage, never another batch);
  3. `liqsim log verify` passes, or fails with exit 3 naming only a torn tail;
  4. if torn: `liqsim log repair` (or the next append) cuts it, and verify then
     passes;
and every 10th point and the last, a replay of the recovered log
(`liqsim replay --config C --events LOG --json`) has the same state_hash as a
replay of the events it must hold — exactly the acknowledged events, plus the
in-flight prefix when the process died after its write but before its
acknowledgement reached us (counted and reported as "recovered unacknowledged").

Prints one line per failure, then "N passed, M failed"; exit 1 on a failure.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CONFIG = {
    "assets": {"BTC": {"collateral_weight": "0.9"}, "ETH": {"collateral_weight": "0.8"}},
    "markets": {
        "BTC-PERP": {"underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05",
                     "liquidation_fee_ratio": "0.01", "depth": "200000"},
        "ETH-PERP": {"underlying": "ETH", "initial_margin_ratio": "0.2", "maintenance_margin_ratio": "0.1",
                     "liquidation_fee_ratio": "0.005"},
    },
    "liquidation": {"insurance_fund": "10000", "adl": True},
}

ACK = re.compile(r"^appended (\d+) events(?: \(seq (\d+)\.\.(\d+)\))?$", re.M)


def workload(rng, n):
    """n valid events in ts order (canonical JSON text is produced by `log cat`)."""
    ev = []
    ts = 1_600_000_000_000
    px = {"BTC": 10000.0, "ETH": 500.0}
    ev.append({"type": "price", "ts": ts, "asset": "BTC", "price": "10000"})
    ev.append({"type": "price", "ts": ts, "asset": "ETH", "price": "500"})
    ev.append({"type": "deposit", "ts": ts, "account": "mm", "asset": "USD", "amount": "100000000"})
    accounts = [f"acct{i:03d}" for i in range(40)]
    while len(ev) < n:
        ts += rng.randint(0, 5000)
        r = rng.random()
        a = rng.choice(accounts)
        if r < 0.35:
            asset = rng.choice(["BTC", "ETH"])
            px[asset] = max(1.0, px[asset] * (1 + rng.uniform(-0.03, 0.03)))
            ev.append({"type": "price", "ts": ts, "asset": asset, "price": f"{px[asset]:.2f}"})
        elif r < 0.55:
            ev.append({"type": "deposit", "ts": ts, "account": a, "asset": rng.choice(["USD", "USD", "BTC"]),
                       "amount": str(rng.randint(1, 5000))})
        elif r < 0.85:
            m = rng.choice(["BTC-PERP", "ETH-PERP"])
            p = px[m.split("-")[0]]
            e = {"type": "trade", "ts": ts, "account": a, "market": m, "side": rng.choice(["buy", "sell"]),
                 "qty": f"{rng.uniform(0.01, 2):.3f}", "price": f"{p:.2f}", "counterparty": "mm"}
            if rng.random() < 0.2:
                e["margin"] = "isolated"
                e["isolated_margin"] = str(rng.randint(50, 2000))
            ev.append(e)
        elif r < 0.93:
            ev.append({"type": "withdraw", "ts": ts, "account": a, "asset": "USD", "amount": str(rng.randint(1, 3000))})
        elif r < 0.97:
            ev.append({"type": "funding", "ts": ts, "market": rng.choice(["BTC-PERP", "ETH-PERP"]),
                       "rate": f"{rng.uniform(-0.001, 0.001):.6f}"})
        else:
            ev.append({"type": "liquidity", "ts": ts, "market": "BTC-PERP", "depth": str(rng.randint(10000, 900000))})
    return [json.dumps(e, separators=(",", ":")) for e in ev]


class Harness:
    def __init__(self, liqsim, work, rng):
        self.liqsim = liqsim
        self.work = work
        self.rng = rng
        self.log = os.path.join(work, "events.evlog")
        self.config = os.path.join(work, "config.json")
        with open(self.config, "w") as f:
            json.dump(CONFIG, f)
        self.failures = []
        self.stats = {"acked_batches": 0, "killed_before_ack": 0, "recovered_unacked": 0, "torn": 0,
                      "repaired": 0, "power_cut": 0, "zero_tail": 0, "replays": 0, "no_log_yet": 0}

    def run(self, *args, stdin=None):
        p = subprocess.run([self.liqsim, *args], input=stdin, capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    def canonical(self, lines):
        path = os.path.join(self.work, "workload.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        rc, out, err = self.run("log", "cat", path)
        if rc != 0:
            sys.exit(f"crash_append: the workload does not decode: {err}")
        return out.splitlines()

    def log_lines(self):
        rc, out, err = self.run("log", "cat", self.log)
        if rc != 0:
            return None, f"log cat exit {rc}: {err.strip()}"
        return out.splitlines(), None

    def replay_hash(self, events_path):
        rc, out, err = self.run("replay", "--config", self.config, "--events", events_path, "--json", "--quiet")
        if rc != 0:
            return None, f"replay exit {rc}: {err.strip()}"
        return json.loads(out)["state_hash"], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("liqsim")
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    liqsim = os.path.abspath(a.liqsim)
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="liqsim-crash-")
    h = Harness(liqsim, work, rng)
    # Enough events for the largest batch at every kill point plus the final append, so the
    # workload never runs out however many batches are acknowledged (a fast or a slow machine).
    events = h.canonical(workload(rng, a.kills * 200 + 3))
    acked = []          # canonical lines of acknowledged events, in log order
    durable = []        # the log's records up to the last acknowledgement (fsync'ed)
    in_log = []         # what the log is known to hold after the last check (acked + recovered)
    acked_size = 0      # file size after the last acknowledged append (its durable end)
    pos = 0             # next event of the workload to send
    durations = []
    passed = 0

    def fail(i, msg):
        h.failures.append(f"kill point {i}: {msg}")

    for i in range(a.kills):
        before = len(h.failures)
        k = rng.choice([1, 2, 5, 10, 20, 50, 100, 200])
        batch = events[pos:pos + k]
        if len(batch) < k:
            fail(i, f"the workload ran out at event {pos} (harness error)")
            break
        # A delay around one append's run time (median of the uncut runs so far).
        base = sorted(durations)[len(durations) // 2] if durations else 0.01
        delay = rng.uniform(0, 1.3 * base)
        t0 = time.monotonic()
        p = subprocess.Popen([liqsim, "log", "append", h.log], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            p.stdin.write("\n".join(batch) + "\n")
            p.stdin.close()
        except BrokenPipeError:
            pass
        time.sleep(delay)
        try:
            p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        out = p.stdout.read()
        err = p.stderr.read()
        rc = p.wait()
        if rc == 0:
            durations.append(time.monotonic() - t0)
        m = ACK.search(out)
        ack_first = None
        if m:
            if rc != 0 and rc != -signal.SIGKILL:
                fail(i, f"acknowledged but exit {rc}: {err.strip()}")
            n = int(m.group(1))
            if n != len(batch):
                fail(i, f"acknowledged {n} events of a batch of {len(batch)}")
            ack_first = int(m.group(2)) if m.group(2) else None
            if ack_first is not None and ack_first != len(in_log):
                fail(i, f"acknowledged seq {ack_first}.., expected {len(in_log)}")
            h.stats["acked_batches"] += 1
        else:
            if rc not in (-signal.SIGKILL,):
                fail(i, f"no acknowledgement and exit {rc} (not killed): {err.strip()}")
            h.stats["killed_before_ack"] += 1

        # Simulated power cut: only what was fsync'ed before the acknowledgement is promised.
        what = f"rc {rc}, ack {bool(m)}, size {os.path.getsize(h.log) if os.path.exists(h.log) else -1}, " \
               f"acked_size {acked_size}"
        if a.verbose and os.path.exists(h.log):
            shutil.copy(h.log, os.path.join(work, f"step{i}-after-append.evlog"))
        if m:
            acked_size = os.path.getsize(h.log)
        elif os.path.exists(h.log):
            size = os.path.getsize(h.log)
            r = rng.random()
            if r < 0.3 and size > acked_size:
                cut = rng.randint(acked_size, size)
                os.truncate(h.log, cut)
                what += f", power cut at {cut}"
                h.stats["power_cut"] += 1
            elif r < 0.4 and size >= 16:
                # Space allocated but data never written: the sectors after the acknowledged
                # end are lost from a 512-byte boundary Z on (or from the acknowledged end
                # itself), and the file may be longer still. Disks write whole sectors, so
                # real bytes never stop at an arbitrary offset before the zeros begin.
                # (The 16-byte file header is fsync'd before any record is written.)
                base = max(acked_size, 16)
                sectors = [z for z in range((base // 512 + 1) * 512, size + 1, 512)]
                z = rng.choice(sectors + [min(base, size)])
                with open(h.log, "r+b") as f:
                    f.seek(z)
                    # At least one zero past the old end: the exact-size case is refused
                    # by design (FORMAT.md, "Reading": damage must not pass for a torn write).
                    f.write(b"\0" * (size - z + rng.randint(1, 700)))
                what += f", zeros from {z}"
                h.stats["zero_tail"] += 1

        # 1-2. Acknowledged events present, in order; the rest a prefix of the in-flight batch.
        if not os.path.exists(h.log):
            lines = []
            h.stats["no_log_yet"] += 1
            if durable or m:
                fail(i, "the log disappeared")
        else:
            rc_v, out_v, err_v = h.run("log", "verify", h.log)
            torn = False
            if rc_v == 3 and "torn tail" in err_v:
                torn = True
                h.stats["torn"] += 1
            elif rc_v != 0:
                fail(i, f"verify exit {rc_v}: {err_v.strip()}")
            lines, e = h.log_lines()
            if e:
                fail(i, e)
                lines = []
            # An acknowledgement fsyncs the whole file: everything before it is durable too.
            if m:
                durable = in_log + batch
            if lines[:len(durable)] != durable:
                fail(i, f"acknowledged events missing or changed: log has {len(lines)} records, "
                        f"{len(durable)} acknowledged")
            extra = lines[len(durable):]
            if extra:
                may_hold = in_log[len(durable):] + ([] if m else batch)
                if extra != may_hold[:len(extra)]:
                    fail(i, f"{len(extra)} records after the acknowledged ones are not a prefix of the unacknowledged "
                            f"ones sent")
                elif not m:
                    h.stats["recovered_unacked"] += 1
            # 3-4. Repair (half the time; else the next append cuts the tail itself).
            if torn and rng.random() < 0.5:
                rc_r, out_r, err_r = h.run("log", "repair", h.log)
                if rc_r != 0:
                    fail(i, f"repair exit {rc_r}: {err_r.strip()}")
                else:
                    h.stats["repaired"] += 1
                rc_v, out_v, err_v = h.run("log", "verify", h.log)
                if rc_v != 0:
                    fail(i, f"verify after repair exit {rc_v}: {err_v.strip()}")
                lines2, e = h.log_lines()
                if lines2 != lines:
                    fail(i, "repair changed the valid records")
        if m:
            acked.extend(batch)
        in_log = list(lines)
        pos = len(in_log)

        # Replay equivalence: the recovered log replays like exactly the events it must hold.
        if (i % 10 == 9 or i == a.kills - 1) and in_log:
            expect = os.path.join(work, "expected.jsonl")
            with open(expect, "w") as f:
                f.write("\n".join(in_log) + "\n")
            got, e1 = h.replay_hash(h.log)
            want, e2 = h.replay_hash(expect)
            h.stats["replays"] += 1
            if e1 or e2 or got != want:
                fail(i, f"replay of the recovered log {got or e1} != replay of the acknowledged events {want or e2}")
        if len(h.failures) == before:
            passed += 1
        elif a.verbose:
            print(f"kill point {i}: {what}")
            print("\n".join(h.failures[before:]))

    # The log is appendable at the end, and a final append is acknowledged and present.
    rc, out, err = h.run("log", "append", h.log, stdin="\n".join(events[pos:pos + 3]) + "\n")
    final_ok = rc == 0 and ACK.search(out) is not None
    lines, e = h.log_lines()
    final_ok = final_ok and not e and lines == in_log + events[pos:pos + 3]
    if not final_ok:
        h.failures.append(f"final append: exit {rc}: {err.strip()} {e or ''}")
    for f in h.failures:
        print("FAIL", f)
    s = h.stats
    print(f"crash test: seed {a.seed}, {a.kills} kill points, {len(acked)} acknowledged events in "
          f"{s['acked_batches']} batches, {s['killed_before_ack']} killed before acknowledging, "
          f"{s['recovered_unacked']} with unacknowledged records recovered, {s['power_cut']} power cuts, "
          f"{s['zero_tail']} zero tails, {s['torn']} torn tails ({s['repaired']} repaired, the rest cut by the next "
          f"append), {s['replays']} replay comparisons")
    not_run = a.kills - passed - len({f.split(":")[0] for f in h.failures if f.startswith("kill point")})
    if not_run:
        print(f"FAIL {not_run} kill points were not run")
    failed = a.kills - passed + (0 if final_ok else 1)
    print(f"{passed + (1 if final_ok else 0)} passed, {failed} failed")
    if a.keep or failed:
        print(f"work directory: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
