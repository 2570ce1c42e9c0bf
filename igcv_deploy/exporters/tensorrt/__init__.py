"""Everything TensorRT: the `tensorrt` and `tensorrt-rtx` targets and the ONNX -> engine builds they share.

One build path for TensorRT 10 and 11 (on the device) and TensorRT-RTX (here); the version-specific parts
are small modules: `trt10` (implicit-precision builder flags and the calibration-cache calibrator) and `rtx`
(target compute capabilities). The targets are `target_tensorrt` and `target_rtx`. `build_engine` and what
it imports use no torch, so it runs on a device.
"""
