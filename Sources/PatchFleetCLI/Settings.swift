import Foundation
import Yams

/// Where a setting's value came from, in order of precedence.
enum SettingSource: String, Sendable {
    case flag, environment, file, `default`
}

/// The fleet's settings from a YAML file, the environment and flags, in
/// that order of precedence (a flag beats the environment, which beats the
/// file): what containers (env), hosts (a file under /etc) and people at a
/// terminal (flags) each expect. The file is `--config FILE`, else
/// `$PATCHFLEET_CONFIG`; without one, environment and flags only.
///
/// File layout: sections named after the commands (`broker`, `coordinator`,
/// `worker`, `lab`) whose keys are the commands' option names in camelCase;
/// see docs/cli.md. A key ending in `File` names a file holding a secret
/// (`broker.urlFile`): the value is read from it and never printed.
struct Settings: Sendable {
    let path: String?
    private let sections: [String: [String: String]]
    private let environment: [String: String]

    /// What each resolved value was and where it came from, for `patchfleet config`.
    struct Resolved: Sendable {
        var key: String
        var value: String
        var source: SettingSource
        var secret: Bool
    }

    init(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        let chosen = path ?? environment["PATCHFLEET_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        self.path = chosen
        guard let chosen else {
            sections = [:]
            return
        }
        let text: String
        do { text = try String(contentsOfFile: chosen, encoding: .utf8) } catch {
            throw SettingsError("cannot read the configuration file \(chosen): \(error.localizedDescription)")
        }
        sections = try Self.parse(text, file: chosen)
    }

    static func parse(_ text: String, file: String) throws -> [String: [String: String]] {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw SettingsError("\(file) is not valid YAML: \(error)")
        }
        guard let root = node else { return [:] }
        guard let mapping = root.mapping else { throw SettingsError("\(file): the top level must be a mapping of sections") }
        var sections: [String: [String: String]] = [:]
        for (key, value) in mapping {
            guard let section = key.string else { continue }
            guard Self.knownSections.contains(section) else {
                throw SettingsError("\(file): unknown section '\(section)'; known: \(Self.knownSections.sorted().joined(separator: ", "))")
            }
            guard let entries = value.mapping else { throw SettingsError("\(file): section '\(section)' must be a mapping") }
            var values: [String: String] = [:]
            for (k, v) in entries {
                guard let name = k.string else { continue }
                if let scalar = v.scalar {
                    values[name] = scalar.string
                } else if let sequence = v.sequence {
                    // Lists (roles) are written as YAML lists or comma-separated.
                    values[name] = sequence.compactMap { $0.scalar?.string }.joined(separator: ",")
                } else {
                    throw SettingsError("\(file): \(section).\(name) must be a scalar or a list")
                }
            }
            sections[section] = values
        }
        return sections
    }

    static let knownSections: Set<String> = ["broker", "coordinator", "worker", "lab", "submit"]

    /// The environment variable for `section.key`: PATCHFLEET_<SECTION>_<KEY>
    /// in upper snake case (worker.backendConfig -> PATCHFLEET_WORKER_BACKEND_CONFIG).
    static func environmentName(_ section: String, _ key: String) -> String {
        var snake = ""
        for character in key {
            if character.isUppercase { snake += "_" }
            snake += character.uppercased()
        }
        return "PATCHFLEET_\(section.uppercased())_\(snake)"
    }

    /// flag, else environment, else file, else nil; with where it came from.
    func lookup(_ section: String, _ key: String, flag: String?, env: String? = nil) throws -> (String, SettingSource)? {
        if let flag { return (flag, .flag) }
        let names = [env, Self.environmentName(section, key)].compactMap { $0 }
        for name in names {
            if let value = environment[name], !value.isEmpty { return (value, .environment) }
        }
        if let value = sections[section]?[key] { return (value, .file) }
        // A secret's file: `urlFile` stands for `url`, read at use, never shown.
        if let secretPath = sections[section]?[key + "File"] ?? environment[Self.environmentName(section, key + "File")] {
            do {
                let secret = try String(contentsOfFile: secretPath, encoding: .utf8)
                return (secret.trimmingCharacters(in: .whitespacesAndNewlines), .file)
            } catch {
                throw SettingsError("cannot read \(section).\(key)File \(secretPath): \(error.localizedDescription)")
            }
        }
        return nil
    }

    func string(_ section: String, _ key: String, flag: String?, env: String? = nil, default fallback: String) throws -> String {
        try lookup(section, key, flag: flag, env: env)?.0 ?? fallback
    }

    func optionalString(_ section: String, _ key: String, flag: String?, env: String? = nil) throws -> String? {
        try lookup(section, key, flag: flag, env: env)?.0
    }

    func int(_ section: String, _ key: String, flag: Int?, default fallback: Int) throws -> Int {
        guard let (text, source) = try lookup(section, key, flag: flag.map(String.init)) else { return fallback }
        guard let value = Int(text) else { throw SettingsError("\(section).\(key) (\(source.rawValue)) must be an integer, found '\(text)'") }
        return value
    }

    func double(_ section: String, _ key: String, flag: Double?, default fallback: Double) throws -> Double {
        guard let (text, source) = try lookup(section, key, flag: flag.map { String($0) }) else { return fallback }
        guard let value = Double(text) else { throw SettingsError("\(section).\(key) (\(source.rawValue)) must be a number, found '\(text)'") }
        return value
    }

    /// Every key the file sets, so a misspelt key is an error rather than a silent default.
    func checkKeys(_ section: String, known: Set<String>) throws {
        for key in (sections[section] ?? [:]).keys where !known.contains(key) {
            throw SettingsError("\(path ?? "the configuration file"): unknown key '\(section).\(key)'; known: \(known.sorted().joined(separator: ", "))")
        }
    }
}

struct SettingsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
