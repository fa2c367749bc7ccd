// store-crash-helper PATH SAGAS
//
// Applies saga transitions to the SQLite store at PATH forever (round robin
// over SAGAS sagas of job "crash"), printing "committed <sagaId> <version>"
// after each commit returns. A test SIGKILLs it mid-loop and checks that
// every printed transition survived and the file is consistent.
//
// Each transition toggles the saga's pause flag (so state version v is
// paused exactly when v is odd), records inbox "in-<sagaId>-<v>" and queues
// outbox "out-<sagaId>-<v>": the test can recompute every row from v.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PatchFleetCore
import PatchFleetStore

/// One write(2) per line, unbuffered: a line printed is a line the test can
/// read, even if the next instruction is the SIGKILL.
func emit(_ line: String, to fd: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    emit("store-crash-helper: \(message)", to: 2)
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let sagaCount = Int(arguments[2]), sagaCount > 0 else {
    fail("usage: store-crash-helper PATH SAGAS")
}

do {
    let store = try SQLiteSagaStore(path: arguments[1])
    let now = Instant(secondsSinceEpoch: 1_700_000_000)
    let spec = JobSpec(id: "crash", targets: JobTargets(hosts: (0..<sagaCount).map { "h\($0)" }),
                       updates: UpdateSelection(updateIds: ["KB1"]))
    if try await store.job(id: "crash") == nil {
        let sagas = (0..<sagaCount).map {
            HostSagaState(jobId: "crash", target: TargetHost(host: "h\($0)", cluster: "c1"), policy: Policy(),
                          updateIds: ["KB1"], deploymentCollection: "col")
        }
        try await store.createJob(JobRecord(spec: spec, submittedAt: now), sagas: sagas, outbox: [])
        emit("created")
    }
    var step = 0
    while true {
        let sagaId = "crash:h\(step % sagaCount)"
        step += 1
        guard let stored = try await store.saga(id: sagaId) else { fail("saga \(sagaId) missing") }
        let control: EventBody = stored.state.paused ? .resume : .pause
        let (next, _) = HostSaga.reduce(stored.state, .control(sagaId, at: now, control))
        let version = stored.version + 1
        let message = OutboxMessage(id: "out-\(sagaId)-\(version)", exchange: "patchfleet.events",
                                    routingKey: "host.c1.\(sagaId)", body: Data("\(version)".utf8), createdAt: now)
        let result = try await store.apply(inboxMessageId: "in-\(sagaId)-\(version)", receivedAt: now, sagaId: sagaId,
                                           expectedVersion: stored.version, newState: next, outbox: [message])
        guard result == .applied(newVersion: version) else { fail("unexpected \(result) for \(sagaId)") }
        emit("committed \(sagaId) \(version)")
    }
} catch {
    fail("\(error)")
}
