import Foundation
import GRDB
import PatchFleetCore
import PatchFleetStore
import Testing

/// A real process kill: `store-crash-helper` applies transitions in a loop
/// and prints each one after its commit returns; the test SIGKILLs it,
/// reopens the file and checks that what was printed is there and that every
/// saga's rows agree with its version. Three rounds on one file, so each
/// later helper also resumes from what the killed one left.
@Suite("SQLiteSagaStore: crash safety")
struct SQLiteCrashTests {
    static let sagaCount = 4

    @Test("SIGKILL mid-loop loses no committed transition and leaves the file consistent")
    func sigkill() async throws {
        let directory = TempDirectory()
        let database = directory.path("store.sqlite")
        let helper = try ChildProcess.builtProduct("store-crash-helper")
        var printed: [String: Int] = [:]
        for round in 0..<3 {
            let output = directory.path("helper-\(round).out")
            let child = try ChildProcess(path: helper, arguments: [database, "\(Self.sagaCount)"],
                                         stdout: output, stderr: directory.path("helper-\(round).err"))
            let committedBefore = printed.values.reduce(0, +)
            let reached = try await Self.waitForCommits(in: output, count: 150, timeout: .seconds(60))
            child.kill(SIGKILL)
            let ended = try child.wait()
            #expect(reached, "the helper printed fewer than 150 commits in 60 s (see \(directory.url.path))")
            #expect(ended.signal == SIGKILL, "helper ended with \(ended) instead of SIGKILL")
            for (saga, version) in try Self.committedLines(in: output) {
                printed[saga] = max(printed[saga] ?? 0, version)
            }
            #expect(printed.values.reduce(0, +) > committedBefore)
            try await Self.checkConsistent(database, printed: printed)
        }
    }

    /// Every complete "committed <saga> <version>" line (a torn last line is ignored).
    static func committedLines(in path: String) throws -> [(String, Int)] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: true)
            .dropLast(text.hasSuffix("\n") ? 0 : 1)
            .compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[0] == "committed", let version = Int(parts[2]) else { return nil }
                return (String(parts[1]), version)
            }
    }

    static func waitForCommits(in path: String, count: Int, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try committedLines(in: path).count >= count { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// What was printed is stored (the kill can only add one commit it did
    /// not print), and each saga's inbox/outbox rows are exactly those its
    /// version implies, with the state the version implies.
    static func checkConsistent(_ path: String, printed: [String: Int]) async throws {
        let store = try SQLiteSagaStore(path: path)
        #expect(try await store.integrityCheck() == ["ok"])
        let sagas = try await store.sagas(jobId: "crash")
        #expect(sagas.count == sagaCount)
        var unprinted = 0
        for saga in sagas {
            let seen = printed[saga.id] ?? 0
            #expect(saga.version >= seen, "\(saga.id) is at \(saga.version) but \(seen) was printed as committed")
            unprinted += saga.version - seen
            #expect(saga.state.paused == (saga.version % 2 == 1), "\(saga.id) state does not match version \(saga.version)")
        }
        #expect(unprinted <= 1, "more than the one in-flight commit went unprinted")

        let raw = try DatabaseQueue(path: path)
        let rows = try raw.read { db throws in
            (try Row.fetchAll(db, sql: "SELECT message_id, saga_id, saga_store_version FROM inbox"),
             try Row.fetchAll(db, sql: "SELECT id, saga_id, saga_store_version FROM outbox ORDER BY seq"))
        }
        for saga in sagas {
            let expectedVersions = Array(stride(from: 1, through: saga.version, by: 1))
            let inbox = rows.0.filter { $0["saga_id"] == saga.id }
            #expect(inbox.map { $0["saga_store_version"] as Int }.sorted() == expectedVersions)
            #expect(Set(inbox.map { $0["message_id"] as String }) == Set(expectedVersions.map { "in-\(saga.id)-\($0)" }))
            let outbox = rows.1.filter { $0["saga_id"] == saga.id }
            #expect(outbox.map { $0["saga_store_version"] as Int } == expectedVersions)
            #expect(outbox.map { $0["id"] as String } == expectedVersions.map { "out-\(saga.id)-\($0)" })
        }
    }
}
