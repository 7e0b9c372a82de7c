"""The modules this instance hosts, built from a ``configure`` frame:
their code loaded, routes installed, input slots resolved."""

from .hosted_module import HostedModule
from .module_loader import ModuleLoadError, call_init, load_module
from .routing import install_routes


class Instance:
    """``modules``: id -> HostedModule, in configure order. ``slots[i]`` is
    ``(HostedModule, input port)`` for input slot i. ``routes.use(via_host)``
    switches the debug routing (``mode`` frames)."""

    def __init__(self, configuration, scheduler, writer):
        self.flow_id = configuration.flow_id
        self.modules = {
            spec.id: HostedModule(spec, configuration.flow_id, writer.log)
            for spec in configuration.modules
        }
        self.slots = [(self.modules[module_id], port) for module_id, port in configuration.slots]
        self.routes = install_routes(configuration, self.modules, scheduler, writer)
        self._specs = configuration.modules
        self._scheduler = scheduler

    def load(self):
        """Load every module (and call init where asked); returns the
        ``modules`` field of the ``configured`` reply."""
        results = {}
        for spec in self._specs:
            module = self.modules[spec.id]
            try:
                loaded = self._scheduler.run_outside(module, load_module, spec.id, spec.code)
                if spec.init:
                    self._scheduler.run_outside(module, call_init, spec.id, loaded, module.ctx)
            except ModuleLoadError as error:
                module.mark_failed(error)
                results[spec.id] = {"ok": False, "error": error.message, "line": error.line}
            else:
                module.handler = loaded.on_message
                results[spec.id] = {"ok": True}
            module.ran = True
        self._scheduler.changed = True
        return results
