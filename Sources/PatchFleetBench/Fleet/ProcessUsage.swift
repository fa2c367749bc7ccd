import Foundation

/// CPU time and peak memory of a process, read from /proc while it runs
/// (a child's figures are gone once it is reaped).
struct ProcessUsage {
    var cpuSeconds: Double
    var peakRSSBytes: Int

    static func of(_ pid: pid_t) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "pid (comm)": state is field 3; utime and stime are 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessUsage(cpuSeconds: (user + system) / ticks, peakRSSBytes: peakRSS(path: "/proc/\(pid)/status"))
    }

    /// This process (getrusage covers every thread).
    static func current() -> ProcessUsage {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return ProcessUsage(cpuSeconds: cpu, peakRSSBytes: peakRSS(path: "/proc/self/status"))
    }

    /// VmHWM: the resident set's high-water mark.
    private static func peakRSS(path: String) -> Int {
        guard let status = try? String(contentsOfFile: path, encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }
}
