import Foundation

/// Where the web page's files are: `$POLYFLOW_WEB`, else a `web/` directory
/// holding `index.html` next to the executable or above it (the repository
/// when run from `.build/`), else `web/` under the working directory. Found
/// the way `RuntimeLocator.defaultRuntimesDirectory()` finds `runtimes/`.
public enum WebDirectory {
    public static func defaultPath() -> String {
        if let env = ProcessInfo.processInfo.environment["POLYFLOW_WEB"], !env.isEmpty { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("web/index.html").path) {
                return dir.appendingPathComponent("web").path
            }
            dir = dir.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath + "/web"
    }
}
