// swift-tools-version:6.1
// libFuzzer targets, in their own package so the main build and tests stay free of sanitizer
// flags. FlowWire's decoder: tools/fuzz-flowwire. BGPWire's UPDATE codec: tools/fuzz-bgpwire.
import PackageDescription

let package = Package(
    name: "pathflow-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "pathflow", path: ".."),
    ],
    targets: [
        // Entry point shim: libFuzzer's driver behind the symbol SwiftPM links as main.
        .target(name: "FlowWireFuzzEntry"),
        .executableTarget(
            name: "FlowWireFuzz",
            dependencies: [
                "FlowWireFuzzEntry",
                .product(name: "FlowWireFuzzing", package: "pathflow"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(name: "BGPWireFuzzEntry"),
        .executableTarget(
            name: "BGPWireFuzz",
            dependencies: [
                "BGPWireFuzzEntry",
                .product(name: "BGPWireFuzzing", package: "pathflow"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
