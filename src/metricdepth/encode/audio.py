"""The original colour video's audio tracks in the final file, interleaved with the video
as it is written (nothing is held in memory).

Every audio stream PyAV decodes is kept, in order, with its language and title tags. A
stream is copied when the container stores its codec (`COPYABLE`), else decoded and
re-encoded to AAC 192 kbit/s, resampled to planar float, to a sample rate AAC has and to
a channel layout it encodes (`aac_target`). Audio after the video's end is dropped.
A video that starts later in the source (step 1's --start) takes the audio from its start
on (`start_seconds`), to within one audio packet (about 20 ms): packets that begin before
it are dropped and the rest are moved earlier by it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..io.source_frames import source_frames
from ..io.video import VideoInfo

# Codecs each container stores as they are (and players play from it).
COPYABLE = {
    "mp4": frozenset({"aac", "mp3", "ac3", "eac3", "alac"}),
    "mkv": frozenset(
        {
            "aac",
            "mp3",
            "mp2",
            "ac3",
            "eac3",
            "alac",
            "opus",
            "vorbis",
            "flac",
            "dts",
            "truehd",
            "pcm_u8",
            "pcm_s16le",
            "pcm_s24le",
            "pcm_s32le",
            "pcm_f32le",
            "pcm_f64le",
        }
    ),
}
AAC_BITRATE = 192_000  # bits/s when re-encoding
AAC_RATE = 48_000  # sample rate for sources at a rate AAC does not have
AAC_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
KEPT_TAGS = ("language", "title")

log = logging.getLogger(__name__)


def aac_target(rate: int, channels: int) -> tuple[int, str]:
    """(sample rate, channel layout) the AAC encoder is given for a source of `rate` Hz
    and `channels` channels: the same where AAC has them, else 48 kHz / a stereo downmix."""
    rates = av.codec.Codec("aac", "w").audio_rates
    return (rate if rate in rates else AAC_RATE), AAC_LAYOUTS.get(channels, "stereo")


def _codec(stream: av.audio.stream.AudioStream) -> str:
    """The stream's codec as FFmpeg names the format (mp3, not the decoder's mp3float)."""
    return stream.codec_context.codec.canonical_name


@dataclass
class _Track:
    source: av.audio.stream.AudioStream
    stream: av.audio.stream.AudioStream
    copy: bool

    @property
    def description(self) -> str:
        name = _codec(self.source)
        language = self.source.metadata.get("language")
        return (f"copy of {name}" if self.copy else f"{name} -> aac") + (f" ({language})" if language else "")


class AudioSource:
    """The audio streams of `path` added to `output` (an mp4 or mkv container being
    written); `mux_until` interleaves their packets with the video's.

    end_seconds: audio after this time (the video's duration) is dropped, so the file
    is not longer than its video. start_seconds: the source time the video's first frame
    was taken at; audio before it is dropped and the rest starts at 0.
    """

    def __init__(
        self,
        path: str | Path,
        output: av.container.OutputContainer,
        container: str,
        end_seconds: float,
        start_seconds: float = 0.0,
    ):
        self.input = av.open(str(path))
        self.tracks = {
            source.index: self._add(source, output, container) for source in self.input.streams.audio
        }
        self.start, self.end = start_seconds, end_seconds
        self.output = output
        self._packets = self._generate()
        self._pending: tuple[_Track, av.Packet] | None = None

    @staticmethod
    def _add(
        source: av.audio.stream.AudioStream, output: av.container.OutputContainer, container: str
    ) -> _Track:
        copy = _codec(source) in COPYABLE[container]
        if copy:
            stream = output.add_stream_from_template(source)
        else:
            rate, layout = aac_target(source.codec_context.sample_rate, source.codec_context.channels)
            stream = output.add_stream("aac", rate=rate, layout=layout)
            stream.bit_rate = AAC_BITRATE
        for key in KEPT_TAGS:
            if key in source.metadata:
                stream.metadata[key] = source.metadata[key]
        return _Track(source, stream, copy)

    @property
    def description(self) -> str:
        return ", ".join(track.description for track in self.tracks.values()) or "none"

    def _generate(self) -> Iterator[tuple[_Track, av.Packet]]:
        """(track, output packet) in the source's order, timestamps in their time bases
        and counted from `start`."""
        for packet in self.input.demux(*(track.source for track in self.tracks.values())):
            track = self.tracks[packet.stream.index]
            if packet.size == 0 or packet.pts is None:
                continue
            begin = float(packet.pts * packet.time_base) - self.start
            if track.copy:
                stop = begin + float((packet.duration or 0) * packet.time_base)
                # a packet past the video's end would lengthen the file
                if begin >= -1e-6 and stop <= self.end + 1e-6:
                    yield track, _shifted(packet, self.start)
                continue
            for frame in packet.decode():
                time = None if frame.time is None else frame.time - self.start
                if time is None or 0 <= time < self.end:
                    if frame.pts is not None and self.start:
                        frame.pts -= round(self.start / frame.time_base)
                    yield from ((track, p) for p in track.stream.encode(frame))
        for track in self.tracks.values():
            if not track.copy:
                yield from ((track, p) for p in track.stream.encode(None))

    def mux_until(self, seconds: float | None) -> None:
        """Mux audio packets that start before `seconds` (None: all that are left)."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            track, packet = self._pending
            if (
                seconds is not None
                and packet.pts is not None
                and float(packet.pts * packet.time_base) > seconds
            ):
                return
            self._pending = None
            packet.stream = track.stream
            self.output.mux(packet)

    def close(self) -> None:
        self.input.close()


def audio_start(stereo: VideoInfo, colour: VideoInfo) -> float:
    """Seconds into `colour` at which `stereo`'s first frame was taken: 0, or for a
    stereo video of step 1's sampled depth (--start) its first source frame's time
    (its `source_frames` tag), logged."""
    numbers = source_frames(stereo)
    if not numbers or numbers[0] == 0:
        return 0.0
    seconds = float(numbers[0] / colour.fps)
    log.info(
        "%s starts at frame %d of %s: its audio from %.3f s on",
        stereo.path.name,
        numbers[0],
        colour.path.name,
        seconds,
    )
    return seconds


def _shifted(packet: av.Packet, seconds: float) -> av.Packet:
    """`packet` with its timestamps `seconds` earlier."""
    if seconds:
        ticks = round(seconds / packet.time_base)
        packet.pts -= ticks
        if packet.dts is not None:
            packet.dts -= ticks
    return packet


def video_time(index: int, fps: Fraction) -> float:
    """Seconds at which frame `index` is shown."""
    return float(index / fps)
