"""The one error of control files, and the checks every part of the record shares."""

from __future__ import annotations

from ..errors import UnsockError
from ..names import U32_MAX

#: The fix for a file whose bytes are wrong.
RECREATE = "recreate it with 'unsock control'"


class ControlFileError(UnsockError):
    """A control file (or the values for one) that is not valid; one line, what and what to do."""


def check_u32(value: int, what: str) -> None:
    if not 0 <= value <= U32_MAX:
        raise ControlFileError(f"{what} {value} is out of range: use a number from 0 to {U32_MAX}")
