import Foundation

/// The form of one `dependencies` entry: what the validator accepts before
/// anything reaches an installer. Entries are never options (`-…`), never
/// span lines and never name a relative path (the server has no directory
/// of the user's to resolve it against).
public enum DependencySpec {
    public static let maxEntries = 100
    public static let maxLength = 500

    /// Why `entry` is not a valid dependency of a `runtime` module; nil when it is.
    public static func problem(_ entry: String, runtime: RuntimeKind) -> String? {
        let text = entry.trimmingBlanks
        if text.isEmpty { return "is empty: give a package such as \(example(runtime))" }
        if text.utf8.count > maxLength { return "is longer than \(maxLength) bytes" }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character or line break" }
        if text.hasPrefix("-") { return "\"\(text.clipped())\" looks like an installer option: options are not allowed, give a package such as \(example(runtime))" }
        if isLocation(text) {
            if text.hasPrefix("/") || text.hasPrefix("file:/") || text.hasPrefix("https://") || text.hasPrefix("http://") { return nil }
            return "\"\(text.clipped())\" is a relative path: give an absolute path (the server has no directory of yours to resolve it against)"
        }
        switch runtime {
        case .python3: return pythonProblem(text)
        case .node: return nodeProblem(text)
        case .browser: return "a browser module cannot install packages: remove \"dependencies\" or run the module on node"
        }
    }

    /// A path, file or URL rather than a package name.
    static func isLocation(_ text: String) -> Bool {
        if let at = text.firstIndex(of: "@"), at != text.startIndex,
           text[..<at].allSatisfy({ $0.isLetter || $0.isNumber || "._- ".contains($0) }) {
            return false  // `name @ url`: a requirement that says where its package is
        }
        return text.hasPrefix("/") || text.hasPrefix(".") || text.hasPrefix("~") || text.hasPrefix("file:") || text.contains("://")
            || text.hasSuffix(".whl") || text.hasSuffix(".tgz") || text.hasSuffix(".tar.gz") || text.hasSuffix(".zip")
    }

    static func example(_ runtime: RuntimeKind) -> String {
        runtime == .node ? "\"lodash@4.17.21\"" : "\"requests==2.32.3\""
    }

    /// `name[extras] <version spec> ; marker` or `name @ url`.
    private static func pythonProblem(_ text: String) -> String? {
        let requirement = text.split(separator: ";", maxSplits: 1).first.map(String.init) ?? text
        guard let first = requirement.unicodeScalars.first, isAlnum(first) else {
            return "\"\(text.clipped())\" must start with a project name, as in \"requests==2.32.3\""
        }
        if let at = requirement.range(of: " @ ") ?? requirement.range(of: "@") {
            let url = requirement[at.upperBound...].trimming(" ")
            return url.contains("://") ? nil : "\"\(text.clipped())\": after \"@\" comes a URL, as in \"pkg @ https://host/pkg.whl\""
        }
        let allowed = Set("<>=!~.,*+-_[] ".unicodeScalars)
        if let bad = requirement.unicodeScalars.first(where: { !isAlnum($0) && !allowed.contains($0) }) {
            return "\"\(text.clipped())\" has \"\(bad)\", which no requirement uses: write it as in \"requests>=2.31,<3\""
        }
        return nil
    }

    /// `name`, `name@range`, `@scope/name@range`.
    private static func nodeProblem(_ text: String) -> String? {
        var rest = Substring(text)
        if rest.hasPrefix("@") {
            guard let slash = rest.firstIndex(of: "/") else { return "\"\(text.clipped())\": a scoped package is \"@scope/name\"" }
            rest = rest[rest.index(after: slash)...]
        }
        let name = rest.prefix { $0 != "@" }
        let nameChars = Set("abcdefghijklmnopqrstuvwxyz0123456789-._~".unicodeScalars)
        if name.isEmpty || !name.unicodeScalars.allSatisfy({ nameChars.contains($0) }) {
            return "\"\(text.clipped())\": a package name has lower-case letters, digits, \"-\", \".\", \"_\" and \"~\", as in \"lodash@4.17.21\""
        }
        let range = rest.dropFirst(name.count + 1)
        let rangeChars = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.^~<>=|*+- ".unicodeScalars)
        if !range.unicodeScalars.allSatisfy({ rangeChars.contains($0) }) {
            return "\"\(text.clipped())\": the version after \"@\" is a semver range, as in \"lodash@^4.17.0\""
        }
        return nil
    }

    private static func isAlnum(_ s: Unicode.Scalar) -> Bool {
        (s >= "0" && s <= "9") || (s >= "a" && s <= "z") || (s >= "A" && s <= "Z")
    }
}

private extension StringProtocol {
    func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
