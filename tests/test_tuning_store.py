"""The tuning store: keyed by CPU, runtime and version, precision and threads; atomic; carried between machines."""

from __future__ import annotations

import json

import pytest

from igcv_deploy import tuning_store
from igcv_deploy.errors import UsageError

ZEN5_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16", "hypervisor")
PLAN = {"24-144-24 g2/2 56x56->56x56": "split", "16-96-24 g2/2 112x112->56x56": "dense_expansion"}


def put(path, **changes):
    arguments = {
        "cpu_model": "AMD EPYC 9575F",
        "isa_flags": ZEN5_FLAGS,
        "runtime": "onnxruntime",
        "version": "1.32.0",
        "precision": "fp32",
        "threads": 2,
    } | changes
    return tuning_store.record(PLAN, **arguments, blocks_ms={"x": {"split": 0.1}}, how="test", path=path)


def test_the_store_lives_in_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tuning_store.store_path() == tmp_path / "igcv-deploy" / "tuning.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tuning_store.store_path() == tmp_path / "home" / ".cache" / "igcv-deploy" / "tuning.json"


def test_tests_never_touch_the_users_cache():
    assert "xdg-cache" in str(tuning_store.store_path())  # tests/conftest.py


def test_entries_are_keyed_by_everything_a_plan_depends_on(tmp_path):
    path = tmp_path / "store.json"
    put(path)
    for change in ({"version": "1.33.0"}, {"threads": 4}, {"precision": "fp16"}, {"runtime": "openvino"}):
        put(path, **change)
    put(path, isa_flags=(*ZEN5_FLAGS, "avx512_fp16"))
    put(path)  # the same key again replaces, never duplicates
    entries = tuning_store.read_entries(path)
    assert len(entries) == 6
    key = tuning_store.make_key("AMD EPYC 9575F", ZEN5_FLAGS, "onnxruntime", "1.32.0", "fp32", 2)
    assert "hypervisor" not in key.isa_flags and key.isa_class == "x86-avx512-bf16"
    assert tuning_store.lookup(key, entries)["plan"] == PLAN
    other_cpu = tuning_store.make_key("Intel Xeon", ZEN5_FLAGS, "onnxruntime", "1.32.0", "fp32", 2)
    assert tuning_store.lookup(other_cpu, entries) is None


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    path = tmp_path / "store.json"
    put(path)
    put(path, threads=1)
    assert [p.name for p in tmp_path.iterdir()] == ["store.json"]
    assert json.loads(path.read_text())["schema"] == tuning_store.SCHEMA


def test_export_and_merge_carry_entries_between_machines(tmp_path):
    device, carried, laptop = tmp_path / "device.json", tmp_path / "carried.json", tmp_path / "laptop.json"
    put(device)
    put(device, runtime="openvino", version="2026.4.1")
    assert tuning_store.export_entries(carried, path=device) == 2
    assert tuning_store.merge(tuning_store.read_entries(carried), path=laptop) == 2
    assert tuning_store.read_entries(laptop) == tuning_store.read_entries(device)
    found = tuning_store.lookup_for_class(tuning_store.read_entries(carried), "x86-avx512-bf16", "openvino", "fp32", 2)
    assert found["key"]["runtime"] == "openvino" and found["plan"] == PLAN
    assert tuning_store.lookup_for_class(tuning_store.read_entries(carried), "x86-avx2", "openvino", "fp32", 2) is None


def test_a_file_that_is_not_a_store_is_a_usage_error(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({"plan": PLAN}))
    with pytest.raises(UsageError, match="not a tuning store"):
        tuning_store.read_entries(bad)


def test_igcv_profile_tune_export_copies_the_store(monkeypatch, tmp_path, capsys):
    from igcv_deploy.profiling.cli import main as igcv_profile

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    put(None)
    assert igcv_profile(["tune", "--export", str(tmp_path / "wisdom.json")]) == 0
    assert tuning_store.read_entries(tmp_path / "wisdom.json") == tuning_store.read_entries()
    assert "--tuning" in capsys.readouterr().out
    assert igcv_profile(["tune"]) == 2 and "needs a bundle" in capsys.readouterr().err
