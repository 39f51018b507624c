// The control channel: JSON lines on stdin (requests) and stdout (answers and events), each at most 1 MiB. stderr
// is a free-form log the host agent keeps in vz-helper.stderr.log.
import Foundation

final class ControlChannel {
    private let writeLock = NSLock()
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /** Writes one message as one line; messages from any thread never interleave. */
    func send<T: Encodable>(_ message: T) {
        guard var data = try? encoder.encode(message) else {
            log("cannot encode a message of type \(T.self)")
            return
        }
        data.append(0x0A)
        writeLock.lock()
        defer { writeLock.unlock() }
        FileHandle.standardOutput.write(data)
    }

    func answer<R: Encodable>(_ id: Int, _ result: R) {
        send(Response(id: id, result: result))
    }

    func fail(_ id: Int, _ error: HelperError) {
        send(ErrorResponse(id: id, error: .init(code: error.code, message: error.message)))
    }

    /**
     * Reads stdin on the calling thread until EOF, handing each complete line to `onLine`. A line over the cap is
     * dropped whole (up to its newline) and reported through `onOversized`.
     */
    func readLines(onLine: (Data) -> Void, onOversized: () -> Void) {
        var pending = Data()
        var discarding = false
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = read(STDIN_FILENO, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            var chunk = buffer[0..<count][...]
            while let newline = chunk.firstIndex(of: 0x0A) {
                if discarding {
                    discarding = false
                } else {
                    pending.append(contentsOf: chunk[chunk.startIndex..<newline])
                    if pending.count > maxLineBytes { onOversized() } else { onLine(pending) }
                }
                pending.removeAll(keepingCapacity: true)
                chunk = chunk[(newline + 1)...]
            }
            if !discarding {
                pending.append(contentsOf: chunk)
                if pending.count > maxLineBytes {
                    onOversized()
                    pending.removeAll()
                    discarding = true
                }
            }
        }
    }
}

func log(_ line: String) {
    FileHandle.standardError.write(Data("den-vz-helper: \(line)\n".utf8))
}
