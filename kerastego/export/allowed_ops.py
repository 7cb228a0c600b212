"""The ops kerastego's exports use, which `check_saved_model_ops` allows a SavedModel to run.

FUNCTION_OPS: what the signatures and every function outside the saver use (every
registered model, both input kinds, float32 and bfloat16, single and ensemble;
tests/export/test_savedmodel_ops.py keeps this list complete). SAVER_OPS: what TensorFlow's
saver functions add (a load runs the restore function). Nothing here reads or writes a
file but RestoreV2/SaveV2, which only the saver may use.
"""
FUNCTION_OPS = frozenset({
    "Abs", "AddV2", "All", "Assert", "AssignVariableOp", "AvgPool", "BiasAdd", "Cast", "ConcatV2", "Const",
    "Conv2D", "Einsum", "Equal", "Floor", "FloorDiv", "FloorMod", "Greater", "GreaterEqual", "Identity",
    "IsFinite", "LogicalAnd", "MatMul", "Maximum", "Mean", "Minimum", "Mul", "NoOp", "Pack", "Pad",
    "Placeholder", "Range", "Rank", "ReadVariableOp", "RealDiv", "Relu", "Reshape", "Rsqrt", "SelectV2",
    "Shape", "Sign", "Softmax", "Squeeze", "StatefulPartitionedCall", "StopGradient", "StridedSlice", "Sub",
    "VarHandleOp", "VarIsInitializedOp",
})
SAVER_OPS = frozenset({
    "DisableCopyOnRead", "MergeV2Checkpoints", "RestoreV2", "SaveV2", "Select", "ShardedFilename",
    "StaticRegexFullMatch", "StringJoin",
})
