import Foundation
import GRDB

/// What the coordinator's store says a fleet run did: the tasks and timers
/// the sagas issued, the events, the size of a task, and each task's latency
/// (written to the outbox -> its result applied). The saga clock runs at 1x
/// in this suite, so its instants are wall-clock seconds.
struct StoreFigures {
    var tasks = 0
    var timers = 0
    var events = 0
    var meanTaskBytes = 0
    var stepLatencies: [Double] = []

    static func read(path: String, tasksExchange: String, eventsExchange: String) throws -> StoreFigures {
        var figures = StoreFigures()
        let queue = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        try queue.read { db in
            var answers: [String: [Double]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT saga_id, received_at FROM inbox ORDER BY received_at") {
                answers[row["saga_id"], default: []].append(row["received_at"])
            }
            var taskBytes = 0
            for row in try Row.fetchAll(db, sql: "SELECT exchange, saga_id, created_at, length(body) AS size FROM outbox ORDER BY seq") {
                let exchange: String = row["exchange"]
                if exchange == eventsExchange {
                    figures.events += 1
                } else if exchange == tasksExchange {
                    figures.tasks += 1
                    taskBytes += row["size"] as Int
                    let created: Double = row["created_at"]
                    // One command outstanding per saga: its answer is the saga's next inbox entry.
                    if let saga: String = row["saga_id"], let answered = answers[saga]?.first(where: { $0 >= created }) {
                        figures.stepLatencies.append(answered - created)
                    }
                } else {
                    figures.timers += 1
                }
            }
            figures.meanTaskBytes = figures.tasks > 0 ? taskBytes / figures.tasks : 0
        }
        return figures
    }
}
