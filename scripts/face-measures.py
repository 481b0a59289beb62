#!/usr/bin/env python3
"""Measures a talking-face MP4 the way a viewer sees it: every frame is
decoded (ffmpeg, rgb24) and read by MediaPipe's own face mesh
(`mediapipe==0.10.21`, FaceMesh in video mode with refined landmarks: 478
points, irises included), independently of anything Mouthpiece knows.

    scripts/face-measures.sh video.mp4 [--words words.json] [--json out.json]

Lengths are in pixels of the video, or in "units": the frame's distance
between the outer eye corners (landmarks 33 and 263), so that they do not
depend on the video's size or on how large the face is in it. Eyes are named
as seen in the video: "left" is the eye on the image's left (landmarks 33 to
133, the subject's right eye), "right" the other one (362 to 263). Per frame:

unit        the outer-eye-corner distance 33-263, pixels.
yaw, pitch, roll
            head rotation from the first frame with a face, degrees. The
            frame's landmarks (x, y in pixels, MediaPipe's z times the image
            width, which is its scale) are fitted to the first frame's by a
            similarity transform (Umeyama; the rotation is Kabsch's, which
            scale does not change) over STABLE_POINTS only, and the rotation
            is split as Rz(roll) Ry(yaw) Rx(pitch) about the image axes x
            right, y down, z into the picture: yaw > 0 turns the nose towards
            the image's left, pitch > 0 tips it down, roll > 0 tilts the head
            clockwise on screen.
iris_x_left, iris_x_right
            the iris centre (468, 473) along its eye's corner-to-corner line
            (33->133, 362->263, both running left to right in the image), as a
            fraction of that eye's width: 0 at the first corner, 1 at the
            second, so both grow when the eyes look towards the image's right.
iris_y_left, iris_y_right
            the iris centre's distance from that line, perpendicular to it,
            positive downwards, as a fraction of the eye's width. Both iris
            measures are taken in the eye's own frame (its corners), which
            takes out head translation, in-plane rotation and scale.
brow_left, brow_right
            brow height: from the mean of the brow points (70, 63, 105, 66,
            107 / 300, 293, 334, 296, 336) to the upper lid's middle (159 /
            386), perpendicular to the eye's corner line, in units.
eye_open_left, eye_open_right
            upper to lower lid (159-145 / 386-374), perpendicular to the
            corner line, in units: near 0 when the eye is shut.
            In frames where an eye is open less than OPEN_FRACTION of its
            median, its iris and brow measures are left out (null): the mesh
            guesses the hidden iris, and the lid, not the brow, moves the
            brow-to-lid distance. Runs of such frames (either eye) are counted
            as blinks.
mouth_width the lip corners 61-291, units.
lip_gap     the inner lips' middle 13-14, units.
chin_drop   the nose bridge's top (168, between the eyes, moved by neither
            jaw nor lips) to the chin (152), in units, minus its value in the
            first frame with a face: > 0 when the jaw opens.

The summary gives each measure's 5th and 95th percentiles over the frames
and their difference ("spread", the range that most frames stay in), and
the full minimum and maximum. Saccades are counted on the mean of both eyes'
iris_x: a jump of more than SACCADE_JUMP (eye widths) within SACCADE_FRAMES
frames, at least SACCADE_GAP seconds after the last one counted.

With --words (a JSON list of {"word" or "text", "start", "end"}, seconds) a table shows
per word the narrowest and widest mouth, relative to the rest width (the
median mouth_width over the frames before the first word and within the
first REST_SECONDS, always including the first frame with a face), the
largest lip gap and the largest chin drop. --json writes the per-frame
series, the saccades, the blinks, the word table and the summary (missing
values, frames without a face, are null).

What the mesh itself adds: on a 6 s still of assets/portraits/astronaut.png
at 1080x1080 the spreads are 0.5 degrees of yaw, 0.13 of pitch and roll,
0.01 eye widths of iris_x, 0.005 of iris_y and at most 0.006 units of the
rest; so a saccade's threshold is three times the iris noise. A still turned
in the picture plane by 6 degrees reads as 5.0 degrees of roll clockwise and
6.1 anticlockwise, with up to 1.1 degrees of pitch besides. chin_drop is a
length in the picture, so nodding changes it too.
"""
import argparse
import json
import math
import subprocess
import sys

import mediapipe as mp
import numpy as np

# Points the face's expressions hardly move, for the head-pose fit: forehead,
# nose bridge and tip, eye corners (not the lids), temples and the face's
# outline beside the eyes. Lips, jaw, cheeks, lids and brows are left out, so
# that speech, smiles, blinks and brow raises do not read as head motion.
STABLE_POINTS = [
    10, 151, 9, 67, 297,  # forehead: centre line and either side
    168, 6, 197, 195,  # nose bridge, top to bottom
    4, 1,  # nose tip
    33, 133, 362, 263,  # eye corners, outer and inner
    127, 356, 162, 389, 21, 251,  # temples and the outline beside the eyes
]
OUTER_CORNERS = (33, 263)
EYES = {  # corners (left to right in the image), iris centre, brow points, upper and lower lid
    "left": ((33, 133), 468, (70, 63, 105, 66, 107), 159, 145),
    "right": ((362, 263), 473, (300, 293, 334, 296, 336), 386, 374),
}
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)
BRIDGE, CHIN = 168, 152

SACCADE_JUMP = 0.03  # eye widths
SACCADE_FRAMES = 3
SACCADE_GAP = 0.3  # seconds
REST_SECONDS = 0.2
OPEN_FRACTION = 0.8  # an eye two-thirds open already moves its iris landmark by a saccade's size
# In video mode the mesh's first answer is read from the face detector's
# crop and the next ones from its own last landmarks, which settle within
# about 5 frames (on a still, by 1.6 degrees of pitch): the first frame is
# read this many times, so that it is measured as tracked like the rest.
FIRST_FRAME_READS = 10


def probe(path):
    """Width, height and frame rate of the video's first stream."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,avg_frame_rate",
         "-of", "json", path],
        check=True, capture_output=True, text=True,
    ).stdout
    stream = json.loads(out)["streams"][0]
    num, den = stream["avg_frame_rate"].split("/")
    return stream["width"], stream["height"], float(num) / float(den)


def frames(path, width, height):
    """Yields every frame as a height x width x 3 RGB array."""
    size = width * height * 3
    ffmpeg = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE
    )
    while len(data := ffmpeg.stdout.read(size)) == size:
        yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
    if ffmpeg.wait() != 0:
        sys.exit(f"ffmpeg failed to decode {path}")


def landmarks(path, width, height):
    """An n x 478 x 3 array of every frame's landmarks in pixels (z scaled
    like x), NaN where no face was found."""
    points = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True, max_num_faces=1) as mesh:
        for index, frame in enumerate(frames(path, width, height)):
            for _ in range(FIRST_FRAME_READS if index == 0 else 1):
                result = mesh.process(frame)
            if result.multi_face_landmarks:
                marks = result.multi_face_landmarks[0].landmark
                points.append([(p.x * width, p.y * height, p.z * width) for p in marks])
            else:
                points.append(np.full((478, 3), np.nan))
    return np.array(points, dtype=float)


def rotation(source, target):
    """The rotation of the least-squares similarity fit target ~ s R source + t."""
    covariance = (target - target.mean(0)).T @ (source - source.mean(0))
    u, _, vt = np.linalg.svd(covariance)
    reflect = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return u @ reflect @ vt


def euler(r):
    """(yaw, pitch, roll) in degrees of r = Rz(roll) Ry(yaw) Rx(pitch)."""
    yaw = math.asin(max(-1.0, min(1.0, -r[2, 0])))
    pitch = math.atan2(r[2, 1], r[2, 2])
    roll = math.atan2(r[1, 0], r[0, 0])
    return tuple(math.degrees(a) for a in (yaw, pitch, roll))


def distance(points, a, b):
    return np.linalg.norm(points[:, a, :2] - points[:, b, :2], axis=1)


def shut(opening):
    """Frames where an eye is open less than OPEN_FRACTION of its median (never those without a face)."""
    return opening < OPEN_FRACTION * np.nanmedian(opening)


def project(vectors, axes):
    """Row-wise dot products of two n x 2 arrays."""
    return np.einsum("ij,ij->i", vectors, axes)


def measure(points):
    """The per-frame series described at the top, as a dict of arrays."""
    found = np.flatnonzero(~np.isnan(points[:, 0, 0]))
    if found.size == 0:
        sys.exit("no face found in any frame")
    first = found[0]
    xy = points[..., :2]
    unit = distance(points, *OUTER_CORNERS)
    series = {"unit": unit}

    pose = np.full((len(points), 3), np.nan)
    for i in found:
        pose[i] = euler(rotation(points[first, STABLE_POINTS], points[i, STABLE_POINTS]))
    series["yaw"], series["pitch"], series["roll"] = pose.T

    for side, ((a, b), iris, brow, upper, lower) in EYES.items():
        along = xy[:, b] - xy[:, a]
        width = np.linalg.norm(along, axis=1)
        along /= width[:, None]
        down = np.stack([-along[:, 1], along[:, 0]], axis=1)  # along turned a quarter clockwise on screen

        opening = project(xy[:, lower] - xy[:, upper], down) / unit
        hidden = shut(opening)
        series[f"iris_x_{side}"] = np.where(hidden, np.nan, project(xy[:, iris] - xy[:, a], along) / width)
        series[f"iris_y_{side}"] = np.where(hidden, np.nan, project(xy[:, iris] - xy[:, a], down) / width)
        brow_height = project(xy[:, upper] - xy[:, list(brow)].mean(1), down) / unit
        series[f"brow_{side}"] = np.where(hidden, np.nan, brow_height)
        series[f"eye_open_{side}"] = opening

    series["mouth_width"] = distance(points, *MOUTH_CORNERS) / unit
    series["lip_gap"] = distance(points, *INNER_LIPS) / unit
    drop = distance(points, BRIDGE, CHIN) / unit
    series["chin_drop"] = drop - drop[first]
    return series


def saccades(iris_x, fps):
    """(time in s, jump in eye widths) of each saccade in the mean iris_x."""
    found = []
    last = -math.inf
    for i in range(len(iris_x)):
        window = iris_x[max(0, i - SACCADE_FRAMES):i + 1]
        if np.isnan(window).any() or len(window) < 2:
            continue
        jump = window[-1] - window[:-1]
        biggest = jump[np.argmax(np.abs(jump))]
        if abs(biggest) > SACCADE_JUMP and i / fps - last >= SACCADE_GAP:
            found.append((i / fps, float(biggest)))
            last = i / fps
    return found


def blinks(series, fps):
    """(start, end) in s of each run of frames with either eye shut."""
    closed = shut(series["eye_open_left"]) | shut(series["eye_open_right"])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], closed.astype(int), [0]])))
    return [(start / fps, end / fps) for start, end in zip(edges[::2], edges[1::2])]


def spread(values):
    """Percentiles 5 and 95, their difference, minimum, maximum and median, over the frames measured."""
    values = values[~np.isnan(values)]
    p5, p95 = np.percentile(values, [5, 95])
    return {"p5": p5, "p95": p95, "spread": p95 - p5, "min": values.min(), "max": values.max(),
            "median": np.median(values)}


def word_table(series, times, words):
    """Per word: narrowest and widest mouth relative to rest, largest lip gap and chin drop."""
    width = series["mouth_width"]
    before = times < min([REST_SECONDS] + [word["start"] for word in words])
    before[np.flatnonzero(~np.isnan(width))[0]] = True
    rest = np.nanmedian(width[before])
    table = []
    for word in words:
        inside = (times >= word["start"]) & (times < word["end"]) & ~np.isnan(width)
        row = {"word": word.get("word", word.get("text")), "start": word["start"], "end": word["end"], "frames": int(inside.sum())}
        if inside.any():
            row.update(narrowest=width[inside].min() / rest, widest=width[inside].max() / rest,
                       max_lip_gap=series["lip_gap"][inside].max(), max_chin_drop=series["chin_drop"][inside].max())
        table.append(row)
    return rest, table


def plain(value):
    """value with numpy numbers as Python ones and NaN as None, for JSON."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 5)
    if isinstance(value, np.integer):
        return int(value)
    return value


def report(video, width, height, fps, series, found, summary, jumps, closed, words):
    lines = [f"{video}: {width}x{height}, {fps:g} fps, {len(series['unit'])} frames, a face in {found}"]
    unit = summary["unit"]
    lines.append(f"eye-corner distance (unit): median {unit['median']:.1f} px, "
                 f"p5-p95 {unit['p5']:.1f}-{unit['p95']:.1f}")
    lines.append(f"{'':32}{'p5':>9}{'p95':>9}{'spread':>9}{'min':>9}{'max':>9}")
    labels = {
        "yaw": "head yaw (deg)", "pitch": "head pitch (deg)", "roll": "head roll (deg)",
        "iris_x_left": "iris across, left eye (widths)", "iris_x_right": "iris across, right eye (widths)",
        "iris_y_left": "iris down, left eye (widths)", "iris_y_right": "iris down, right eye (widths)",
        "brow_left": "brow to lid, left (units)", "brow_right": "brow to lid, right (units)",
        "eye_open_left": "eye open, left (units)", "eye_open_right": "eye open, right (units)",
        "mouth_width": "mouth width (units)", "lip_gap": "lip gap (units)", "chin_drop": "chin drop (units)",
    }
    for key, label in labels.items():
        s = summary[key]
        lines.append(f"{label:32}{s['p5']:9.3f}{s['p95']:9.3f}{s['spread']:9.3f}{s['min']:9.3f}{s['max']:9.3f}")
    times = ", ".join(f"{t:.2f}s ({j:+.3f})" for t, j in jumps)
    lines.append(f"saccades: {len(jumps)}" + (f" at {times}" if jumps else ""))
    times = ", ".join(f"{start:.2f}-{end:.2f}s" for start, end in closed)
    lines.append(f"blinks: {len(closed)}" + (f" at {times}" if closed else ""))
    if words:
        rest, table = words
        lines.append(f"\nwords (mouth width relative to the rest width {rest:.3f} units; gap and drop in units)")
        column = max([len("word")] + [len(row["word"]) for row in table]) + 2
        lines.append(f"{'word':{column}}{'start':>7}{'end':>7}"
                     f"{'narrowest':>11}{'widest':>9}{'max gap':>9}{'max drop':>10}")
        for row in table:
            head = f"{row['word']:{column}}{row['start']:7.2f}{row['end']:7.2f}"
            if row["frames"]:
                lines.append(head + f"{row['narrowest']:11.3f}{row['widest']:9.3f}"
                             f"{row['max_lip_gap']:9.3f}{row['max_chin_drop']:10.3f}")
            else:
                lines.append(head + "  (no frames)")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("--words", help='JSON list of {"word", "start", "end"} in seconds')
    parser.add_argument("--json", help="write the series and the summary here")
    args = parser.parse_args()

    width, height, fps = probe(args.video)
    points = landmarks(args.video, width, height)
    series = measure(points)
    times = np.arange(len(points)) / fps
    found = int((~np.isnan(points[:, 0, 0])).sum())
    summary = {key: spread(values) for key, values in series.items()}
    jumps = saccades((series["iris_x_left"] + series["iris_x_right"]) / 2, fps)
    closed = blinks(series, fps)
    words = None
    if args.words:
        with open(args.words) as f:
            words = word_table(series, times, json.load(f))
    report(args.video, width, height, fps, series, found, summary, jumps, closed, words)
    if args.json:
        out = {
            "video": args.video, "width": width, "height": height, "fps": fps,
            "frames": len(points), "frames_with_face": found,
            "landmarks": {"stable_points": STABLE_POINTS, "outer_corners": OUTER_CORNERS,
                          "eyes": EYES, "mouth_corners": MOUTH_CORNERS, "inner_lips": INNER_LIPS,
                          "bridge": BRIDGE, "chin": CHIN},
            "summary": summary,
            "saccades": [{"time": t, "jump": j} for t, j in jumps],
            "blinks": [{"start": start, "end": end} for start, end in closed],
            "series": {"time": times, **series},
        }
        if words:
            out["rest_mouth_width"], out["words"] = words
        with open(args.json, "w") as f:
            json.dump(plain(out), f)


if __name__ == "__main__":
    main()
