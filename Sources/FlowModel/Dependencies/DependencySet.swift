/// One environment's contents: a runtime and its normalised dependency list.
/// Normalising makes equal requests equal: entries trimmed, Python project
/// names lower-cased with `-`, `_` and `.` runs as one `-` (PEP 503) and
/// blanks dropped outside markers, duplicates removed, the list sorted. The
/// order a module lists its packages in does not matter.
public struct DependencySet: Hashable, Codable, Sendable {
    public let runtime: RuntimeKind
    /// Normalised, sorted, each once.
    public let dependencies: [String]

    public init(runtime: RuntimeKind, dependencies: [String]) {
        self.runtime = runtime
        self.dependencies = Array(Set(dependencies.map { Self.normalise($0, runtime: runtime) })).filter { !$0.isEmpty }.sorted()
    }

    /// The content address: equal sets, equal ids.
    public var id: EnvironmentID {
        let text = "polyflow-environment-v1\n\(runtime.rawValue)\n" + dependencies.joined(separator: "\n")
        return EnvironmentID("\(runtime.rawValue)-\(SHA256.hex(text.utf8).prefix(EnvironmentID.digestDigits))")
    }

    /// One entry as the installer receives it.
    public static func normalise(_ entry: String, runtime: RuntimeKind) -> String {
        let trimmed = entry.trimmingBlanks
        guard runtime == .python3, !DependencySpec.isLocation(trimmed) else { return trimmed }
        // "Requests_OAuth [socks] >= 1.0 ; python_version < '3.12'" → "requests-oauth[socks]>=1.0; python_version < '3.12'"
        let parts = trimmed.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
        let requirement = parts[0].filter { !$0.isWhitespace }
        let nameEnd = requirement.firstIndex { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") } ?? requirement.endIndex
        var name = ""
        for c in requirement[..<nameEnd].lowercased() {
            let sep = c == "-" || c == "_" || c == "."
            if sep { if !name.hasSuffix("-") { name.append("-") } } else { name.append(c) }
        }
        var out = name + requirement[nameEnd...]
        if parts.count == 2 {
            let marker = parts[1].split(whereSeparator: \.isWhitespace).joined(separator: " ")
            if !marker.isEmpty { out += "; " + marker }
        }
        return out
    }
}

extension String {
    var trimmingBlanks: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
