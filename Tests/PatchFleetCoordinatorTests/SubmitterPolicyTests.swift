import AMQP
import Foundation
import PatchFleetCore
import PatchFleetTestSupport
import PatchFleetWire
import Testing
@testable import PatchFleetCoordinator

/// Who may patch what: the policy on its own, then the coordinator process
/// applying it to what RabbitMQ says about the submitter (`user_id`).
@Suite("Submitter policy", .serialized, .timeLimit(.minutes(2)))
struct SubmitterPolicyTests {
    static let policy = SubmitterPolicy(grants: [
        .init(user: "change-system", clusters: ["*"], collections: ["*"], standaloneHosts: ["*"]),
        .init(user: "ops-dublin", clusters: ["Dublin", "DUB-*"], collections: nil, standaloneHosts: nil),
    ])

    static func spec(collection: String? = nil) throws -> JobSpec {
        var spec = try JobSpecLoader.load(#"{"schemaVersion":1,"id":"j","targets":{"clusters":["Dublin"]},"updates":{"updateIds":["KB1"]}}"#)
        spec.targets.collection = collection
        return spec
    }

    @Test func usersPatchOnlyWhatTheirPatternsAllow() throws {
        let dublin = [TargetHost(host: "DUB-H1", cluster: "Dublin"), TargetHost(host: "X1", cluster: "dub-east")]
        #expect(Self.policy.problems(user: "ops-dublin", spec: try Self.spec(), targets: dublin).isEmpty, "globs, case-insensitive")
        let wider = dublin + [TargetHost(host: "SEA-H1", cluster: "Seattle"), TargetHost(host: "BRANCH-01", cluster: nil)]
        let refused = Self.policy.problems(user: "ops-dublin", spec: try Self.spec(collection: "All servers"), targets: wider).map(\.message)
        #expect(refused.contains("broker user 'ops-dublin' may not patch collection 'All servers'"), "\(refused)")
        #expect(refused.contains("broker user 'ops-dublin' may not patch cluster(s) Seattle"), "\(refused)")
        #expect(refused.contains("broker user 'ops-dublin' may not patch standalone host(s) BRANCH-01"), "\(refused)")
        #expect(Self.policy.problems(user: "change-system", spec: try Self.spec(collection: "All servers"), targets: wider).isEmpty)
        #expect(Self.policy.problems(user: "intruder", spec: try Self.spec(), targets: dublin).map(\.message)
            == ["broker user 'intruder' may not submit or control jobs on this fleet"])
        #expect(Self.policy.problems(user: nil, spec: try Self.spec(), targets: dublin).first?.path == "user_id")
        #expect(SubmitterPolicy.matches("DUB-H12", pattern: "dub-h?2") && !SubmitterPolicy.matches("DUB-H2", pattern: "DUB-H?2"))
    }

    /// VMM names standalone hosts by FQDN; operators write short names.
    @Test func standaloneHostPatternsWithoutADotMatchTheShortName() throws {
        let branch = SubmitterPolicy(grants: [.init(user: "ops-branch", clusters: nil, collections: nil, standaloneHosts: ["BRANCH-01", "edge-*"])])
        let fqdn = [TargetHost(host: "branch-01.contoso.com", cluster: nil), TargetHost(host: "EDGE-7.fabrikam.com", cluster: nil)]
        #expect(branch.problems(user: "ops-branch", spec: try Self.spec(), targets: fqdn).isEmpty)
        // The short name is the first label, never a longer prefix or another label.
        let others = [TargetHost(host: "branch-010.contoso.com", cluster: nil), TargetHost(host: "dc.branch-01.contoso.com", cluster: nil)]
        #expect(branch.problems(user: "ops-branch", spec: try Self.spec(), targets: others).map(\.message)
            == ["broker user 'ops-branch' may not patch standalone host(s) branch-010.contoso.com, dc.branch-01.contoso.com"])
        // A pattern with a dot is a whole name: it is not cut down to a label.
        let exact = SubmitterPolicy(grants: [.init(user: "u", clusters: nil, collections: nil, standaloneHosts: ["branch-01.contoso.com"])])
        #expect(exact.problems(user: "u", spec: try Self.spec(), targets: [TargetHost(host: "BRANCH-01.contoso.com", cluster: nil)]).isEmpty)
        #expect(!exact.problems(user: "u", spec: try Self.spec(), targets: [TargetHost(host: "branch-01.fabrikam.com", cluster: nil)]).isEmpty)
        // Cluster grants are not standalone-host grants.
        #expect(!branch.problems(user: "ops-branch", spec: try Self.spec(), targets: [TargetHost(host: "branch-01.contoso.com", cluster: "Dublin")]).isEmpty)
    }

    /// The coordinator process with a policy: guest may patch Dublin only.
    @Test func theCoordinatorRefusesWhatTheSubmitterMayNotPatch() async throws {
        let fleet = try await FleetHarness.start(timeScale: 2_000, submitters: """
            submitters:
              - user: guest
                clusters: [Dublin]
            """)
        // No user_id: who submits must be known.
        try await fleet.submit()
        let anonymous = try #require(try await fleet.nextRejection())
        #expect(anonymous.problems.contains { $0.path == "user_id" && $0.message.contains("no AMQP user_id") }, "\(anonymous.problems)")
        // The example job reaches beyond Dublin.
        var wide = fleet.job
        wide.id = "wide-job"
        try await fleet.submit(wide, user: "guest")
        let tooWide = try #require(try await fleet.nextRejection())
        #expect(tooWide.jobId == "wide-job")
        #expect(tooWide.problems.contains { $0.message == "broker user 'guest' may not patch cluster(s) Seattle, Tokyo" }, "\(tooWide.problems)")
        #expect(tooWide.problems.contains { $0.message.contains("standalone host(s) BRANCH-01") }, "\(tooWide.problems)")
        // Claiming to be someone else: RabbitMQ itself refuses the publish.
        var forged = try WireEncoder.encode(JobSubmission(job: wide, requestedBy: "e2e-test"))
        forged.properties.userId = "change-system"
        let publication = fleet.topology.submission(forged)
        await #expect(throws: (any Error).self, "the broker checks user_id against the connection's user") {
            try await fleet.admin.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
        }
        // Within its rights: accepted.
        var dublin = fleet.job
        dublin.id = "dublin-job"
        dublin.targets = JobTargets(clusters: ["Dublin"])
        try await fleet.submit(dublin, user: "guest")
        let accepted = try #require(try await fleet.nextJobEvent { $0.jobId == "dublin-job" })
        #expect(accepted.state == .accepted)
        try await fleet.stop()
    }
}

extension FleetHarness {
    func nextRejection() async throws -> JobRejection? {
        var iterator = events.makeAsyncIterator()
        while let delivery = try await iterator.next() {
            delivery.ack()
            guard case .event(let event, _) = try WireDecoder().decode(delivery) else { continue }
            if case .jobRejected(let rejection) = event.event { return rejection }
        }
        return nil
    }
}

/// Bad input at the job level, through the coordinator process: a second
/// job for a cluster already being patched is rejected with the reason, and
/// the same submission message delivered twice makes one job.
@Suite("Conflicting and duplicate submissions", .timeLimit(.minutes(2)))
struct ConflictingSubmissionTests {
    @Test func aSecondJobOnBusyHostsIsRejectedAndADuplicateMakesOneJob() async throws {
        // No workers: the first job stays in flight while the others arrive.
        let fleet = try await FleetHarness.start(timeScale: 2_000, roles: [])
        let submission = try WireEncoder.encode(JobSubmission(job: fleet.job, requestedBy: "e2e-test"))
        try await fleet.publish(submission)
        _ = try #require(try await fleet.nextJobEvent { $0.jobId == fleet.job.id && $0.state == .accepted })
        try await fleet.publish(submission)  // the same message again (a redelivery, or its sender republishing)
        var rival = fleet.job
        rival.id = "rival-job"
        rival.targets = JobTargets(clusters: ["Dublin"])
        try await fleet.submit(rival)
        let rejection = try #require(try await fleet.nextRejection())
        #expect(rejection.jobId == "rival-job", "the duplicate is not rejected: it is the same job")
        #expect(rejection.problems.contains { $0.message.contains("is already being patched by job \(fleet.job.id)") },
                "\(rejection.problems)")
        let jobs = try await runCommand([patchfleetExecutable(), "jobs"] + fleet.brokerArguments)
        #expect(jobs.split(separator: "\n").filter { $0.contains(fleet.job.id) }.count == 1, "one job: \(jobs)")
        #expect(!jobs.contains("rival-job"), "\(jobs)")
        try await fleet.stop()
    }
}
