"""Resumable chunked jobs: a crash at any point loses at most the chunk in progress,
and the resumed output is byte-identical to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from fractions import Fraction

import numpy as np
import pytest

from conftest import file_digest, pattern_frames
from metricdepth.errors import InputError
from metricdepth.io.chunked import ChunkedJob, is_committing, remove_leftovers
from metricdepth.io.video import VideoReader, VideoWriter

FRAMES = pattern_frames(23, 40, 24, seed=4)
FPS = Fraction(30000, 1001)


def _run(final, frames=FRAMES, stop_after=None, settings=None, **flags):
    """Write `frames` through a job; stop (as if killed) after `stop_after` chunks."""
    job = ChunkedJob(final, len(frames), 5, settings or {"model": "a"}, **flags)
    state = job.last_state()
    total = 0 if state is None else int(state["running_sum"])
    for done, chunk in enumerate(job.pending()):
        if stop_after is not None and done == stop_after:
            return None
        with VideoWriter(chunk.path, 40, 24, FPS, overwrite=True, expected_frames=chunk.length,
                         tags={"model": "a"}) as writer:
            for frame in frames[chunk.start:chunk.stop]:
                writer.write(frame)
                total += int(frame[0, 0, 0])
        job.complete(chunk, state={"running_sum": total})
    job.finish()
    return total


def test_uninterrupted_job_writes_every_frame_exactly(tmp_path):
    final = tmp_path / "out.mkv"
    _run(final)
    with VideoReader(final) as video:
        assert video.frame_count == 23 and video.fps == FPS
        assert video.info.tags["model"] == "a"
        assert np.array_equal(np.stack(list(video)), FRAMES)
        assert np.array_equal(video.read(17), FRAMES[17])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]


def test_resumed_job_is_byte_identical_and_carries_state(tmp_path):
    reference = tmp_path / "ref.mkv"
    expected_sum = _run(reference)
    final = tmp_path / "out.mkv"
    assert _run(final, stop_after=2) is None and not final.exists()
    with pytest.raises(InputError, match="pass --resume to continue it or --overwrite"):
        _run(final)
    with pytest.raises(InputError, match="other settings \\(model\\)"):
        _run(final, settings={"model": "b"}, resume=True)
    markers = sorted((final.parent / "out.mkv.chunks").glob("*.done.npz"))
    assert [len(np.load(m).files) for m in markers] == [0, 1]  # only the newest keeps state
    assert _run(final, resume=True) == expected_sum
    assert file_digest(final) == file_digest(reference)


def test_chunk_without_done_marker_is_redone(tmp_path):
    final = tmp_path / "out.mkv"
    _run(final, stop_after=1)
    job = ChunkedJob(final, 23, 5, {"model": "a"}, resume=True)
    second = job.chunks()[1]
    second.path.write_bytes(b"half a chunk")  # killed while writing, before the marker
    assert [c.index for c in job.pending()][0] == 1
    _run(final, resume=True)
    assert np.array_equal(np.stack(list(VideoReader(final))), FRAMES)


def test_overwrite_starts_over(tmp_path):
    final = tmp_path / "out.mkv"
    _run(final, stop_after=3)
    _run(final, frames=FRAMES[::-1].copy(), overwrite=True)
    assert np.array_equal(VideoReader(final).read(0), FRAMES[-1])


KILLED_JOB = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from metricdepth.io.chunked import ChunkedJob, is_committing, remove_leftovers
    from metricdepth.io.video import VideoWriter
    final, kill_at = sys.argv[1], int(sys.argv[2])
    frames = np.random.default_rng(4).integers(0, 256, (23, 24, 40, 3), dtype=np.uint8)
    job = ChunkedJob(final, 23, 5, {"model": "a"}, resume=True)
    for chunk in job.pending():
        with VideoWriter(chunk.path, 40, 24, 30, overwrite=True, expected_frames=chunk.length) as w:
            for i in range(chunk.start, chunk.stop):
                if i == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                w.write(frames[i])
        job.complete(chunk)
    job.finish()
""")


def test_sigkill_mid_chunk_then_resume(tmp_path):
    final = tmp_path / "out.mkv"
    killed = subprocess.run([sys.executable, "-c", KILLED_JOB, str(final), "12"])
    assert killed.returncode == -signal.SIGKILL and not final.exists()
    finished = subprocess.run([sys.executable, "-c", KILLED_JOB, str(final), "-1"])
    assert finished.returncode == 0
    reference = tmp_path / "ref.mkv"
    subprocess.run([sys.executable, "-c", KILLED_JOB, str(reference), "-1"], check=True)
    assert file_digest(final) == file_digest(reference)
    assert not any(p.name.endswith(".chunks") for p in tmp_path.iterdir())


PAIR_JOB = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from metricdepth.io import chunked
    from metricdepth.io.video import VideoWriter
    folder, kill_after_renames = sys.argv[1], int(sys.argv[2])
    frames = np.random.default_rng(4).integers(0, 256, (23, 24, 40, 3), dtype=np.uint8)
    job = chunked.ChunkedJob(f"{folder}/a.mkv", 23, 5, {"model": "a"}, resume=True,
                             extra_outputs=[f"{folder}/b.mkv"])
    for chunk in job.pending():
        for k, path in enumerate(chunk.paths):
            with VideoWriter(path, 40, 24, 30, overwrite=True, expected_frames=chunk.length) as w:
                for frame in frames[chunk.start:chunk.stop]:
                    w.write(255 - frame if k else frame)
        job.complete(chunk)
    renames, replace = [0], os.replace
    def replace_then_maybe_die(src, dst):
        replace(src, dst)
        renames[0] += 1
        if renames[0] == kill_after_renames:
            os.kill(os.getpid(), signal.SIGKILL)
    chunked.os.replace = replace_then_maybe_die
    job.finish()
""")


@pytest.mark.parametrize("kill_after_renames", [0, 1, 2, 3])
def test_two_outputs_commit_as_one_whatever_the_kill(tmp_path, kill_after_renames):
    """Killed before joining (0), after the first output is in place (1), after both (2)
    or after the work folder is renamed away (3): the same command completes the job."""
    subprocess.run([sys.executable, "-c", PAIR_JOB, str(tmp_path), "-1"], check=True)
    reference = {p: file_digest(tmp_path / p) for p in ("a.mkv", "b.mkv")}
    for name in reference:
        (tmp_path / name).unlink()
    script = PAIR_JOB.replace("job.finish()", "job.finish()" if kill_after_renames else
                              "os.kill(os.getpid(), signal.SIGKILL)")
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(kill_after_renames)])
    assert killed.returncode == -signal.SIGKILL
    if kill_after_renames < 3:
        subprocess.run([sys.executable, "-c", PAIR_JOB, str(tmp_path), "-1"], check=True)
    else:  # complete; the dead run's renamed work folder goes with the next look at a.mkv
        assert not is_committing(tmp_path / "a.mkv")
        remove_leftovers(tmp_path / "a.mkv")
    assert {p: file_digest(tmp_path / p) for p in reference} == reference
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mkv", "b.mkv"]


def test_dead_processes_leftovers_are_removed_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftovers = [f"out.partial-{dead}.mkv", f"out.mkv.partial-{dead}", f"out.mkv.chunks.old-{dead}"]
    kept = [f"out.partial-{os.getppid()}.mkv", f"other.partial-{dead}.mkv", f"out.partial-{dead}.mp4"]
    for name in leftovers + kept:
        (tmp_path / name).mkdir() if "mkv." in name else (tmp_path / name).write_bytes(b"x")
    _run(tmp_path / "out.mkv")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["out.mkv"])


def _state(pid: int) -> str:
    """A process's state letter from /proc (R, S, Z...)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_zombie_processes_leftovers_are_removed(tmp_path):
    """A writer killed while its parent died too stays a zombie until init reaps it (late,
    in some containers); its files are leftovers all the same (a Ray worker's, in CI)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while _state(child.pid) != "Z":  # exited, not reaped: Popen waits only when asked
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        os.kill(child.pid, 0)  # still "there" to a plain liveness check
        (tmp_path / f"out.partial-{child.pid}.mkv").write_bytes(b"")
        _run(tmp_path / "out.mkv")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]
    finally:
        child.wait()


def test_job_failing_before_its_first_chunk_leaves_nothing(tmp_path):
    final = tmp_path / "out.mkv"
    with pytest.raises(InputError, match="bad frame"):
        with ChunkedJob(final, 23, 5, {}):
            raise InputError(final, "bad frame")
    assert list(tmp_path.iterdir()) == []
    _run(final, stop_after=1)
    with pytest.raises(InputError, match="bad frame"):
        with ChunkedJob(final, 23, 5, {"model": "a"}, resume=True):
            raise InputError(final, "bad frame")
    assert (tmp_path / "out.mkv.chunks" / "chunk_000000.mkv").is_file()  # finished chunks kept
