import Foundation

/// Decodes `Decodable` types from JSON text in one pass: `JSONParser` builds
/// the tree (with the nesting bound), then this decoder reads typed values
/// off it. A `JSONValue` field is taken from the tree as it is, never decoded
/// by trying each type in turn (which costs about depth^2.6 with Foundation's
/// `JSONDecoder`). Errors are `DecodingError`s with the coding path, as
/// Foundation's are. Dates are milliseconds since 1970 (the runner protocol's).
public struct JSONValueDecoder: Sendable {
    public var nesting: JSONNesting

    public init(nesting: JSONNesting = .standard) { self.nesting = nesting }

    public func decode<T: Decodable>(_ type: T.Type, from data: some ContiguousBytes) throws -> T {
        try decode(type, from: try JSONParser.parse(data, nesting: nesting))
    }

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try TreeDecoder(value: value, codingPath: []).decodeValue(T.self)
    }
}

/// A decoder positioned at one value of the tree.
struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw mismatch([String: Any].self, codingPath) }
        return KeyedDecodingContainer(Keyed<Key>(object: o, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch([Any].self, codingPath) }
        return Unkeyed(array: a, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    func mismatch(_ type: Any.Type, _ path: [any CodingKey]) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path, debugDescription: "Expected \(type) but found \(value.typeName) instead."))
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        if T.self == Date.self {
            let ms: Double = try Single(decoder: self).decode(Double.self)
            return Date(timeIntervalSince1970: ms / 1000) as! T
        }
        return try T(from: self)
    }

    func child(_ value: JSONValue, _ key: any CodingKey) -> TreeDecoder { TreeDecoder(value: value, codingPath: codingPath + [key]) }

    struct Single: SingleValueDecodingContainer {
        let decoder: TreeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool { decoder.value == .null }

        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let b) = decoder.value else { throw problem(type) }
            return b
        }

        func decode(_ type: String.Type) throws -> String {
            guard case .string(let s) = decoder.value else { throw problem(type) }
            return s
        }

        func decode(_ type: Double.Type) throws -> Double {
            switch decoder.value {
            case .int(let i): return Double(i)
            case .double(let d): return d
            default: throw problem(type)
            }
        }

        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

        func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type) }

        func decodeInteger<I: FixedWidthInteger & Decodable>(_ type: I.Type) throws -> I {
            switch decoder.value {
            case .int(let i):
                guard let v = I(exactly: i) else { throw corrupted("the number \(i) does not fit \(I.self)") }
                return v
            case .double(let d):
                guard let v = I(exactly: d) else { throw corrupted("the number \(d) is not a whole \(I.self)") }
                return v
            default: throw problem(type)
            }
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }

        func problem(_ type: Any.Type) -> DecodingError {
            if decoder.value == .null {
                return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "Expected \(type) but found null instead."))
            }
            return decoder.mismatch(type, codingPath)
        }

        func corrupted(_ text: String) -> DecodingError { .dataCorrupted(.init(codingPath: codingPath, debugDescription: text)) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: [String: JSONValue]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

        func at(_ key: Key) throws -> TreeDecoder {
            guard let v = object[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value for key \"\(key.stringValue)\"."))
            }
            return TreeDecoder(value: v, codingPath: codingPath + [key])
        }

        func decodeNil(forKey key: Key) throws -> Bool { try at(key).value == .null }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Single(decoder: at(key)).decode(type) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try Single(decoder: at(key)).decode(type) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Single(decoder: at(key)).decode(type) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try Single(decoder: at(key)).decode(type) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try Single(decoder: at(key)).decodeInteger(type) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try at(key).decodeValue(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try at(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try at(key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder { TreeDecoder(value: .object(object), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { try at(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let array: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { array.count }
        var isAtEnd: Bool { currentIndex >= array.count }

        init(array: [JSONValue], codingPath: [any CodingKey]) { self.array = array; self.codingPath = codingPath }

        mutating func next() throws -> TreeDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "Unkeyed container is at end."))
            }
            defer { currentIndex += 1 }
            return TreeDecoder(value: array[currentIndex], codingPath: codingPath + [IndexKey(intValue: currentIndex)])
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, array[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    struct IndexKey: CodingKey {
        var stringValue: String { "\(intValue!)" }
        var intValue: Int?
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { return nil }
    }
}
