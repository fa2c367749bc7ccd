import AMQP
import ArgumentParser
import Foundation
import PatchFleetWire

/// `patchfleet dead-letters list|replay|purge`: what the fleet refused and
/// why, and what to do about it. Every message read is either settled on
/// purpose or given back to the queue.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, replay or purge the messages the fleet dead-lettered, with their reasons.",
        discussion: """
            What each reason means and what to do about it: docs/operations.md ("Dead letters").
            Examples:
              patchfleet dead-letters list
              patchfleet dead-letters replay --message-id 6f1c0e4a-...   # once the cause is fixed
              patchfleet dead-letters purge --message-id 6f1c0e4a-... --message-id 9b2d...
              patchfleet dead-letters purge --all
            """,
        subcommands: [List.self, Replay.self, Purge.self])

    struct Selection: ParsableArguments {
        @Option(name: .customLong("message-id"), help: "A message to act on (repeatable).")
        var messageIds: [String] = []
        @Flag(help: "Act on every dead letter (up to --limit).")
        var all = false
        @Option(help: "How many dead letters to read at most.")
        var limit = 1000

        func validate() throws {
            guard all != !messageIds.isEmpty else { throw ValidationError("give --message-id ID (repeatable) or --all") }
        }

        func chosen(_ letter: DeadLetter) -> Bool { all || messageIds.contains(letter.messageId) }
    }

    /// Reads the queue, hands each letter to `act` (true: settled by it),
    /// gives every other one back, and returns how many `act` settled.
    static func withLetters(_ fleet: FleetOptions, limit: Int,
                            _ act: (DeadLetterQueue, DeadLetter) async throws -> Bool) async throws -> Int {
        let client = try await FleetClient.connect(fleet)
        let queue = DeadLetterQueue(connection: client.connection, topology: client.topology)
        let letters = try await queue.browse(limit: limit)
        var settled = 0
        var failure: (any Error)?
        for letter in letters {
            if failure == nil {
                do {
                    if try await act(queue, letter) {
                        settled += 1
                        continue
                    }
                } catch {
                    failure = error
                }
            }
            queue.giveBack(letter)
        }
        await client.close()
        if let failure { throw failure }
        return settled
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the dead letters (they stay in the queue).",
            discussion: """
                Examples:
                  patchfleet dead-letters list
                  patchfleet dead-letters list --limit 10 --prefix patchfleet --url amqp://observer@broker:5672/patchfleet
                """)
        @Option(help: "How many to show at most.")
        var limit = 100
        @OptionGroup var fleet: FleetOptions

        func run() async throws {
            var count = 0
            _ = try await DeadLettersCommand.withLetters(fleet, limit: limit) { _, letter in
                count += 1
                print("\(letter.messageId)  \(letter.schema ?? "(no schema)")\(letter.jobId.map { "  job \($0)" } ?? "")")
                print("    from \(letter.queue ?? "?")  (exchange '\(letter.exchange ?? "?")', routing key '\(letter.routingKey ?? "?")')")
                print("    reason: \(letter.reason)")
                return false
            }
            print(count == 0 ? "no dead letters" : "\(count) dead letter(s); replay or purge them with their --message-id")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters again to where they were going (once the cause is fixed).",
            discussion: """
                A replayed task is checked again like any other: past its deadline or with a retired key it is refused
                again (the saga has retried that step meanwhile, so that is usually right).
                Examples:
                  patchfleet dead-letters replay --message-id 6f1c0e4a-...
                  patchfleet dead-letters replay --all --limit 50
                """)
        @OptionGroup var selection: Selection
        @OptionGroup var fleet: FleetOptions

        func run() async throws {
            let replayed = try await DeadLettersCommand.withLetters(fleet, limit: selection.limit) { queue, letter in
                guard selection.chosen(letter) else { return false }
                try await queue.replay(letter)
                print("replayed \(letter.messageId) to \(letter.exchange.map { "exchange '\($0)'" } ?? "queue '\(letter.queue ?? "?")'")")
                return true
            }
            print("\(replayed) replayed")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove dead letters for good.",
            discussion: """
                Examples:
                  patchfleet dead-letters purge --message-id 6f1c0e4a-...
                  patchfleet dead-letters purge --all
                """)
        @OptionGroup var selection: Selection
        @OptionGroup var fleet: FleetOptions

        func run() async throws {
            let purged = try await DeadLettersCommand.withLetters(fleet, limit: selection.limit) { queue, letter in
                guard selection.chosen(letter) else { return false }
                queue.purge(letter)
                print("purged \(letter.messageId): \(letter.reason)")
                return true
            }
            print("\(purged) purged")
        }
    }
}
