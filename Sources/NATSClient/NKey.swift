import Crypto
import Foundation

/// A NATS user nkey (docs.nats.io, "NKeys"): an Ed25519 key whose seed and
/// public key are written in base32 with a type prefix and a CRC-16 check.
/// The seed (`SU…`) signs the server's nonce; the public key (`U…`) names the user.
public struct NKey: Sendable {
    private let key: Curve25519.Signing.PrivateKey
    /// The public key as the server knows it (`U…`).
    public let publicKey: String

    static let seedPrefix: UInt8 = 18 << 3   // 'S'
    static let userPrefix: UInt8 = 20 << 3   // 'U'

    /// Reads a user seed (`SU…`); refuses another type, a bad character or a wrong checksum by name.
    public init(seed: String) throws(NATSError) {
        let text = seed.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Base32.decode(text), raw.count == 36 else { throw .badCredentials("the nkey seed is not base32 of 36 bytes") }
        guard CRC16.xmodem(raw[0..<34]) == UInt16(raw[34]) | UInt16(raw[35]) << 8 else {
            throw .badCredentials("the nkey seed's checksum does not match: is it copied whole?")
        }
        let b1 = raw[0] & 0xF8, type = (raw[0] & 0x07) << 5 | (raw[1] & 0xF8) >> 3
        guard b1 == Self.seedPrefix else { throw .badCredentials("the nkey is not a seed (it should start with S)") }
        guard type == Self.userPrefix else { throw .badCredentials("the nkey seed is not a user's (it should start with SU)") }
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw[2..<34]) } catch {
            throw .badCredentials("the nkey seed is not an Ed25519 seed: \(error)")
        }
        publicKey = Self.encode(prefix: Self.userPrefix, Array(key.publicKey.rawRepresentation))
    }

    /// A new random user key (for tests and tools).
    public static func makeUser() -> (seed: String, key: NKey) {
        let key = Curve25519.Signing.PrivateKey()
        let seed = encodeSeed(Array(key.rawRepresentation))
        return (seed, try! NKey(seed: seed))
    }

    /// The signature of the server's nonce, base64url without padding, as `CONNECT`'s `sig`.
    public func sign(nonce: String) throws -> String {
        let signature = try key.signature(for: Data(nonce.utf8))
        return signature.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func encode(prefix: UInt8, _ bytes: [UInt8]) -> String {
        var raw = [prefix] + bytes
        let crc = CRC16.xmodem(raw[...])
        raw += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        return Base32.encode(raw)
    }

    static func encodeSeed(_ seed: [UInt8]) -> String {
        var raw = [seedPrefix | userPrefix >> 5, (userPrefix & 31) << 3] + seed
        let crc = CRC16.xmodem(raw[...])
        raw += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        return Base32.encode(raw)
    }
}

/// A `.creds` file: the user's JWT and nkey seed between their marker lines.
public struct NATSCredentials: Sendable {
    public let jwt: String
    public let key: NKey

    public init(contentsOf path: String) throws(NATSError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .badCredentials("cannot read the creds file \(path)")
        }
        try self.init(text: text, path: path)
    }

    public init(text: String, path: String = "creds") throws(NATSError) {
        func block(_ name: String) -> String? {
            let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let start = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN") && $0.contains(name) }) else { return nil }
            return lines[(start + 1)...].first { !$0.isEmpty && !$0.hasPrefix("---") }
        }
        guard let jwt = block("JWT") else { throw .badCredentials("\(path) has no \"BEGIN NATS USER JWT\" block") }
        guard let seed = block("NKEY SEED") else { throw .badCredentials("\(path) has no \"BEGIN USER NKEY SEED\" block") }
        self.jwt = jwt
        self.key = try NKey(seed: seed)
    }
}

enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for b in bytes {
            buffer = buffer << 8 | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for c in text.utf8 {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = (buffer << 5 | v) & 0xFFFF
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}

enum CRC16 {
    /// CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys use.
    static func xmodem(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for b in bytes {
            crc ^= UInt16(b) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}
