import Foundation
import NIOCore
import Testing
@testable import NATSClient

/// TLS against a real `nats-server --tls`, with a certificate authority made for the test by `openssl`.
@Suite(.timeLimit(.minutes(2)),
       .enabled(if: NATSServerProcess.shouldRun, "nats-server is not installed (Debian: apt-get install nats-server)"))
struct NATSTLSTests {
    /// A CA and a server certificate for 127.0.0.1 and localhost, in a fresh directory.
    static func makeCertificates() throws -> String {
        let dir = NSTemporaryDirectory() + "polyflow-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: dir + "/ext.cnf", atomically: true, encoding: .utf8)
        let steps = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=polyflow-test-ca"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "1", "-extfile", "ext.cnf"],
        ]
        for args in steps {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw NATSError.tls("openssl", reason: "openssl \(args[0]) failed") }
        }
        return dir
    }

    @Test func aTLSServerIsReachedWithItsCA_andRefusedWithoutIt() async throws {
        let dir = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withNATSServer(["--tls", "--tlscert", dir + "/server.pem", "--tlskey", dir + "/server.key"]) { server in
            let address = NATSServerAddress(host: "127.0.0.1", port: server.port, tls: true)
            let trusted = NATSTLSOptions(caFile: dir + "/ca.pem")
            let a = try await NATSConnection.connect(to: address, tls: trusted)
            let byName = try await NATSConnection.connect(to: NATSServerAddress(host: "localhost", port: server.port, tls: true), tls: trusted)
            let sub = try await byName.subscribe(to: "secret")
            try await byName.flush()
            try await a.publish(ByteBuffer(string: "over tls"), to: "secret")
            var iterator = sub.messages.makeAsyncIterator()
            #expect(await iterator.next().map { String(buffer: $0.payload) } == "over tls")
            await a.close()
            await byName.close()
            // The system's roots do not know the test's CA: one clear TLS error.
            await #expect {
                _ = try await NATSConnection.connect(to: address)
            } throws: { error in
                guard case NATSError.tls = error else { return false }
                return "\(error)".contains("TLS with the NATS server at tls://127.0.0.1")
            }
            // A nats:// URL to a server that requires TLS: said so, with the fix.
            await #expect(throws: NATSError.tlsRequired(server.address.description)) {
                _ = try await NATSConnection.connect(to: server.address)
            }
        }
    }

    @Test func aTLSURLToAServerWithoutTLSIsRefusedByName() async throws {
        try await withNATSServer { server in
            await #expect {
                _ = try await NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port, tls: true))
            } throws: { error in
                "\(error)".contains("does not offer TLS")
            }
        }
    }
}
