import FlowModel
import Foundation
import PipeBridge
import RunnerProtocol

/// The programs that build environments on this runner, found once.
///
/// Python: a venv made with `python3 -m venv --without-pip` (a quarter of a
/// second; with pip inside it takes five), filled by `uv pip install` when
/// `uv` is on the search path (or `POLYFLOW_UV` names it), else by the
/// runtime's own `python3 -m pip --python <venv>` (docs/dependencies.md has
/// the measurements). Node.js: `npm install --prefix`.
struct Installers: Sendable {
    enum Python: Sendable, Equatable {
        case uv(String)
        case pip
        var name: String { if case .uv = self { "uv" } else { "pip" } }
    }

    var python: Python
    var npm: String?

    /// `POLYFLOW_UV=off` turns uv off; a path turns it on from there.
    static func find(searchPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Installers {
        let locator = RuntimeLocator(searchPath: searchPath, runtimesDirectory: "")
        var python = Python.pip
        switch environment["POLYFLOW_UV"] {
        case "off"?, "0"?: break
        case let path? where !path.isEmpty && FileManager.default.isExecutableFile(atPath: path): python = .uv(path)
        default: if let uv = locator.which("uv") { python = .uv(uv) }
        }
        return Installers(python: python, npm: locator.which("npm"))
    }

    /// The commands that fill `directory` with the environment of `set`, in order.
    func commands(for set: DependencySet, runtime: RuntimeInfo, in directory: String, timeLimit: Duration) throws(EnvironmentError) -> [InstallerProcess] {
        switch set.runtime {
        case .python3:
            let venv = "\(directory)/venv"
            let makeVenv = InstallerProcess(executable: runtime.executable, arguments: ["-m", "venv", "--without-pip", venv], timeLimit: timeLimit)
            let target = EnvironmentLayout.python(in: directory)
            let install: InstallerProcess
            switch python {
            case .uv(let uv):
                install = InstallerProcess(executable: uv, arguments: ["pip", "install", "--python", target, "--no-progress"] + set.dependencies,
                                           timeLimit: timeLimit)
            case .pip:
                install = InstallerProcess(executable: runtime.executable,
                                           arguments: ["-m", "pip", "--python", target, "install", "--no-input", "--disable-pip-version-check",
                                                       "--progress-bar", "off"] + set.dependencies,
                                           timeLimit: timeLimit)
            }
            return [makeVenv, install]
        case .node:
            guard let npm else { throw .toolMissing(.node, "npm is not on the search path: install npm (Debian: apt-get install npm)") }
            return [InstallerProcess(executable: npm,
                                     arguments: ["install", "--prefix", "\(directory)/node", "--no-audit", "--no-fund", "--no-update-notifier",
                                                 "--install-links", "--fetch-retries=1", "--loglevel=http"] + set.dependencies,
                                     timeLimit: timeLimit)]
        case .browser:
            throw .toolMissing(.browser, "a browser tab installs no packages")
        }
    }

    func name(for runtime: RuntimeKind) -> String { runtime == .python3 ? python.name : "npm" }
}
