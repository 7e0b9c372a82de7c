/// The instance writers whose runtimes sent more than a cross-runner queue can hold: each
/// stops being read (`InstanceWriter.block`) until the queue is half gone.
///
/// Confined to the runner's event loop: reached only through its `PeerRouter` (and the links
/// on that loop), whose every entry asserts the loop in debug builds.
final class PeerGate {
    private var held: [InstanceWriter] = []

    /// Stops reading `link` (once, however often it is called).
    func hold(_ link: InstanceWriter) {
        guard !held.contains(where: { $0 === link }) else { return }
        held.append(link)
        link.block()
    }

    /// Lets every held link be read again.
    func openAll() {
        let links = held
        held.removeAll()
        for link in links { link.unblock() }
    }
}
