import ArgumentParser
import Logging
import PatchFleetObservability

/// Logging format and the HTTP endpoint (metrics, probes, and on the
/// coordinator the dashboard) of the long-running commands.
struct ObservabilityOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Serve /metrics, /healthz and /readyz (and the coordinator's dashboard) on HOST:PORT; `off` serves nothing. \
        Default: 127.0.0.1:9470 for the coordinator, off for workers.
        """, valueName: "host:port"))
    var httpAddress: String?
    @Option(help: "Log lines as `text` (for people) or `json` (one object per line, for log shippers). Default: $PATCHFLEET_LOG_FORMAT, then text.")
    var logFormat: String?

    static let keys: Set<String> = ["httpAddress", "logFormat"]

    /// Installs the log handler the settings ask for.
    func bootstrapLogging(_ settings: Settings, section: String) throws {
        let text = try settings.string(section, "logFormat", flag: logFormat, env: "PATCHFLEET_LOG_FORMAT", default: "text")
        guard let format = LogFormat(rawValue: text) else {
            throw ValidationError("--log-format must be text or json (got '\(text)')")
        }
        format.bootstrap()
    }

    /// The address to serve on and whether a person chose it (a default that
    /// is taken may be skipped; a chosen one that is taken is an error).
    func address(_ settings: Settings, section: String, default fallback: String?) throws -> (HTTPAddress, chosen: Bool)? {
        let chosen = try settings.lookup(section, "httpAddress", flag: httpAddress)?.0
        guard let text = chosen ?? fallback, text != "off" else { return nil }
        do { return (try HTTPAddress(parsing: text), chosen != nil) } catch {
            throw ValidationError("--http-address: \(error)")
        }
    }
}
