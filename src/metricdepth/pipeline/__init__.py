"""The whole pipeline in one call: steps 1-8 on a video, skipping complete steps and
resuming interrupted ones; scene splitting for long films (`run_pipeline.py`)."""

from .config import STEP_NAMES, PipelineConfig, build_config
from .run import run_pipeline
from .summary import PipelineResult, format_summary

__all__ = ["STEP_NAMES", "PipelineConfig", "PipelineResult", "build_config", "format_summary", "run_pipeline"]
