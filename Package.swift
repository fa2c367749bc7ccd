// swift-tools-version: 6.0
import PackageDescription

// Strict concurrency is the default in the Swift 6 language mode; every
// target builds in it, and warnings are treated as defects by `.ci/run`.
let package = Package(
    name: "PatchFleet",
    platforms: [.macOS(.v15)],  // Synchronization.Mutex
    products: [
        .library(name: "AMQP", targets: ["AMQP"]),
        .library(name: "PatchFleetCore", targets: ["PatchFleetCore"]),
        .library(name: "PatchFleetSimulator", targets: ["PatchFleetSimulator"]),
        .library(name: "PatchFleetStore", targets: ["PatchFleetStore"]),
        .library(name: "PatchFleetWire", targets: ["PatchFleetWire"]),
        .library(name: "PatchFleetBackends", targets: ["PatchFleetBackends"]),
        .library(name: "PatchFleetReport", targets: ["PatchFleetReport"]),
        .executable(name: "patchfleet", targets: ["PatchFleetCLI"]),
        .executable(name: "patchfleet-bench", targets: ["PatchFleetBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        // The coordinator's dashboard and every process's /metrics, /healthz, /readyz.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
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
        // The pure core: job spec, host saga, scheduler, backend protocols.
        // No I/O, no clock, no AMQP, no SQLite: time and facts come in as values.
        .target(name: "PatchFleetCore", dependencies: ["SortedJSON", .product(name: "Yams", package: "Yams")]),
        // Foundation's sorted-keys JSON, byte for byte, written without its
        // intermediate tree: the store's saga states and every message body.
        // Exclusivity is checked at compile time only: the writer touches its
        // buffer through class properties on every byte, and the dynamic
        // checks were a third of its cost.
        .target(name: "SortedJSON", swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The simulated datacenter (both backends), virtual clock, fault
        // injection, history, invariant checker and the in-process driver.
        .target(
            name: "PatchFleetSimulator",
            dependencies: ["PatchFleetCore", .product(name: "Yams", package: "Yams")]
        ),
        // The simulated datacenter as a service: served over AMQP request/reply
        // by `patchfleet lab`, reached by workers through `LabClient`.
        .target(
            name: "PatchFleetLab",
            dependencies: ["AMQP", "PatchFleetCore", "PatchFleetSimulator", .product(name: "Logging", package: "swift-log")]
        ),
        // PatchFleet's messages on the wire: envelope, schemas, decoder that
        // names what is wrong, and the fleet's RabbitMQ topology.
        .target(name: "PatchFleetWire", dependencies: ["AMQP", "PatchFleetCore", .product(name: "Crypto", package: "swift-crypto"),
                                                      .product(name: "Yams", package: "Yams")]),
        // The coordinator's durable saga store: sagas + inbox + outbox in one
        // transaction (SQLite via GRDB, WAL), behind a protocol.
        .target(
            name: "PatchFleetStore",
            dependencies: ["PatchFleetCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The run report of a job (JSON, Markdown, self-contained HTML with a
        // Gantt chart), from the store's job and sagas. Pure: no I/O.
        .target(name: "PatchFleetReport", dependencies: ["PatchFleetCore", "PatchFleetStore"]),
        // The progress bars `submit` and `watch` draw on a terminal, as a pure
        // model of a job's events and a renderer of frames.
        .target(name: "PatchFleetProgress", dependencies: ["PatchFleetCore", "PatchFleetWire"]),
        // Applies transitions in a loop so a test can SIGKILL it mid-write.
        .executableTarget(name: "store-crash-helper", dependencies: ["PatchFleetStore", "PatchFleetCore"]),
        // The real backends: VMM, Failover Clustering and ConfigMgr through
        // PowerShell over SSH (tested against a fake ssh; see docs/backends.md).
        .target(
            name: "PatchFleetBackends",
            dependencies: ["PatchFleetCore", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log")]
        ),
        // The coordinator: jobs, scheduler, results, outbox dispatcher.
        .target(
            name: "PatchFleetCoordinator",
            dependencies: ["PatchFleetCore", "PatchFleetStore", "PatchFleetWire", "AMQP", "PatchFleetReport",
                           .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
                           .product(name: "Metrics", package: "swift-metrics")]
        ),
        // What a worker does with a task: observe-then-act against the backends.
        .target(
            name: "PatchFleetWorker",
            dependencies: ["PatchFleetCore", "PatchFleetWire", "AMQP", .product(name: "Logging", package: "swift-log"),
                           .product(name: "Metrics", package: "swift-metrics")]
        ),
        // What every long-running process serves over HTTP for operators and
        // orchestrators: Prometheus /metrics, /healthz, /readyz; JSON logs.
        .target(
            name: "PatchFleetObservability",
            dependencies: ["AMQP",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The coordinator's read-only web dashboard: jobs, clusters, hosts,
        // held hosts with what to do, dead letters; live over server-sent events.
        .target(
            name: "PatchFleetDashboard",
            dependencies: ["PatchFleetObservability", "PatchFleetStore", "PatchFleetCore", "PatchFleetWire", "AMQP",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // A minimal raw librabbitmq loop, the baseline the bench compares to.
        .target(name: "CRawAMQPBench", dependencies: ["CRabbitMQ", "CAMQPShim"]),
        .executableTarget(
            name: "PatchFleetBench",
            dependencies: [
                "AMQP", "CRawAMQPBench", "PatchFleetCore", "SortedJSON", "PatchFleetLab", "PatchFleetSimulator", "PatchFleetSupervisor", "PatchFleetWire",
                "PatchFleetCoordinator", "PatchFleetStore", "PatchFleetWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PatchFleetCLI",
            dependencies: [
                "AMQP", "PatchFleetCore", "PatchFleetSimulator", "PatchFleetLab", "PatchFleetWire", "PatchFleetWorker",
                "PatchFleetCoordinator", "PatchFleetStore", "PatchFleetBackends", "PatchFleetSupervisor", "PatchFleetReport",
                "PatchFleetProgress", "PatchFleetObservability", "PatchFleetDashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "AMQPTests", dependencies: ["AMQP", "PatchFleetTestSupport"]),
        .testTarget(name: "PatchFleetCoreTests", dependencies: ["PatchFleetCore"]),
        .testTarget(name: "SortedJSONTests", dependencies: ["SortedJSON", "PatchFleetCore", "PatchFleetWire", "PatchFleetSimulator"]),
        .testTarget(name: "PatchFleetSimulatorTests", dependencies: ["PatchFleetSimulator", "PatchFleetCore"]),
        .testTarget(
            name: "PatchFleetStoreTests",
            dependencies: ["PatchFleetStore", "PatchFleetCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "PatchFleetWireTests",
            dependencies: ["PatchFleetWire", "AMQP", "PatchFleetCore", "PatchFleetTestSupport", .product(name: "Yams", package: "Yams"),
                           .product(name: "Crypto", package: "swift-crypto")],
            // Read in place through #filePath.
            exclude: ["Corpus"]
        ),
        .testTarget(
            name: "PatchFleetWorkerTests",
            dependencies: ["PatchFleetWorker", "PatchFleetSimulator", "PatchFleetCore", "PatchFleetWire", "PatchFleetLab", "AMQP",
                           "PatchFleetTestSupport", "PatchFleetObservability", .product(name: "Logging", package: "swift-log")]
        ),
        // Helpers shared by the tests that run real processes.
        // Fleet processes as children: `patchfleet demo`, the chaos run, the bench, the process tests.
        .target(name: "PatchFleetSupervisor", dependencies: ["AMQP", "PatchFleetWire"]),
        .target(name: "PatchFleetTestSupport", dependencies: ["PatchFleetSupervisor", "PatchFleetCore"], path: "Tests/Support"),
        .testTarget(
            name: "PatchFleetCoordinatorTests",
            dependencies: ["PatchFleetCoordinator", "PatchFleetWorker", "PatchFleetLab", "PatchFleetSimulator", "PatchFleetStore",
                           "PatchFleetWire", "PatchFleetCore", "AMQP", "PatchFleetTestSupport", "PatchFleetReport"]
        ),
        .testTarget(
            name: "PatchFleetBackendsTests",
            dependencies: ["PatchFleetBackends", "PatchFleetCore", "PatchFleetWorker",
                           // The fleet over the real backends: processes, the broker, the wire.
                           "AMQP", "PatchFleetWire", "PatchFleetTestSupport"],
            // Read in place through #filePath: the fake ssh must stay executable.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "PatchFleetCLITests",
            // DeploymentManifestTests: Yams parses deploy/'s compose and Kubernetes YAML;
            // PatchFleetBackends validates the backends.yaml the manifests ship.
            dependencies: ["PatchFleetTestSupport", "AMQP", "PatchFleetWire", "PatchFleetBackends", "PatchFleetProgress",
                           "PatchFleetCore", .product(name: "Yams", package: "Yams")],
            // Read in place through #filePath (the dashboard's browser driver).
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "PatchFleetReportTests",
                    dependencies: ["PatchFleetReport", "PatchFleetSimulator", "PatchFleetStore", "PatchFleetCore"]),
        .testTarget(
            name: "PatchFleetObservabilityTests",
            dependencies: ["PatchFleetObservability", "PatchFleetDashboard", "PatchFleetStore", "PatchFleetCore",
                           "PatchFleetSimulator", "PatchFleetTestSupport", "PatchFleetSupervisor", "AMQP", "PatchFleetWire",
                           .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(name: "PatchFleetLabTests", dependencies: ["PatchFleetLab", "AMQP", "PatchFleetSimulator", "PatchFleetCore"]),
    ],
    swiftLanguageModes: [.v6]
)
