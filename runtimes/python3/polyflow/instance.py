"""The modules this instance hosts, built from a ``configure`` frame and
changed by ``swap`` frames: their code loaded, routes installed, input
slots resolved."""

from .module_record import ModuleRecord
from .module_loader import ModuleLoadError, call_init, load_module
from .payloads import copy_payload
from .router import install_routes


class Instance:
    """``modules``: id -> ModuleRecord, in configure order (modules a swap
    adds come last). ``slots[i]`` is ``(ModuleRecord, input port)`` for
    input slot i. ``routes.use(via_host)`` switches the debug routing
    (``mode`` frames)."""

    def __init__(self, configuration, scheduler, writer, via_host=False):
        self.flow_id = configuration.flow_id
        self.modules = {
            spec.id: ModuleRecord(spec, configuration.flow_id, writer.log)
            for spec in configuration.modules
        }
        self._specs = configuration.modules
        self._scheduler = scheduler
        self._writer = writer
        self._install(configuration, via_host, "configure")

    def load(self):
        """Load every module (and call init where asked); returns the
        ``modules`` field of the ``configured`` reply."""
        return self._load(self._specs)

    def swap(self, swap, via_host):
        """Apply a checked ``swap`` frame: drop, replace and add modules,
        install the new tables, then load the code (init and on_swap where
        asked). Returns the ``modules`` field of the ``swapped`` reply."""
        for module_id in swap.remove:
            self._scheduler.forget(self.modules.pop(module_id))
        for spec in swap.modules:
            module = self.modules.get(spec.id)
            if module is None:
                self.modules[spec.id] = ModuleRecord(spec, self.flow_id, self._writer.log)
            else:
                module.replace(spec)
        self._install(swap, via_host, "swap")
        return self._load(swap.modules)

    def _install(self, tables, via_host, frame):
        self.slots = [(self.modules[module_id], port) for module_id, port in tables.slots]
        self.routes = install_routes(tables.routes, self.modules, self._scheduler, self._writer,
                                     via_host, frame)

    def _load(self, specs):
        run_outside = self._scheduler.run_outside
        results = {}
        for spec in specs:
            module = self.modules[spec.id]
            try:
                loaded = run_outside(module, load_module, spec.id, spec.code)
                if spec.init:
                    run_outside(module, call_init, spec.id, loaded, module.ctx)
            except ModuleLoadError as error:
                module.mark_failed(error)
                results[spec.id] = {"ok": False, "error": error.message, "line": error.line}
            else:
                module.handler = loaded.on_message
                results[spec.id] = {"ok": True}
                if spec.swap and loaded.on_swap is not None:
                    self._on_swap(module, loaded.on_swap)
            module.ran = module.unsaved = True
        self._scheduler.changed = True
        return results

    def _on_swap(self, module, hook):
        """``on_swap(old_state, ctx)``: it may change ctx.state or return a
        new state. If it raises, that is the module's error and the kept
        state is put back as it was."""
        ctx = module.ctx
        kept = ctx.state
        try:
            saved = copy_payload(kept)
        except Exception:  # a state copy.deepcopy cannot copy: keep the object
            saved = kept
        try:
            state = self._scheduler.run_outside(module, hook, kept, ctx)
        except (Exception, SystemExit) as error:
            ctx.state = saved
            self._scheduler.report(module, None, None, error)
        else:
            if state is not None:
                ctx.state = state
