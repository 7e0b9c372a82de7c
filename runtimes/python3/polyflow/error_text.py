"""Turning exceptions from user code into the texts the host shows:
a one-line message, a stack of user-code frames, a line number."""

import linecache

MODULE_FILENAME_PREFIX = "<module "


def module_filename(module_id):
    """The filename user code is compiled with, so that tracebacks name it."""
    return f"{MODULE_FILENAME_PREFIX}{module_id}>"


def remember_source(filename, code):
    """Let tracebacks show lines of code that has no file on disk."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)


def describe(error):
    """``"ZeroDivisionError: division by zero"``."""
    name = type(error).__name__
    if isinstance(error, SyntaxError) and error.msg:
        return f"{name}: {error.msg}"
    try:
        text = str(error)
    except Exception:  # a user exception whose __str__ fails
        text = ""
    return f"{name}: {text}" if text else name


def deepest_line(error, filename):
    """The line of the deepest traceback frame running code from
    ``filename``, or None."""
    if isinstance(error, SyntaxError) and error.filename == filename:
        return error.lineno
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def user_stack(error):
    """The traceback text, keeping only frames of user modules. (traceback
    is imported at the first error, not at start-up.)"""
    import traceback

    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(MODULE_FILENAME_PREFIX)
    ]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    try:
        lines += traceback.format_exception_only(type(error), error)
    except Exception:
        lines.append(describe(error) + "\n")
    return "".join(lines).rstrip("\n")
