/// Suggests the closest known name for a misspelt one (edit distance ≤ 2, a
/// case-insensitive match, or one a prefix of the other), as in `no module "prnt" (did you mean "print"?)`.
///
/// The work is bounded whatever a client sends: words and candidates longer
/// than `maxLength` are not compared, at most `maxCandidates` candidates
/// are looked at, and the distance is a band of width 5 around the diagonal
/// that stops as soon as it exceeds 2. One suggestion costs at most
/// `maxCandidates × 5 × maxLength` steps (~330k); callers that suggest for
/// many names in one document stop after a few (`ConnectionEndpointsRule`).
public enum DidYouMean {
    public static let maxLength = 64
    public static let maxCandidates = 1_000

    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let w = Array(word.lowercased().utf8)
        guard !w.isEmpty, w.count <= maxLength else { return nil }
        var best: (String, Int)?
        for c in candidates.prefix(maxCandidates) {
            let l = Array(c.lowercased().utf8)
            guard l.count <= maxLength else { continue }
            let prefixed = min(w.count, l.count) >= 3 && (w.starts(with: l) || l.starts(with: w))
            let limit = max(1, min(2, c.utf8.count / 3))
            let d = w == l ? 0 : prefixed ? 1 : boundedDistance(Array(word.utf8), Array(c.utf8), limit: limit)
            if let d, d <= limit, best == nil || d < best!.1 { best = (c, d) }
            if best?.1 == 0 { break }
        }
        return best?.0
    }

    /// ` (did you mean "x"?)` or the empty string.
    public static func hint(for word: String, among candidates: [String]) -> String {
        suggestion(for: word, among: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    /// The edit distance of `a` and `b` if it is at most `limit` (≤ 2), else nil.
    static func boundedDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int? {
        guard abs(a.count - b.count) <= limit else { return nil }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        let big = limit + 1
        // Row i holds columns j in i-limit...i+limit; others are > limit.
        var prev = [Int](repeating: big, count: b.count + 1)
        for j in 0...min(b.count, limit) { prev[j] = j }
        var cur = [Int](repeating: big, count: b.count + 1)
        for i in 1...a.count {
            let lo = max(1, i - limit), hi = min(b.count, i + limit)
            cur[lo - 1] = lo - 1 == 0 ? i : big
            var rowMin = cur[lo - 1]
            if lo <= hi {
                for j in lo...hi {
                    let v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    cur[j] = min(v, big)
                    rowMin = min(rowMin, cur[j])
                }
            }
            if hi < b.count { cur[hi + 1] = big }
            if rowMin > limit { return nil }
            swap(&prev, &cur)
        }
        return prev[b.count] <= limit ? prev[b.count] : nil
    }
}

extension String {
    /// At most `max` characters, with `…` when cut: for echoing client input in messages.
    public func clipped(_ max: Int = 100) -> String {
        count <= max ? self : String(prefix(max)) + "…"
    }
}

