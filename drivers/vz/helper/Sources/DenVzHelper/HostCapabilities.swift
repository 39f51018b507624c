// What this Mac offers beyond the basics: reported in `hello`, checked again by `create`.
import Foundation
import Virtualization

enum HostCapabilities {
    static var macosVersion: String {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return "\(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
    }

    /** "installed", "notInstalled" or "unsupported" (an Intel Mac, or a macOS without Rosetta for Linux). */
    static var rosetta: String {
        #if arch(arm64)
        switch VZLinuxRosettaDirectoryShare.availability {
        case .installed: return "installed"
        case .notInstalled: return "notInstalled"
        case .notSupported: return "unsupported"
        @unknown default: return "unsupported"
        }
        #else
        return "unsupported"
        #endif
    }

    /** macOS 15 on an M3 or later. */
    static var nestedVirtualization: Bool {
        if #available(macOS 15, *) {
            return VZGenericPlatformConfiguration.isNestedVirtualizationSupported
        }
        return false
    }

    static var current: Capabilities {
        Capabilities(rosetta: rosetta, nestedVirtualization: nestedVirtualization)
    }
}
