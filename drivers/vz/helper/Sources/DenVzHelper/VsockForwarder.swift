// The host ends of the guest's vsock services: a listener per unix path (the guest agent's socket in the instance
// folder) and per TCP address (the SSH port), each accepted connection joined to a new vsock connection to the
// guest's port, bytes copied both ways by two threads with blocking I/O (a handful of long-lived connections).
import Foundation
import Virtualization

final class VsockForwarder {
    private var listeners: [(fd: Int32, source: DispatchSourceRead)] = []

    init(forwards: VmConfig.VsockForwards, machine: Machine) throws {
        do {
            for forward in forwards.unix {
                try listen(fd: unixListener(path: forward.path), guestPort: forward.guestPort, machine: machine)
            }
            for forward in forwards.tcp {
                try listen(fd: tcpListener(host: forward.hostIP, port: forward.hostPort), guestPort: forward.guestPort, machine: machine)
            }
        } catch {
            close()
            throw error
        }
    }

    func close() {
        for listener in listeners { listener.source.cancel() }
        listeners.removeAll()
    }

    private func listen(fd: Int32, guestPort: UInt32, machine: Machine) throws {
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: machine.queue)
        source.setEventHandler {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                // BSD sockets inherit O_NONBLOCK from the listener; the copy threads want blocking I/O.
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK)
                var on: Int32 = 1
                setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
                machine.connectVsock(port: guestPort) { result in
                    switch result {
                    case let .success(connection):
                        Splice.start(client: client, connection: connection)
                    case let .failure(error):
                        log("cannot connect to guest vsock port \(guestPort): \(error.localizedDescription)")
                        Darwin.close(client)
                    }
                }
            }
        }
        source.setCancelHandler { Darwin.close(fd) }
        source.resume()
        listeners.append((fd, source))
    }

    private func unixListener(path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HelperError(code: .invalidConfig, message: "Cannot listen on \"\(path)\": the path is longer than a unix socket allows")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        address.sun_len = UInt8(MemoryLayout<sockaddr_un>.size)
        unlink(path)
        let fd = try socketOrThrow(AF_UNIX, "\"\(path)\"")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try finishListening(fd: fd, bound: bound, what: "\"\(path)\"")
        chmod(path, 0o600)
        return fd
    }

    private func tcpListener(host: String, port: UInt16) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = SOCK_STREAM
        var info: UnsafeMutablePointer<addrinfo>?
        let what = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else {
            throw HelperError(code: .invalidConfig, message: "Cannot listen on \(what): not a numeric IP address")
        }
        defer { freeaddrinfo(info) }
        let fd = try socketOrThrow(first.pointee.ai_family, what)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        try finishListening(fd: fd, bound: bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen), what: what)
        return fd
    }

    private func socketOrThrow(_ family: Int32, _ what: String) throws -> Int32 {
        let fd = socket(family, SOCK_STREAM, 0)
        guard fd >= 0 else { throw HelperError(code: .internalError, message: "Cannot listen on \(what): \(String(cString: strerror(errno)))") }
        return fd
    }

    private func finishListening(fd: Int32, bound: Int32, what: String) throws {
        guard bound == 0, Darwin.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            Darwin.close(fd)
            throw HelperError(code: .invalidConfig, message: "Cannot listen on \(what): \(reason)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
}

/** Copies bytes both ways between a host socket and a guest vsock connection until both directions ended. */
enum Splice {
    static func start(client: Int32, connection: VZVirtioSocketConnection) {
        let guest = connection.fileDescriptor
        _ = fcntl(guest, F_SETFL, fcntl(guest, F_GETFL) & ~O_NONBLOCK)
        let group = DispatchGroup()
        for (from, to) in [(client, guest), (guest, client)] {
            group.enter()
            Thread.detachNewThread {
                copy(from: from, to: to)
                group.leave()
            }
        }
        group.notify(queue: .global()) {
            Darwin.close(client)
            // The connection owns its descriptor; close() releases it (and keeps the object alive until now).
            connection.close()
        }
    }

    /** Reads until EOF or an error, then half-closes `to` so the other side sees the end too. */
    private static func copy(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        copying: while true {
            let count = read(from, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            var offset = 0
            while offset < count {
                let written = buffer[offset..<count].withUnsafeBytes { write(to, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { break copying }
                offset += written
            }
        }
        shutdown(to, SHUT_WR)
        // A peer that stopped reading gets no more: the reading half of `from` ends too.
        shutdown(from, SHUT_RD)
    }
}
