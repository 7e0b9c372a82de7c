import Foundation

/// Tiny packages made by the tests in a temporary directory, so that
/// environments are built from real installers without a package index:
/// a Python wheel (a zip written by python3's zipfile; no setuptools needed)
/// and an npm package directory and tarball.
public enum LocalPackages {
    public static func temporaryDirectory(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "polyflow-\(name)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A wheel of a module `name` whose `VERSION` is `version`; returns its path.
    public static func wheel(_ name: String, version: String, in dir: String) throws -> String {
        let script = """
        import sys, zipfile
        name, version, out = sys.argv[1], sys.argv[2], sys.argv[3]
        dist = f"{name}-{version}.dist-info"
        path = f"{out}/{name}-{version}-py3-none-any.whl"
        files = {
            f"{name}/__init__.py": f'VERSION = "{version}"\\n',
            f"{dist}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
            f"{dist}/WHEEL": "Wheel-Version: 1.0\\nGenerator: polyflow-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        }
        files[f"{dist}/RECORD"] = "".join(f"{p},,\\n" for p in files) + f"{dist}/RECORD,,\\n"
        with zipfile.ZipFile(path, "w") as z:
            for p, text in files.items():
                z.writestr(p, text)
        print(path)
        """
        return try run("python3", ["-c", script, name, version, dir]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An npm package directory `name` exporting `{version}`; returns its path.
    public static func npmDirectory(_ name: String, version: String, in dir: String) throws -> String {
        let pkg = "\(dir)/\(name)-\(version)/package"
        try FileManager.default.createDirectory(atPath: pkg, withIntermediateDirectories: true)
        try #"{"name": "\#(name)", "version": "\#(version)", "main": "index.js"}"#.write(toFile: "\(pkg)/package.json", atomically: true, encoding: .utf8)
        try "module.exports = { version: \"\(version)\" };\n".write(toFile: "\(pkg)/index.js", atomically: true, encoding: .utf8)
        return pkg
    }

    /// The same as a tarball (`package/` inside, as `npm pack` makes it); returns its path.
    public static func npmTarball(_ name: String, version: String, in dir: String) throws -> String {
        let pkg = try npmDirectory(name, version: version, in: dir)
        let tarball = "\(dir)/\(name)-\(version).tgz"
        _ = try run("tar", ["-czf", tarball, "-C", URL(fileURLWithPath: pkg).deletingLastPathComponent().path, "package"])
        return tarball
    }

    public struct Failed: Error, CustomStringConvertible { public var description: String }

    /// Runs a program found on PATH to its end; its stdout, or an error with its stderr.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\(program) \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
