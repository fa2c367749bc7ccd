import AMQP
import Foundation
import PatchFleetCore
@testable import PatchFleetWire
import Testing

/// Sample messages covering every command kind and every message schema.
enum Fixtures {
    static let now = Instant(secondsSinceEpoch: 1_790_000_000.25)

    static let commandBodies: [CommandBody] = [
        .observeCluster(HostRef(host: "hv01")),
        .enterMaintenance(MaintenanceRequest(host: "hv01")),
        .vmAction(VMActionRequest(host: "hv01", vm: "sql.01", action: VMAction(.liveMigrate, to: "hv02"),
                                  timeoutSeconds: 600, headroomPercent: 10)),
        .deployUpdates(DeployRequest(host: "hv01", collection: "PatchFleet job-1", updateIds: ["KB1", "KB2"])),
        .pollCompliance(ComplianceRequest(host: "hv01", updateIds: ["KB1", "KB2"])),
        .rebootHost(HostRef(host: "hv01")),
        .waitForHost(WaitForHostRequest(host: "hv01", timeoutSeconds: 900)),
        .exitMaintenance(HostRef(host: "hv01")),
        .checkHealth(HostRef(host: "hv01")),
        .failbackVM(FailbackRequest(vm: "sql.01", expectedHost: "hv02", home: "hv01", timeoutSeconds: 600)),
        .wakeAt(WakeRequest(at: now.adding(seconds: 60), purpose: "poll")),
    ]

    static func command(_ body: CommandBody, version: Int = 7, cluster: String? = "dc1.prod") -> SagaCommand {
        SagaCommand(sagaId: "job-1:hv01", jobId: "job-1", host: "hv01", cluster: cluster, sagaVersion: version,
                    issuedAt: now, body: body)
    }

    /// An answer for each command kind.
    static func answer(to kind: CommandKind) -> EventBody {
        switch kind {
        case .observeCluster: .clusterObserved(ClusterSnapshot(hosts: [], vms: []))
        case .enterMaintenance: .maintenanceEntered
        case .vmAction: .vmActionFailed(VMActionFailed(vm: "sql.01", action: VMAction(.liveMigrate, to: "hv02"),
                                                       error: BackendError(.migrationFailed, "Error (10698)", backendCode: "10698")))
        case .deployUpdates: .updatesDeployed
        case .pollCompliance: .complianceReported(ComplianceReport(installed: ["KB1"], pending: ["KB2"], failed: [],
                                                                   pendingReboot: true))
        case .rebootHost: .rebootIssued
        case .waitForHost: .hostAnswered
        case .exitMaintenance: .maintenanceExited
        case .checkHealth: .healthReported(HealthReport(healthy: true, detail: "all good"))
        case .failbackVM: .failbackFinished(FailbackOutcome(vm: "sql.01", result: .movedByOthers, detail: "on hv07"))
        case .wakeAt: .timerFired
        }
    }

    static let job = JobSpec(id: "job-1", targets: JobTargets(clusters: ["dc1.prod"]),
                             updates: UpdateSelection(updateIds: ["KB1", "KB2"]))

    static let events: [FleetEvent] = [
        FleetEvent(at: now, .job(JobStateChange(jobId: "job-1", state: .running))),
        FleetEvent(at: now, .host(HostStateChange(jobId: "job-1", host: "hv01", cluster: "dc1.prod", phase: .draining))),
        FleetEvent(at: now, .host(HostStateChange(jobId: "job-1", host: "hv09", cluster: nil, phase: .done,
                                                  outcome: HostOutcome(kind: .held, reason: "standalone host"),
                                                  reason: "standalone host"))),
        FleetEvent(at: now, .jobRejected(JobRejection(jobId: "job-1", submissionMessageId: "sub-1", problems: [
            ValidationProblem(path: "targets", message: "must name exactly one of collection, clusters, hosts"),
        ]))),
    ]

    static func taskMessage(_ body: CommandBody = .rebootHost(HostRef(host: "hv01"))) -> TaskMessage {
        TaskMessage(command(body))
    }

    /// A fully valid encoded task, for the malformed-input tests to break.
    static func encodedTask() throws -> AMQPMessage {
        let task = taskMessage()
        return try WireEncoder.encode(task, envelope: task.envelope(messageId: "task-1", causationId: "res-0",
                                                                    timestamp: 1_790_000_000))
    }

    static func json(_ message: AMQPMessage) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: message.body) as? [String: Any])
    }

    static func data(_ object: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}

