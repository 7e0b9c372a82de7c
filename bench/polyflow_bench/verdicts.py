"""What makes a bench run fail: bench/run exits 1 when any of these is found,
in smoke mode too. A missed performance target is not among them (the table
says NO and the run goes on); a NO on a correctness verdict is."""
import math


def verdict(row):
    """The `met` column of a row: yes, NO, FAILED, skipped or —."""
    if row.failed:
        return "FAILED"
    if row.skipped:
        return "skipped"
    if row.met is None:
        return "—"
    return "yes" if row.met else "NO"


def failures(rows):
    """One line per row that fails the run, naming the case and why: a case that broke, a
    row that produced no number, and a NO on a correctness verdict (e.g. "0 lost")."""
    out = []
    for r in rows:
        case = r.case.strip()
        if r.failed:
            out.append(f"{case}: broke: {r.failed}")
        elif r.skipped:
            continue
        elif r.correctness and r.met is not True:
            out.append(f"{case}: NO on the correctness verdict \"{r.target}\" (got {r.figure()})")
        elif not r.optional and (r.value is None or not math.isfinite(r.value)):
            out.append(f"{case}: produced no number ({r.figure()})")
    return out


def skipped(rows):
    """One line per skipped case, with the reason."""
    return [f"{r.case.strip()}: skipped: {r.skipped}" for r in rows if r.skipped]
