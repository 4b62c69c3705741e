// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "pathflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pathflow", targets: ["pathflow"]),
        .executable(name: "flowgen", targets: ["flowgen"]),
        .library(name: "FlowWire", targets: ["FlowWire"]),
        .library(name: "FlowWireFuzzing", targets: ["FlowWireFuzzing"]),
        .library(name: "Aggregation", targets: ["Aggregation"]),
        .library(name: "Enrichment", targets: ["Enrichment"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "PathflowConfig", targets: ["PathflowConfig"]),
        .library(name: "NetCore", targets: ["NetCore"]),
        .library(name: "BGPWire", targets: ["BGPWire"]),
        .library(name: "RIB", targets: ["RIB"]),
        .library(name: "BGPWireFuzzing", targets: ["BGPWireFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .target(name: "NetCore", swiftSettings: strict),
        .target(
            name: "FlowWire",
            dependencies: ["NetCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .target(name: "PathflowConfig", dependencies: ["NetCore"], swiftSettings: strict),
        // The fuzz target's input format and invariants, shared by Fuzz/ and the regression tests.
        .target(name: "FlowWireFuzzing", dependencies: ["FlowWire", "NetCore"], swiftSettings: strict),
        .target(
            name: "BGPWire",
            dependencies: ["NetCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        // The BGP fuzz target's input format and invariants, shared by Fuzz/ and the regression tests.
        .target(
            name: "BGPWireFuzzing",
            dependencies: ["BGPWire", "NetCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        // The captured BGP sessions and their independent decoding, read by the BGP test targets.
        .target(
            name: "BGPFixtures",
            dependencies: ["BGPWire", "NetCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .target(name: "RIB", dependencies: ["NetCore", "BGPWire"], swiftSettings: strict),
        .target(
            name: "BGPSpeaker",
            dependencies: [
                "NetCore", "BGPWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // A prefetch hint for the aggregation tables (__builtin_prefetch has no Swift spelling).
        .target(name: "CPrefetch"),
        .target(name: "Aggregation", dependencies: ["NetCore", "FlowWire", "CPrefetch"], swiftSettings: strict),
        .target(
            name: "Enrichment", dependencies: ["NetCore", "FlowWire", "Aggregation", "BGPWire", "RIB"], swiftSettings: strict),
        .target(
            name: "Storage",
            dependencies: [
                "NetCore", "Aggregation",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "Reports",
            dependencies: [
                "Storage", "NetCore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        // libpcap, from Debian's libpcap-dev.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "Probe", dependencies: ["CPcap", "FlowWire", "NetCore", "PathflowConfig"], swiftSettings: strict),
        .target(
            name: "FlowCollector",
            dependencies: [
                "FlowWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .target(
            name: "Daemon",
            dependencies: [
                "NetCore", "FlowWire", "FlowCollector", "Aggregation", "Storage", "PathflowConfig",
                "BGPWire", "RIB", "BGPSpeaker", "Enrichment", "Probe", "Console",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        // `pathflow serve`: the console's JSON API and pages over the stored views.
        .target(
            name: "Console",
            dependencies: [
                "Reports", "PathflowConfig", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            resources: [.embedInCode("Assets/console.html"), .embedInCode("Assets/console.js"), .embedInCode("Assets/console.css")],
            swiftSettings: strict),
        .executableTarget(
            name: "pathflow",
            dependencies: [
                "Daemon", "PathflowConfig", "Reports", "Storage", "Probe", "NetCore", "Console",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "flowgen",
            dependencies: [
                "NetCore", "FlowWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/flowgen",
            swiftSettings: strict),
        // What the test targets share: servers they start for themselves (clickhouse-server), a
        // reader for captures of real exporters, and databases that reports read.
        .target(name: "TestServers", dependencies: ["Storage", "Aggregation", "NetCore"], path: "Tests/TestServers", swiftSettings: strict),
        .testTarget(name: "NetCoreTests", dependencies: ["NetCore"], swiftSettings: strict),
        .testTarget(
            name: "BGPWireTests",
            dependencies: ["BGPWire", "BGPWireFuzzing", "BGPFixtures", "NetCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "Daemon", "PathflowConfig", "FlowWire", "FlowCollector", "NetCore", "BGPWire", "BGPSpeaker", "RIB", "Storage",
                "TestServers", "Console", "Reports",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .testTarget(name: "FlowWireTests", dependencies: ["FlowWire", "FlowWireFuzzing", "NetCore", "TestServers"], swiftSettings: strict),
        .testTarget(
            name: "RIBTests",
            dependencies: ["RIB", "BGPWire", "BGPFixtures", "NetCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .testTarget(
            name: "BGPSpeakerTests",
            dependencies: [
                "BGPSpeaker", "BGPWire", "BGPFixtures", "NetCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "EnrichmentTests",
            dependencies: ["Enrichment", "Aggregation", "FlowWire", "RIB", "BGPWire", "NetCore"],
            swiftSettings: strict),
        .testTarget(
            name: "ReportsTests",
            dependencies: [
                "Reports", "Console", "Storage", "Aggregation", "NetCore", "FlowWire", "TestServers", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "ConsoleTests",
            dependencies: [
                "Console", "Reports", "Storage", "Aggregation", "NetCore", "TestServers",
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "ProbeTests",
            dependencies: ["Probe", "PathflowConfig", "FlowWire", "NetCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .testTarget(name: "PathflowConfigTests", dependencies: ["PathflowConfig"], swiftSettings: strict),
        .testTarget(name: "AggregationTests", dependencies: ["Aggregation", "FlowWire", "NetCore"], swiftSettings: strict),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "Aggregation", "FlowWire", "NetCore", "TestServers", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
    ]
)
