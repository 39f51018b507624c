// The control protocol's messages (PROTOCOL.md, version 1) as Codable types. drivers/vz/helper-protocol.ts is the
// TypeScript statement of the same wire format; field names here must match it exactly.
import Foundation

let protocolVersion = 1
let helperVersion = "1.0.0"
/** The longest line either side may send, newline excluded. */
let maxLineBytes = 1024 * 1024

enum ErrorCode: String, Encodable {
    case unsupportedProtocol = "UNSUPPORTED_PROTOCOL"
    case badRequest = "BAD_REQUEST"
    case invalidConfig = "INVALID_CONFIG"
    case badState = "BAD_STATE"
    case vzError = "VZ_ERROR"
    case unsupported = "UNSUPPORTED"
    case internalError = "INTERNAL"
}

/** An error answered to a request: its code and a message in den's wording. */
struct HelperError: Error {
    let code: ErrorCode
    let message: String
}

struct RequestHeader: Decodable {
    let id: Int
    let method: String
}

/** Decodes only `params` of a request line, once the method says what they are. */
struct RequestParams<P: Decodable>: Decodable {
    let params: P
}

struct HelloParams: Decodable {
    let protocolVersion: Int
}

struct CreateParams: Decodable {
    let config: VmConfig
}

struct StopParams: Decodable {
    let graceful: Bool
    let timeoutMs: Int
}

struct NoParams: Decodable {}

struct VmConfig: Decodable {
    enum Boot: Decodable {
        case efi(variableStorePath: String)
        case linux(kernelPath: String, initrdPath: String?, commandLine: String)

        private enum Keys: String, CodingKey { case kind, variableStorePath, kernelPath, initrdPath, commandLine }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            switch try c.decode(String.self, forKey: .kind) {
            case "efi":
                self = .efi(variableStorePath: try c.decode(String.self, forKey: .variableStorePath))
            case "linux":
                self = .linux(
                    kernelPath: try c.decode(String.self, forKey: .kernelPath),
                    initrdPath: try c.decodeIfPresent(String.self, forKey: .initrdPath),
                    commandLine: try c.decode(String.self, forKey: .commandLine))
            case let other:
                throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown boot kind \"\(other)\"")
            }
        }
    }

    struct Disk: Decodable { let path: String; let readOnly: Bool }
    struct Network: Decodable { let kind: String; let macAddress: String }
    struct Share: Decodable { let tag: String; let hostPath: String; let readOnly: Bool }
    struct Rosetta: Decodable { let tag: String }
    struct UnixForward: Decodable { let path: String; let guestPort: UInt32 }
    struct TcpForward: Decodable { let hostIP: String; let hostPort: UInt16; let guestPort: UInt32 }
    struct VsockForwards: Decodable { let unix: [UnixForward]; let tcp: [TcpForward] }

    let cpus: Int
    let memoryBytes: UInt64
    let boot: Boot
    let machineIdentifierPath: String
    let disks: [Disk]
    let networks: [Network]
    let shares: [Share]
    let rosetta: Rosetta?
    let vsockForwards: VsockForwards
    let serialLogPath: String
    let balloon: Bool
    let nestedVirtualization: Bool
}

struct Capabilities: Encodable {
    let rosetta: String
    let nestedVirtualization: Bool
}

struct HelloResult: Encodable {
    let protocolVersion: Int
    let helperVersion: String
    let macosVersion: String
    let capabilities: Capabilities
}

struct EmptyResult: Encodable {}

struct StopResult: Encodable { let forced: Bool }

struct StateResult: Encodable { let state: String }

struct Response<R: Encodable>: Encodable {
    let id: Int
    let result: R
}

struct ErrorResponse: Encodable {
    struct Body: Encodable { let code: ErrorCode; let message: String }
    let id: Int
    let error: Body
}

struct StateEvent: Encodable {
    let event = "state"
    let state: String
    let reason: String?
}

struct ErrorEvent: Encodable {
    let event = "error"
    let code: ErrorCode
    let message: String
}
