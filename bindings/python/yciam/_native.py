"""Finding and loading the native yciam library, and the prototypes of its C functions."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import POINTER, c_char_p, c_int64, c_size_t, c_uint16, c_uint32, c_void_p
from pathlib import Path
from typing import List, Optional

if sys.platform == "win32":
    LIBRARY_FILE = "yciam.dll"
elif sys.platform == "darwin":
    LIBRARY_FILE = "libyciam.dylib"
else:
    LIBRARY_FILE = "libyciam.so"

_PACKAGE_DIR = Path(__file__).resolve().parent
# bindings/python/yciam -> the repository root, whose target/ cargo builds into.
_REPO_ROOT = _PACKAGE_DIR.parent.parent.parent

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def candidates() -> List[Path]:
    """Where the library is looked for, in order (YCIAM_LIBRARY is handled by `load`).

    A copy bundled next to the package comes first; then the cargo target dirs of the
    repository this package sits in (CARGO_TARGET_DIR too), newest build first.
    """
    bundled = [_PACKAGE_DIR / LIBRARY_FILE]
    target_dirs = [_REPO_ROOT / "target"]
    if os.environ.get("CARGO_TARGET_DIR"):
        target_dirs.insert(0, Path(os.environ["CARGO_TARGET_DIR"]))
    built = [d / profile / LIBRARY_FILE for d in target_dirs for profile in ("release", "debug")]
    built = [p for p in built if p.is_file()]
    built.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return bundled + built


def _declare(lib: ctypes.CDLL) -> None:
    """Argument and result types of every function (char* results as c_void_p, so that
    we can free them)."""
    status = c_uint32
    out_ptr = POINTER(c_void_p)
    protos = {
        "yciam_version": (c_char_p, []),
        "yciam_status_name": (c_char_p, [c_uint32]),
        "yciam_client_new": (status, [c_char_p, out_ptr]),
        "yciam_client_free": (None, [c_void_p]),
        "yciam_client_token": (status, [c_void_p, out_ptr, POINTER(c_int64)]),
        "yciam_client_request": (
            status,
            [
                c_void_p,
                c_char_p,
                c_char_p,
                c_char_p,
                c_void_p,
                c_size_t,
                POINTER(c_uint16),
                out_ptr,
                POINTER(c_size_t),
            ],
        ),
        "yciam_client_revoke": (status, [c_void_p, c_char_p, out_ptr]),
        "yciam_string_free": (None, [c_void_p]),
        "yciam_last_error_message": (c_void_p, []),
        "yciam_last_error_request_id": (c_void_p, []),
        "yciam_last_error_http_status": (c_uint16, []),
        "yciam_client_last_error_message": (c_void_p, [c_void_p]),
    }
    for name, (restype, argtypes) in protos.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def load() -> ctypes.CDLL:
    """The library, loaded once: from YCIAM_LIBRARY when set (and only from there), else
    from the first of `candidates()` that exists. Never from the system search path."""
    global _lib
    with _lock:
        if _lib is not None:
            return _lib
        explicit = os.environ.get("YCIAM_LIBRARY")
        if explicit:
            paths = [Path(explicit)]
        else:
            paths = [p for p in candidates() if p.is_file()]
        if not paths:
            looked = ", ".join(str(p) for p in candidates()) or str(_PACKAGE_DIR / LIBRARY_FILE)
            raise OSError(
                f"the yciam native library ({LIBRARY_FILE}) was not found; looked at {looked}. "
                "Build it with `cargo build --release --lib` in the yciam repository, or set "
                "YCIAM_LIBRARY to its path"
            )
        lib = ctypes.CDLL(str(paths[0].resolve()))
        _declare(lib)
        _lib = lib
        return lib


def take_string(
    lib: ctypes.CDLL, ptr: Optional[int], length: Optional[int] = None
) -> Optional[bytes]:
    """The bytes of a string the library returned (NUL-terminated, or `length` long),
    freed with yciam_string_free whatever happens."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr, length) if length is not None else ctypes.string_at(ptr)
    finally:
        lib.yciam_string_free(ptr)
