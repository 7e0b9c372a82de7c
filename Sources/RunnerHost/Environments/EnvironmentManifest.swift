import FlowModel
import Foundation
import RunnerProtocol

/// `environment.json` of one environment: what it was built from and with.
struct EnvironmentManifest: Codable, Sendable, Equatable {
    var id: EnvironmentID
    var runtime: RuntimeKind
    var dependencies: [String]
    /// The interpreter it was built for (`python3` executable and version, or node's version):
    /// a venv made for another Python is broken.
    var interpreter: String
    var installer: String
    var created: Date
    var buildSeconds: Double
}
