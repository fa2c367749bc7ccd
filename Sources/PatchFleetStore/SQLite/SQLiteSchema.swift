import GRDB

/// The store's schema as named, versioned migrations. A migration, once
/// shipped, never changes: new needs get a new migration appended here.
enum SQLiteSchema {
    /// How many migrations `migrator` registers (an opener racing another
    /// may lose once per migration; see `SQLiteSagaStore.openAndMigrate`).
    static var migrationCount: Int { migrator.migrations.count }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs, sagas, inbox, outbox") { db in
            // seq columns give a stable insertion order that VACUUM keeps
            // (it may renumber an implicit rowid).
            try db.execute(sql: """
                CREATE TABLE jobs (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    state TEXT NOT NULL,
                    spec_json BLOB NOT NULL,
                    report_json BLOB,
                    reason TEXT,
                    submitted_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX jobs_state ON jobs(state);

                CREATE TABLE sagas (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    job_id TEXT NOT NULL REFERENCES jobs(id),
                    host TEXT NOT NULL,
                    cluster TEXT,
                    phase TEXT NOT NULL,
                    done INTEGER NOT NULL CHECK (done IN (0, 1)),
                    version INTEGER NOT NULL,
                    saga_version INTEGER NOT NULL,
                    state_json BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX sagas_job ON sagas(job_id, seq);
                CREATE INDEX sagas_cluster ON sagas(cluster) WHERE done = 0;
                -- One unfinished saga per host, whichever writer tries: the
                -- database itself refuses a second job on a host being patched.
                CREATE UNIQUE INDEX sagas_unfinished_host ON sagas(host) WHERE done = 0;

                CREATE TABLE inbox (
                    message_id TEXT PRIMARY KEY NOT NULL,
                    saga_id TEXT NOT NULL,
                    saga_store_version INTEGER NOT NULL,
                    received_at REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX inbox_received ON inbox(received_at);

                CREATE TABLE outbox (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    exchange TEXT NOT NULL,
                    routing_key TEXT NOT NULL,
                    headers_json BLOB NOT NULL,
                    body BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    not_before REAL,
                    saga_id TEXT,
                    saga_store_version INTEGER,
                    published_at REAL
                );
                CREATE INDEX outbox_pending ON outbox(seq) WHERE published_at IS NULL;
                CREATE INDEX outbox_published ON outbox(published_at) WHERE published_at IS NOT NULL;
                """)
        }
        // The submission's message id is the job's inbox entry: a redelivered
        // submission is told apart from another submission reusing the job id.
        migrator.registerMigration("v2: jobs.submission_message_id") { db in
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN submission_message_id TEXT")
        }
        // A saga's timeline in rows of its own, one per entry (see
        // `SQLiteTimeline`): a step inserts what it added. NULL length: the
        // timeline is still inside state_json, as in every row before v3.
        migrator.registerMigration("v3: saga_timeline") { db in
            try db.execute(sql: """
                CREATE TABLE saga_timeline (
                    saga_id TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    entry_json BLOB NOT NULL,
                    PRIMARY KEY (saga_id, position)
                ) WITHOUT ROWID;
                ALTER TABLE sagas ADD COLUMN timeline_length INTEGER;
                """)
        }
        return migrator
    }
}
