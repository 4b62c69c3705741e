// swift-tools-version:6.1
// Benchmarks live in their own package so the collector's build and tests stay lean.
// Run: swift package --package-path Benchmarks benchmark
import PackageDescription

let package = Package(
    name: "pathflow-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "pathflow", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "IngestStream",
            dependencies: [
                .product(name: "FlowWire", package: "pathflow"),
                .product(name: "NetCore", package: "pathflow"),
            ],
            path: "Sources/IngestStream",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // A plain loop over the same work, for perf and callgrind.
        .executableTarget(
            name: "IngestProfile",
            dependencies: [
                "IngestStream",
                .product(name: "FlowWire", package: "pathflow"),
                .product(name: "Aggregation", package: "pathflow"),
                .product(name: "NetCore", package: "pathflow"),
            ],
            path: "Sources/IngestProfile",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FlowIngest",
            dependencies: [
                "IngestStream",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FlowWire", package: "pathflow"),
                .product(name: "Aggregation", package: "pathflow"),
                .product(name: "NetCore", package: "pathflow"),
            ],
            path: "Benchmarks/FlowIngest",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // RIB ingest, memory and lookups on a generated full-size table (see RIBTable.swift), and
        // flows enriched from it (decode, router selection, lookup, next-hop match, aggregation).
        .executableTarget(
            name: "RIBIngest",
            dependencies: [
                "IngestStream",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RIB", package: "pathflow"),
                .product(name: "Enrichment", package: "pathflow"),
                .product(name: "Aggregation", package: "pathflow"),
                .product(name: "FlowWire", package: "pathflow"),
                .product(name: "BGPWire", package: "pathflow"),
                .product(name: "NetCore", package: "pathflow"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/RIBIngest",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // A flush of a matrix view into SQLite, with and without the daily rollup.
        .executableTarget(
            name: "SQLiteFlush",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Storage", package: "pathflow"),
                .product(name: "Aggregation", package: "pathflow"),
                .product(name: "NetCore", package: "pathflow"),
            ],
            path: "Benchmarks/SQLiteFlush",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
