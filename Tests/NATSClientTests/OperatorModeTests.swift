import Crypto
import Foundation
import NIOCore
import Testing
@testable import NATSClient

/// A creds file (a user JWT and its seed) against a server in operator mode: an operator, an
/// account and a user, each an nkey, their JWTs signed down the chain by the test itself.
@Suite(.timeLimit(.minutes(2)),
       .enabled(if: NATSServerProcess.shouldRun, "nats-server is not installed (Debian: apt-get install nats-server)"))
struct OperatorModeTests {
    /// An nkey of any type, able to sign JWTs (`ed25519-nkey`).
    struct SigningKey {
        let key = Curve25519.Signing.PrivateKey()
        let prefix: UInt8
        var publicKey: String { NKey.encode(prefix: prefix, Array(key.publicKey.rawRepresentation)) }

        static func base64url(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }

        /// A JWT with `claims` (issuer: this key), signed by this key.
        func jwt(subject: String, name: String, nats: [String: Any]) throws -> String {
            let header = Self.base64url(Data(#"{"typ":"JWT","alg":"ed25519-nkey"}"#.utf8))
            let claims: [String: Any] = ["jti": NATSConnection.token(), "iat": Int(Date().timeIntervalSince1970),
                                         "iss": publicKey, "name": name, "sub": subject, "nats": nats]
            let payload = Self.base64url(try JSONSerialization.data(withJSONObject: claims))
            let signature = try key.signature(for: Data("\(header).\(payload)".utf8))
            return "\(header).\(payload).\(Self.base64url(signature))"
        }
    }

    @Test func aCredsFileLetsItsUserIn_andAnotherSeedWithTheSameJWTIsRefused() async throws {
        let operatorKey = SigningKey(prefix: 14 << 3), account = SigningKey(prefix: 0)
        let user = NKey.makeUser()
        let unlimited: [String: Any] = ["subs": -1, "data": -1, "payload": -1]
        let operatorJWT = try operatorKey.jwt(subject: operatorKey.publicKey, name: "polyflow-test", nats: ["type": "operator", "version": 2])
        var accountLimits = unlimited
        accountLimits.merge(["imports": -1, "exports": -1, "wildcards": true, "conn": -1, "leaf": -1]) { a, _ in a }
        let accountJWT = try operatorKey.jwt(subject: account.publicKey, name: "polyflow",
                                             nats: ["type": "account", "version": 2, "limits": accountLimits])
        var userClaims = unlimited
        userClaims.merge(["type": "user", "version": 2, "pub": [String: Any](), "sub": [String: Any]()]) { a, _ in a }
        let userJWT = try account.jwt(subject: user.key.publicKey, name: "runner-1", nats: userClaims)

        let dir = NSTemporaryDirectory() + "polyflow-operator-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        operator: \(operatorJWT)
        resolver: MEMORY
        resolver_preload: {
          \(account.publicKey): \(accountJWT)
        }
        """.write(toFile: dir + "/server.conf", atomically: true, encoding: .utf8)
        let creds = """
        -----BEGIN NATS USER JWT-----
        \(userJWT)
        ------END NATS USER JWT------

        -----BEGIN USER NKEY SEED-----
        \(user.seed)
        ------END USER NKEY SEED------
        """
        try creds.write(toFile: dir + "/runner-1.creds", atomically: true, encoding: .utf8)

        try await withNATSServer(["-c", dir + "/server.conf"]) { server in
            let credentials = try NATSCredentials(contentsOf: dir + "/runner-1.creds")
            let c = try await NATSConnection.connect(to: server.address, options: .init(credentials: credentials))
            let sub = try await c.subscribe(to: "hello")
            try await c.flush()
            try await c.publish(ByteBuffer(string: "in"), to: "hello")
            var iterator = sub.messages.makeAsyncIterator()
            #expect(await iterator.next().map { String(buffer: $0.payload) } == "in")
            await c.close()
            // The same JWT with a seed that is not its subject's: the signature does not match.
            var stolen = NATSConnectOptions(nkey: NKey.makeUser().key)
            stolen.jwt = userJWT
            await #expect {
                _ = try await NATSConnection.connect(to: server.address, options: stolen)
            } throws: { "\($0)".lowercased().contains("authorization violation") }
        }
    }
}
