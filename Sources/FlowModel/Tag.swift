/// The form of a placement tag, shared by a module's `tags` and
/// `requireTags` and a runner's `--tags`: 1 to 64 letters, digits, `_`, `-`,
/// `.` or `:` (no comma, so `--tags a,b` splits cleanly; no space).
public enum Tag {
    public static let maxLength = 64
    public static func isValid(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maxLength else { return false }
        return text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x5F || b == 0x2D || b == 0x2E || b == 0x3A
        }
    }
}
