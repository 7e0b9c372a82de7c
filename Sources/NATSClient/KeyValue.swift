import Foundation
import NIOCore

/// A JetStream key-value bucket (`KV_<bucket>`, subjects `$KV.<bucket>.<key>`):
/// put, compare-and-set by revision, get, delete. A revision is the stream sequence
/// of the key's last write.
public struct KeyValue: Sendable {
    public let jetStream: JetStream
    public let bucket: String

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: ByteBuffer
        public var revision: Int
    }

    /// Opens the bucket, creating its stream when it is not there (`history`: writes kept per key).
    public static func open(_ bucket: String, history: Int = 1, in jetStream: JetStream) async throws -> KeyValue {
        guard NATSClientOp.isValid(subject: bucket, wildcards: false), !bucket.contains(".") else { throw NATSError.badSubject(bucket) }
        var config = StreamConfig(name: "KV_\(bucket)", subjects: ["$KV.\(bucket).>"])
        config.maxMsgsPerSubject = history
        config.allowRollupHdrs = true
        config.denyDelete = true
        config.discard = .new
        _ = try await jetStream.addStream(config)
        return KeyValue(jetStream: jetStream, bucket: bucket)
    }

    func subject(_ key: String) throws -> String {
        let s = "$KV.\(bucket).\(key)"
        guard NATSClientOp.isValid(subject: s, wildcards: false) else { throw NATSError.badSubject(key) }
        return s
    }

    /// Writes `value`; returns its revision.
    @discardableResult
    public func put(_ key: String, _ value: ByteBuffer) async throws -> Int {
        try await jetStream.publish(value, to: subject(key)).seq
    }

    /// Writes `value` only if the key's last revision is `revision` (0: the key has never been
    /// written); otherwise throws `jetStream` with err_code 10071 (wrong last sequence).
    @discardableResult
    public func update(_ key: String, _ value: ByteBuffer, revision: Int) async throws -> Int {
        try await jetStream.publish(value, to: subject(key), expectedLastSubjectSequence: revision).seq
    }

    /// The key's last value, or nil when it was never written or was deleted.
    public func get(_ key: String) async throws -> Entry? {
        struct Request: Encodable { var last_by_subj: String }
        struct Reply: Decodable {
            struct Message: Decodable { var subject: String; var seq: Int; var hdrs: String?; var data: String? }
            var message: Message
        }
        let reply: Reply
        do {
            reply = try await jetStream.api("STREAM.MSG.GET.KV_\(bucket)", body: Request(last_by_subj: try subject(key)), as: Reply.self)
        } catch NATSError.jetStream(_, 404, _, _) {
            return nil
        }
        if let hdrs = reply.message.hdrs, let data = Data(base64Encoded: hdrs),
           let headers = NATSHeaders.parse(Substring(String(decoding: data, as: UTF8.self))),
           let op = headers["KV-Operation"], op == "DEL" || op == "PURGE" {
            return nil
        }
        let value = reply.message.data.flatMap { Data(base64Encoded: $0) } ?? Data()
        return Entry(key: key, value: ByteBuffer(bytes: value), revision: reply.message.seq)
    }

    /// Deletes the key (a delete marker; `get` says nil after it).
    public func delete(_ key: String) async throws {
        _ = try await jetStream.publish(ByteBuffer(), to: subject(key), headers: NATSHeaders(fields: [("KV-Operation", "DEL")]))
    }
}
