"""Run the Python peers on the benchmark's data set; write one JSON report.

Runs INSIDE a peers' virtualenv (bench/.peers-venv or bench/.peers-venv-numpy1, see setup.sh),
never in the app's: `python run_peers.py --data FILE.csv --peers cgmpy,glucostats --patients N`.
The CSV has columns id, time (ISO 8601, UTC, naive) and glucose (mg/dL). For each peer we time
what a user of that package writes to get the shared metrics of every patient, and return
its values under our key names, written to --out: {peer: {"seconds", "patients", "version",
"metrics": {id: {key: value}}, "error"}}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import traceback
from importlib import metadata

import numpy as np
import pandas as pd


def _cgmpy(frames: dict) -> dict:
    from cgmpy import GlucoseAnalysis

    out = {}
    for pid, df in frames.items():
        a = GlucoseAnalysis(df[["time", "glucose"]].reset_index(drop=True))
        gri = a.GRI()
        out[pid] = {
            "mean_mg_dl": a.mean(),
            "sd_mg_dl": a.sd(),
            "cv_percent": a.cv(),
            "gmi_percent": a.gmi(),
            "very_low_percent": a.TBR(54),
            "low_percent": a.TBR(70) - a.TBR(54),
            "in_range_percent": a.TIR(),
            "high_percent": a.TAR(180) - a.TAR(250),
            "very_high_percent": a.TAR(250),
            "gri": gri["GRI"] if isinstance(gri, dict) else gri,
            "lbgi": a.LBGI(),
            "hbgi": a.HBGI(),
            "mage": a.MAGE(),
        }
    return out


def _glucostats(frames: dict) -> dict:
    from glucostats.extract_statistics import ExtractGlucoStats

    df = pd.concat(frames.values())
    df = df.set_index("id")[["time", "glucose"]]
    df.index = df.index.astype(str)
    stats = [
        "mean",
        "std",
        "cv",
        "gmi",
        "vlow",
        "low",
        "high",
        "vhigh",
        "gri",
        "lbgi",
        "hbgi",
        "mage",
        "pt_ir",
    ]
    # GlucoStats 1.0.0 fails without windowing (it concatenates a placeholder string), so ask
    # for one window per signal: the whole trace.
    result = ExtractGlucoStats(
        list_statistics=stats, windowing=True, windowing_method="number", windowing_param=1
    ).transform(df)
    result.columns = [c.split("|")[0] for c in result.columns]
    out = {}
    for pid in frames:
        row = result.loc[str(pid)]
        out[pid] = {
            "mean_mg_dl": row.get("mean"),
            "sd_mg_dl": row.get("std"),
            "cv_percent": row.get("cv"),
            "gmi_percent": row.get("gmi"),
            "very_low_percent": row.get("vlow"),
            "low_percent": row.get("low"),
            "in_range_percent": row.get("pt_ir"),
            "high_percent": row.get("high"),
            "very_high_percent": row.get("vhigh"),
            "gri": row.get("gri"),
            "lbgi": row.get("lbgi"),
            "hbgi": row.get("hbgi"),
            "mage": row.get("mage"),
        }
    return out


def _diametrics(frames: dict) -> dict:
    from diametrics import metrics

    df = pd.concat(frames.values()).rename(columns={"id": "ID", "glucose": "glc"})
    result = metrics.all_standard_metrics(df, units="mg").set_index("ID")
    out = {}
    for pid in frames:
        row = result.loc[pid]
        out[pid] = {
            "mean_mg_dl": row["avg_glc"],
            "sd_mg_dl": row["sd"],
            "cv_percent": row["cv"],
            "gmi_percent": None,  # diametrics reports eA1c (Nathan 2008), not GMI
            "very_low_percent": row["tir_lv2_hypo"],
            "low_percent": row["tir_lv1_hypo"],
            "in_range_percent": row["tir_normal"],
            "high_percent": row["tir_lv1_hyper"],
            "very_high_percent": row["tir_lv2_hyper"],
            "gri": row["gri"],
            "lbgi": row["lbgi"],
            "hbgi": row["hbgi"],
            "mage": row["mage"],
        }
    return out


def _cgmquantify(frames: dict) -> dict:
    import cgmquantify as cq

    out = {}
    for pid, df in frames.items():
        data = df.rename(columns={"time": "Time", "glucose": "Glucose"}).reset_index(drop=True)
        data["Day"] = data["Time"].dt.date
        lbgi, hbgi, _, _ = cq.LBGI_HBGI(data)
        out[pid] = {
            "mean_mg_dl": cq.summary(data)[0],
            "sd_mg_dl": cq.interdaysd(data),
            "cv_percent": cq.interdaycv(data),
            "gmi_percent": cq.GMI(data),
            # cgmquantify has no consensus bands or GRI (its TIR is "within mean +/- 1 SD").
            "very_low_percent": None,
            "low_percent": None,
            "in_range_percent": None,
            "high_percent": None,
            "very_high_percent": None,
            "gri": None,
            "lbgi": lbgi,
            "hbgi": hbgi,
            "mage": cq.MAGE(data),
        }
    return out


PEERS = {
    "cgmpy": ("cgmpy", _cgmpy),
    "glucostats": ("glucostats", _glucostats),
    "diametrics": ("diametrics", _diametrics),
    "cgmquantify": ("cgmquantify", _cgmquantify),
}


def _plain(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(value) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--out", required=True, help="where to write the JSON report")
    parser.add_argument(
        "--repeats", type=int, default=3, help="best of this many timed runs (as ours)"
    )
    args = parser.parse_args()
    data = pd.read_csv(args.data, parse_dates=["time"])
    ids = sorted(data["id"].unique())[: args.patients]
    frames = {int(pid): df for pid, df in data[data["id"].isin(ids)].groupby("id", sort=True)}
    report = {}
    for name in args.peers.split(","):
        dist, run = PEERS[name]
        entry = {"patients": len(frames)}
        try:
            entry["version"] = metadata.version(dist)
            with contextlib.redirect_stdout(sys.stderr):  # peers print progress
                run(dict(list(frames.items())[:2]))  # warm-up: imports, caches
                best = float("inf")
                for _ in range(max(1, args.repeats)):  # best of N, measured as ours is
                    t0 = time.perf_counter()
                    values = run(frames)
                    best = min(best, time.perf_counter() - t0)
                entry["seconds"] = best
                entry["repeats"] = max(1, args.repeats)
            entry["metrics"] = {
                str(pid): {k: _plain(v) for k, v in row.items()} for pid, row in values.items()
            }
        except Exception as exc:  # a peer that breaks is reported, not fatal
            entry["error"] = f"{type(exc).__name__}: {exc}"
            entry["traceback"] = traceback.format_exc(limit=3)
        report[name] = entry
    with open(args.out, "w") as fh:
        json.dump(report, fh)


if __name__ == "__main__":
    main()
