"""Compiling and running a module's code, and calling its init(ctx).

Failures become ModuleLoadError with the message and line the host shows
in ``configured``.
"""

import types
import weakref

from .error_text import deepest_line, describe, module_filename, remember_source

NO_ON_MESSAGE = "module defines no on_message(msg, ctx) function"


class ModuleLoadError(Exception):
    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line


class LoadedModule:
    """The functions a module's code defines."""

    __slots__ = ("on_message", "init", "on_swap", "namespace")

    def __init__(self, on_message, init, namespace, on_swap=None):
        self.on_message = on_message
        self.init = init
        self.on_swap = on_swap
        self.namespace = namespace


def load_module(module_id, code):
    """Compile and run ``code`` in a fresh namespace named ``module_id``.
    Raises ModuleLoadError. The caller captures what the code prints."""
    filename = module_filename(module_id)
    remember_source(filename, code)
    try:
        compiled = compile(code, filename, "exec", dont_inherit=True)
    except Exception as error:  # SyntaxError, or ValueError for NUL bytes
        raise ModuleLoadError(describe(error), getattr(error, "lineno", None)) from None
    namespace = {"__name__": module_id}
    try:
        exec(compiled, namespace)
    except (Exception, SystemExit) as error:
        raise ModuleLoadError(describe(error), deepest_line(error, filename)) from None
    on_message = namespace.get("on_message")
    if not callable(on_message):
        raise ModuleLoadError(NO_ON_MESSAGE)
    init, on_swap = namespace.get("init"), namespace.get("on_swap")
    return LoadedModule(_awaited(on_message), _awaited(init) if callable(init) else None, namespace,
                        _awaited(on_swap) if callable(on_swap) else None)


def _awaited(function):
    """``async def`` functions run to completion, one call at a time, on an
    event loop of their own (owned by the returned function). asyncio is
    imported only then: it was ~35 ms of the runtime's start-up."""
    if not _is_coroutine_function(function):
        return function
    import asyncio

    loop = asyncio.new_event_loop()

    def run(*args):
        return loop.run_until_complete(function(*args))

    weakref.finalize(run, loop.close)
    return run


_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE


def _is_coroutine_function(function):
    """``inspect.iscoroutinefunction``, without importing inspect (~7 ms)
    for the plain function that on_message almost always is."""
    if type(function) is types.FunctionType and not function.__dict__:
        return bool(function.__code__.co_flags & _CO_COROUTINE)
    import inspect

    return inspect.iscoroutinefunction(function)


def call_init(module_id, loaded, ctx):
    """Run ``init(ctx)`` if the module defines it; raises ModuleLoadError."""
    if loaded.init is None:
        return
    try:
        loaded.init(ctx)
    except (Exception, SystemExit) as error:
        raise ModuleLoadError(describe(error), deepest_line(error, module_filename(module_id))) from None
