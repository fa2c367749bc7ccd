import Foundation
import PatchFleetCore
import PatchFleetStore

/// Everything one screen of the dashboard shows, as sent on the event stream.
public struct DashboardSnapshot: Codable, Sendable, Equatable {
    public var jobs: [DashboardJobSummary]
    public var job: DashboardJob?
    public var deadLetters: DeadLetterSummary
}

public struct DeadLetterSummary: Codable, Sendable, Equatable {
    /// Messages waiting in the dead-letter queue now (nil: unknown).
    public var depth: Int?
    public var recent: [DashboardDeadLetter]
}

/// Reads the store for the dashboard, and keeps each answer for a moment
/// so that many open browsers cost the store one read per interval, not
/// one per browser.
public actor DashboardData {
    let store: any SagaStore
    let now: @Sendable () -> Instant
    let deadLetters: DeadLetterFeed
    let deadLetterDepth: @Sendable () -> Int?
    let freshFor: Duration
    private var cache: [String: (at: ContinuousClock.Instant, snapshot: DashboardSnapshot)] = [:]

    public init(store: any SagaStore, now: @escaping @Sendable () -> Instant, deadLetters: DeadLetterFeed,
                deadLetterDepth: @escaping @Sendable () -> Int? = { nil }, freshFor: Duration = .milliseconds(500)) {
        self.store = store
        self.now = now
        self.deadLetters = deadLetters
        self.deadLetterDepth = deadLetterDepth
        self.freshFor = freshFor
    }

    public func jobs(limit: Int = 50) async throws -> [DashboardJobSummary] {
        try await summaries(of: try await store.jobs(limit: limit))
    }

    private func summaries(of records: [JobRecord]) async throws -> [DashboardJobSummary] {
        var summaries: [DashboardJobSummary] = []
        for job in records {
            if let report = job.report {
                summaries.append(DashboardModel.summary(job, report: report))
            } else {
                summaries.append(DashboardModel.summary(job, sagas: try await store.sagas(jobId: job.id).map(\.state)))
            }
        }
        return summaries
    }

    public func job(_ id: String) async throws -> DashboardJob? {
        guard let record = try await store.job(id: id) else { return nil }
        return DashboardModel.job(record, sagas: try await store.sagas(jobId: id).map(\.state), now: now())
    }

    /// The newest job that is still running, else the newest: what the page opens on.
    static func defaultJobId(_ records: [JobRecord]) -> String? {
        (records.first { !$0.state.isTerminal } ?? records.first)?.id
    }

    public func snapshot(job id: String?) async throws -> DashboardSnapshot {
        let key = id ?? ""
        if let cached = cache[key], ContinuousClock.now - cached.at < freshFor { return cached.snapshot }
        let records = try await store.jobs(limit: 50)  // one read for the list and the default choice
        let chosen = id ?? Self.defaultJobId(records)
        let shown: DashboardJob? = if let chosen { try await job(chosen) } else { nil }
        let snapshot = DashboardSnapshot(
            jobs: try await summaries(of: records), job: shown,
            deadLetters: DeadLetterSummary(depth: deadLetterDepth(), recent: deadLetters.letters))
        cache[key] = (ContinuousClock.now, snapshot)
        if cache.count > 64 { cache = cache.filter { ContinuousClock.now - $0.value.at < freshFor } }
        return snapshot
    }
}
