// swift-tools-version:5.7
// den's VZ helper: one process per VZ instance, driven by den's host agent over a JSON-lines protocol on
// stdin/stdout (PROTOCOL.md). Built and signed by scripts/build.ts on macOS; see README.md.
import PackageDescription

let package = Package(
    name: "DenVzHelper",
    platforms: [.macOS(.v13)],
    targets: [
        .executableTarget(
            name: "den-vz-helper",
            path: "Sources/DenVzHelper",
            linkerSettings: [.linkedFramework("Virtualization")]
        ),
    ]
)
