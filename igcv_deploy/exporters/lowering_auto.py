"""`--lowering auto`: the tuning store's plan for the export's CPU, else the measured table, else the fallback.

When the export is for this host and the store holds no plan for one of the model's block shapes, those shapes
are measured in seconds (quick tuning: short timings, forms clearly slower than a block's fastest dropped after
the first round) and stored, so the next export on this CPU reads them back. `--lowering table` or
IGCV_NO_TUNE=1 never measure (builds that must not: CI, cross-compiles). docs/devices.md says what each costs.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .. import tuning_store
from ..isa import host_class

NO_TUNE_ENV = "IGCV_NO_TUNE"
STORE_THREADS = 2  # the thread count the table's rows and the goals are measured at
# ExecuTorch's forms are .pte exports of ~4 s each (minutes for IGCV3-D): it reads the store but never tunes by default.
QUICK_TUNED_RUNTIMES = ("onnxruntime", "openvino")
QUICK_TUNING = {"rounds": 3, "seconds": 0.03, "drop_above": 1.25}
# A median (max - min) / median of a form's rounds above this: the machine was too busy to measure (on a 2-core
# host at load 15, OpenVINO blocks that run in 0.2 ms took 5-12 ms), and a plan stored from it would stay.
NOISY_ROUNDS = 0.25
BUSY_LOAD_PER_CORE = 2.0  # a 1-minute load average above this many runnable tasks per core: do not even start


def uses_store(ctx) -> bool:
    """INT8 exports take the table: the store's blocks are timed in float, and the INT8 rows, measured on whole
    quantised networks, choose differently (the zeros a dense form multiplies are cheap in INT8)."""
    return ctx.precision != "int8"


def store_entry(ctx) -> tuple[dict | None, str]:
    """(the entry for the export's device, where it came from): `--tuning FILE`, else this user's store."""
    runtime, precision = ctx.runtime, ctx.precision
    carried = ctx.request.tuning
    entries = tuning_store.read_entries(Path(carried)) if carried else tuning_store.read_entries()
    where = f"--tuning {Path(carried).name}" if carried else "this user's tuning store"  # no home path in bundles
    if ctx.request.device in (None, "host"):
        entry = tuning_store.lookup(tuning_store.host_key(runtime, precision, STORE_THREADS), entries)
        if entry or not carried:
            return entry, where
    if not carried:  # another device: only a file carried from it speaks for it
        return None, where
    return tuning_store.lookup_for_class(entries, ctx.isa.name, runtime, precision, STORE_THREADS), where


def auto_plan(ctx, table: bool) -> tuple[dict[str, str], dict]:
    """The table's plan overlaid with the store's entry (the manifest's `chosen_by` is settled after folding)."""
    from .lowering_defaults import default_lowering

    plan, source = default_lowering(ctx.isa.name, ctx.isa.arch, ctx.runtime, ctx.precision)
    source["chosen_by"] = "table" if source["measured_on"] else "fallback"
    entry, where = (None, None) if table or not uses_store(ctx) else store_entry(ctx)
    if entry is None:
        return plan, source
    stored = {"where": where, "key": entry["key"], "how": entry["how"], "plan": entry["plan"]}
    return {**plan, **entry["plan"]}, {**source, "store": stored, "blocks_ms": entry["blocks_ms"]}


def settle(source: dict, log: list[dict]) -> list[str]:
    """Set `chosen_by` to "store" when the store's plan named every block; the block shapes it did not name."""
    stored = source.get("store", {}).get("plan", {})
    missing = sorted({e["signature"] for e in log if e["signature"] not in stored})
    if stored and not missing:
        source["chosen_by"] = "store"
        source["table"] = source["source"]
        source["source"] = f"tuning store: measured on {source['store']['key']['cpu_model']}"
    elif stored:
        source["store"]["missing_signatures"] = missing
    return missing


def may_tune_here(ctx) -> bool:
    return (
        ctx.request.lowering == "auto"
        and uses_store(ctx)
        and ctx.isa == host_class()
        and ctx.request.device in (None, "host")
        and not ctx.request.tuning  # a carried file says what to use; measuring here would not change it
        and ctx.runtime in QUICK_TUNED_RUNTIMES
        and os.environ.get(NO_TUNE_ENV, "") in ("", "0")
    )


def busy_machine() -> str | None:
    from ..profiling.environment import usable_cores

    cores, load = usable_cores() or 1, os.getloadavg()[0]
    return f"this machine is busy (load {load:.1f} on {cores} cores)" if load > BUSY_LOAD_PER_CORE * cores else None


def quick_tune_and_store(ctx, model, signatures: list[str]) -> str | None:
    """Time the forms of these block shapes on this host (seconds) and add them to the store's entry; why they
    were not stored, if they were not."""
    from ..profiling.tune import tune_model

    runtime, precision = ctx.runtime, ctx.precision
    key = tuning_store.host_key(runtime, precision, STORE_THREADS)
    say = lambda line: print(f"tuning: {line}", file=sys.stderr, flush=True)  # noqa: E731
    say(
        f"no stored plan for {len(signatures)} block shapes on this CPU ({key.cpu_model}, {runtime} "
        f"{precision}); measuring them once (set {NO_TUNE_ENV}=1 or --lowering table to skip)"
    )
    busy = busy_machine()
    if busy:
        say(f"{busy}: not measured; this export takes the table's plan, the next one measures again")
        return busy
    started = time.perf_counter()
    arguments = (model, runtime, precision, STORE_THREADS)
    options = {"only": set(signatures), **QUICK_TUNING}
    if runtime == "openvino":  # in a child: its conversions would advance the layer-name counter of this export's IR
        with ProcessPoolExecutor(1, multiprocessing.get_context("spawn")) as child:
            tuned = child.submit(tune_model, *arguments, **options).result()
    else:
        tuned = tune_model(*arguments, **options, progress=say)
    seconds = time.perf_counter() - started
    how = "quick tuning during igcv-export: {rounds} rounds x {seconds} s, forms over {drop_above}x the fastest dropped"
    why = store_if_steady(tuned, how.format(**QUICK_TUNING) + " after round 1")
    if why:
        say(f"{why}; this export takes the table's plan, the next one measures again")
        return why
    say(f"{len(signatures)} block shapes measured in {seconds:.1f} s, stored")
    return None


def store_if_steady(tuned: dict, how: str) -> str | None:
    """Record a plan tuned on this host unless its rounds disagree too much to trust; why not, if not."""
    if (tuned.get("round_spread") or 0) > NOISY_ROUNDS:
        return f"timings varied {tuned['round_spread']:.0%} between rounds (a busy machine?): not stored"
    tuning_store.record_host(tuned, how)
    return None
