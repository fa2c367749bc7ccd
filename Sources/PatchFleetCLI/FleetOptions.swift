import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetWire

/// The options every command that talks to the fleet shares: which broker,
/// which fleet on it, and the configuration file. Resolution order: flag,
/// environment, file, default (see `Settings`).
struct FleetOptions: ParsableArguments {
    @Option(help: "Configuration file (YAML; see docs/cli.md). Default: $PATCHFLEET_CONFIG, if set.")
    var config: String?
    @Option(help: ArgumentHelp("Broker URL (amqp:// or amqps://). Default: $PATCHFLEET_AMQP_URL, then broker.url or broker.urlFile of the configuration, then the private broker.", valueName: "url"))
    var url: String?
    @Option(help: "Name prefix of the fleet's exchanges and queues. Default: $PATCHFLEET_BROKER_PREFIX, then broker.prefix, then patchfleet.")
    var prefix: String?

    static let privateBrokerURL = "amqp://guest:guest@127.0.0.1:5682/%2f"
    static let brokerKeys: Set<String> = ["url", "urlFile", "prefix"]

    func settings() throws -> Settings {
        do {
            let settings = try Settings(path: config)
            try settings.checkKeys("broker", known: Self.brokerKeys)
            return settings
        } catch let error as SettingsError {
            throw ValidationError(error.description)
        }
    }

    func brokerURL(_ settings: Settings) throws -> String {
        try settings.string("broker", "url", flag: url, env: "PATCHFLEET_AMQP_URL", default: Self.privateBrokerURL)
    }

    func topology(_ settings: Settings) throws -> FleetTopology {
        FleetTopology(prefix: try settings.string("broker", "prefix", flag: prefix, default: "patchfleet"))
    }

    /// The broker configuration, with a clear error naming the URL (password hidden).
    func amqpConfiguration(_ settings: Settings) throws -> AMQPConfiguration {
        do { return try AMQPConfiguration(url: try brokerURL(settings)) } catch let error as SettingsError {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
