"""Control files on disk: reading the bytes without blocking or following into special files,
writing them atomically without replacing anything but a regular file, and the stored form of the
Firecracker multiplexer's path."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat

from .errors import ControlFileError


def _kind_of(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a device or other special file"


def read_bytes(name: str, size: int) -> bytes:
    """The bytes of the regular file ``name`` (symbolic links are followed, as by the shim); a file
    longer than ``size``, the size of a record, is refused. Never blocks: a FIFO is refused before
    it is opened, and it is opened non-blocking."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise ControlFileError(f"{name}: no such file: give the path of a control file") from None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot read it: {e.strerror}") from None
    special = _kind_of(st.st_mode)
    if special is not None:
        raise ControlFileError(f"{name} is {special}, not a control file: give the path of a control file")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except PermissionError:
        raise ControlFileError(f"{name}: cannot read it: permission denied: check its permissions") from None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot read it: {e.strerror}") from None
    try:
        special = _kind_of(os.fstat(fd).st_mode)
        if special is not None:  # replaced between stat and open
            raise ControlFileError(f"{name} is {special}, not a control file: give the path of a control file")
        chunks = []
        total = 0
        while total <= size:
            chunk = os.read(fd, size + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        data = b"".join(chunks)
        if len(data) > size:  # say how large it really is
            actual = max(os.fstat(fd).st_size, len(data))
            raise ControlFileError(
                f"{name}: the file has the wrong size: {actual} bytes, a control file has exactly {size}: "
                "it is not an unsock control file"
            )
    except OSError as e:
        raise ControlFileError(f"{name}: cannot read it: {e.strerror}") from None
    finally:
        os.close(fd)
    return data


def write_bytes(name: str, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``name``, mode 0644, atomically: the file appears complete or not at
    all. An existing file is refused unless ``force``; even with ``force`` only a regular file
    is replaced (the entry itself: a symbolic link, socket or directory is never replaced or
    followed)."""
    directory = os.path.dirname(name) or "."
    try:
        st: os.stat_result | None = os.lstat(name)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot write it: {e.strerror}") from None
    if st is not None:
        special = _kind_of(st.st_mode)
        if special is not None:
            raise ControlFileError(
                f"{name} exists and is {special}: not replacing it; remove it or choose another path"
            )
        if not force:
            raise ControlFileError(f"{name} exists: pass --force to replace it")
    tmp = os.path.join(directory, f".{os.path.basename(name)}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except FileNotFoundError:
        raise ControlFileError(f"{name}: cannot write it: directory {directory} does not exist") from None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot write it: {e.strerror}") from None
    try:
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if force:
            os.replace(tmp, name)
        else:
            try:
                os.link(tmp, name)  # fails if anything appeared at name meanwhile
            except FileExistsError:
                raise ControlFileError(f"{name} exists: pass --force to replace it") from None
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
                    raise
                _write_exclusive(name, data)
    except OSError as e:
        raise ControlFileError(f"{name}: cannot write it: {e.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _write_exclusive(name: str, data: bytes) -> None:
    """Fallback where hard links are not supported: O_EXCL creation (not atomic for readers)."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise ControlFileError(f"{name} exists: pass --force to replace it") from None
    try:
        os.fchmod(fd, 0o644)
        os.write(fd, data)
    finally:
        os.close(fd)


def resolve_uds(path: str) -> str:
    """The Firecracker multiplexer path as the original stores it: an absolute path is kept
    (resolved if it exists); a relative one must exist and is stored resolved."""
    try:
        return os.path.realpath(path, strict=True)
    except OSError:
        if path.startswith("/"):
            return path
        raise ControlFileError(
            f"the Firecracker socket {path} does not exist: a relative --uds path must exist, or give an absolute one"
        ) from None
