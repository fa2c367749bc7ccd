import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetBackends
import PatchFleetCore
import PatchFleetLab

/// What the coordinator and the workers act on, with the options that choose
/// it: the one place that turns `--backend ...` into a (virtualization,
/// update) backend pair, so a coordinator and its workers given the same
/// options see the same datacenter.
struct BackendOptions: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        /// The lab (simulated datacenter) over AMQP.
        case simulated
        /// The real backends named in --backend-config for --datacenter
        /// (VMM or Failover Clustering, plus ConfigMgr, over PowerShell/SSH).
        case config
    }

    @Option(help: "Backend: simulated (the lab) or config (the real backends of --backend-config). Default: simulated.")
    var backend: Kind?
    @Option(help: "With --backend config: the backend configuration file (see docs/backends.md).")
    var backendConfig: String?
    @Option(help: "With --backend config: which datacenter of the configuration to act on.")
    var datacenter: String?
    @Option(help: "With --backend simulated: the lab's request queue. Default: patchfleet.lab.")
    var labQueue: String?
    @Option(help: "With --backend simulated: wall-clock seconds a lab call may take before it counts as timed out. Default: 30.")
    var labTimeoutSeconds: Double?
    @Option(help: """
        Backend seconds per wall-clock second: the lab's --time-scale with --backend simulated (default 60); \
        real backends run in real time (1, the only value allowed with --backend config).
        """)
    var timeScale: Double?

    static let keys: Set<String> = ["backend", "backendConfig", "datacenter", "labQueue", "labTimeoutSeconds", "timeScale"]

    /// These options over the `section` of the configuration file and the
    /// environment (flag first), checked as a whole.
    func resolve(_ settings: Settings, section: String) throws -> BackendChoice {
        let kindText = try settings.string(section, "backend", flag: backend?.rawValue, default: Kind.simulated.rawValue)
        guard let kind = Kind(rawValue: kindText) else {
            throw ValidationError("\(section).backend: unknown backend '\(kindText)'; known: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let choice = BackendChoice(
            kind: kind,
            backendConfig: try settings.optionalString(section, "backendConfig", flag: backendConfig),
            datacenter: try settings.optionalString(section, "datacenter", flag: datacenter),
            labQueue: try settings.string(section, "labQueue", flag: labQueue, default: "patchfleet.lab"),
            labTimeoutSeconds: try settings.double(section, "labTimeoutSeconds", flag: labTimeoutSeconds, default: 30),
            timeScale: try settings.optionalString(section, "timeScale", flag: timeScale.map { String($0) }).map { text in
                guard let value = Double(text) else { throw ValidationError("\(section).timeScale must be a number, found '\(text)'") }
                return value
            })
        try choice.validate()
        return choice
    }
}

/// The backend options once resolved from flags, environment and file.
struct BackendChoice: Sendable {
    var kind: BackendOptions.Kind
    var backendConfig: String?
    var datacenter: String?
    var labQueue: String
    /// Per-call timeout of the lab client (wall clock), as a real backend's per-call timeout.
    var labTimeoutSeconds: Double
    var timeScale: Double?

    /// Real servers are never sped up: a sped-up saga clock would cut every
    /// policy timeout (drain, install, reboot) short against them.
    var effectiveTimeScale: Double { timeScale ?? (kind == .simulated ? 60 : 1) }

    func validate() throws {
        guard effectiveTimeScale > 0 else { throw ValidationError("--time-scale must be > 0 (got \(effectiveTimeScale))") }
        guard labTimeoutSeconds > 0 else { throw ValidationError("--lab-timeout-seconds must be > 0 (got \(labTimeoutSeconds))") }
        switch kind {
        case .simulated:
            if backendConfig != nil || datacenter != nil {
                throw ValidationError("--backend-config and --datacenter apply to --backend config only")
            }
        case .config:
            if backendConfig == nil || datacenter == nil {
                throw ValidationError("--backend config needs --backend-config FILE and --datacenter NAME")
            }
            if effectiveTimeScale != 1 {
                throw ValidationError("--time-scale \(effectiveTimeScale) with --backend config: real backends run in real time (1)")
            }
        }
    }

    /// The pair of backends these options name, plus what to log about them.
    struct Backends: Sendable {
        var virtualization: any VirtualizationBackend
        var updates: any UpdateBackend
        var label: String
    }

    /// The lab client on `connection`, or the real backends of the
    /// configuration file (a bad file is refused with every problem listed).
    func make(connection: AMQPConnection, logger: Logger) async throws -> Backends {
        switch kind {
        case .simulated:
            let client = try await LabClient.connect(connection: connection, requestQueue: labQueue,
                                                     timeout: .milliseconds(Int64(labTimeoutSeconds * 1000)))
            return Backends(virtualization: client, updates: client, label: "simulated (lab at \(labQueue))")
        case .config:
            // validate() has made sure both are there.
            let file = backendConfig ?? "", datacenter = datacenter ?? ""
            let configuration: BackendConfiguration
            do { configuration = try BackendConfiguration.load(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw ValidationError("cannot load the backend configuration \(file): \(error)")
            }
            let set: BackendSet
            do { set = try BackendFactory.make(configuration, datacenter: datacenter, logger: logger) } catch {
                throw ValidationError("\(error.message)")
            }
            return Backends(virtualization: set.virtualization, updates: set.updates,
                            label: "\(set.label) for datacenter \(datacenter) (\(file))")
        }
    }
}
