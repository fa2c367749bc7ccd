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
    let deadLetterDepth: @Sendable () async -> Int?
    let freshFor: Duration
    private var cache: [String: (at: ContinuousClock.Instant, snapshot: DashboardSnapshot)] = [:]

    public init(store: any SagaStore, now: @escaping @Sendable () -> Instant, deadLetters: DeadLetterFeed,
                deadLetterDepth: @escaping @Sendable () async -> Int? = { nil }, freshFor: Duration = .milliseconds(500)) {
        self.store = store
        self.now = now
        self.deadLetters = deadLetters
        self.deadLetterDepth = deadLetterDepth
        self.freshFor = freshFor
    }

    public func jobs(limit: Int = 50) async throws -> [DashboardJobSummary] {
        var summaries: [DashboardJobSummary] = []
        for job in try await store.jobs(limit: limit) {
            summaries.append(DashboardModel.summary(job, sagas: try await sagas(of: job)))
        }
        return summaries
    }

    public func job(_ id: String) async throws -> DashboardJob? {
        guard let record = try await store.job(id: id) else { return nil }
        return DashboardModel.job(record, sagas: try await store.sagas(jobId: id).map(\.state), now: now())
    }

    /// The newest job that is still running, else the newest: what the page opens on.
    public func defaultJobId() async throws -> String? {
        let jobs = try await store.jobs(limit: 50)
        return (jobs.first { !$0.state.isTerminal } ?? jobs.first)?.id
    }

    public func snapshot(job id: String?) async throws -> DashboardSnapshot {
        let key = id ?? ""
        if let cached = cache[key], ContinuousClock.now - cached.at < freshFor { return cached.snapshot }
        let chosen: String? = if let id { id } else { try await defaultJobId() }
        let shown: DashboardJob? = if let chosen { try await job(chosen) } else { nil }
        let snapshot = DashboardSnapshot(
            jobs: try await jobs(), job: shown,
            deadLetters: DeadLetterSummary(depth: await deadLetterDepth(), recent: deadLetters.letters))
        cache[key] = (ContinuousClock.now, snapshot)
        if cache.count > 64 { cache = cache.filter { ContinuousClock.now - $0.value.at < freshFor } }
        return snapshot
    }

    /// The job's hosts, for the counts of its summary line.
    private func sagas(of job: JobRecord) async throws -> [HostSagaState] {
        try await store.sagas(jobId: job.id).map(\.state)
    }
}
