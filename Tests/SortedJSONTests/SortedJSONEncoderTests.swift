import Foundation
import PatchFleetCore
import PatchFleetSimulator
@testable import SortedJSON
import Testing

/// The streaming encoder must write exactly Foundation's bytes (sorted
/// keys): stored saga states, signatures and golden files depend on them.
@Suite struct SortedJSONEncoderTests {
    static func foundation<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(value)
    }

    static func expectSameBytes<T: Encodable>(_ value: T, _ what: @autoclosure () -> String,
                                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try foundation(value)
        let actual = try SortedJSONEncoder.encode(value)
        #expect(actual == expected, "\(what()):\n  foundation: \(String(decoding: expected, as: UTF8.self))\n  streaming:  \(String(decoding: actual, as: UTF8.self))",
                sourceLocation: sourceLocation)
    }

    @Test(arguments: 0 ..< 8)
    func randomValuesGiveFoundationsBytes(batch: Int) throws {
        var streamedCount = 0
        for index in 0 ..< 500 {
            let seed = UInt64(batch * 500 + index)
            var generator = RandomJSONGenerator(seed: seed)
            // Top level: an object most of the time (as every caller has), any value otherwise.
            let value: RandomJSON = seed % 4 == 0 ? generator.value() : .object([("v", generator.value()), ("a", generator.value())])
            try Self.expectSameBytes(value, "seed \(seed)")
            if try SortedJSONEncoder.streamed(value) != nil { streamedCount += 1 }
        }
        // Most values must take the streaming path, or this compares Foundation with itself.
        #expect(streamedCount >= 300, "only \(streamedCount) of 500 values were streamed")
    }

    @Test func theDomainsValuesGiveFoundationsBytes() throws {
        // Whole simulated runs: final saga states (timelines, notes, moved
        // VMs, placements, policies), reports, histories, inventories, scenarios.
        var sagas = 0
        for seed in UInt64(1) ... 12 {
            let scenario = ScenarioGenerator.scenario(seed: seed)
            let run = SimulationDriver(scenario: scenario).run()
            try Self.expectSameBytes(scenario, "scenario \(seed)")
            try Self.expectSameBytes(run.report, "report \(seed)")
            try Self.expectSameBytes(run.finalInventory, "inventory \(seed)")
            try Self.expectSameBytes(run.history, "history \(seed)")
            for saga in run.sagas {
                try Self.expectSameBytes(saga, "saga \(saga.host) of seed \(seed)")
                sagas += 1
            }
        }
        #expect(sagas > 50)
    }

    @Test func scalarsAndTheirEdgesGiveFoundationsBytes() throws {
        let doubles: [Double] = [0, -0.0, 1, -1, 1.5, 0.1, 1e15, 1e15 - 1, 1e16, 1e21, 1e-7, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                 -.greatestFiniteMagnitude, 9_007_199_254_740_994, 123_456_789.125, 0.000_1, 0.001]
        try Self.expectSameBytes(doubles, "doubles")
        try Self.expectSameBytes(doubles.map(Float.init).filter(\.isFinite), "floats")
        try Self.expectSameBytes([Int.min, Int.max, 0, -7], "ints")
        try Self.expectSameBytes([UInt64.max, 0], "uint64")
        try Self.expectSameBytes(["", "\u{00}\u{01}\u{1F}\u{7F}", "a/b\\c\"d", "\u{08}\u{0C}\n\r\t", "é日本🙂\u{2028}"], "strings")
        try Self.expectSameBytes([Int?.none, 1], "optionals in an array")
        try Self.expectSameBytes([Int128.min, Int128.max, 0, -1], "int128")
        try Self.expectSameBytes([UInt128.max, 7], "uint128")
        let plainKeys = ["b": 1, "B": 2, "a b": 3, "ab": 4, "": 5, "a": 6]
        try Self.expectSameBytes(plainKeys, "a String-keyed dictionary")
        #expect(try SortedJSONEncoder.streamed(plainKeys) != nil, "plain ASCII keys are sorted by the streaming path")
        let specialKeys = ["b": 1, "a/": 3, "é": 4, "ü": 5]
        try Self.expectSameBytes(specialKeys, "keys that need escaping or are not ASCII")
        #expect(try SortedJSONEncoder.streamed(specialKeys) == nil, "such keys go to Foundation")
        try Self.expectSameBytes(RandomJSON.object([("e\u{301}", .int(1)), ("é", .int(2))]),
                                 "keys equal as Swift strings (Foundation keeps one)")
        try Self.expectSameBytes([10: "ten", 2: "two", -1: "minus one"], "an Int-keyed dictionary")
        #expect(try SortedJSONEncoder.streamed([10: "ten", 2: "two"]) != nil)
        try Self.expectSameBytes("top-level string", "a top-level fragment")
        try Self.expectSameBytes(42, "a top-level number")
    }

    // MARK: What the encoder hands to Foundation

    struct Stamped: Encodable {
        var date = Date(timeIntervalSinceReferenceDate: 12.5)
        var data = Data([0, 1, 2, 255])
        var url = URL(string: "https://example.com/a?b=c")!
        var decimal = Decimal(string: "12.345")!
        var name = "x"
    }

    struct Nested: Encodable {
        enum Keys: String, CodingKey { case outer, list, zed, base }
        enum Inner: String, CodingKey { case b, a }
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var inner = container.nestedContainer(keyedBy: Inner.self, forKey: .outer)
            // Written to the parent between two writes to the nested container.
            try container.encode(1, forKey: .zed)
            try inner.encode("b", forKey: .b)
            try inner.encode("a", forKey: .a)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encode(3)
            try 7.encode(to: container.superEncoder(forKey: .base))
        }
    }

    struct Thrower: Encodable {
        struct Refusal: Error {}
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: RandomJSON.Key.self)
            try container.encode("half", forKey: RandomJSON.Key("written"))
            throw Refusal()
        }
    }

    /// A value whose `encode(to:)` catches what this writer hands to
    /// Foundation (a date, which Foundation takes), and goes on.
    struct Forgiving: Encodable {
        enum Keys: String, CodingKey { case kept, date, after }
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .kept)
            try? container.encode(Date(timeIntervalSinceReferenceDate: 3), forKey: .date)
            try container.encode([2, 3], forKey: .after)
        }
    }

    /// Catches Foundation's refusal of a non-finite float and goes on
    /// (Foundation traps on this for some shapes, e.g. `[1, .infinity]`).
    struct CatchesANonFiniteFloat: Encodable {
        enum Keys: String, CodingKey { case kept, nans, after }
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .kept)
            try? container.encode([1, Double.infinity], forKey: .nans)
            try container.encode(2, forKey: .after)
        }
    }

    /// A value that catches an error a nested value threw after writing
    /// part of itself, and goes on (Foundation traps on this).
    struct CatchesANestedError: Encodable {
        enum Keys: String, CodingKey { case kept, refused, after }
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .kept)
            try? container.encode(Thrower(), forKey: .refused)
            try container.encode(2, forKey: .after)
        }
    }

    struct Deep: Encodable {
        let levels: Int
        func encode(to encoder: Encoder) throws {
            var container = encoder.unkeyedContainer()
            if levels > 0 { try container.encode(Deep(levels: levels - 1)) } else { try container.encode(0) }
        }
    }

    struct SingleThenKeyed: Encodable {
        func encode(to encoder: Encoder) throws {
            _ = encoder.singleValueContainer()
            var container = encoder.container(keyedBy: RandomJSON.Key.self)
            try container.encode(1, forKey: RandomJSON.Key("x"))
        }
    }

    @Test func errorsCaughtInsideAValueDepthAndLateContainersGiveFoundationsBytes() throws {
        try Self.expectSameBytes(["v": Forgiving()], "errors a value catches and goes on")
        #expect(try SortedJSONEncoder.streamed(["v": Forgiving()]) == nil)
        #expect(throws: Thrower.Refusal.self) { try SortedJSONEncoder.encode([Thrower()]) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(["v": CatchesANestedError()]) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(["v": CatchesANonFiniteFloat()]) }
        try Self.expectSameBytes(Deep(levels: 20), "nesting within the streaming depth")
        #expect(try SortedJSONEncoder.streamed(Deep(levels: 20)) != nil)
        try Self.expectSameBytes(Deep(levels: 300), "nesting past it")
        #expect(try SortedJSONEncoder.streamed(Deep(levels: 300)) == nil)
        try Self.expectSameBytes(["v": SingleThenKeyed()], "a single-value container left unused, then a keyed one")
    }

    @Test func foundationsOwnTypesAndNestedContainersGiveFoundationsBytes() throws {
        try Self.expectSameBytes(Stamped(), "Date, Data, URL, Decimal")
        try Self.expectSameBytes(["wrapped": [Stamped()]], "Foundation's types deep in a value")
        try Self.expectSameBytes(Nested(), "nested containers written interleaved")
        try Self.expectSameBytes([Nested()], "nested containers deep in a value")
    }

    struct NothingEncoded: Encodable {
        func encode(to encoder: Encoder) throws {}
    }

    @Test func whatFoundationRefusesIsRefused() throws {
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode([Float.infinity]) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(NothingEncoded()) }
        // Nested, a value that encodes nothing is an empty object, as in Foundation.
        try Self.expectSameBytes(["x": NothingEncoded()], "a nested value that encodes nothing")
    }

    struct TwoValues: Encodable {
        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(1)
            try container.encode(2)
        }
    }

    struct KeyedThenUnkeyed: Encodable {
        enum Keys: CodingKey { case a }
        func encode(to encoder: Encoder) throws {
            var keyed = encoder.container(keyedBy: Keys.self)
            try keyed.encode(1, forKey: .a)
            var unkeyed = encoder.unkeyedContainer()
            try unkeyed.encode(2)
        }
    }

    /// Keeps the container of the value it encodes, to write to it later.
    final class KeptContainer: @unchecked Sendable {
        var container: KeyedEncodingContainer<RandomJSON.Key>?
    }

    struct Keeper: Encodable {
        let kept: KeptContainer
        func encode(to encoder: Encoder) throws {
            kept.container = encoder.container(keyedBy: RandomJSON.Key.self)
            try kept.container?.encode(1, forKey: RandomJSON.Key("a"))
        }
    }

    struct LateWriter: Encodable {
        func encode(to encoder: Encoder) throws {
            let kept = KeptContainer()
            var container = encoder.container(keyedBy: RandomJSON.Key.self)
            try container.encode(Keeper(kept: kept), forKey: RandomJSON.Key("inner"))
            try kept.container?.encode(2, forKey: RandomJSON.Key("late"))
            try container.encode(3, forKey: RandomJSON.Key("z"))
        }
    }

    /// Foundation traps on these misuses of the `Encoder` protocol (or, for
    /// a late write, drops it silently); a process that meets one here gets
    /// an error naming it instead.
    @Test func misusesOfTheEncoderProtocolThrowInsteadOfTrapping() throws {
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(["x": TwoValues()]) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(KeyedThenUnkeyed()) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(LateWriter()) }
    }

    /// The stored form decodes back to the value (the store reads it with
    /// Foundation's decoder).
    @Test func aSagaStateRoundTripsThroughFoundationsDecoder() throws {
        let run = SimulationDriver(scenario: ScenarioGenerator.scenario(seed: 7)).run()
        for saga in run.sagas {
            let decoded = try JSONDecoder().decode(HostSagaState.self, from: SortedJSONEncoder.encode(saga))
            #expect(decoded == saga)
        }
    }
}
