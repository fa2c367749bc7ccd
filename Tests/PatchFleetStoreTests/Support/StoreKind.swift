#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PatchFleetStore
import Testing

/// The implementations the shared contract suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory, sqlite

    var testDescription: String { rawValue }

    func make() throws -> any SagaStore {
        switch self {
        case .inMemory: InMemorySagaStore()
        case .sqlite: try SQLiteSagaStore(path: TempDirectory().path("store.sqlite"))
        }
    }
}

/// A fresh directory for one test, under a per-run root
/// `$TMPDIR/patchfleet-store-tests/<pid>`. Files stay readable after a failed
/// run; each run deletes the roots of runs whose process is gone.
struct TempDirectory: Sendable {
    let url: URL

    init() {
        url = Self.runRoot.appendingPathComponent(UUID().uuidString, isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Created once per process (static lets initialise lazily and once).
    static let runRoot: URL = {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("patchfleet-store-tests", isDirectory: true)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? [] {
            if let pid = Int32(entry), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: base.appendingPathComponent(entry))
            }
        }
        return base.appendingPathComponent("\(getpid())", isDirectory: true)
    }()
}
