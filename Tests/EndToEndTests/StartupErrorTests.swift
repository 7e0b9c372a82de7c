import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What `flowctl serve` says when it cannot start: one line that names the place and the fix.
@Suite(.timeLimit(.minutes(1))) struct StartupErrorTests {
    /// A TCP socket listening on 127.0.0.1 on a free port; returns it and the port.
    func occupiedPort() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound, "could not hold a port for the test")
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// The server finds the port taken by its errno (EADDRINUSE), not by the text of an error.
    @Test func aPortInUseIsOneLineThatSaysSo() async throws {
        let (fd, port) = try occupiedPort()
        defer { close(fd) }
        let state = tempDirectory("state"), run = tempDirectory("run")
        defer { for d in [state, run] { try? FileManager.default.removeItem(atPath: d) } }
        let server = try ChildProcess(Repo.flowctl, ["serve", "--port", "\(port)", "--state-dir", state],
                                      environment: ["XDG_RUNTIME_DIR": run, "POLYFLOW_RUNTIMES": Repo.root + "/runtimes"])
        let status = try await server.waitForExit(timeout: .seconds(30))
        #expect(status != 0)
        let said = server.stderr.filter { $0.contains("already in use") }
        #expect(said.count == 1, "\(server.stderr.suffix(5))")
        #expect(said.first?.contains("port \(port)") == true && said.first?.contains("--port") == true, "\(said)")
    }
}
