import ArgumentParser
import Foundation

/// A failure to report as one line on stderr, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body; prints any error as one `flowctl: …` line and exits non-zero.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("flowctl: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

func printJSON(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
