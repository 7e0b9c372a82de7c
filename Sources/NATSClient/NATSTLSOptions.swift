import NIOCore
import NIOSSL

/// TLS for `tls://` URLs: which roots to trust, and a client certificate when the server asks for one.
public struct NATSTLSOptions: Sendable, Equatable {
    /// PEM file of the certificate authorities to trust (nil: the system's roots).
    public var caFile: String?
    /// PEM files of a client certificate and its key (mutual TLS).
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// The handler that runs TLS over the connection to `host` (its name is checked against the certificate).
    func makeHandler(host: String) throws -> NIOSSLClientHandler {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile { configuration.trustRoots = .file(caFile) }
        if let certificateFile, let keyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        // An address is checked against the certificate's IP entries; a name is sent as SNI and checked.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
    }
}
