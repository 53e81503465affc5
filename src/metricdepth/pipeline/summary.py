"""What a pipeline run did: per step, whether it ran, how long it took, what it wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

RAN = "ran"
RESUMED = "resumed"  # continued an interrupted run
SKIPPED = "complete"  # outputs existed: not run
BEFORE_FROM = "before --from"  # complete, before the first step asked for


@dataclass
class StepRecord:
    """One step of one clip (or scene)."""

    clip: str
    step: str
    title: str
    status: str
    seconds: float
    outputs: list[Path]


@dataclass
class PipelineResult:
    """Everything a run did; `final` is the player-ready file (None with --until before it)."""

    video: Path
    records: list[StepRecord] = field(default_factory=list)
    final: Path | None = None
    scenes: int = 1
    commands: list[str] = field(default_factory=list)  # --print_commands: what would run

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.records)


def format_summary(result: PipelineResult) -> str:
    """A table of the run, then where the outputs are (--print_commands: the commands)."""
    if result.commands:
        return "\n".join(result.commands)
    lines = [
        f"pipeline summary for {result.video}" + (f" ({result.scenes} scenes)" if result.scenes > 1 else "")
    ]
    show_clip = result.scenes > 1
    pad = " " * 15 if show_clip else ""
    for r in result.records:
        clip = f"{r.clip:14s} " if show_clip else ""
        outputs = [str(p) for p in r.outputs] or ["-"]
        lines.append(f"  {clip}{r.step:9s} {r.status:13s} {r.seconds:8.1f} s  {outputs[0]}")
        lines += [f"  {pad}{'':9s} {'':13s} {'':10s}  {o}" for o in outputs[1:]]
    lines.append(f"  total {result.seconds:.1f} s")
    if result.final is not None:
        lines.append(f"player-ready file: {result.final}")
    return "\n".join(lines)
