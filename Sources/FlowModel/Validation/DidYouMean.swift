/// Suggests the closest known name for a misspelt one (edit distance ≤ 2, a
/// case-insensitive match, or one a prefix of the other), as in `no module "prnt" (did you mean "print"?)`.
public enum DidYouMean {
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let (w, l) = (word.lowercased(), c.lowercased())
            let prefixed = min(w.utf8.count, l.utf8.count) >= 3 && (w.hasPrefix(l) || l.hasPrefix(w))
            let d = w == l ? 0 : prefixed ? 1 : distance(Array(word.utf8), Array(c.utf8))
            let limit = max(1, min(2, c.utf8.count / 3))
            if d <= limit, best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    /// ` (did you mean "x"?)` or the empty string.
    public static func hint(for word: String, among candidates: [String]) -> String {
        suggestion(for: word, among: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
