"""The original colour video's audio, copied (or re-encoded to AAC) into the final file,
interleaved with the video as it is written (nothing is held in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

# Audio codecs the MP4 muxer stores as they are; anything else is re-encoded to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
AAC_BITRATE = 192_000  # bits/s when re-encoding


class AudioSource:
    """The first audio stream of `path`, added to `output` as a copy or as AAC.

    end_seconds: audio after this time (the video's duration) is dropped, so the file
    is not longer than its video.
    """

    def __init__(self, path: str | Path, output: av.container.OutputContainer, container: str,
                 end_seconds: float):
        self.input = av.open(str(path))
        source = self.input.streams.audio[0]
        self.copy = container != "mp4" or source.codec_context.name in MP4_AUDIO_CODECS
        if self.copy:
            self.stream = output.add_stream_from_template(source)
        else:
            self.stream = output.add_stream("aac", rate=source.codec_context.sample_rate)
            self.stream.bit_rate = AAC_BITRATE
            self.stream.layout = source.codec_context.layout
        self.source = source
        self.codec = "copy of " + source.codec_context.name if self.copy else "aac"
        self.end = end_seconds
        self._packets = self._generate()
        self._pending: av.Packet | None = None
        self.output = output

    def _generate(self) -> Iterator[av.Packet]:
        """Output packets in order, with timestamps in the source's time base."""
        for packet in self.input.demux(self.source):
            if packet.size == 0 or packet.pts is None:
                continue
            start = float(packet.pts * packet.time_base)
            if start >= self.end:
                break
            if self.copy:
                stop = start + float((packet.duration or 0) * packet.time_base)
                if stop > self.end + 1e-6:
                    break  # a packet running past the video's end would lengthen the file
                yield packet
            else:
                for frame in packet.decode():
                    if frame.time is not None and frame.time >= self.end:
                        continue
                    yield from self.stream.encode(frame)
        if not self.copy:
            yield from self.stream.encode(None)

    def _time(self, packet: av.Packet) -> float:
        return float(packet.pts * packet.time_base) if packet.pts is not None else 0.0

    def mux_until(self, seconds: float | None) -> None:
        """Mux audio packets that start before `seconds` (None: all that are left)."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            if seconds is not None and self._time(self._pending) > seconds:
                return
            packet, self._pending = self._pending, None
            packet.stream = self.stream
            self.output.mux(packet)

    def close(self) -> None:
        self.input.close()


def video_time(index: int, fps: Fraction) -> float:
    """Seconds at which frame `index` is shown."""
    return float(index / fps)
