import FlowModel

/// `--tags a,b` of `serve` and `runner`.
enum RunnerTags {
    static func parse(_ text: String?, option: String) throws -> [String] {
        guard let text, !text.isEmpty else { return [] }
        let tags = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        for tag in tags where !Tag.isValid(tag) {
            throw CLIError("\(option) \(text): \"\(tag)\" is not a tag (letters, digits, \"_\", \"-\", \".\", \":\", at most \(Tag.maxLength))")
        }
        return Array(Set(tags)).sorted()
    }
}
