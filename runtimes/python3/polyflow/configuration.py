"""Reading and checking the ``configure`` and ``swap`` frames
(docs/protocol.md).

Pure: no code is loaded here. Every problem found is reported at once in
one ConfigureError, with the JSON path of each.
"""

from collections import namedtuple

MAX_ROUTE_ID = 999_999_999


class ConfigureError(Exception):
    pass


# Immutable records. namedtuple rather than dataclass: importing dataclasses
# (and inspect with it) was ~10 ms of the runtime's start-up.

ModuleSpec = namedtuple("ModuleSpec", [
    "id", "code", "config",
    "inputs", "outputs",  # tuples of port names
    "state",  # None: {} for a new module, the kept state in a swap
    "init",
    "swap",  # call on_swap (swap frames only)
], defaults=[False])

RouteSpec = namedtuple("RouteSpec", [
    "module", "port",
    "local",  # ((module, input port), ...)
    "remote",  # route id (int) or None
    "all",  # route id reaching every target, local ones included (debug routing), or None
])

Configuration = namedtuple("Configuration", [
    "flow_id", "modules",
    "slots",  # ((module, input port), ...), index = input slot
    "routes",
])

Swap = namedtuple("Swap", [
    "modules",  # ModuleSpec values to load now
    "remove",  # ids of hosted modules to drop
    "slots", "routes",  # the complete new tables, as in Configuration
])


def parse_configure(frame):
    problems = []
    flow_id = frame.get("flowId", "")
    if not isinstance(flow_id, str):
        problems.append("flowId: must be a string")
    modules = _modules(frame.get("modules"), problems)
    by_id = {spec.id: spec for spec in modules}
    slots = _slots(frame.get("slots", []), by_id, problems)
    routes = _routes(frame.get("routes", []), by_id, problems)
    if problems:
        raise ConfigureError("bad configure: " + "; ".join(problems))
    return Configuration(flow_id, modules, slots, routes)


def parse_swap(frame, hosted):
    """``hosted``: id -> the modules hosted now (anything with ``inputs``
    and ``outputs``). Slots and routes are checked against the modules
    hosted after the swap."""
    problems = []
    modules = _modules(frame.get("modules"), problems)
    remove = _remove(frame.get("remove", []), hosted, {spec.id for spec in modules}, problems)
    by_id = {module_id: module for module_id, module in hosted.items() if module_id not in remove}
    by_id.update((spec.id, spec) for spec in modules)
    slots = _slots(frame.get("slots", []), by_id, problems)
    routes = _routes(frame.get("routes", []), by_id, problems)
    if problems:
        raise ConfigureError("bad swap: " + "; ".join(problems))
    return Swap(modules, remove, slots, routes)


def _remove(entries, hosted, loaded, problems):
    if not _is_names(entries):
        problems.append("remove: must be a list of module ids")
        return ()
    for i, module_id in enumerate(entries):
        if module_id not in hosted:
            problems.append(f"remove[{i}]: no module '{module_id}' in this instance")
        elif module_id in loaded:
            problems.append(f"remove[{i}]: module '{module_id}' is also in modules")
    return tuple(dict.fromkeys(entries))


def _is_names(value):
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def _modules(entries, problems):
    if not isinstance(entries, list):
        problems.append("modules: must be a list")
        return ()
    specs = []
    seen = set()
    for i, entry in enumerate(entries):
        where = f"modules[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be an object")
            continue
        module_id, code = entry.get("id"), entry.get("code")
        inputs, outputs = entry.get("inputs", ["in"]), entry.get("outputs", ["out"])
        init, swap = entry.get("init", True), entry.get("swap", False)
        ok = True
        for field, good in (
            ("id", isinstance(module_id, str) and module_id != ""),
            ("code", isinstance(code, str)),
            ("inputs", _is_names(inputs)),
            ("outputs", _is_names(outputs)),
            ("init", isinstance(init, bool)),
            ("swap", isinstance(swap, bool)),
        ):
            if not good:
                problems.append(f"{where}.{field}: missing or of the wrong type")
                ok = False
        if ok and module_id in seen:
            problems.append(f"{where}.id: module '{module_id}' is listed twice")
            ok = False
        if not ok:
            continue
        seen.add(module_id)
        config = entry.get("config")
        specs.append(ModuleSpec(
            module_id, code, {} if config is None else config, tuple(inputs), tuple(outputs),
            entry.get("state"), init, swap,
        ))
    return tuple(specs)


def _target(value, by_id, where, problems):
    """``[module, inputPort]`` of a hosted module, or None."""
    if not (isinstance(value, list) and len(value) == 2 and _is_names(value)):
        problems.append(f"{where}: must be [module, inputPort]")
        return None
    module_id, port = value
    spec = by_id.get(module_id)
    if spec is None:
        problems.append(f"{where}: no module '{module_id}' in this instance")
        return None
    if port not in spec.inputs:
        problems.append(f"{where}: module '{module_id}' has no input '{port}'")
        return None
    return (module_id, port)


def _slots(entries, by_id, problems):
    if not isinstance(entries, list):
        problems.append("slots: must be a list")
        return ()
    return tuple(_target(entry, by_id, f"slots[{i}]", problems) for i, entry in enumerate(entries))


def _routes(entries, by_id, problems):
    if not isinstance(entries, list):
        problems.append("routes: must be a list")
        return ()
    routes = []
    seen = set()
    for i, entry in enumerate(entries):
        where = f"routes[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be an object")
            continue
        module_id, port = entry.get("module"), entry.get("port")
        spec = by_id.get(module_id) if isinstance(module_id, str) else None
        if spec is None:
            problems.append(f"{where}.module: no module {module_id!r} in this instance")
            continue
        if port not in spec.outputs:
            problems.append(f"{where}.port: module '{module_id}' has no output {port!r}")
            continue
        if (module_id, port) in seen:
            problems.append(f"{where}: a second route for {module_id}.{port}")
            continue
        seen.add((module_id, port))
        local = entry.get("local", [])
        if not isinstance(local, list):
            problems.append(f"{where}.local: must be a list")
            continue
        targets = tuple(
            _target(target, by_id, f"{where}.local[{j}]", problems) for j, target in enumerate(local)
        )
        remote, all_id = entry.get("remote"), entry.get("all")
        if remote is not None and not _is_route_id(remote):
            problems.append(f"{where}.remote: must be a route id (0...{MAX_ROUTE_ID}) or null")
            continue
        if all_id is None:
            all_id = remote  # lenient: a host that does not send it
        elif not _is_route_id(all_id):
            problems.append(f"{where}.all: must be a route id (0...{MAX_ROUTE_ID})")
            continue
        routes.append(RouteSpec(module_id, port, targets, remote, all_id))
    return tuple(routes)


def _is_route_id(value):
    return type(value) is int and 0 <= value <= MAX_ROUTE_ID
