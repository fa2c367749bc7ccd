import Foundation
import GRDB
import PatchFleetCore

/// The embedded saga store: one SQLite file in WAL mode, through GRDB.
///
/// - `DatabasePool`: one writer connection, several readers. WAL lets
///   queries (status, the dispatcher's outbox scan) run while a transition
///   commits, and lets several store instances, even in several processes,
///   share one file: writes queue on SQLite's lock for up to `busyTimeout`.
/// - Every write is one IMMEDIATE transaction (GRDB's default for writes), so
///   the "read version, then write" of `apply` cannot interleave with another
///   writer, and a busy lock is waited for at BEGIN, not failed mid-way.
/// - `synchronous = FULL`: a commit is on disk when `apply` returns, even
///   if the machine (not just the process) dies. The default for WAL
///   (NORMAL) may lose the last commits on power loss, and a lost commit
///   would be a task published (from the outbox) for a state that vanished.
public final class SQLiteSagaStore: SagaStore {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path` and migrates its schema.
    /// - Parameter busyTimeout: how long a write waits for another writer
    ///   (another store instance or process on the same file), and how long
    ///   opening keeps retrying while another opener holds the file.
    public init(path: String, busyTimeout: Duration = .seconds(5)) throws(SagaStoreError) {
        self.path = path
        let seconds = Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) / 1e18
        var config = Configuration()
        config.busyMode = .timeout(seconds)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Checkpoint every 32,000 pages (128 MiB of write-ahead log)
            // instead of SQLite's 1,000: a saga's pages are rewritten at every
            // step, and a longer log copies each page to the database once
            // per checkpoint however often it changed, with one fsync of the
            // file per checkpoint (`patchfleet-bench scale`: 108 -> 93 s at
            // 5,000 hosts, docs/store.md). The -wal file keeps that size once reached.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 32000")
        }
        pool = try Self.openAndMigrate(path: path, config: config, attempts: max(1, Int(seconds / 0.02)))
    }

    /// Two openers of a NEW file race: switching it to WAL takes a lock that
    /// the busy handler does not wait for, and the migrator checks which
    /// migrations ran outside the transaction that runs each, so the loser
    /// sees "locked", or a migration the winner ran first ("already
    /// exists", "duplicate column name"; at most once per migration).
    /// Retrying after a short pause finds the file in WAL and migrated.
    /// Counted attempts, not a clock: locks against `attempts`, lost
    /// migrations against the number of migrations, so a real schema error
    /// still surfaces.
    private static func openAndMigrate(path: String, config: Configuration, attempts: Int) throws(SagaStoreError) -> DatabasePool {
        var attempt = 1
        var lostMigrations = 0
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: config)
                let migrator = SQLiteSchema.migrator
                if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                    throw SagaStoreError.schemaTooNew(path: path, detail: "it has migrations this build does not know")
                }
                try migrator.migrate(pool)
                return pool
            } catch let error as SagaStoreError {
                throw error
            } catch let error as DatabaseError where attempt < attempts && isLock(error) {
                attempt += 1
                usleep(20_000)
            } catch let error as DatabaseError where lostMigrations < SQLiteSchema.migrationCount && isLostMigration(error) {
                lostMigrations += 1
                usleep(20_000)
            } catch {
                throw .database(detail: "opening '\(path)': \(error)")
            }
        }
    }

    private static func isLock(_ error: DatabaseError) -> Bool {
        error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
    }

    /// A concurrent migrator ran a migration first: a table or an index
    /// that already exists, a column already added.
    private static func isLostMigration(_ error: DatabaseError) -> Bool {
        error.resultCode == .SQLITE_ERROR
            && ["already exists", "duplicate column name"].contains { error.message?.contains($0) == true }
    }

    /// Runs `body` in one write transaction, mapping every failure to `SagaStoreError`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(SagaStoreError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.mapped(error)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(SagaStoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.mapped(error)
        }
    }

    static func mapped(_ error: any Error) -> SagaStoreError {
        if let error = error as? SagaStoreError { return error }
        if error is CancellationError { return .cancelled }
        return .database(detail: "\(error)")
    }

    /// SQLite's own check of the file: `["ok"]` when it is sound.
    public func integrityCheck() async throws(SagaStoreError) -> [String] {
        try await read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
    }
}
