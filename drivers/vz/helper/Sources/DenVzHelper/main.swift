// den-vz-helper: runs one Linux VM with Virtualization.framework for den's host agent.
//   den-vz-helper --version   prints "den-vz-helper <version> protocol <N>"
//   den-vz-helper serve       speaks the control protocol (PROTOCOL.md) on stdin/stdout until stdin ends
// EOF on stdin means the host agent is gone: the VM is stopped hard and the helper exits 0, so no VM outlives it.
import Foundation
import Virtualization

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "--version", "version":
    print("den-vz-helper \(helperVersion) protocol \(protocolVersion)")
    exit(0)
case "serve" where arguments.count == 1:
    break
// den writes vz.pid itself; it passes the path only so that its PID check finds "-pidfile <path>" on this command line.
case "serve" where arguments.count == 3 && arguments[1] == "-pidfile":
    break
default:
    FileHandle.standardError.write(Data("usage: den-vz-helper serve [-pidfile PATH] | --version\n".utf8))
    exit(2)
}

// A host connection that goes away mid-write must fail that write, not kill the helper.
signal(SIGPIPE, SIG_IGN)

let channel = ControlChannel()
let machine = Machine(channel: channel)
let decoder = JSONDecoder()
var helloDone = false

/** Handles one request line; runs on the machine's queue. */
func handle(_ line: Data) {
    guard let header = try? decoder.decode(RequestHeader.self, from: line) else {
        log("BAD_REQUEST: dropped a line that is not a request: \(String(decoding: line.prefix(200), as: UTF8.self))")
        return
    }
    let id = header.id
    func params<P: Decodable>(_ type: P.Type) -> P? {
        do {
            return try decoder.decode(RequestParams<P>.self, from: line).params
        } catch {
            channel.fail(id, HelperError(code: .badRequest, message: "Cannot read the params of \"\(header.method)\": \(error)"))
            return nil
        }
    }
    func reply<R: Encodable>(_ result: Result<R, HelperError>) {
        switch result {
        case let .success(value): channel.answer(id, value)
        case let .failure(error): channel.fail(id, error)
        }
    }
    if header.method != "hello" && !helloDone {
        return channel.fail(id, HelperError(code: .badRequest, message: "Cannot run \"\(header.method)\": hello must come first"))
    }
    switch header.method {
    case "hello":
        guard let p = params(HelloParams.self) else { return }
        guard p.protocolVersion == protocolVersion else {
            return channel.fail(id, HelperError(code: .unsupportedProtocol, message: "Cannot speak protocol \(p.protocolVersion): this helper speaks \(protocolVersion)"))
        }
        helloDone = true
        channel.answer(id, HelloResult(protocolVersion: protocolVersion, helperVersion: helperVersion, macosVersion: HostCapabilities.macosVersion, capabilities: HostCapabilities.current))
    case "create":
        guard let p = params(CreateParams.self) else { return }
        do {
            try machine.create(p.config)
            channel.answer(id, EmptyResult())
        } catch let error as HelperError {
            channel.fail(id, error)
        } catch {
            channel.fail(id, HelperError(code: .internalError, message: "\(error)"))
        }
    case "start":
        guard params(NoParams.self) != nil else { return }
        machine.start { reply($0.map { EmptyResult() }) }
    case "stop":
        guard let p = params(StopParams.self) else { return }
        machine.stop(graceful: p.graceful, timeoutMs: p.timeoutMs) { reply($0.map { StopResult(forced: $0) }) }
    case "pause":
        guard params(NoParams.self) != nil else { return }
        machine.pause { reply($0.map { EmptyResult() }) }
    case "resume":
        guard params(NoParams.self) != nil else { return }
        machine.resume { reply($0.map { EmptyResult() }) }
    case "state":
        guard params(NoParams.self) != nil else { return }
        channel.answer(id, StateResult(state: machine.state))
    default:
        channel.fail(id, HelperError(code: .badRequest, message: "Unknown method \"\(header.method)\""))
    }
}

Thread.detachNewThread {
    channel.readLines(
        onLine: { line in machine.queue.async { handle(line) } },
        onOversized: { log("BAD_REQUEST: dropped a line over \(maxLineBytes) bytes") })
    // EOF: the host agent is gone.
    machine.queue.async {
        machine.hardStop { result in
            if case let .failure(error) = result { log(error.message) }
            exit(0)
        }
    }
    // A VM that does not stop in time must not keep the helper (and so the VM) alive.
    machine.queue.asyncAfter(deadline: .now() + .seconds(10)) {
        log("the VM did not stop within 10 s of stdin closing: exiting")
        exit(0)
    }
}

dispatchMain()
