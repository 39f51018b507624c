// VmConfig → VZVirtualMachineConfiguration. Every problem with the config or the files it names is an
// INVALID_CONFIG error (UNSUPPORTED for a feature this Mac lacks), raised before anything runs.
import Foundation
import Virtualization

enum MachineConfiguration {
    static func build(_ config: VmConfig) throws -> VZVirtualMachineConfiguration {
        let vm = VZVirtualMachineConfiguration()
        vm.cpuCount = config.cpus
        vm.memorySize = config.memoryBytes
        vm.bootLoader = try bootLoader(config.boot)
        vm.platform = try platform(config)
        vm.storageDevices = try config.disks.map { disk -> VZStorageDeviceConfiguration in
            let attachment = try invalid("Cannot use the disk \"\(disk.path)\"") {
                try VZDiskImageStorageDeviceAttachment(url: URL(fileURLWithPath: disk.path), readOnly: disk.readOnly)
            }
            return VZVirtioBlockDeviceConfiguration(attachment: attachment)
        }
        vm.networkDevices = try config.networks.map { network -> VZNetworkDeviceConfiguration in
            guard network.kind == "nat" else { throw HelperError(code: .invalidConfig, message: "Cannot attach a network of kind \"\(network.kind)\": only nat is supported") }
            guard let mac = VZMACAddress(string: network.macAddress) else {
                throw HelperError(code: .invalidConfig, message: "Cannot parse the MAC address \"\(network.macAddress)\"")
            }
            let device = VZVirtioNetworkDeviceConfiguration()
            device.attachment = VZNATNetworkDeviceAttachment()
            device.macAddress = mac
            return device
        }
        var shares: [VZDirectorySharingDeviceConfiguration] = try config.shares.map { share -> VZDirectorySharingDeviceConfiguration in
            try invalid("Cannot share \"\(share.hostPath)\" as \"\(share.tag)\"") {
                try VZVirtioFileSystemDeviceConfiguration.validateTag(share.tag)
            }
            let device = VZVirtioFileSystemDeviceConfiguration(tag: share.tag)
            device.share = VZSingleDirectoryShare(directory: VZSharedDirectory(url: URL(fileURLWithPath: share.hostPath), readOnly: share.readOnly))
            return device
        }
        if let rosetta = config.rosetta { shares.append(try rosettaShare(tag: rosetta.tag)) }
        vm.directorySharingDevices = shares
        vm.socketDevices = [VZVirtioSocketDeviceConfiguration()]
        vm.serialPorts = [try serialPort(logPath: config.serialLogPath)]
        vm.entropyDevices = [VZVirtioEntropyDeviceConfiguration()]
        if config.balloon { vm.memoryBalloonDevices = [VZVirtioTraditionalMemoryBalloonDeviceConfiguration()] }
        try invalid("The VM configuration is not valid") { try vm.validate() }
        return vm
    }

    private static func bootLoader(_ boot: VmConfig.Boot) throws -> VZBootLoader {
        switch boot {
        case let .efi(variableStorePath):
            let loader = VZEFIBootLoader()
            let url = URL(fileURLWithPath: variableStorePath)
            loader.variableStore = try invalid("Cannot open the EFI variable store \"\(variableStorePath)\"") {
                if FileManager.default.fileExists(atPath: variableStorePath) { return VZEFIVariableStore(url: url) }
                return try VZEFIVariableStore(creatingVariableStoreAt: url, options: [])
            }
            return loader
        case let .linux(kernelPath, initrdPath, commandLine):
            let loader = VZLinuxBootLoader(kernelURL: URL(fileURLWithPath: kernelPath))
            if let initrdPath { loader.initialRamdiskURL = URL(fileURLWithPath: initrdPath) }
            loader.commandLine = commandLine
            return loader
        }
    }

    /** The generic platform with the machine identifier kept in machineIdentifierPath, made on first use. */
    private static func platform(_ config: VmConfig) throws -> VZGenericPlatformConfiguration {
        let platform = VZGenericPlatformConfiguration()
        let path = config.machineIdentifierPath
        if let data = FileManager.default.contents(atPath: path) {
            guard let identifier = VZGenericMachineIdentifier(dataRepresentation: data) else {
                throw HelperError(code: .invalidConfig, message: "Cannot read the machine identifier \"\(path)\": it is damaged")
            }
            platform.machineIdentifier = identifier
        } else {
            let identifier = VZGenericMachineIdentifier()
            try invalid("Cannot write the machine identifier \"\(path)\"") {
                try identifier.dataRepresentation.write(to: URL(fileURLWithPath: path), options: .atomic)
            }
            platform.machineIdentifier = identifier
        }
        if config.nestedVirtualization {
            guard #available(macOS 15, *), VZGenericPlatformConfiguration.isNestedVirtualizationSupported else {
                throw HelperError(code: .unsupported, message: "Cannot enable nested virtualization: it needs macOS 15 on an M3 or later")
            }
            platform.isNestedVirtualizationEnabled = true
        }
        return platform
    }

    private static func rosettaShare(tag: String) throws -> VZDirectorySharingDeviceConfiguration {
        #if arch(arm64)
        guard HostCapabilities.rosetta == "installed" else {
            let hint = HostCapabilities.rosetta == "notInstalled" ? "Rosetta is not installed (softwareupdate --install-rosetta)" : "this Mac has no Rosetta for Linux"
            throw HelperError(code: .unsupported, message: "Cannot share Rosetta with the guest: \(hint)")
        }
        let device = VZVirtioFileSystemDeviceConfiguration(tag: tag)
        device.share = try invalid("Cannot share Rosetta with the guest") { try VZLinuxRosettaDirectoryShare() }
        return device
        #else
        throw HelperError(code: .unsupported, message: "Cannot share Rosetta with the guest: Rosetta for Linux needs Apple silicon")
        #endif
    }

    /** virtio console → the serial log, appended to across boots; the guest gets no console input. */
    private static func serialPort(logPath: String) throws -> VZSerialPortConfiguration {
        if !FileManager.default.fileExists(atPath: logPath) {
            FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let handle = try invalid("Cannot open the serial log \"\(logPath)\"") {
            try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        }
        handle.seekToEndOfFile()
        let port = VZVirtioConsoleDeviceSerialPortConfiguration()
        port.attachment = VZFileHandleSerialPortAttachment(fileHandleForReading: nil, fileHandleForWriting: handle)
        return port
    }

    /** Runs `body`, turning any error it throws into INVALID_CONFIG with `what` and the framework's reason. */
    private static func invalid<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as HelperError {
            throw error
        } catch {
            throw HelperError(code: .invalidConfig, message: "\(what): \(error.localizedDescription)")
        }
    }
}
