import Foundation
import PatchFleetCore
import PatchFleetReport
import PatchFleetSimulator
import PatchFleetStore

/// The shipped example lab and job run by the in-process simulator: real
/// sagas (every rule shows up once), stored as the coordinator stores them.
enum ExampleRun {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/examples")

    static func run() throws -> SimulationRun {
        let lab = try LabConfiguration.load(contentsOf: examples.appendingPathComponent("inventory.yaml"))
        let job = try JobSpecLoader.load(contentsOf: examples.appendingPathComponent("job.yaml"))
        return SimulationDriver(scenario: SimulationScenario(seed: lab.seed, lab: lab, job: job)).run()
    }

    static func stored(_ run: SimulationRun) -> (JobRecord, [StoredSaga]) {
        let job = JobRecord(spec: run.scenario.job, state: .finished, submittedAt: run.startedAt, updatedAt: run.endedAt,
                            report: run.report)
        let sagas = run.sagas.map { StoredSaga(state: $0, version: 1, updatedAt: $0.finishedAt ?? run.endedAt) }
        return (job, sagas)
    }

    static func report() throws -> (RunReport, SimulationRun) {
        let run = try run()
        let (job, sagas) = stored(run)
        return (RunReport(job: job, sagas: sagas), run)
    }
}
