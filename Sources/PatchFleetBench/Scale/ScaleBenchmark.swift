import ArgumentParser
import Foundation
import Logging

/// `patchfleet-bench scale`: one job of 1,000, 5,000 and 10,000 hosts (20 VMs
/// each, 10 hosts per cluster) on the real coordinator engine and SQLite
/// store in this process: does it finish, what does a host cost as the fleet
/// grows, what does one scheduling decision cost, how much memory.
struct ScaleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Coordinator engine + SQLite store at 1k/5k/10k hosts: CPU per host, cost per scheduling decision, peak RSS.")

    @Option(help: "Job sizes in hosts, comma-separated, smallest first (its per-host cost is the baseline).")
    var sizes = "1000,5000,10000"
    @Option(help: "Hosts per cluster.")
    var hostsPerCluster = 10
    @Option(help: "VMs per host.")
    var vmsPerHost = 20
    @Option(help: "Where the stores go. Default: a new temporary directory.")
    var runDirectory: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let list = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 >= hostsPerCluster }) else { throw ValidationError("--sizes: at least one size >= --hosts-per-cluster") }
        let directory = runDirectory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("patchfleet-bench-scale-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        print("scale benchmark: \(hostsPerCluster) hosts per cluster, \(vmsPerHost) VMs per host, zero-latency backends, "
              + "coordinator engine + SQLite store in-process; stores in \(directory)")
        print("")
        print("  hosts clusters     VMs   result          wall s   CPU s/host  engine s/host  decisions  ms/decision  peak RSS MiB")
        fflush(nil)
        var perHost: [Double] = []
        var peak = 0
        for hosts in list {
            // Reset the resident-set high-water mark, so each size reports its own peak.
            try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            let before = ProcessUsage.current()
            let shape = FleetShape(hosts: hosts, clusters: hosts / hostsPerCluster, vmsPerHost: vmsPerHost)
            let figures = try await ScaleRun(shape: shape, directory: directory).run()
            let after = ProcessUsage.current()
            let cpu = (after.cpuSeconds - before.cpuSeconds) / Double(hosts)
            perHost.append(cpu)
            peak = max(peak, after.peakRSSBytes)
            print(String(format: "%7d %8d %7d   %-14@ %7.1f %12.5f %14.5f %10d %12.2f %13.0f",
                         hosts, shape.clusters, figures.vms, figures.outcome as NSString, figures.seconds, cpu,
                         figures.engineSeconds / Double(hosts), figures.decisions,
                         figures.schedulerSeconds / Double(max(1, figures.decisions)) * 1000,
                         Double(after.peakRSSBytes) / 1_048_576))
            fflush(nil)
        }
        print("")
        print(String(format: "peak RSS = %.0f MiB (target < 512)", Double(peak) / 1_048_576))
        print(String(format: "per-host cost %d/%d = %.2f (target <= 1.5)", list.last!, list.first!, perHost.last! / perHost.first!))
    }
}
