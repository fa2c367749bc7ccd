import Foundation
import Yams

/// What to patch: exactly one of a collection, named clusters or a host list.
public struct JobTargets: Codable, Sendable, Hashable {
    public var collection: String?
    public var clusters: [String]?
    public var hosts: [String]?

    public init(collection: String? = nil, clusters: [String]? = nil, hosts: [String]? = nil) {
        self.collection = collection
        self.clusters = clusters
        self.hosts = hosts
    }
}

/// Which updates: a named update list (deployment template), explicit ids, or both.
public struct UpdateSelection: Codable, Sendable, Hashable {
    public var updateList: String?
    public var updateIds: [String]?
    /// The patch-manager collection hosts are added to for the deployment.
    public var deploymentCollection: String?

    public init(updateList: String? = nil, updateIds: [String]? = nil, deploymentCollection: String? = nil) {
        self.updateList = updateList
        self.updateIds = updateIds
        self.deploymentCollection = deploymentCollection
    }
}

/// A patch job as submitted. Versioned so old submitters keep working when
/// the format grows: readers refuse versions they do not know.
public struct JobSpec: Codable, Sendable, Hashable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var id: String
    public var targets: JobTargets
    public var updates: UpdateSelection
    public var policy: Policy

    public init(schemaVersion: Int = JobSpec.currentSchemaVersion, id: String, targets: JobTargets,
                updates: UpdateSelection, policy: Policy = Policy()) {
        self.schemaVersion = schemaVersion
        self.id = id
        self.targets = targets
        self.updates = updates
        self.policy = policy
    }

    enum CodingKeys: String, CodingKey { case schemaVersion, id, targets, updates, policy }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        id = try c.decode(String.self, forKey: .id)
        targets = try c.decode(JobTargets.self, forKey: .targets)
        updates = try c.decode(UpdateSelection.self, forKey: .updates)
        policy = try c.value(.policy, default: Policy())
    }

    /// The collection hosts are added to; one per job unless the job names one.
    public var deploymentCollectionName: String {
        updates.deploymentCollection ?? "PatchFleet \(id)"
    }
}

/// Why a job file could not be used. Carries every problem, not the first.
public struct JobSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [ValidationProblem]
    public init(problems: [ValidationProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

public enum JobSpecLoader {
    /// Parses JSON or YAML (YAML is a superset, but JSON goes through
    /// JSONDecoder for exact number handling), then validates the result,
    /// including keys it does not know (a typo must not fall back to a default).
    public static func load(_ text: String, format: Format = .detect) throws(JobSpecError) -> JobSpec {
        let spec: JobSpec
        let json = format.resolved(for: text) == .json
        do {
            if json {
                spec = try JSONDecoder().decode(JobSpec.self, from: Data(text.utf8))
            } else {
                spec = try YAMLDecoder().decode(JobSpec.self, from: text)
            }
        } catch {
            throw JobSpecError(problems: [ValidationProblem(path: DecodingPath.describe(error), message: DecodingPath.message(error))])
        }
        let problems = UnknownKeys.problems(in: text, json: json) + JobSpecValidator.validate(spec)
        if !problems.isEmpty { throw JobSpecError(problems: problems) }
        return spec
    }

    public static func load(contentsOf url: URL) throws(JobSpecError) -> JobSpec {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw JobSpecError(problems: [ValidationProblem(path: url.path, message: "cannot read: \(error)")])
        }
        let format: Format = url.pathExtension.lowercased() == "json" ? .json : .yaml
        return try load(text, format: format)
    }

    public enum Format: Sendable {
        case json, yaml, detect

        func resolved(for text: String) -> Format {
            guard self == .detect else { return self }
            return text.drop(while: \.isWhitespace).first == "{" ? .json : .yaml
        }
    }
}

/// Loads an inventory file (JSON or YAML).
public enum InventoryLoader {
    public static func load(_ text: String) throws -> Inventory {
        if text.drop(while: \.isWhitespace).first == "{" {
            return try JSONDecoder().decode(Inventory.self, from: Data(text.utf8))
        }
        return try YAMLDecoder().decode(Inventory.self, from: text)
    }

    public static func load(contentsOf url: URL) throws -> Inventory {
        try load(String(contentsOf: url, encoding: .utf8))
    }
}

/// Turns a DecodingError into the same "path: message" shape validation uses.
enum DecodingPath {
    static func describe(_ error: Error) -> String {
        guard let decoding = error as? DecodingError else { return "document" }
        let path: [CodingKey]
        switch decoding {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        @unknown default: path = []
        }
        if path.isEmpty { return "document" }
        return path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    static func message(_ error: Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case .keyNotFound: return "is required"
        case .typeMismatch(let type, let context): return "must be \(type): \(context.debugDescription)"
        case .valueNotFound(let type, _): return "must be a \(type)"
        case .dataCorrupted(let context): return context.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
