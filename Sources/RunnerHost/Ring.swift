/// A bounded ring of the most recent items: logs and errors per module.
public struct Ring<Element: Sendable>: Sendable {
    public let capacity: Int
    private var items: [Element] = []
    private var next = 0

    public init(capacity: Int) { self.capacity = capacity }

    public mutating func append(_ item: Element) {
        if items.count < capacity { items.append(item) } else { items[next] = item }
        next = (next + 1) % capacity
    }

    /// Oldest first.
    public var elements: [Element] {
        items.count < capacity ? items : Array(items[next...] + items[..<next])
    }
}
