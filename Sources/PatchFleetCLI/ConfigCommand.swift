import ArgumentParser
import Foundation

/// `patchfleet config`: the broker settings as this command line would
/// resolve them, and where each came from. Secrets are never printed: the
/// broker URL shows its user and host, never its password.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the effective broker settings and where each came from (flag, environment, file, default).",
        discussion: """
            Example:
              PATCHFLEET_CONFIG=/etc/patchfleet/patchfleet.yaml patchfleet config
            """)
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        let settings = try fleet.settings()
        print("configuration file: \(settings.path ?? "(none)")")
        let url = try settings.lookup("broker", "url", flag: fleet.url, env: "PATCHFLEET_AMQP_URL")
        let prefix = try settings.lookup("broker", "prefix", flag: fleet.prefix)
        let shownURL = try fleet.amqpConfiguration(settings).redactedURL
        print("broker.url     \(shownURL)  (\(url?.1.rawValue ?? SettingSource.default.rawValue))")
        print("broker.prefix  \(prefix?.0 ?? "patchfleet")  (\(prefix?.1.rawValue ?? SettingSource.default.rawValue))")
    }
}
