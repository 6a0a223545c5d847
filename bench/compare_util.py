"""compare_util.py — the timing loop the bench/*_compare.py scripts share (wsdol vs a PyTorch peer, same run).

A PyTorch worker process builds its model, records the RSS, resets the peak-RSS counter (/proc/self/clear_refs),
runs one warm-up step, sleeps 0.2 s, then times `iters` steps (wall: perf_counter; CPU: process_time, all threads)
and prints one JSON line (worker_report). The driver runs the sides of each row back to back in a random order,
once per round (interleaved), so a shared machine's load falls on both sides alike, and reports medians over
rounds; loadavg() is written next to the numbers.
"""
import json
import random
import statistics
import time


def proc_status_mb(field):
    """A /proc/self/status field (VmRSS, VmHWM, ...) in MB; -1 when absent."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0
    return -1.0


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux); False when the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def time_steps(step, iters):
    """One warm-up step, a 0.2 s pause, then `iters` timed steps: mean wall and CPU milliseconds per step."""
    step()
    time.sleep(0.2)
    walls, cpus = [], []
    for _ in range(iters):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"ms": 1e3 * statistics.mean(walls), "cpu_ms": 1e3 * statistics.mean(cpus)}


def worker_report(step, iters, rss_before_build=None, extra=None):
    """The worker's measurement (call right after building the model): JSON on stdout with ms, cpu_ms,
    rss_base_MB (RSS after the build), peak_MB (VmHWM over the timed part, -1 when it cannot be reset),
    act_peak_MB (peak - rss_base) and weights_MB (rss_base - rss_before_build, when given)."""
    rss_base = proc_status_mb("VmRSS")
    reset = reset_peak_rss()
    r = time_steps(step, iters)
    peak = proc_status_mb("VmHWM") if reset else -1.0
    r.update({"rss_base_MB": rss_base, "peak_MB": peak, "act_peak_MB": peak - rss_base if reset else -1.0})
    if rss_before_build is not None:
        r["weights_MB"] = rss_base - rss_before_build
    r.update(extra or {})
    print(json.dumps(r))
    return r


def interleaved(rounds, rows, sides, measure, seed=0, log=None):
    """results[row][side] = [measure(row, side) for each round]; each round runs every row, its sides in a random
    order (random.Random(seed)). log(round, row, side, result) after each measurement."""
    rng = random.Random(seed)
    results = {row: {side: [] for side in sides} for row in rows}
    for r in range(rounds):
        for row in rows:
            order = list(sides)
            rng.shuffle(order)
            for side in order:
                res = measure(row, side)
                results[row][side].append(res)
                if log:
                    log(r, row, side, res)
    return results


def median(results, row, side, key):
    return statistics.median(x[key] for x in results[row][side])
