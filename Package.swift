// swift-tools-version: 6.0
import PackageDescription

// Strict concurrency is the default in the Swift 6 language mode; every
// target builds in it, and warnings are treated as defects by `.ci/run`.
let package = Package(
    name: "PatchFleet",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "AMQP", targets: ["AMQP"]),
        .executable(name: "patchfleet", targets: ["PatchFleetCLI"]),
        .executable(name: "patchfleet-bench", targets: ["PatchFleetBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        // librabbitmq (rabbitmq-c), from Debian's librabbitmq-dev.
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        // The one thing Swift cannot call itself: the variadic amqp_login.
        .target(name: "CAMQPShim", dependencies: ["CRabbitMQ"]),
        // AMQP 0-9-1 client over librabbitmq: no PatchFleet domain in it.
        .target(
            name: "AMQP",
            dependencies: [
                "CRabbitMQ", "CAMQPShim",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A minimal raw librabbitmq loop, the baseline the bench compares to.
        .target(name: "CRawAMQPBench", dependencies: ["CRabbitMQ", "CAMQPShim"]),
        .executableTarget(
            name: "PatchFleetBench",
            dependencies: [
                "AMQP", "CRawAMQPBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "PatchFleetCLI",
            dependencies: [
                "AMQP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AMQPTests", dependencies: ["AMQP"]),
    ],
    swiftLanguageModes: [.v6]
)
