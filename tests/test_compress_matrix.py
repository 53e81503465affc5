"""Step 8 matrix: every layout x {no audio, AAC, PCM, Opus, MP3, AC-3} x {mkv, mp4}, each
output probed with ffprobe (codec, stereo metadata, name, audio codec and duration, frame
count). Tiny clips: 6 frames at 25 fps, eyes 32x32, audio made by the system ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import ffprobe, side_data, streams
from metricdepth.encode import CompressConfig, compress
from metricdepth.encode.mp4boxes import top_level_boxes
from metricdepth.encode.mvhevc import write_audio_mp4, write_views
from metricdepth.io.stereo_tags import TAG_LAYOUT
from metricdepth.io.video import VideoReader, VideoWriter, probe
from metricdepth.stereo.layouts import LAYOUTS, REGISTRY, compose

FRAMES, FPS, EYE = 6, 25, 32
SECONDS = FRAMES / FPS
# name: (ffmpeg audio encoder, codec in mkv, codec in mp4)
AUDIO = {"none": (None, None, None), "aac": ("aac", "aac", "aac"),
         "pcm": ("pcm_s16le", "pcm_s16le", "aac"), "opus": ("libopus", "opus", "aac"),
         "mp3": ("libmp3lame", "mp3", "mp3"), "ac3": ("ac3", "ac3", "ac3")}
STEREO_3D = {"side_by_side": "side by side", "top_bottom": "top and bottom"}

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="ffmpeg/ffprobe not installed")


def make_colour(path: Path, audio_codec: str | None, extra: tuple[str, ...] = ()) -> Path:
    """A FRAMES-frame 32x32 colour clip, with a 440 Hz tone encoded by `audio_codec`."""
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
               f"testsrc=size=32x32:rate={FPS}:duration={SECONDS}"]
    if audio_codec is not None:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
                    "-c:a", audio_codec, "-shortest"]
    subprocess.run(command + ["-c:v", "libx264", "-pix_fmt", "yuv420p", *extra, str(path)], check=True)
    return path


def eyes(index: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth, different (EYE, EYE, 3) uint8 left and right eyes of frame `index`."""
    y, x = np.mgrid[0:EYE, 0:EYE]
    left = np.stack([x * 7, y * 7, np.full_like(x, 40 * index)], axis=-1)
    right = np.stack([y * 7, 255 - x * 7, np.full_like(x, 200 - 20 * index)], axis=-1)
    return left.astype(np.uint8), right.astype(np.uint8)


def make_stereo(path: Path, layout: str, tagged: bool = True) -> Path:
    packing = "full_sbs" if layout == "vr180" else layout  # eyes taken as equirectangular already
    frames = [compose(packing, *eyes(i), is_mask=False) for i in range(FRAMES)]
    height, width = frames[0].shape[:2]
    with VideoWriter(path, width, height, FPS, tags={TAG_LAYOUT: layout} if tagged else {}) as out:
        for frame in frames:
            out.write(frame)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("matrix")
    colour = {name: make_colour(folder / f"colour_{name}.mkv", codec)
              for name, (codec, _, _) in AUDIO.items()}
    stereo = {layout: make_stereo(folder / f"{layout}.mkv", layout) for layout in LAYOUTS}
    return {"colour": colour, "stereo": stereo, "folder": folder}


def stream_seconds(stream: dict) -> float:
    """A stream's duration: MP4 stores it per stream, Matroska as a DURATION tag."""
    if "duration" in stream:
        return float(stream["duration"])
    hours, minutes, seconds = stream["tags"]["DURATION"].split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def yuv420_round_trip(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB as step 8 stores it (BT.709 limited-range 4:2:0) and read back."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_colorspace="ITU709", dst_color_range=1)
    return frame.reformat(format="rgb24", src_colorspace="ITU709", src_color_range=1).to_ndarray()


def encode(stereo: Path, out_dir: Path, **flags) -> Path:
    config = CompressConfig(sbs_color_video=stereo, encoder="libx264", preset="ultrafast", **flags)
    [path] = compress(config)
    assert path.parent == stereo.parent
    return shutil.move(path, out_dir / path.name)


@pytest.mark.parametrize("container", ["mkv", "mp4"])
@pytest.mark.parametrize("audio", list(AUDIO))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_matrix(clips, tmp_path, layout, audio, container):
    stereo = clips["stereo"][layout]
    colour = None if audio == "none" else clips["colour"][audio]
    out = encode(stereo, tmp_path, color_video=colour, container=container)
    spec = REGISTRY[layout]
    assert out.name == f"{layout}.mkv{spec.file_tag}.{container}"
    info = ffprobe(out)
    [video] = streams(info, "video")
    assert video["codec_name"] == "h264" and int(video["nb_read_packets"]) == FRAMES
    with VideoReader(stereo) as source:
        assert (video["width"], video["height"]) == (source.width, source.height)
    if container == "mkv":
        assert video["tags"]["stereo_mode"] == spec.matroska_stereo_mode
    else:
        sides = side_data(video)
        if spec.st3d_mode is None:
            assert "Stereo 3D" not in sides
        else:
            assert sides["Stereo 3D"]["type"] == STEREO_3D[spec.packing]
        assert ("Spherical Mapping" in sides) == spec.vr180
        if spec.vr180:
            assert "equirectangular" in sides["Spherical Mapping"]["projection"]
    tracks = streams(info, "audio")
    expected = AUDIO[audio][1 if container == "mkv" else 2]
    assert [t["codec_name"] for t in tracks] == ([] if expected is None else [expected])
    for track in tracks:
        assert abs(stream_seconds(track) - SECONDS) <= 1 / FPS


@pytest.mark.parametrize("target", ["half_sbs", "top_bottom", "half_top_bottom", "anaglyph"])
def test_full_sbs_converts_to_the_layout_asked_for(clips, tmp_path, target):
    out = encode(clips["stereo"]["full_sbs"], tmp_path, layout=target, container="mkv", crf=0)
    assert out.name == f"full_sbs.mkv{REGISTRY[target].file_tag}.mkv"
    with VideoReader(out) as video:
        for index, frame in enumerate(video):
            expected = yuv420_round_trip(compose(target, *eyes(index), is_mask=False))
            assert frame.shape == expected.shape
            # x264 at CRF 0 is lossless: the frame is exactly the converted one in YUV 4:2:0
            np.testing.assert_array_equal(frame, expected)


def test_untagged_video_needs_layout_and_logs_the_assumption(clips, tmp_path, caplog):
    plain = make_stereo(tmp_path / "plain.mkv", "top_bottom", tagged=False)
    caplog.set_level("INFO")
    [out] = compress(CompressConfig(sbs_color_video=plain, layout="top_bottom", encoder="libx264",
                                    preset="ultrafast"))
    assert out.name == "plain.mkv_TB_Full_OU.mp4"
    assert "no stereo layout tag: taking it as top_bottom" in caplog.text
    assert side_data(streams(ffprobe(out), "video")[0])["Stereo 3D"]["type"] == "top and bottom"


@pytest.mark.parametrize("codec, in_mp4", [("pcm_s24le", "aac"), ("pcm_f32le", "aac"),
                                           ("flac", "aac"), ("libvorbis", "aac")])
def test_other_codecs_are_copied_into_mkv_and_re_encoded_for_mp4(clips, tmp_path, codec, in_mp4):
    colour = make_colour(tmp_path / "colour.mkv", codec)
    for container, expected in (("mkv", codec.removeprefix("lib")), ("mp4", in_mp4)):
        out = encode(clips["stereo"]["full_sbs"], tmp_path, color_video=colour, container=container)
        [track] = streams(ffprobe(out), "audio")
        assert track["codec_name"] == expected
        assert abs(stream_seconds(track) - SECONDS) <= 1 / FPS


def test_several_tracks_keep_their_languages_and_no_audio_drops_them(clips, tmp_path):
    colour = tmp_path / "two.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size=32x32:rate={FPS}:duration={SECONDS}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={SECONDS}",
                    "-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=22050:duration={SECONDS}",
                    "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264",
                    "-c:a:0", "pcm_s16le", "-c:a:1", "libopus", "-metadata:s:a:0", "language=eng",
                    "-metadata:s:a:1", "language=deu", str(colour)], check=True)
    out = encode(clips["stereo"]["full_sbs"], tmp_path, color_video=colour, container="mp4")
    tracks = streams(ffprobe(out), "audio")
    assert [(t["codec_name"], t["tags"]["language"]) for t in tracks] == [("aac", "eng"), ("aac", "deu")]
    assert [int(t["sample_rate"]) for t in tracks] == [44100, 48000]  # Opus decodes at 48 kHz
    quiet = encode(clips["stereo"]["full_sbs"], tmp_path, color_video=colour, container="mp4",
                   no_audio=True, overwrite=True)
    assert streams(ffprobe(quiet), "audio") == []


@pytest.mark.parametrize("encoder, ten_bit, codec, pix_fmt, tag", [
    ("libx265", True, "hevc", "yuv420p10le", "hvc1"), ("libsvtav1", False, "av1", "yuv420p", "av01")])
def test_hevc_and_av1_encoders(clips, tmp_path, encoder, ten_bit, codec, pix_fmt, tag):
    config = CompressConfig(sbs_color_video=clips["stereo"]["full_sbs"], encoder=encoder,
                            ten_bit=ten_bit, preset="ultrafast", color_video=clips["colour"]["pcm"],
                            output=tmp_path / "out.mp4")
    [out] = compress(config)
    info = ffprobe(out)
    [video] = streams(info, "video")
    assert (video["codec_name"], video["pix_fmt"], video["codec_tag_string"]) == (codec, pix_fmt, tag)
    assert int(video["nb_read_packets"]) == FRAMES
    assert side_data(video)["Stereo 3D"]["type"] == "side by side"
    assert [t["codec_name"] for t in streams(info, "audio")] == ["aac"]
    with open(out, "rb") as file:  # +faststart: the index before the media data
        kinds = [box.kind for box in top_level_boxes(file, out.stat().st_size)]
    assert kinds.index(b"moov") < kinds.index(b"mdat")


def test_mvhevc_audio_for_mp4box_is_every_track_in_mp4(clips, tmp_path):
    """The MV-HEVC path hands MP4Box the audio as an audio-only MP4 (PCM -> AAC)."""
    out = tmp_path / "audio.mp4"
    write_audio_mp4(probe(clips["colour"]["pcm"]), probe(clips["stereo"]["full_sbs"]), out)
    info = ffprobe(out)
    [track] = info["streams"]
    assert track["codec_name"] == "aac" and abs(stream_seconds(track) - SECONDS) <= 1 / FPS


def test_mvhevc_views_are_the_two_eyes(clips, tmp_path):
    """The MV-HEVC path's Y4M views of a top-bottom input: left and right eye, 4:2:0."""
    views = [tmp_path / "left.y4m", tmp_path / "right.y4m"]
    write_views(probe(clips["stereo"]["top_bottom"]), REGISTRY["top_bottom"], views)
    for view, eye in zip(views, (0, 1)):
        frames = _decoded(view)
        assert len(frames) == FRAMES
        for index, frame in enumerate(frames):
            np.testing.assert_array_equal(frame, yuv420_round_trip_plain(eyes(index)[eye]))


def _decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def yuv420_round_trip_plain(rgb: np.ndarray) -> np.ndarray:
    """As the Y4M views store it: FFmpeg's default RGB -> YUV 4:2:0 and back."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    return frame.to_ndarray(format="rgb24")
