import ArgumentParser
import Foundation
import PatchFleetCore
import PatchFleetSimulator
import SortedJSON

/// What the coordinator encodes most: whole saga states (one per step) and
/// the inventory. Foundation's `JSONEncoder` with sorted keys against
/// `SortedJSONEncoder`, same values, same run; the bytes are checked equal.
struct JSONBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "Sorted-keys JSON encoding: Foundation's JSONEncoder against SortedJSONEncoder, on saga states and an inventory.")

    @Option(help: "Seeds of simulated runs whose final saga states are encoded.")
    var seeds: Int = 20

    @Option(help: "Passes over the values per round (the best of three rounds is kept).")
    var passes: Int = 40

    func run() throws {
        var states: [HostSagaState] = []
        var inventories: [Inventory] = []
        for seed in 1 ... UInt64(max(1, seeds)) {
            let run = SimulationDriver(scenario: ScenarioGenerator.scenario(seed: seed)).run()
            states += run.sagas
            inventories.append(run.finalInventory)
        }
        let stateBytes = try states.reduce(0) { $0 + (try WireCoding.encode($1)).count }
        print("json benchmark: \(states.count) final saga states (\(stateBytes / max(1, states.count)) B each) and "
              + "\(inventories.count) inventories from simulated runs, \(passes) passes, best of 3 rounds")

        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys]
        for (state, index) in zip(states, states.indices) where try foundation.encode(state) != SortedJSONEncoder.encode(state) {
            throw ValidationError("state \(index) (\(state.host)) encodes differently; run the SortedJSON tests")
        }

        func best(_ body: () throws -> Int) rethrows -> (seconds: Double, bytes: Int) {
            var fastest = Double.infinity, bytes = 0
            for _ in 0 ..< 3 {
                let start = ContinuousClock.now
                bytes = try body()
                let elapsed = ContinuousClock.now - start
                fastest = min(fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            return (fastest, bytes)
        }
        func encodeAll<T: Encodable>(_ values: [T], _ encode: (T) throws -> Data) throws -> Int {
            var total = 0
            for _ in 0 ..< passes { for value in values { total += try encode(value).count } }
            return total
        }

        print("")
        print("                          foundation     sorted-json   ratio")
        var ratios: [Double] = []
        for (name, foundationRun, streamingRun) in [
            ("saga states", { try encodeAll(states, foundation.encode) }, { try encodeAll(states, SortedJSONEncoder.encode) }),
            ("inventories", { try encodeAll(inventories, foundation.encode) }, { try encodeAll(inventories, SortedJSONEncoder.encode) }),
        ] as [(String, () throws -> Int, () throws -> Int)] {
            let slow = try best(foundationRun), fast = try best(streamingRun)
            let ratio = slow.seconds / fast.seconds
            ratios.append(ratio)
            func rate(_ figure: (seconds: Double, bytes: Int)) -> String {
                String(format: "%8.1f MB/s", Double(figure.bytes) / figure.seconds / 1e6)
            }
            print("\(name.padding(toLength: 22, withPad: " ", startingAt: 0))\(rate(slow))   \(rate(fast))   \(String(format: "%5.2f", ratio))x")
        }
        print("")
        print(String(format: "ratio sorted-json/foundation speed = %.2f (saga states)", ratios[0]))
    }
}
