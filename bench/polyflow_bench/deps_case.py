"""Dependency environments (docs/dependencies.md): deploy-to-first-output of a
py→node→py flow whose modules use packages in existing environments, beside
the same flow without dependencies (goal ≤ 1.2×), and the time to build a
fresh environment of one small local package per runtime (no index needed)."""
import os
import statistics
import time
import zipfile

from . import flows
from .harness import RPCError


def make_wheel(directory, name, version):
    dist = f"{name}-{version}.dist-info"
    path = os.path.join(directory, f"{name}-{version}-py3-none-any.whl")
    files = {
        f"{name}/__init__.py": f'VERSION = "{version}"\n',
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: polyflow-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for p, text in files.items():
            z.writestr(p, text)
    return path


def make_npm_package(directory, name, version):
    pkg = os.path.join(directory, f"{name}-{version}")
    os.makedirs(pkg, exist_ok=True)
    with open(os.path.join(pkg, "package.json"), "w") as f:
        f.write(f'{{"name": "{name}", "version": "{version}", "main": "index.js"}}')
    with open(os.path.join(pkg, "index.js"), "w") as f:
        f.write(f'module.exports = {{ version: "{version}" }};\n')
    return pkg


def first_output_ms(srv, fid, flow):
    t0 = time.perf_counter()
    srv.deploy(flow)
    while True:
        try:
            srv.inject(fid, "a", {"hello": 1})
            break
        except RPCError as e:
            if e.code != "flow-not-running" or time.perf_counter() - t0 > 30:
                raise
            time.sleep(0.001)
    t1, _ = srv.wait_output(fid, 60)
    return (t1 - t0) * 1000


def case_dependencies(ctx, Row, fmt_num, span, remove_flow):
    cfg, srv = ctx.cfg, ctx.main_server()
    directory = ctx.session.tempdir("deps-packages")
    wheel = make_wheel(directory, f"pfbench{os.getpid()}", "1.0.0")
    npm = make_npm_package(directory, f"pf-bench-{os.getpid()}", "1.0.0")
    builds = {}
    for runtime, spec in (("python3", wheel), ("node", npm)):
        t0 = time.perf_counter()
        srv.rpc.call("installDependencies", timeout=600, runtimeId=runtime, dependencies=[spec])
        builds[runtime] = time.perf_counter() - t0

    def with_deps(fid):
        f = flows.deploy_flow(fid)
        for m in f["modules"]:
            m["dependencies"] = [wheel] if m["runtime"] == "python3" else [npm]
        return f

    plain, deps = [], []
    for k in range(cfg.deploy_repeats):
        for label, make, into in (("plain", flows.deploy_flow, plain), ("deps", with_deps, deps)):
            fid = f"depbench-{label}{k}"
            into.append(first_output_ms(srv, fid, make(fid)))
            remove_flow(srv, fid)
    p, d = statistics.median(plain), statistics.median(deps)
    ratio = d / p
    return [
        Row("deploy to first output, py→node→py, every module in an existing environment", d, "ms",
            text=f"{fmt_num(d)} ms{span(deps)}", baseline=f"{fmt_num(p)} ms without dependencies{span(plain)}",
            ratio=f"{ratio:.2f}×", target="≤ 1.2×", met=ratio <= 1.2,
            note=f"median of {len(deps)}, deployed alternately with the same flow without dependencies"),
        Row("build a fresh environment, one small local package", builds["python3"], "s",
            text=f"python3 {builds['python3']:.1f} s, node {builds['node']:.1f} s",
            note="installDependencies round trip: venv + installer (uv if on PATH, else pip) / npm install --prefix"),
    ]
