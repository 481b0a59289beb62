#!/usr/bin/env python3
"""Prints MediaPipe's own face-mesh landmarks (pixels) for a photo, the
reference the Rust landmark tests compare against.

    python3 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.21
    /tmp/mp/bin/python scripts/reference-landmarks.py assets/portraits/astronaut.png
"""
import sys

import mediapipe as mp
import numpy as np
from PIL import Image

POINTS = [1, 4, 13, 14, 33, 61, 133, 152, 159, 145, 199, 263, 291, 362, 386, 374, 10, 234, 454]

image = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
height, width = image.shape[:2]
with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as mesh:
    result = mesh.process(image)
landmarks = result.multi_face_landmarks[0].landmark
for index in POINTS:
    point = landmarks[index]
    print(f"({index}, {point.x * width:.2f}, {point.y * height:.2f}),")
