"""Face tracks: one face from first to last sight, margins, cuts, backward search, replay."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data

from temoin.protect.detector import Box, FaceDetector
from temoin.protect.recall import is_covered, reference_faces
from temoin.protect.tracks import Contacts, Margins, Track, Tracker, boxes_at
from temoin.protect.video import StoredTracks, TracksMismatch, redact_video
from temoin.testing.footage import Key, Shot, write_clip

MARGINS = Margins(before=2, after=3, max_gap=6)


def box(x: float, y: float = 10.0, side: float = 20.0, score: float = 0.9) -> Box:
    return Box(x, y, x + side, y + side, score)


def test_a_face_seen_on_detection_frames_is_one_track_covered_between_and_around() -> None:
    tracker = Tracker(MARGINS)
    for frame, x in ((10, 0.0), (13, 6.0), (16, 12.0)):
        tracker.detected(frame, [box(x)])
    (track,) = tracker.tracks
    assert [h.frame for h in track.hits] == [10, 13, 16]
    (on_11,) = tracker.boxes_at(11)
    assert on_11[1] == "tracked" and on_11[0].x0 == pytest.approx(2.0)
    assert [o for _, o, _ in tracker.boxes_at(8)] == ["held"]  # margin before
    assert tracker.boxes_at(7) == []
    (after,) = tracker.boxes_at(19)  # margin after: carried along its motion, and held
    assert after[1] == "held" and after[0].x1 > box(18.0).x1 and after[0].x0 <= box(12.0).x0
    assert tracker.boxes_at(20) == []


def test_missed_detections_do_not_break_a_track_but_a_long_absence_does() -> None:
    tracker = Tracker(MARGINS)
    tracker.detected(0, [box(0)])
    tracker.detected(3, [])
    tracker.detected(6, [box(1)])  # missed once: still the same face
    tracker.detected(20, [box(2)])  # gone longer than max_gap: a new track
    assert [[h.frame for h in t.hits] for t in tracker.tracks] == [[0, 6], [20]]
    assert [o for _, o, _ in tracker.boxes_at(3)] == ["tracked"]


def test_two_faces_keep_their_own_tracks_and_motion_predicts_the_crossing() -> None:
    tracker = Tracker(MARGINS)
    tracker.detected(0, [box(0), box(100)])
    tracker.detected(3, [box(15), box(85)])
    tracker.detected(6, [box(70), box(30)])  # listed the other way round
    first, second = tracker.tracks
    assert [h.box.x0 for h in first.hits] == [0, 15, 30]
    assert [h.box.x0 for h in second.hits] == [100, 85, 70]


def test_a_cut_ends_every_track_and_margins_stop_at_it() -> None:
    tracker = Tracker(MARGINS)
    tracker.detected(0, [box(0)])
    tracker.detected(3, [box(0)])
    tracker.cut(5)
    tracker.detected(5, [box(0)])  # same place, new shot: another face
    assert len(tracker.tracks) == 2
    assert [n for _, _, n in tracker.boxes_at(4)] == [1]  # no margin of track 2 before the cut
    assert [n for _, _, n in tracker.boxes_at(5)] == [2]  # no margin of track 1 after it


def test_backward_search_extends_a_new_track_to_where_the_face_appeared() -> None:
    tracker = Tracker(MARGINS)
    (track,) = tracker.detected(9, [box(50)])
    assert tracker.extend_back([track], 8, [box(48), box(200)]) == [track]
    assert tracker.extend_back([track], 7, [box(400)]) == []
    assert [h.frame for h in track.hits] == [8, 9]


def test_a_kept_track_is_covered_from_the_frame_it_touches_another() -> None:
    contacts = Contacts({1})
    apart = [(box(0), "detector", 1), (box(100), "detector", 2)]
    touching = [(box(50), "tracked", 1), (box(65), "tracked", 2)]
    assert contacts.shown(10, apart) == {1}
    assert contacts.shown(11, touching) == set()
    assert contacts.shown(12, apart) == set()  # after a meeting, whose face is it? covered
    assert contacts.covered_from == {1: 11}


def test_a_late_second_hit_cannot_change_a_frame_already_settled() -> None:
    """The margin before a track follows its motion, which its second hit sets: frames are only
    settled once that hit could no longer come."""
    margins = Margins(before=4, after=4, max_gap=9)
    tracker = Tracker(margins)
    tracker.detected(20, [box(100)])
    for frame in (23, 26):
        tracker.detected(frame, [])
    early = [b for b, _, _ in boxes_at(tracker.tracks, tracker.cuts, margins, 16)]
    tracker.detected(29, [box(109)])  # 9 frames later, moving a pixel a frame
    late = [b for b, _, _ in boxes_at(tracker.tracks, tracker.cuts, margins, 16)]
    assert early != late  # frame 16 depended on a hit 13 frames after it
    assert margins.reach > 29 - 16


def test_tracks_survive_their_record_and_place_the_same_boxes() -> None:
    tracker = Tracker(MARGINS)
    for frame, x in ((0, 0.0), (3, 9.0), (9, 27.0)):
        tracker.detected(frame, [box(x)])
    (track,) = tracker.tracks
    again = Track.from_record(track.as_record(640, 360), 640, 360)
    for frame in range(-3, 14):
        a = boxes_at([track], [0], MARGINS, frame)
        b = boxes_at([again], [0], MARGINS, frame)
        assert [(o, n) for _, o, n in a] == [(o, n) for _, o, n in b]
        for (p, _, _), (q, _, _) in zip(a, b, strict=True):
            assert abs(p.x0 - q.x0) < 0.01 and abs(p.y1 - q.y1) < 0.01


# -- on real clips -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(threads=1)


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_faces_of_a_new_shot_are_covered_from_its_first_frame(
    tmp_path: Path, detector: FaceDetector
) -> None:
    astronaut = data.astronaut()
    shots = [
        Shot(np.full((512, 512, 3), 200, np.uint8), 0.5, [Key(0, 256, 256, 512)]),
        Shot(astronaut, 1.0, [Key(0, 225, 130, 300)]),  # the cut is at frame 6 of 12 fps
    ]
    src = write_clip(tmp_path / "cut.mp4", shots, size=(480, 272), fps=12)
    result = redact_video(src, tmp_path / "out.mp4", detector=detector, every=5)
    assert result.cuts == [0, 6]
    assert min(t.first for t in result.tracks) == 6  # detected on the cut, not at frame 10
    original, redacted = frames_of(src), frames_of(tmp_path / "out.mp4")
    faces = reference_faces(original[6], detector)
    assert faces and all(is_covered(original[6], redacted[6], f.box) for f in faces)


def test_a_face_appearing_between_detections_is_covered_from_where_it_appears(
    tmp_path: Path, detector: FaceDetector
) -> None:
    """The face is pasted into a still scene at frame 7 (no cut: most of the frame is the same);
    detections run at 0, 6 and 12, so only the backward search can know it was there at 7."""
    background = cv2.resize(data.coffee(), (640, 360), interpolation=cv2.INTER_AREA)
    face = cv2.resize(data.astronaut()[40:200, 150:300], (90, 96), interpolation=cv2.INTER_AREA)
    frames = []
    for index in range(18):
        frame = background.copy()
        if index >= 7:
            frame[40:136, 500:590] = face
        frames.append(frame)
    src = tmp_path / "appear.mp4"
    with av.open(str(src), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))
    result = redact_video(src, tmp_path / "out.mp4", detector=detector, every=6)
    assert result.cuts == [0]
    (track,) = result.tracks
    assert track.first == 7  # not 12, where a detection frame first saw it
    assert [h.frame for h in track.hits][:5] == [7, 8, 9, 10, 11]
    assert result.detection_frames > 3  # 0, 6, 12 and the frames searched backwards
    original, redacted = frames_of(src), frames_of(tmp_path / "out.mp4")
    for index in range(7, 18):
        for f in reference_faces(original[index], detector, haar=False):
            assert is_covered(original[index], redacted[index], f.box), index


def test_stored_tracks_render_again_without_detecting_and_keep_a_linked_track_visible(
    tmp_path: Path, detector: FaceDetector
) -> None:
    both = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    shot = Shot(both, 1.0, [Key(0, 512, 256, 512), Key(1.0, 530, 256, 480)])
    src = write_clip(tmp_path / "two.mp4", [shot], size=(640, 320), fps=12)
    first = redact_video(src, tmp_path / "a.mp4", detector=detector)
    assert len(first.tracks) == 2 and not first.replayed
    left = min(first.tracks, key=lambda t: t.hits[0].box.x0)
    assert first.margins is not None
    stored = StoredTracks(first.tracks, first.cuts, first.margins, first.frames)
    again = redact_video(
        src, tmp_path / "b.mp4", detector=detector, stored=stored, keep_tracks={left.number}
    )
    assert again.replayed and again.detection_frames == 0
    assert again.kept_frames == again.frames
    # streaming and replay place the same boxes on every frame (up to the record's rounding)
    for streamed, replayed in zip(first.detections, again.detections, strict=True):
        assert [(d.source, d.track) for d in streamed] == [(d.source, d.track) for d in replayed]
        for d, e in zip(streamed, replayed, strict=True):
            assert max(abs(a - b) for a, b in zip(d.box, e.box, strict=True)) < 1e-4
    original, shown = frames_of(src), frames_of(tmp_path / "b.mp4")
    for index in (0, 5, 11):
        visible = [
            b
            for b, _, n in boxes_at(first.tracks, first.cuts, first.margins, index)
            if n == left.number
        ]
        hidden = [
            b
            for b, _, n in boxes_at(first.tracks, first.cuts, first.margins, index)
            if n != left.number
        ]
        assert visible and not is_covered(original[index], shown[index], visible[0])
        assert hidden and is_covered(original[index], shown[index], hidden[0])
    with pytest.raises(ValueError):
        redact_video(src, tmp_path / "c.mp4", detector=detector, keep_tracks={1})
    wrong = StoredTracks(first.tracks, first.cuts, first.margins, first.frames + 1)
    with pytest.raises(TracksMismatch):  # tracks of another decoding never place boxes
        redact_video(src, tmp_path / "d.mp4", detector=detector, stored=wrong)
    assert not (tmp_path / "d.mp4").exists()
