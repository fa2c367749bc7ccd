import Foundation
import PatchFleetCore
import Yams

/// A lab file: the inventory, the faults to inject, the durations and the
/// seed. JSON or YAML. The inventory's own keys sit at the top level, so a
/// plain inventory file is also a valid lab file (no faults, default timings).
public struct LabConfiguration: Codable, Sendable {
    public var inventory: Inventory
    public var faults: [Fault]
    public var durations: SimulatedDurations
    public var seed: UInt64

    public init(inventory: Inventory, faults: [Fault] = [], durations: SimulatedDurations = SimulatedDurations(), seed: UInt64 = 1) {
        self.inventory = inventory
        self.faults = faults
        self.durations = durations
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey { case faults, durations, seed }

    public init(from decoder: Decoder) throws {
        inventory = try Inventory(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        faults = try c.decodeIfPresent([Fault].self, forKey: .faults) ?? []
        durations = try c.decodeIfPresent(SimulatedDurations.self, forKey: .durations) ?? SimulatedDurations()
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
    }

    public func encode(to encoder: Encoder) throws {
        try inventory.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(faults, forKey: .faults)
        try c.encode(durations, forKey: .durations)
        try c.encode(seed, forKey: .seed)
    }

    public static func load(_ text: String) throws -> LabConfiguration {
        if text.drop(while: \.isWhitespace).first == "{" {
            return try JSONDecoder().decode(LabConfiguration.self, from: Data(text.utf8))
        }
        return try YAMLDecoder().decode(LabConfiguration.self, from: text)
    }

    public static func load(contentsOf url: URL) throws -> LabConfiguration {
        try load(String(contentsOf: url, encoding: .utf8))
    }
}
