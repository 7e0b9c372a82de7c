import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A raw TCP client for requests no ordinary client sends: a foreign `Host`,
/// a cross-origin WebSocket upgrade, half a request head.
struct RawHTTP {
    let port: Int

    init(url: String) {
        port = Int(url.split(separator: ":").last!)!
    }

    /// A connected socket with a receive timeout; the caller closes it.
    func connect(timeout: Duration = .seconds(10)) throws -> CInt {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TimedOut(description: "socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw TimedOut(description: "connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    static func send(_ fd: CInt, _ text: String) { send(fd, bytes: Array(text.utf8)) }

    static func send(_ fd: CInt, bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads until the peer closes, `enough` says the reply is complete, or the receive timeout passes.
    static func receive(_ fd: CInt, until enough: (String) -> Bool = { _ in false }) -> (text: String, closed: Bool) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (String(decoding: data, as: UTF8.self), true) }
            if n < 0 { return (String(decoding: data, as: UTF8.self), false) }
            data += buffer[0..<n]
            if enough(String(decoding: data, as: UTF8.self)) { return (String(decoding: data, as: UTF8.self), false) }
        }
    }

    /// Sends one request and returns the status code and the body (the server closes or the body is complete).
    func request(_ head: String, body: String = "") throws -> (status: Int, headers: String, body: String) {
        let fd = try connect()
        defer { close(fd) }
        Self.send(fd, head + body)
        let (text, _) = Self.receive(fd) { text in
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let headers = text[..<end.lowerBound].lowercased()
            if let line = headers.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
               let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
                return text.utf8.count - text[..<end.upperBound].utf8.count >= length
            }
            return headers.hasPrefix("http/1.1 101")
        }
        guard let end = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            throw TimedOut(description: "no HTTP response from 127.0.0.1:\(port); got \(text.prefix(200).debugDescription)")
        }
        return (status, String(text[..<end.lowerBound]), String(text[end.upperBound...]))
    }

    /// `POST /rpc` with the given extra header lines.
    func post(_ body: String, headers: [String]) throws -> (status: Int, headers: String, body: String) {
        let head = (["POST /rpc HTTP/1.1"] + headers + ["Content-Length: \(body.utf8.count)", "Connection: close", "", ""]).joined(separator: "\r\n")
        return try request(head, body: body)
    }

    /// A WebSocket upgrade of `path` with the given extra header lines.
    func upgrade(_ path: String = "/rpc", headers: [String]) throws -> (status: Int, headers: String, body: String) {
        let head = (["GET \(path) HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"] + headers + ["", ""]).joined(separator: "\r\n")
        return try request(head)
    }
}
