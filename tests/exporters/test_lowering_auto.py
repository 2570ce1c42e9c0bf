"""`--lowering auto` with the tuning store: measured once on this CPU, read back after; table, env var, --tuning."""

from __future__ import annotations

import pytest

from igcv_deploy import tuning_store
from igcv_deploy.exporters import lowering_auto
from igcv_deploy.exporters.lowering_auto import NO_TUNE_ENV
from igcv_deploy.profiling.cli import main as igcv_profile

from ..conftest import read_manifest
from .test_lowering import BLOCKS, TOL, export, outputs, rel_err


@pytest.fixture
def empty_store(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(NO_TUNE_ENV, raising=False)
    return tuning_store.store_path()


def lowering_record(bundle):
    return read_manifest(bundle)["folding"]["grouped_conv_lowering"]


def chosen(bundle) -> dict:
    return {e["signature"]: e["variant"] for e in read_manifest(bundle)["folding"]["log"] if "signature" in e}


def test_first_export_measures_this_cpu_and_the_second_reads_the_store(workdir, run_cli, empty_store, monkeypatch):
    monkeypatch.setattr(lowering_auto, "NOISY_ROUNDS", float("inf"))  # store whatever a busy test machine measures
    monkeypatch.setattr(lowering_auto, "BUSY_LOAD_PER_CORE", float("inf"))
    code, _, first_err = run_cli("--model", "igcv3-0.25", "--imgsz", "64", "--output", workdir / "one")
    assert code == 0 and "tuning: no stored plan for" in first_err and "stored" in first_err
    (entry,) = tuning_store.read_entries(empty_store)
    assert entry["key"] == {**entry["key"], "runtime": "onnxruntime", "precision": "fp32", "threads": 2}
    assert set(entry["plan"]) == set(chosen(workdir / "one")) == set(entry["blocks_ms"])
    for signature, variant in entry["plan"].items():  # the fastest of the forms that survived the first round
        assert entry["blocks_ms"][signature][variant] == min(entry["blocks_ms"][signature].values())
    code, _, second_err = run_cli("--model", "igcv3-0.25", "--imgsz", "64", "--output", workdir / "two")
    assert code == 0 and "tuning:" not in second_err
    for bundle in ("one", "two"):
        record = lowering_record(workdir / bundle)
        assert record["chosen_by"] == "store" and record["store"]["plan"] == entry["plan"]
        assert chosen(workdir / bundle) == entry["plan"] and sum(record["blocks"].values()) == BLOCKS
    assert read_manifest(workdir / "one")["files"] == read_manifest(workdir / "two")["files"]
    native = export(run_cli, workdir / "native", "--lowering", "native")
    assert rel_err(outputs(workdir / "two", "onnx"), outputs(native, "onnx")) <= TOL


@pytest.mark.parametrize(
    "gate, message",
    [("NOISY_ROUNDS", "between rounds (a busy machine?): not stored"), ("BUSY_LOAD_PER_CORE", "this machine is busy")],
)
def test_a_busy_machine_stores_nothing(workdir, run_cli, empty_store, monkeypatch, gate, message):
    """Timings too noisy to trust (or a load that promises them) leave the store empty: the table is used."""
    monkeypatch.setattr(lowering_auto, "BUSY_LOAD_PER_CORE", float("inf"))
    monkeypatch.setattr(lowering_auto, gate, -1.0)  # every measurement counts as noisy / every load as busy
    code, _, err = run_cli("--model", "igcv3-0.25", "--imgsz", "64", "--output", workdir / "b")
    assert code == 0 and message in err
    record = lowering_record(workdir / "b")
    assert not empty_store.exists() and record["chosen_by"] in ("table", "fallback")
    assert message.split(":")[0] in record["quick_tuning"]


@pytest.mark.parametrize(
    "variable, extra",
    [(NO_TUNE_ENV, ()), (None, ("--lowering", "table")), (None, ("--precision", "int8", "--calib-size", "8"))],
)
def test_builds_that_must_not_measure_take_the_table(workdir, run_cli, empty_store, monkeypatch, variable, extra):
    """IGCV_NO_TUNE=1 and --lowering table never measure; INT8 exports take the table (float-timed blocks)."""
    if variable:
        monkeypatch.setenv(variable, "1")
    code, _, err = run_cli("--model", "igcv3-0.25", "--imgsz", "64", "--output", workdir / "b", *extra)
    assert code == 0 and "tuning:" not in err and not empty_store.exists()
    assert lowering_record(workdir / "b")["chosen_by"] in ("table", "fallback")


def test_a_plan_carried_from_a_device_is_used_for_its_class(workdir, run_cli, monkeypatch, tmp_path):
    """igcv-profile tune on the device fills its store; --export carries it; --tuning FILE uses it elsewhere."""
    device_cache = tmp_path / "device-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(device_cache))
    native = export(run_cli, workdir / "native", "--lowering", "native")
    args = [
        "tune",
        str(native),
        "--rounds",
        "1",
        "--seconds",
        "0.01",
        "--output",
        "plan.json",
        "--export",
        "wisdom.json",
    ]
    assert igcv_profile(args) == 0
    (entry,) = tuning_store.read_entries(workdir / "wisdom.json")
    entry["plan"] = dict.fromkeys(entry["plan"], "dense_expansion")  # a plan this host would not choose by itself
    flags = [*entry["key"]["isa_flags"], "avx512f", "avx512_vnni", "avx512_bf16"]
    carried = workdir / "zen5.json"
    tuning_store.record(entry["plan"], "AMD EPYC 9575F", flags, **_runtime(entry), path=carried)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "build-machine"))
    bundle = export(run_cli, workdir / "for-zen5", "--device", "x86-avx512-bf16", "--tuning", carried)
    record = lowering_record(bundle)
    assert record["chosen_by"] == "store" and record["store"]["where"] == "--tuning zen5.json"
    assert record["blocks"] == {"dense_expansion": BLOCKS}
    assert not tuning_store.store_path().exists()  # the build machine measured nothing


def _runtime(entry: dict) -> dict:
    return {k: entry["key"][k] for k in ("runtime", "version", "precision", "threads")}


def test_openvino_measures_in_a_child_process_and_stores(workdir, run_cli, empty_store, monkeypatch):
    """OpenVINO's quick tuning runs in a spawned child (its conversions would rename the exported IR's layers)."""
    monkeypatch.setattr(lowering_auto, "NOISY_ROUNDS", float("inf"))
    monkeypatch.setattr(lowering_auto, "BUSY_LOAD_PER_CORE", float("inf"))
    code, _, err = run_cli("--model", "igcv3-0.25", "--imgsz", "64", "--target", "openvino", "--output", workdir / "b")
    assert code == 0 and "block shapes measured in" in err
    (entry,) = tuning_store.read_entries(empty_store)
    assert entry["key"]["runtime"] == "openvino" and entry["plan"] == lowering_record(workdir / "b")["store"]["plan"]
    assert lowering_record(workdir / "b")["chosen_by"] == "store"
