#!/usr/bin/env python3
"""Makes the converted selfie-segmentation graph plain ONNX.

tf2onnx leaves MediaPipe's custom TFLite op `Convolution2DTransposeBias` (the
last, upsampling layer) as an unknown `TFL_Convolution2DTransposeBias` node.
This replaces it with the standard ONNX equivalent — NHWC→NCHW transpose,
`ConvTranspose` (stride 2, the layer's 2×2 kernel, its bias), NCHW→NHWC — and
drops the now unused TFLite-layout weights.

    python3 scripts/fix-segmentation.py converted.onnx assets/models/selfie_segmentation.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def main(source, target):
    model = onnx.load(source)
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    node = next(n for n in graph.node if n.op_type == "TFL_Convolution2DTransposeBias")
    x, weights_name, bias_name = node.input
    weights = numpy_helper.to_array(initializers[weights_name])  # [out, kh, kw, in], TFLite layout
    bias = numpy_helper.to_array(initializers[bias_name]).astype(np.float32)
    kernel = list(weights.shape[1:3])
    graph.initializer.extend([
        numpy_helper.from_array(np.ascontiguousarray(weights.transpose(3, 0, 1, 2)), "segment_weights"),
        numpy_helper.from_array(bias, "segment_bias"),
    ])
    replacement = [
        helper.make_node("Transpose", [x], ["segment_nchw_in"], perm=[0, 3, 1, 2], name="segment_to_nchw"),
        helper.make_node("ConvTranspose", ["segment_nchw_in", "segment_weights", "segment_bias"],
                         ["segment_nchw_out"], strides=[2, 2], kernel_shape=kernel, name="segment_deconv"),
        helper.make_node("Transpose", ["segment_nchw_out"], [node.output[0]], perm=[0, 2, 3, 1],
                         name="segment_to_nhwc"),
    ]
    index = list(graph.node).index(node)
    graph.node.remove(node)
    for offset, new in enumerate(replacement):
        graph.node.insert(index + offset, new)
    used = {name for n in graph.node for name in n.input}
    for initializer in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(initializer)
    onnx.checker.check_model(model)
    onnx.save(model, target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
