"""What a search leaves to read: `trials.csv`, `search.png` and the console's summary table."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from kerazoo.tuning.engine import atomic_write

TRIAL_COLUMNS = ("trial_id", "status", "score", "seconds", "epochs", "best_epoch", "error")


def best_epoch(trial) -> int | None:
    """The epoch count (from 1) at which a trial scored best, counted from its first epoch.

    KerasTuner's `best_step` indexes the trial's own `fit` history; a Hyperband trial that
    continues an earlier one fits from `tuner/initial_epoch`, so its epochs before that
    count too (a continued trial whose best is its 3rd epoch after 3 earlier ones: 6).
    """
    if trial.best_step is None:
        return None
    earlier = int(trial.hyperparameters.values.get("tuner/initial_epoch", 0) or 0)
    return earlier + int(trial.best_step) + 1


def trial_rows(tuner, names: list[str], trials: dict | None = None) -> list[dict]:
    """One row per trial, in trial order: the TRIAL_COLUMNS then every hyperparameter.

    The seconds, epochs and errors come from the trial folders (`kerazoo_trial.json`,
    written by whichever process ran the trial). `trials` (id -> trial) defaults to all of
    the oracle's; a distributed worker passes the ones it ran.
    """
    from kerazoo.tuning.engine import trial_error, trial_record

    trials = tuner.oracle.trials if trials is None else trials
    rows = []
    for trial_id in sorted(trials):
        trial = trials[trial_id]
        record = trial_record(tuner, trial)
        score = trial.score if trial.status == "COMPLETED" else None
        values = trial.hyperparameters.values
        row = {
            "trial_id": trial_id,
            "status": trial.status,
            "score": None if score is None or not math.isfinite(score) else float(score),
            "seconds": record.get("seconds"),
            "epochs": record.get("epochs"),
            "best_epoch": None if score is None else best_epoch(trial),
            "error": trial_error(tuner, trial),
        }
        for name in names:
            row[name] = values.get(name)  # None: inactive (e.g. the width of an unused layer)
        for name, value in values.items():
            if name.startswith("tuner/"):  # Hyperband's epochs and the trial it continues
                row[name] = value
        rows.append(row)
    return rows


def write_trials_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row)) or list(TRIAL_COLUMNS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    atomic_write(path, buffer.getvalue())


def best_so_far(scores: list[float | None], maximize: bool) -> list[float | None]:
    best, out = None, []
    for s in scores:
        if s is not None and (best is None or (s > best if maximize else s < best)):
            best = s
        out.append(best)
    return out


def plot_search(path: Path, rows: list[dict], objective: str, maximize: bool) -> Path:
    """`search.png`: the score of every trial (failed ones marked) and the best so far."""
    from kerazoo.viz.plots import _figure, _save

    fig = _figure(7, 4)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(1, len(rows) + 1))
    scores = [r["score"] for r in rows]
    done = [(x, s) for x, s in zip(xs, scores, strict=True) if s is not None]
    if done:
        ax.scatter(*zip(*done, strict=True), label="trial", color="tab:blue", zorder=3)
    best = best_so_far(scores, maximize)
    ax.step(
        xs,
        [b if b is not None else math.nan for b in best],
        where="post",
        color="tab:green",
        label="best so far",
    )
    failed = [x for x, r in zip(xs, rows, strict=True) if r["status"] != "COMPLETED"]
    if failed:
        known = [s for s in scores if s is not None]
        y = min(known) if known else 0.0
        ax.scatter(failed, [y] * len(failed), marker="x", color="tab:red", label="failed")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title(f"search: {objective} per trial ({'higher' if maximize else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return _save(fig, path)


def summary_table(rows: list[dict], names: list[str], objective: str, best_id: str | None) -> str:
    """The table printed at the end of a search: one line per trial, the best marked."""
    varying = [n for n in names if len({str(r.get(n)) for r in rows}) > 1]
    header = ["trial", "status", objective, "s", "ep", *varying]
    table = [header]
    for r in rows:
        score = "" if r["score"] is None else f"{r['score']:.4f}"
        mark = "*" if r["trial_id"] == best_id else " "
        table.append(
            [
                f"{mark}{r['trial_id']}",
                r["status"].lower(),
                score,
                "" if r["seconds"] is None else f"{r['seconds']:.0f}",
                "" if r["epochs"] is None else str(r["epochs"]),
                *["-" if r.get(n) is None else str(r[n]) for n in varying],
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )
