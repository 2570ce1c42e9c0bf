"""ONNX -> TensorRT engine builds, one code path for TensorRT 10 and 11 (on the device) and TensorRT-RTX (here).

The Python APIs match for what an ONNX build needs; the version-specific parts are small modules:
`trt10` (implicit-precision builder flags and the calibration-cache calibrator) and `rtx` (target
compute capabilities). Nothing in this package imports torch, so `build_engine` runs on a device.
"""
