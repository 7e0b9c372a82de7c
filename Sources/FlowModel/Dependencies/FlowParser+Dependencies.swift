extension FlowParser {
    /// `dependencies`: an array of package specs for the module's runtime
    /// (see `DependencySpec`); every bad entry is reported with its index.
    mutating func dependencyList(_ json: JSONValue?, runtime: RuntimeKind?, at path: String) -> [String] {
        guard let json else { return [] }
        guard case .array(let items) = json else {
            problem(path, "must be an array of package specs, as in [\"requests==2.32.3\"], got \(json.typeName)")
            return []
        }
        if items.count > DependencySpec.maxEntries {
            problem(path, "lists \(items.count) packages; at most \(DependencySpec.maxEntries)")
            return []
        }
        guard let runtime else { return [] }  // its runtime problem is reported already
        if runtime == .browser, !items.isEmpty {
            problem(path, "a browser module cannot install packages: remove \"dependencies\" or run the module on node")
            return []
        }
        var entries: [String] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                problem("\(path)[\(i)]", "must be a string (a package spec), got \(item.typeName)")
                continue
            }
            if let reason = DependencySpec.problem(s, runtime: runtime) {
                problem("\(path)[\(i)]", reason)
                continue
            }
            let normal = DependencySet.normalise(s, runtime: runtime)
            if let first = seen[normal] {
                problem("\(path)[\(i)]", "\"\(s.clipped())\" is listed twice (also at [\(first)])")
                continue
            }
            seen[normal] = i
            entries.append(s)
        }
        return entries
    }
}

extension DependencySpec {
    /// Checks a dependency list given on its own (`installDependencies`) by
    /// the rules of a module's `dependencies`; paths in the issues start at `dependencies`.
    public static func check(_ json: JSONValue, runtime: RuntimeKind) -> (dependencies: [String], issues: [ValidationIssue]) {
        var parser = FlowParser()
        let list = parser.dependencyList(json, runtime: runtime, at: "dependencies")
        return (list, parser.issues)
    }
}
