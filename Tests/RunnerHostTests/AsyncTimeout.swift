/// The first element of `stream`, or nil when it finishes or `timeout`
/// passes first. For streams a test cannot finish itself: a regression then
/// fails the test instead of hanging `swift test`.
func firstElement<Element: Sendable>(of stream: AsyncStream<Element>, within timeout: Duration) async -> Element? {
    await withTaskGroup(of: Element?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
