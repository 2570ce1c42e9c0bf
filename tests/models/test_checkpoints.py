"""Weight import: native state dicts, pytorchcv IGCV3 (the real package as oracle), official MXNet
.params (written here in MXNet's binary layout), and clear IGCVErrors for every bad file."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from igcv_deploy.errors import IGCVError
from igcv_deploy.models import create_model
from igcv_deploy.models.checkpoints import checkpoint_num_classes, load_weights
from igcv_deploy.models.igcv3 import IGCV3_D_STAGES
from igcv_deploy.models.mxnet_params import parse_params

from .helpers import randomise_bn, rel_diff
from .mxnet_writer import write_params


def _outputs_match(a: torch.nn.Module, b: torch.nn.Module, size: int, tolerance: float = 1e-5) -> None:
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert rel_diff(a.eval()(x), b.eval()(x)) <= tolerance


# --- pytorchcv -----------------------------------------------------------------------------------


@pytest.mark.parametrize("osmr_name, ours", [("igcv3_w1", "igcv3"), ("igcv3_wd4", "igcv3-0.25")])
def test_pytorchcv_round_trip(tmp_path, osmr_name, ours):
    from pytorchcv.models import igcv3  # the oracle; `make setup` installs it

    torch.manual_seed(0)
    reference = randomise_bn(getattr(igcv3, osmr_name)())
    path = tmp_path / f"{osmr_name}.pth"
    torch.save(reference.state_dict(), path)

    model = create_model(ours)
    info = load_weights(model, ours, path)
    assert info["format"] == "pytorchcv-igcv3"
    assert info["n_tensors"] == len(reference.state_dict())
    assert len(info["sha256"]) == 64
    _outputs_match(model, reference, 224)  # pytorchcv pools with a fixed 7x7 window


def test_pytorchcv_wrong_width_lists_shape_mismatches(tmp_path):
    from pytorchcv.models import igcv3  # the oracle; `make setup` installs it

    path = tmp_path / "wd4.pth"
    torch.save(igcv3.igcv3_wd4().state_dict(), path)
    offender = r"shape mismatches \(features\.init_block\.conv\.weight \(8, 3, 3, 3\) vs \(32, 3, 3, 3\)"
    with pytest.raises(IGCVError, match=offender):
        load_weights(create_model("igcv3"), "igcv3", path)


def test_pytorchcv_fine_tuned_head(tmp_path):
    from pytorchcv.models import igcv3  # the oracle; `make setup` installs it

    path = tmp_path / "wd4-10.pth"
    torch.save(igcv3.igcv3_wd4(num_classes=10).state_dict(), path)
    assert checkpoint_num_classes(path, "igcv3-0.25") == 10


# --- native --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return randomise_bn(create_model("igcv2-cifar"))


@pytest.mark.parametrize("wrap", [False, True])
def test_native_round_trip(tmp_path, small, wrap):
    path = tmp_path / "native.pt"
    state = small.state_dict()
    torch.save({"state_dict": state, "epoch": 3} if wrap else state, path)
    model = create_model("igcv2-cifar")
    info = load_weights(model, "igcv2-cifar", path)
    assert info["format"] == "native" and info["n_tensors"] == len(state)
    _outputs_match(model, small, 32, tolerance=0.0)


def test_missing_unexpected_and_mismatched_keys_in_one_line(tmp_path, small):
    state = dict(small.state_dict())
    del state["blocks.0.conv1.weight"], state["stem.1.running_var"]
    state["blocks.99.conv1.weight"] = torch.zeros(1)
    state["classifier.fc.weight"] = torch.zeros(100, 256)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(IGCVError) as caught:
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", path)
    line = str(caught.value)
    assert "\n" not in line
    assert "2 missing (stem.1.running_var, blocks.0.conv1.weight)" in line
    assert "1 unexpected (blocks.99.conv1.weight)" in line
    assert "1 shape mismatches (classifier.fc.weight (100, 256) vs (10, 256))" in line
    assert "does not fit model 'igcv2-cifar'" in line


def _saved(tmp_path, model: str, **kw):
    path = tmp_path / f"{model}.pt"
    torch.save(create_model(model, **kw).state_dict(), path)
    return path


def test_fine_tuned_head_is_recognised(tmp_path):
    torch.manual_seed(0)
    tuned = randomise_bn(create_model("igcv3-0.25", num_classes=10))
    path = tmp_path / "tuned.pt"
    torch.save(tuned.state_dict(), path)
    assert checkpoint_num_classes(str(path), "igcv3-0.25") == 10
    model = create_model("igcv3-0.25", num_classes=10)
    assert load_weights(model, "igcv3-0.25", path)["n_tensors"] == len(tuned.state_dict())
    _outputs_match(model, tuned, 64, tolerance=0.0)


def test_registered_head_needs_no_other_class_count(tmp_path):
    assert checkpoint_num_classes(_saved(tmp_path, "igcv3-0.25"), "igcv3-0.25") is None


@pytest.mark.parametrize("num_classes", [1000, 10])
def test_width_mismatch_is_still_refused(tmp_path, num_classes):
    path = _saved(tmp_path, "igcv3-0.5", num_classes=num_classes)
    assert checkpoint_num_classes(path, "igcv3-0.25") is None
    with pytest.raises(IGCVError, match=r"does not fit model 'igcv3-0.25': \d+ shape mismatches .*num_classes"):
        load_weights(create_model("igcv3-0.25"), "igcv3-0.25", path)


HEAD_12 = {"classifier.fc.weight": torch.zeros(12, 256), "classifier.fc.bias": torch.zeros(12)}  # igcv2-cifar has 10


@pytest.mark.parametrize(
    "change",
    [
        {"classifier.fc.weight": torch.zeros(12, 999), "classifier.fc.bias": torch.zeros(12)},  # other in-features
        {**HEAD_12, "classifier.fc.bias": torch.zeros(14)},  # weight and bias disagree
        {"classifier.fc.weight": torch.zeros(12, 256)},  # the registered bias
        {**HEAD_12, "stem.0.weight": None},
        {**HEAD_12, "extra": torch.zeros(1)},
        {**HEAD_12, "stem.0.weight": torch.zeros(1)},
    ],
    ids=["in-features", "bias-count", "weight-only", "missing", "unexpected", "backbone-shape"],
)
def test_head_with_another_misfit_is_not_a_fine_tuned_head(tmp_path, small, change):
    state = dict(small.state_dict())
    for key, value in change.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    path = tmp_path / "other.pt"
    torch.save(state, path)
    assert checkpoint_num_classes(path, "igcv2-cifar") is None
    with pytest.raises(IGCVError, match="does not fit model 'igcv2-cifar'"):
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", path)


def test_many_missing_keys_are_abbreviated(tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save({"stem.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(IGCVError, match=r"\d+ missing \([^)]*, \.\.\.\)") as caught:
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", path)
    assert len(str(caught.value)) < 600


def test_code_executing_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path = tmp_path / "evil.pt"
    torch.save({"stem.0.weight": Payload()}, path)
    with pytest.raises(IGCVError, match=r"refused: it is a pickle that would run code \(posix\.mkdir\)") as caught:
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", path)
    assert "torch.save(model.state_dict(), path)" in caught.value.fix
    assert not marker.exists()


def test_pickle_the_weights_only_reader_cannot_read_is_not_called_corrupt(tmp_path):
    """A plain pickle.dump (protocol 4+) of code-running objects: torch refuses an opcode before naming any code."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"stem.0.weight": Payload()}, protocol=4))
    with pytest.raises(IGCVError, match=r"evil\.pt was refused: it is not a weights-only checkpoint") as caught:
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", path)
    assert "corrupt" not in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.fix == "re-save it from trusted code with torch.save(model.state_dict(), path)"
    assert not marker.exists()


@pytest.mark.parametrize("legacy", [False, True])
def test_truncated_torch_file(tmp_path, small, legacy):
    path = tmp_path / "cut.pt"
    torch.save(small.state_dict(), path, _use_new_zipfile_serialization=not legacy)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IGCVError, match="truncated or corrupt"):
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", path)


def test_unknown_format_and_missing_file(tmp_path):
    path = tmp_path / "weights.onnx"
    path.write_bytes(b"\x08\x07\x12\x04junk" * 10)
    with pytest.raises(IGCVError, match="unrecognised weights format"):
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", path)
    with pytest.raises(IGCVError, match="not found"):
        load_weights(create_model("igcv2-cifar"), "igcv2-cifar", tmp_path / "absent.pt")


# --- MXNet ---------------------------------------------------------------------------------------

BN = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_var": "running_var"}


def _mx_layer(arrays: dict, names: tuple, conv: torch.nn.Conv2d | None, bn: torch.nn.BatchNorm2d | None) -> None:
    """Official MXNet naming: <layer>_weight (arg), <bn>_gamma/_beta (arg), <bn>_moving_mean/_var (aux)."""
    if conv is not None:
        arrays[f"arg:{names[0]}_weight"] = conv.weight.detach().numpy()
    if bn is not None:
        for mx, ours in BN.items():
            kind = "aux" if mx.startswith("moving") else "arg"
            arrays[f"{kind}:{names[1]}_{mx}"] = getattr(bn, ours).detach().numpy()


def official_igcv3_params(model) -> dict[str, np.ndarray]:
    """The arrays of homles11/IGCV3 models/igcv3-0000.params, named as in igcv3-symbol.json."""
    arrays: dict[str, np.ndarray] = {}
    stem_conv, stem_bn, _ = model.stem
    _mx_layer(arrays, ("first-3x3-conv-conv2d", "first-3x3-conv-batchnorm"), stem_conv, stem_bn)
    blocks = iter(model.blocks)
    for seq, (*_, repeats, _stride) in enumerate(IGCV3_D_STAGES):
        for j in range(repeats):
            block = next(blocks)
            for part, seqmod in (("exp", block.expand), ("depthwise", block.depthwise), ("linear", block.project)):
                prefix = f"seq-{seq}-block{j}-{part}"
                _mx_layer(arrays, (f"{prefix}-conv2d", f"{prefix}-batchnorm"), seqmod[0], seqmod[1])
    _mx_layer(arrays, ("last-1x1-conv-conv2d", "last-1x1-conv-batchnorm"), model.head[0], model.head[1])
    arrays["arg:fc_weight"] = model.classifier.fc.weight.detach().numpy()
    arrays["arg:fc_bias"] = model.classifier.fc.bias.detach().numpy()
    return arrays


def official_igcv1_params(model) -> dict[str, np.ndarray]:
    """The arrays of IGC-L100M2's .params, named as in resnet_gcwf_noshare_imagenet_d18b100vary-symbol.json."""
    arrays: dict[str, np.ndarray] = {}
    _mx_layer(arrays, ("g0_conv", "g0_bn"), model.stem[0], model.stem[1])
    for i, unit in enumerate(model.blocks):
        name = f"g{i // 2 + 1}_b{i % 2 + 1}"
        if not isinstance(unit.shortcut, torch.nn.Identity):
            _mx_layer(arrays, (f"{name}_proj_conv", f"{name}_proj_bn"), unit.shortcut[0], unit.shortcut[1])
        for k, igc in ((1, unit.igc1), (2, unit.igc2)):
            _mx_layer(arrays, (f"{name}_conv{k}_conv1", None), igc.conv1, None)
            _mx_layer(arrays, (f"{name}_conv{k}_conv2", f"{name}_conv{k}_bn"), igc.conv2, igc.bn)
    arrays["arg:fc_score_weight"] = model.classifier.fc.weight.detach().numpy()
    arrays["arg:fc_score_bias"] = model.classifier.fc.bias.detach().numpy()
    return arrays


@pytest.fixture(scope="module")
def igcv3_source():
    torch.manual_seed(1)
    return randomise_bn(create_model("igcv3-mxnet"), seed=1)


def test_mxnet_igcv3_names_and_shapes_match_the_symbol(igcv3_source):
    arrays = official_igcv3_params(igcv3_source)
    assert len(arrays) == 99 + 32 * 3 * 4 + 2 * 4 + 1  # 98 conv + fc weights, 98 BNs x 4, fc bias
    # num_filter / num_group / kernel as in igcv3-symbol.json
    assert arrays["arg:seq-0-block0-exp-conv2d_weight"].shape == (32, 16, 1, 1)
    assert arrays["arg:seq-1-block0-depthwise-conv2d_weight"].shape == (96, 1, 3, 3)
    assert arrays["arg:seq-1-block0-linear-conv2d_weight"].shape == (24, 48, 1, 1)


def test_mxnet_igcv3_round_trip(tmp_path, igcv3_source):
    """MXNet 1.1 (the release's version) writes the V2 layout; the reader test covers V1 and legacy."""
    path = write_params(tmp_path / "igcv3-0000.params", official_igcv3_params(igcv3_source), "v2")
    model = create_model("igcv3-mxnet")
    info = load_weights(model, "igcv3-mxnet", path)
    assert info["format"] == "mxnet-igcv3" and info["n_tensors"] == 99 + 98 * 4 + 1
    _outputs_match(model, igcv3_source, 64, tolerance=0.0)


def test_mxnet_igcv3_weights_are_not_loaded_into_the_pytorch_preprocessing_model(tmp_path, igcv3_source):
    path = write_params(tmp_path / "igcv3-0000.params", official_igcv3_params(igcv3_source))
    refusal = r"official MXNet IGCV3 weights, which model 'igcv3' does not take \(use --model igcv3-mxnet\)"
    with pytest.raises(IGCVError, match=refusal):
        load_weights(create_model("igcv3"), "igcv3", path)


def test_mxnet_fine_tuned_head(tmp_path, igcv3_source):
    arrays = official_igcv3_params(igcv3_source)
    arrays["arg:fc_weight"], arrays["arg:fc_bias"] = np.zeros((7, 1280), np.float32), np.zeros(7, np.float32)
    path = write_params(tmp_path / "igcv3-0000.params", arrays)
    assert checkpoint_num_classes(path, "igcv3-mxnet") == 7
    assert checkpoint_num_classes(path, "igcv3") is None  # a format the model does not take: load_weights says so


def test_mxnet_igcv1_l100m2_round_trip(tmp_path):
    torch.manual_seed(2)
    source = randomise_bn(create_model("igcv1-l100m2"), seed=2)
    arrays = official_igcv1_params(source)
    # shapes as in the symbol JSON: g1_b1 widens 100 -> 200 with 100 groups; conv2 has M=2 groups
    assert arrays["arg:g1_b1_proj_conv_weight"].shape == (200, 1, 1, 1)
    assert arrays["arg:g1_b1_conv1_conv1_weight"].shape == (200, 1, 3, 3)
    assert arrays["arg:g1_b1_conv1_conv2_weight"].shape == (200, 100, 1, 1)
    assert arrays["arg:g2_b1_conv1_conv1_weight"].shape == (400, 1, 3, 3)
    path = write_params(tmp_path / "igc-l100m2-0095.params", arrays, "legacy")  # a pre-nnvm (2017) MXNet
    model = create_model("igcv1-l100m2")
    assert load_weights(model, "igcv1-l100m2", path)["format"] == "mxnet-igcv1"
    _outputs_match(model, source, 64, tolerance=0.0)


def test_mxnet_reader_dtypes_and_layouts(tmp_path):
    arrays = {
        "arg:a_weight": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "arg:b_bias": np.array([1.5, -2.0], dtype=np.float16),
        "aux:c_moving_var": np.array([[3.0]], dtype=np.float64),
        "arg:d": np.array([7], dtype=np.int64),
    }
    for layout in ("v2", "v1", "legacy"):
        read = parse_params(write_params(tmp_path / f"{layout}.params", arrays, layout).read_bytes(), layout)
        assert list(read) == list(arrays)
        for name, array in arrays.items():
            assert read[name].dtype == array.dtype
            np.testing.assert_array_equal(read[name], array)


def test_mxnet_truncated_and_corrupt(tmp_path, igcv3_source):
    path = write_params(tmp_path / "igcv3-0000.params", official_igcv3_params(igcv3_source))
    full = path.read_bytes()
    path.write_bytes(full[: len(full) - 1000])
    with pytest.raises(IGCVError, match="truncated or corrupt"):
        load_weights(create_model("igcv3-mxnet"), "igcv3-mxnet", path)
    path.write_bytes(full[:24] + b"\xff" * 8 + full[32:])
    with pytest.raises(IGCVError, match="corrupt"):
        load_weights(create_model("igcv3-mxnet"), "igcv3-mxnet", path)
    path.write_bytes(full + b"\x00" * 4)
    with pytest.raises(IGCVError, match="trailing bytes"):
        parse_params(path.read_bytes(), path.name)


def test_mxnet_unknown_network(tmp_path):
    path = write_params(tmp_path / "resnet-0000.params", {"arg:conv0_weight": np.zeros((2, 3, 3, 3), np.float32)})
    with pytest.raises(IGCVError, match="MXNet weights of an unknown network"):
        load_weights(create_model("igcv3-mxnet"), "igcv3-mxnet", path)
