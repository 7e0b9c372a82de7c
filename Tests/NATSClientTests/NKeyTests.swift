import Foundation
import NIOCore
import Testing
@testable import NATSClient

/// nkeys: the published reference seed of the NATS clients' tests, its public key and the
/// signature of its nonce; bad seeds refused by name; a real server that knows only the key.
@Suite struct NKeyTests {
    static let seed = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU"

    @Test func theReferenceSeedGivesItsPublicKeyAndSignature() throws {
        let key = try NKey(seed: Self.seed)
        #expect(key.publicKey == "UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L")
        // The same signature as the other clients' tests, in base64url without padding.
        #expect(try key.sign(nonce: "PXoWU7zWAMt75FY") == "ZaAiVDgB5CeYoXoQ7cBCmq-ZllzUnGUoDVb8C7PilWvCs8XKfUchAUhz2P4BYAF--Dg3w05CqyQFRDiGL6LrDw")
        let made = NKey.makeUser()
        #expect(try NKey(seed: made.seed).publicKey == made.key.publicKey && made.seed.hasPrefix("SU"))
    }

    @Test func aBadSeedIsRefusedSayingWhy() {
        var flipped = Array(Self.seed)
        flipped[10] = flipped[10] == "A" ? "B" : "A"
        let cases: [(String, String)] = [
            (String(flipped), "checksum"),
            (String(Self.seed.dropFirst()), "base32 of 36 bytes"),
            ("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRB1", "base32"),
            ("UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L", "36 bytes"),
        ]
        for (seed, fragment) in cases {
            #expect { _ = try NKey(seed: seed) } throws: { "\($0)".contains(fragment) }
        }
    }

    @Test func aCredsFileGivesItsJWTAndSeed() throws {
        let text = """
        -----BEGIN NATS USER JWT-----
        eyJhbGciOiJlZDI1NTE5In0.e30.c2ln
        ------END NATS USER JWT------

        ************************* IMPORTANT *************************
        NKEY Seed printed below can be used to sign and prove identity.

        -----BEGIN USER NKEY SEED-----
        \(Self.seed)
        ------END USER NKEY SEED------
        """
        let creds = try NATSCredentials(text: text)
        #expect(creds.jwt == "eyJhbGciOiJlZDI1NTE5In0.e30.c2ln")
        #expect(creds.key.publicKey == "UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L")
        #expect { _ = try NATSCredentials(text: "nothing here") } throws: { "\($0)".contains("BEGIN NATS USER JWT") }
        #expect { _ = try NATSCredentials(contentsOf: "/nonexistent/x.creds") } throws: { "\($0)".contains("cannot read the creds file") }
    }

    @Test(.enabled(if: NATSServerProcess.shouldRun, "nats-server is not installed"))
    func aServerThatKnowsOnlyTheKeyLetsItsHolderIn_andNoOneElse() async throws {
        let mine = NKey.makeUser(), theirs = NKey.makeUser()
        let config = NSTemporaryDirectory() + "polyflow-nkey-\(UUID().uuidString.prefix(8)).conf"
        try "authorization { users = [ { nkey: \(mine.key.publicKey) } ] }\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await withNATSServer(["-c", config]) { server in
            let c = try await NATSConnection.connect(to: server.address, options: .init(nkey: mine.key))
            try await c.flush()
            await c.close()
            await #expect {
                _ = try await NATSConnection.connect(to: server.address, options: .init(nkey: theirs.key))
            } throws: { error in
                "\(error)".lowercased().contains("authorization violation")
            }
        }
    }
}
