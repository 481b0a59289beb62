#!/usr/bin/env python3
"""Extracts MediaPipe's canonical face mesh (468 vertices with UVs and the
898-triangle index buffer) from the npm package @mediapipe/face_mesh
(Apache-2.0) into assets/models/face_mesh.json.

The mesh lives inside the package's packed asset file as the protobuf
`geometry_pipeline_metadata_landmarks.binarypb`; its offsets are listed in
the package's loader script. Usage (no network beyond the npm registry):

    npm pack @mediapipe/face_mesh && tar xzf mediapipe-face_mesh-*.tgz
    python3 scripts/extract-face-mesh.py package assets/models/face_mesh.json
"""
import json
import re
import struct
import sys


def varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def fields(buf):
    """Yields (field number, wire type, value) of one protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 2:
            length, pos = varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def packed_varints(buf):
    pos, out = 0, []
    while pos < len(buf):
        value, pos = varint(buf, pos)
        out.append(value)
    return out


def main(package_dir, out_path):
    loader = open(f"{package_dir}/face_mesh_solution_packed_assets_loader.js").read()
    match = re.search(r'geometry_pipeline_metadata_landmarks\.binarypb", "start": (\d+), "end": (\d+)', loader)
    start, end = int(match.group(1)), int(match.group(2))
    data = open(f"{package_dir}/face_mesh_solution_packed_assets.data", "rb").read()[start:end]
    mesh = next(v for n, w, v in fields(data) if n == 1)  # canonical_mesh
    vertex_buffer, index_buffer = [], []
    for number, wire, value in fields(mesh):
        if number == 3:  # vertex_buffer: x, y, z, u, v per vertex
            vertex_buffer += struct.unpack(f"<{len(value) // 4}f", value) if wire == 2 else struct.unpack("<f", value)
        elif number == 4:  # index_buffer
            index_buffer += packed_varints(value) if wire == 2 else [value]
    vertices = [vertex_buffer[i:i + 5] for i in range(0, len(vertex_buffer), 5)]
    triangles = [index_buffer[i:i + 3] for i in range(0, len(index_buffer), 3)]
    assert len(vertices) == 468 and len(triangles) == 898, (len(vertices), len(triangles))
    json.dump({
        "source": "npm @mediapipe/face_mesh, geometry_pipeline_metadata_landmarks.binarypb (Apache-2.0)",
        "uv": [[round(v[3], 6), round(v[4], 6)] for v in vertices],
        "triangles": triangles,
    }, open(out_path, "w"), separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
