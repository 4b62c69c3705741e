// swift-tools-version:6.1
// A libFuzzer target for FlowWire's decoder, in its own package so the main build and tests
// stay free of sanitizer flags. Build and run: tools/fuzz-flowwire
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
    ]
)
