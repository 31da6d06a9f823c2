"""Is there OpenGL to render with? Checked before any render window exists.

With a display (X11 or Wayland), VTK opens a real window. Without one, VTK
must use EGL (libEGL plus a driver: Mesa's DRI drivers, or NVIDIA's EGL
vendor library). On a bare machine, creating a VTK render window without these
crashes the process (a segfault, not an exception), so `require_opengl`
looks for the libraries first and raises a VoxgenError that names the
Debian packages to install.
"""

from __future__ import annotations

import ctypes.util
import glob
import os
import sys

from voxgen.errors import VoxgenError

EGL_PACKAGES = "libegl1 libgl1-mesa-dri"
INSTALL_HINT = (f"install the Debian packages {EGL_PACKAGES} "
                f"(as root: apt-get install {EGL_PACKAGES}, or `make system-libs`)")

# Where Mesa's DRI drivers (and NVIDIA's EGL vendor files) live on Linux.
_DRI_GLOBS = (
    "/usr/lib/*/dri/*_dri.so", "/usr/lib/dri/*_dri.so", "/usr/lib64/dri/*_dri.so",
    "/usr/local/lib/*/dri/*_dri.so", "/usr/local/lib/dri/*_dri.so",
)
_NVIDIA_EGL_GLOBS = (
    "/usr/share/glvnd/egl_vendor.d/*nvidia*.json", "/etc/glvnd/egl_vendor.d/*nvidia*.json",
    "/usr/local/nvidia/share/glvnd/egl_vendor.d/*nvidia*.json",
)


def has_display() -> bool:
    """True if a window can be opened (always on macOS and Windows)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _x_display_answers(display: str) -> bool:
    """Whether the X server `display` accepts a connection (True when libX11
    is not there to ask: VTK then reports what it finds)."""
    lib = ctypes.util.find_library("X11")
    if lib is None:
        return True
    try:
        x11 = ctypes.CDLL(lib)
    except OSError:
        return True
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = x11.XOpenDisplay(display.encode())
    if not connection:
        return False
    x11.XCloseDisplay(connection)
    return True


def _display_answers() -> bool:
    display = os.environ.get("DISPLAY")
    if not has_display():
        return False
    return not (display and sys.platform.startswith("linux")) or _x_display_answers(display)


def require_display() -> None:
    """Raise VoxgenError unless a window can be opened: a display is set and,
    for X11, its server answers (else VTK warns and shows nothing)."""
    hint = ("render off-screen instead: voxgen render FILE -o out.png "
            "(or voxgen render --growth NAME -o growth.gif)")
    if not has_display():
        raise VoxgenError(f"no display to open a window on ($DISPLAY is not set); {hint}")
    display = os.environ.get("DISPLAY")
    if not _display_answers():
        raise VoxgenError(f"cannot open a window: the X display {display!r} does not answer "
                          f"(is $DISPLAY right, and the X server running?); {hint}")


def _egl_driver_found() -> bool:
    paths = [p for p in os.environ.get("LIBGL_DRIVERS_PATH", "").split(":") if p]
    patterns = [os.path.join(p, "*_dri.so") for p in paths] + list(_DRI_GLOBS)
    if any(glob.glob(p) for p in patterns):
        return True
    vendor_files = [f for f in os.environ.get("__EGL_VENDOR_LIBRARY_FILENAMES", "").split(":") if f]
    if any(os.path.exists(f) for f in vendor_files):
        return True
    return ctypes.util.find_library("EGL_nvidia") is not None or any(
        glob.glob(p) for p in _NVIDIA_EGL_GLOBS)


def opengl_problem() -> str | None:
    """Why off-screen rendering cannot work here, or None if it should.

    Looks only at files, environment and whether the X server answers: it
    never creates a window. A $DISPLAY that does not answer counts as none."""
    if _display_answers():
        if sys.platform.startswith("linux") and ctypes.util.find_library("GL") is None:
            return "libGL is not installed (Debian: libgl1)"
        return None
    if ctypes.util.find_library("EGL") is None:
        return "no display and libEGL is not installed"
    if not _egl_driver_found():
        return "no display and no OpenGL driver for EGL (Mesa's DRI drivers are missing)"
    return None


def require_opengl() -> None:
    """Raise VoxgenError unless rendering can work; prefer EGL when headless.

    Call before creating any pyvista Plotter."""
    problem = opengl_problem()
    if problem:
        raise VoxgenError(f"cannot render: {problem}; {INSTALL_HINT}")
    if not _display_answers():
        # Without this VTK first tries X11, warns, then falls back to EGL.
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
