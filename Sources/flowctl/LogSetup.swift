import Logging

/// `--log-level` of the server modes (`serve`, `runner`): log lines on stderr at that level.
enum LogSetup {
    static func bootstrap(_ logLevel: String) throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError("--log-level \(logLevel): expected one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
