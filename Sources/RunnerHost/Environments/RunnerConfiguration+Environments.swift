import Foundation
import RunnerProtocol

extension RunnerConfiguration {
    /// `$XDG_STATE_HOME/polyflow/environments`, else `~/.local/state/polyflow/environments`
    /// (`flowctl serve --state-dir DIR` puts them in `DIR/environments`).
    public static func defaultEnvironmentsDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["XDG_STATE_HOME"], !dir.isEmpty { return dir + "/polyflow/environments" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.local/state/polyflow/environments"
    }
}
