"""Log lines said while a step checks its inputs are printed only when the checks pass."""

from __future__ import annotations

import logging

import pytest

from metricdepth.errors import InputError
from metricdepth.logs import held_until_checked

log = logging.getLogger("metricdepth.test")


def test_held_lines_are_printed_once_after_the_checks_pass(caplog):
    with caplog.at_level("INFO"):
        with held_until_checked():
            log.info("layout full_sbs (its tag)")
            assert "full_sbs" not in caplog.text  # held while checking
        log.info("encoding")
    assert [r.getMessage() for r in caplog.records] == ["layout full_sbs (its tag)", "encoding"]


def test_held_lines_are_dropped_when_a_check_refuses(caplog):
    with caplog.at_level("INFO"):
        with pytest.raises(InputError), held_until_checked():
            log.info("layout full_sbs (its tag)")
            raise InputError("--sbs_w", "7 is odd")
        log.info("after")
    assert [r.getMessage() for r in caplog.records] == ["after"]


def test_machine_errors_name_the_output_not_its_temporary_file():
    import errno

    from metricdepth.cli import describe_os_error
    full = OSError(errno.ENOSPC, "No space left on device", "/data/clip.mkv_stereo.partial-4242.mkv")
    assert describe_os_error(full).startswith("/data/clip.mkv_stereo.mkv: no space left on the device")
    assert "add --resume" in describe_os_error(full)
