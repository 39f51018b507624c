// The one VM of this helper. Every touch of VZVirtualMachine happens on `queue`, the queue the machine was made
// with, as Virtualization.framework requires; requests arrive there too, so no other locking is needed.
import Foundation
import Virtualization

final class Machine: NSObject, VZVirtualMachineDelegate {
    let queue = DispatchQueue(label: "den-vz-helper.vm")
    private let channel: ControlChannel
    private var vm: VZVirtualMachine?
    private var config: VmConfig?
    private var stateObservation: NSKeyValueObservation?
    private var lastState = "stopped"
    private var forwarder: VsockForwarder?
    /** Called with the state on every change until they return true: graceful stops wait on them. */
    private var stateWaiters: [(String) -> Bool] = []

    init(channel: ControlChannel) {
        self.channel = channel
    }

    var state: String { lastState }

    func create(_ config: VmConfig) throws {
        if let vm, vm.state != .stopped, vm.state != .error {
            throw HelperError(code: .badState, message: "Cannot create the VM: it is \(lastState)")
        }
        let configuration = try MachineConfiguration.build(config)
        let machine = VZVirtualMachine(configuration: configuration, queue: queue)
        machine.delegate = self
        stateObservation = machine.observe(\.state, options: [.new]) { [weak self] machine, _ in
            // KVO reports on the queue that changed the state: the machine's own.
            self?.stateChanged(machine.state)
        }
        vm = machine
        self.config = config
        forwarder?.close()
        forwarder = nil
        lastState = "stopped"
    }

    func start(_ done: @escaping (Result<Void, HelperError>) -> Void) {
        guard let vm, let config else { return done(.failure(HelperError(code: .badState, message: "Cannot start the VM: create it first"))) }
        guard vm.canStart else { return done(.failure(HelperError(code: .badState, message: "Cannot start the VM: it is \(lastState)"))) }
        if forwarder == nil {
            do {
                forwarder = try VsockForwarder(forwards: config.vsockForwards, machine: self)
            } catch let error as HelperError {
                return done(.failure(error))
            } catch {
                return done(.failure(HelperError(code: .internalError, message: "\(error)")))
            }
        }
        vm.start { result in
            done(result.mapError { HelperError(code: .vzError, message: "Cannot start the VM: \($0.localizedDescription)") })
        }
    }

    func stop(graceful: Bool, timeoutMs: Int, _ done: @escaping (Result<Bool, HelperError>) -> Void) {
        guard let vm, vm.state != .stopped, vm.state != .error else { return done(.success(false)) }
        guard graceful, vm.canRequestStop, (try? vm.requestStop()) != nil else {
            return hardStop { done($0.map { true }) }
        }
        var finished = false
        let finish: (Result<Bool, HelperError>) -> Void = { result in
            guard !finished else { return }
            finished = true
            done(result)
        }
        stateWaiters.append { state in
            guard state == "stopped" || state == "error" else { return finished }
            finish(.success(false))
            return true
        }
        queue.asyncAfter(deadline: .now() + .milliseconds(timeoutMs)) { [weak self] in
            guard !finished, let self else { return }
            log("the guest did not stop within \(timeoutMs) ms: stopping it hard")
            self.hardStop { finish($0.map { true }) }
        }
    }

    func hardStop(_ done: @escaping (Result<Void, HelperError>) -> Void) {
        guard let vm, vm.state != .stopped, vm.state != .error else { return done(.success(())) }
        guard vm.canStop else { return done(.failure(HelperError(code: .badState, message: "Cannot stop the VM: it is \(lastState)"))) }
        vm.stop { error in
            if let error {
                done(.failure(HelperError(code: .vzError, message: "Cannot stop the VM: \(error.localizedDescription)")))
            } else {
                done(.success(()))
            }
        }
    }

    func pause(_ done: @escaping (Result<Void, HelperError>) -> Void) {
        guard let vm, vm.canPause else { return done(.failure(HelperError(code: .badState, message: "Cannot pause the VM: it is \(lastState)"))) }
        vm.pause { done($0.mapError { HelperError(code: .vzError, message: "Cannot pause the VM: \($0.localizedDescription)") }) }
    }

    func resume(_ done: @escaping (Result<Void, HelperError>) -> Void) {
        guard let vm, vm.canResume else { return done(.failure(HelperError(code: .badState, message: "Cannot resume the VM: it is \(lastState)"))) }
        vm.resume { done($0.mapError { HelperError(code: .vzError, message: "Cannot resume the VM: \($0.localizedDescription)") }) }
    }

    /** Opens a connection to the guest's vsock `port`; on `queue`. */
    func connectVsock(port: UInt32, _ done: @escaping (Result<VZVirtioSocketConnection, Error>) -> Void) {
        guard let vm, vm.state == .running, let device = vm.socketDevices.first as? VZVirtioSocketDevice else {
            return done(.failure(HelperError(code: .badState, message: "the VM is \(lastState)")))
        }
        device.connect(toPort: port, completionHandler: done)
    }

    // MARK: VZVirtualMachineDelegate (called on `queue`)

    func guestDidStop(_ virtualMachine: VZVirtualMachine) {
        emitState("stopped", reason: "the guest shut down")
    }

    func virtualMachine(_ virtualMachine: VZVirtualMachine, didStopWithError error: Error) {
        channel.send(ErrorEvent(code: .vzError, message: "The VM stopped with an error: \(error.localizedDescription)"))
        emitState("error", reason: error.localizedDescription)
    }

    func virtualMachine(_ virtualMachine: VZVirtualMachine, networkDevice: VZNetworkDevice, attachmentWasDisconnectedWithError error: Error) {
        log("network device disconnected: \(error.localizedDescription)")
    }

    // MARK: state

    private func stateChanged(_ state: VZVirtualMachine.State) {
        guard let name = Machine.protocolState(state) else { return }
        emitState(name, reason: nil)
    }

    private func emitState(_ name: String, reason: String?) {
        guard name != lastState else { return }
        lastState = name
        channel.send(StateEvent(state: name, reason: reason))
        stateWaiters.removeAll { waiter in waiter(name) }
    }

    /** The protocol's states; pausing and resuming report the state they leave. Saving and restoring (macOS 14)
     *  never happen here: the helper does not save VMs. */
    static func protocolState(_ state: VZVirtualMachine.State) -> String? {
        switch state {
        case .stopped: return "stopped"
        case .starting: return "starting"
        case .running, .pausing: return "running"
        case .paused, .resuming: return "paused"
        case .stopping: return "stopping"
        case .error: return "error"
        @unknown default: return nil
        }
    }
}
