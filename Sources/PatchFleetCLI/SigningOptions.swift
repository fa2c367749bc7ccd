import ArgumentParser
import PatchFleetWire

/// `--keyring FILE`: the keys that sign and verify tasks and results (the
/// coordinator and every worker are given the same keyring; see
/// docs/operations.md for the file and for rotating keys).
struct SigningOptions: ParsableArguments {
    @Option(help: "The signing keyring (YAML). Without one, tasks and results travel unsigned, with a warning.")
    var keyring: String?

    static let keys: Set<String> = ["keyring"]

    func resolve(_ settings: Settings, section: String) throws -> MessageSigner? {
        guard let path = try settings.optionalString(section, "keyring", flag: keyring) else { return nil }
        do { return try Keyring.load(path: path) } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// `patchfleet keygen`: a new signing secret for the keyring.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a new random signing secret (base64 of 32 bytes) for a keyring's secret file.",
        discussion: """
            Example:
              (umask 077; patchfleet keygen > /etc/patchfleet/keys/k2026-11)
            """)

    func run() {
        print(Keyring.newSecret())
    }
}
